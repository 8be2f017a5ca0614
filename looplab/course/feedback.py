"""How a check talks to a learner: one line when it passes, a hint when it does not.

Shared by the labs' checks (:mod:`.checks`) and the guided notebooks' exercises (:mod:`.exercises`).
Results carry words as well as marks (``✔ passed``, ``✘ not yet``, ``○ not attempted``), so they read
the same without colour.
"""

from __future__ import annotations

from typing import Any


class LabCheckFailed(AssertionError):
    """The exercise's answer is not right yet; the message is the hint."""

    def __init__(self, exercise: str, hint: str) -> None:
        super().__init__(f"{exercise}: {hint}")
        self.exercise, self.hint = exercise, hint

    def _render_traceback_(self) -> list[str]:  # IPython shows just the hint, not a traceback
        return [f"\033[31m✘ not yet: {self.exercise}\033[0m", f"  hint: {self.hint}"]


CheckFailed = LabCheckFailed


def passed(exercise: str, detail: str) -> None:
    print(f"✔ passed: {exercise}: {detail}")


def not_attempted(exercise: str, where: str = "in the cell above") -> None:
    """A guided notebook's exercise still holds its stub: say so, and let the notebook run on."""
    print(f"○ not attempted yet: {exercise}. Write your answer {where}, then run this cell again "
          "(an answer is folded under it).")


def is_stub(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError)


def attempt(exercise: str, fn: Any, *args: Any) -> tuple[bool, Any]:
    """Call the learner's ``fn``; (False, None) if it is still the stub, else (True, its result).

    An exception of the learner's own code becomes a hint that names it."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, None
    except Exception as exc:  # noqa: BLE001 (their code's error, in their words)
        raise LabCheckFailed(exercise, f"your code raised {type(exc).__name__}: {exc}") from None
