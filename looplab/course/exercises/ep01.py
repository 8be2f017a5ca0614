"""Notebook 01, event loops and what they own: predict three loops."""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_three_loops(prediction: Any, outcomes: list[str]) -> None:
    """One client, three ``asyncio.run`` calls, a request in each: which loops fail? (``"ok"``/``"error"`` each)."""
    judge("Exercise 1.1 (predict, then run)", prediction, outcomes,
          right="loop 2 trips over loop 1's pooled connection; its failure leaves nothing pooled, so loop 3 "
                "starts clean",
          wrong=[(["ok", "error", "error"], "Loop 3 works again. Loop 2's request failed, and the pool threw the "
                  "broken connection away; loop 2 never completed a request, so it left no connection in the pool "
                  "for loop 3 to trip over. Loop 3 opens a fresh one, on its own loop."),
                 (["ok", "ok", "ok"], "Loop 2 finds the keep-alive connection loop 1 left in the pool; that "
                  "connection's transport belongs to loop 1, which asyncio.run closed."),
                 (["error", "error", "error"], "Loop 1 works: the client is used on the loop where it opens its "
                  "first connection.")],
          otherwise="Three loops, one client: ask which loop's connection is in the pool when each loop starts.",
          normalise=lambda guess: [str(x).lower() for x in guess])
