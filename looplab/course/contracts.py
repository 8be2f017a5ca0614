"""A lab's contract: the requirements its exercises state, each one a line the check tests.

A lab states them in an exercise's Markdown cell, as a list whose items start with their id::

    - **R1** Both jobs get the same client from `get_client()`.

The check cell that follows the list (the next cell calling ``checks.NAME(...)``) is the one that
tests them. ``tests/test_lab_checks.py`` proves each requirement with a committed wrong answer that
breaks it (``tests/wrong_answers/``): a requirement with no such answer, or a wrong answer that
passes, fails the suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

_ITEM = re.compile(r"^[-*] \*\*(R\d+)\*\*\s*(.*)$")
_CHECK_CALL = re.compile(r"\bchecks\.(\w+)\(")


@dataclass(frozen=True)
class Requirement:
    id: str  # "R3", unique in its lab
    text: str  # as the lab states it (Markdown, one line)
    check: str  # the check function that tests it (looplab.course.checks.<check>)


def _items(markdown: str) -> list[tuple[str, str]]:
    """``(id, text)`` of each contract item; an item's indented continuation lines are joined to it."""
    found: list[list[str]] = []
    for line in markdown.splitlines():
        match = _ITEM.match(line)
        if match:
            found.append([match.group(1), match.group(2).strip()])
        elif found and line.startswith("  ") and line.strip():
            found[-1][1] += " " + line.strip()
        elif found and not line.strip():
            found.append(["", ""])  # a blank line ends the item
    return [(ident, text) for ident, text in found if ident]


def requirements(notebook: Path) -> list[Requirement]:
    """Every requirement a lab notebook (a solution, a lab, in any language) states, in order."""
    nb = nbformat.read(notebook, as_version=4)
    found, pending = [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            pending += _items(cell.source)
            continue
        call = _CHECK_CALL.search(cell.source) if "check" in cell.get("metadata", {}).get("tags", []) else None
        if call and pending:
            found += [Requirement(ident, text, call.group(1)) for ident, text in pending]
            pending = []
    if pending:
        raise ValueError(f"{notebook.name}: requirements {[i for i, _ in pending]} come after the last check cell")
    ids = [r.id for r in found]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{notebook.name}: a requirement id is used twice: {ids}")
    return found
