"""Predict, then measure: the shape most guided-notebook exercises take.

The learner writes a prediction before a cell measures the thing; the check compares the prediction
with what was *measured* (so it holds on any machine and backend), and a wrong prediction gets the
hint written for that particular misconception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..feedback import LabCheckFailed, not_attempted, passed


def judge(exercise: str, prediction: Any, measured: Any, *, right: str,
          wrong: Iterable[tuple[Any, str]] = (), otherwise: str,
          normalise: Callable[[Any], Any] = lambda value: value, variable: str = "my_prediction") -> None:
    """Pass when ``normalise(prediction) == measured``; else the hint of the matching wrong guess, or ``otherwise``.

    ``prediction`` None means the learner has not written one yet: "not attempted", and the notebook runs on."""
    if prediction is None:
        not_attempted(exercise, f"in `{variable}` above")
        return
    try:
        guess = normalise(prediction)
    except (TypeError, ValueError) as exc:
        raise LabCheckFailed(exercise, f"could not read your prediction {prediction!r}: {exc}") from None
    if guess == measured:
        passed(exercise, right)
        return
    for value, hint in wrong:
        if guess == normalise(value):
            raise LabCheckFailed(exercise, f"measured {measured!r}. {hint}")
    raise LabCheckFailed(exercise, f"measured {measured!r}. {otherwise}")
