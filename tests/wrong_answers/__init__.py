"""The committed wrong answers: for each lab, the classic mistakes a learner makes, each beside the
requirement of the lab's contract it breaks and the words its check's hint must say.

``tests/test_lab_checks.py`` feeds every one to its check: each must fail (a wrong answer that passes
fails the suite) with a hint naming its own mistake; and every requirement a lab states (see
:mod:`looplab.course.contracts`) must be broken by at least one of them.

A wrong answer is what a learner's cells would hand the check: the files its ``%%writefile`` cells
write (into the check's working folder, where the servers import them from), and the check's
arguments (a file or ``module:Class``, or the learner's own functions for labs 03 and 07).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Wrong:
    name: str  # the mistake, as an id
    breaks: str  # the requirement of the lab's contract it violates ("R3")
    hint: str  # words the check's hint must contain: they name this answer's mistake
    check: str  # the check function, looplab.course.checks.<check>
    args: tuple[Any, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)


def by_lab() -> dict[int, list[Wrong]]:
    from . import lab01, lab02, lab03, lab05, lab06, lab07, lab08

    return {module.LAB: module.WRONG for module in (lab01, lab02, lab03, lab05, lab06, lab07, lab08)}
