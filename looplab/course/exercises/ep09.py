"""Notebook 09, the real releases: predict what 0.2.3's backend receives."""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_the_generations(prediction: Any, received: int) -> None:
    """Chat requests the backend received for six sent to 0.2.3 (three with retries on, three with them off)."""
    judge("Exercise 9.1 (predict, then run)", prediction, received,
          right="one generation per request: 0.2.3's client is born on the serving loop, nothing crashes, nothing "
                "is retried",
          wrong=[(7, "0.2.2 generated its first request twice, because the crash was retried. 0.2.3 creates its "
                  "client on the first request, on uvicorn's loop: there is no crash to retry."),
                 (8, "No request crashes on 0.2.3, so neither run retries anything.")],
          otherwise="How many requests crash on 0.2.3, and what would a retry add?",
          normalise=int)
