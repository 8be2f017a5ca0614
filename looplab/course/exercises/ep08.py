"""Notebook 08, the same bug elsewhere: did the work happen anyway, and what does each fix cost?"""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_the_served_requests(prediction: Any, served: int) -> None:
    """Case 1, broken: two commands, the second failed. How many chat requests did vLLM complete?"""
    judge("Exercise 8.1 (did the work happen anyway?)", prediction, served,
          right="the failed command's request reached vLLM and was answered; the client failed on the way back, "
                "reading the answer through a connection of a closed loop. The work was done and thrown away",
          wrong=[(1, "The failed request was not lost before it left: it went out on the pooled connection, vLLM "
                  "generated the answer, and the failure came while the client read it back. That is why a retry "
                  "makes the backend do the work twice (notebook 04)."),
                 (0, "The first command worked: its request, at least, was served.")],
          otherwise="Two commands made one chat request each; count the ones vLLM finished, failed or not.",
          normalise=int, variable="my_served")


def predict_the_connections(prediction: Any, opened: list[int]) -> None:
    """Two requests each: how many connections do case 3's fix (one loop) and case 1's fix (per-call) open?"""
    judge("Exercise 8.2 (what does each fix cost?)", prediction, opened,
          right="one loop and one kept client reuse one connection for every invocation; a client per call takes "
                "its connection with it when it closes, so each unit of work pays for a new one (and, over HTTPS, a "
                "handshake): the price of the simplest fix",
          wrong=[([2, 2], "Case 3's loop outlives each invocation, and so does its client's pool: the warm start finds "
                  "the cold start's connection idle in the pool, on the same loop, and reuses it. (In the broken "
                  "version that same reuse crashed: there the connection belonged to a closed loop.)"),
                 ([1, 1], "Case 1's client is closed at the end of each command, and its pool with it: the second "
                  "command has no connection to reuse, and opens its own."),
                 ([2, 1], "The other way round: the kept loop keeps its connection; the per-call client does not.")],
          otherwise="Two requests in each program. A client kept on a kept loop reuses its idle connection; a client "
                    "closed after each unit of work takes its connection with it.",
          normalise=lambda guess: [int(n) for n in guess], variable="my_connections")
