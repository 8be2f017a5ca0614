"""Notebook 06, what the fix costs: predict the handshakes."""

from __future__ import annotations

from typing import Any

from ..feedback import LabCheckFailed, not_attempted, passed


def predict_the_handshakes(prediction: Any, report: dict[str, Any]) -> None:
    """The learner's guess: TLS handshakes per request of ``per_call_shared_ssl`` over HTTPS (from a bench report)."""
    exercise = "Exercise 6.1 (predict, then measure)"
    if prediction is None:
        not_attempted(exercise, "in `my_prediction` above")
        return
    rows = {r["strategy"]: r for r in report["strategies"]}
    measured = rows["per_call_shared_ssl"]["handshakes_per_request"]
    if prediction == measured:
        passed(exercise, f"{measured} handshake per request: sharing the SSL context saves building it, not using it")
        return
    if prediction == 0:
        raise LabCheckFailed(exercise, f"measured {measured}. A shared SSL context saves *building* the context (the "
                             "CA bundle loaded once); every new client still opens a new connection, and every new "
                             "TLS connection needs its handshake: round trips on a real network.")
    raise LabCheckFailed(exercise, f"measured {measured}. How many connections does a client that lives for one call "
                         "open, and what does each new TLS connection begin with?")
