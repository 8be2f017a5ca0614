"""Notebook 08, the same bug elsewhere: did the work happen anyway, and which failure hides?"""

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


def predict_the_hidden_failure(prediction: Any, hidden: list[str]) -> None:
    """Which broken cases fail without any error reaching their caller? (case names)"""
    judge("Exercise 8.2 (which failure hides?)", prediction, hidden,
          right="a __del__ that fails can only be reported as 'Exception ignored in ...' on stderr: no caller, "
                "no traceback in your logs' error handler, no failing test",
          wrong=[([], "Look at late_finalizer's steps: both report ok, and yet Python printed an exception. An "
                  "exception raised inside __del__ has no caller to reach."),
                 (["preload_fork"], "The forked worker's failure does come back to the parent, as the worker's "
                  "outcome; look for a case whose every step reports ok.")],
          otherwise="Find the case whose every step reports ok although the run printed an exception.",
          normalise=lambda guess: sorted(str(name) for name in guess), variable="my_hidden")
