"""Notebook 05, the per-call fix: predict the leak."""

from __future__ import annotations

from typing import Any

from .predict import judge

CHOICES = {"A": "none", "B": "one or two (a pool's worth)", "C": "about one per request"}


def leak_category(open_sockets: int, requests: int) -> str:
    """Which choice a measured count of open backend sockets falls in."""
    if open_sockets == 0:
        return "A"
    return "C" if open_sockets >= requests / 4 else "B"


def predict_the_leak(prediction: Any, open_sockets: int, requests: int) -> None:
    """After ``requests`` calls to an adapter that never closes its per-call clients: how many sockets stay open?"""
    measured = leak_category(open_sockets, requests)
    judge("Exercise 5.1 (predict, then run)", prediction, measured,
          right=f"{open_sockets} sockets open after {requests} requests: {CHOICES[measured]}",
          wrong=[("A", "Nothing closes them. Each call's client keeps its connection open after the call returns, "
                  "until the garbage collector finds the client (and then Python warns: ResourceWarning)."),
                 ("B", "Each call makes its own client, and each client has its own pool: connections are never "
                  "shared between clients, so none is reused.")],
          otherwise="Choose A, B or C.",
          normalise=lambda guess: str(guess).strip().upper())
