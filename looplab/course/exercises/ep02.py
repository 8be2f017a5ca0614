"""Notebook 02, rebuild the adapter: predict what the mini stack answers."""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_the_stack(prediction: Any, statuses: list[int]) -> None:
    """The HTTP statuses of the first three requests to the mini stack running the adapter just written."""
    judge("Exercise 2.1 (predict, then run)", prediction, statuses,
          right="the first request after start-up crashes, the next ones work",
          wrong=[([200, 200, 200], "On Jupyter's single loop it worked, and that is why the bug survived review. The "
                  "mini stack, like Llama Stack, runs initialize() and register_model() under asyncio.run() and then "
                  "serves on uvicorn's loop: the client, and the connection register_model pooled, belong to a "
                  "closed loop."),
                 ([500, 500, 500], "After the first failure the pool throws the stale connection away; the next "
                  "request opens a new connection, on uvicorn's loop, and works (with today's HTTP stack; notebook "
                  "04 shows the reporter's, where they kept failing).")],
          otherwise="Which loop made the pooled connection, and which loop serves the requests?",
          normalise=lambda guess: [int(x) for x in guess])
