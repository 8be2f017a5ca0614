"""Notebook 04, one bug, three symptoms: date the traceback; predict the reporter's row."""

from __future__ import annotations

from typing import Any

from ..feedback import LabCheckFailed, attempt, not_attempted, passed


def date_the_traceback(consistent: Any) -> None:
    """``consistent(frames, root)`` is true exactly for installs that hold every frame's code at its line."""
    from ...proofs import forensics

    exercise = "Exercise 4.1 (date the traceback)"
    candidates = forensics.installed_candidates()
    verdicts = {}
    for name, root in candidates.items():
        done, verdict = attempt(exercise, consistent, forensics.REPORTED, root)
        if not done:
            not_attempted(exercise)
            return
        verdicts[name] = verdict
    if any(not isinstance(v, bool) for v in verdicts.values()):
        raise LabCheckFailed(exercise, f"return True or False, not {sorted({type(v).__name__ for v in verdicts.values()})}")
    reporter, era, workshop = candidates
    if not any(verdicts.values()):
        raise LabCheckFailed(exercise, "no install matched, not even the reporter's. Line numbers in a traceback count "
                             "from 1 (the first line is lines[0]), and the code is shown without its indentation: "
                             "compare line.strip() with the frame's code.")
    if verdicts[era] or verdicts[workshop]:
        which = [name for name in (era, workshop) if verdicts[name]]
        raise LabCheckFailed(exercise, f"{which} matched too, but their httpx and httpcore differ from the reporter's. "
                             "Every frame must hold its code at its line (all of them, not any of them), and a file "
                             "that exists is not enough: read the line.")
    if not verdicts[reporter]:
        raise LabCheckFailed(exercise, "the reporter's install (.venv-exact) should match every frame: compare each "
                             "frame's line, stripped, with its code.")
    passed(exercise, "only the reporter's install holds every frame: httpx 0.27.0 with httpcore 1.0.2")


def predict_the_reporters_row(prediction: Any, rows: list[dict[str, Any]]) -> None:
    """The learner's guess of what requests 1-4 got on the reporter's stack, retries off, after the keep-alive."""
    exercise = "Exercise 4.2 (predict, then measure)"
    if prediction is None:
        not_attempted(exercise, "in `my_prediction` above")
        return
    (row,) = [r for r in rows if (r["stack"], r["keepalive"], r["retries"]) == ("exact", "expired", 0)]
    measured = row["statuses"]
    if list(prediction) == measured:
        passed(exercise, f"you predicted {measured}: the pool is wedged after the first failure")
        return
    if list(prediction) == [500, 200, 200, 200]:
        raise LabCheckFailed(exercise, f"measured {measured}. That is what the pinned stacks do; httpcore 1.0.2 closes "
                             "the stale connection before removing it from its pool, and the failure leaves the pool "
                             "believing the slot is taken: later requests wait for it until the client's timeout (504).")
    raise LabCheckFailed(exercise, f"measured {measured} (500: the RuntimeError; 504: the adapter's client gave up "
                         "waiting for a pool slot). Compare with the rows inside the keep-alive: what differs?")
