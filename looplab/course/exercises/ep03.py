"""Notebook 03, reproduce the crash: does waiting help?"""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_after_the_keepalive(prediction: Any, status: int) -> None:
    """The status of the first request after the backend closed its idle connections."""
    judge("Exercise 3.1 (predict, then run)", prediction, status,
          right="waiting does not help: the pool must still close its end of the stale connection, on its dead loop",
          wrong=[(200, "The backend closed its end, but the client's pool still holds the connection. Before it can "
                  "open a new one it closes its own end, and closing a transport schedules a callback on the "
                  "transport's loop: loop 1, closed.")],
          otherwise="Write an HTTP status: 200 or 500.",
          normalise=int)
