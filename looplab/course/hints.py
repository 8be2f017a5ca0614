"""Every hint a check can give, read from the checks' own source (the website's "common errors" page).

A check is a function of :mod:`.checks` (the labs) or :mod:`.exercises` (the guided notebooks) that
names its exercise (``exercise = "Exercise 5 (the per-call fix)"``); its hints are the second
argument of each ``LabCheckFailed(exercise, hint)`` in it. A helper that is handed the exercise
instead (``_stack`` in checks.py, ``attempt`` in feedback.py) lends its hints to every check that
calls it. The parts of a hint computed at run time (f-string fields, ``+ str(exc)``) are shown as
``…``. Reading the source, not running it, means the page follows every edit to a hint.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..project import ROOT

COURSE = Path(__file__).parent
CHECK_MODULES = ("checks", "exercises")  # where checks live, in the order the page shows them
HELPER_MODULES = ("checks", "exercises", "feedback")  # where a helper's hints may come from
FILLED_IN = "…"


@dataclass(frozen=True)
class Hint:
    text: str  # what the learner reads, computed parts shown as "…"
    module: str  # "checks"
    line: int  # of the LabCheckFailed call
    via: str | None = None  # the helper it comes from, if not the check itself
    fields: tuple[str, ...] = ()  # the code behind each "…", in order


@dataclass
class Check:
    module: str  # "checks" (labs) or "exercises" (guided notebooks)
    function: str
    exercise: str
    summary: str  # the docstring's first line
    hints: list[Hint] = field(default_factory=list)
    used_in: list[Path] = field(default_factory=list)  # the notebooks whose cells call it


def _text(node: ast.AST) -> str:
    """The hint as a learner reads it; whatever is computed becomes "…"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part) if isinstance(part, ast.Constant) else FILLED_IN for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    return FILLED_IN


def _fields(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(part.value) for part in node.values if isinstance(part, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fields(node.left) + _fields(node.right)
    return [ast.unparse(node)]


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(f"(?:{FILLED_IN}\\s*)+{FILLED_IN}", FILLED_IN, text)


def _is_failure(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "LabCheckFailed"
            and len(node.args) == 2)


def _exercise_name(function: ast.FunctionDef) -> str | None:
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["exercise"]
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def _called_names(function: ast.FunctionDef) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def _functions(module: str) -> list[ast.FunctionDef]:
    tree = ast.parse((COURSE / f"{module}.py").read_text())
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


def _own_hints(function: ast.FunctionDef, module: str, via: str | None = None) -> list[Hint]:
    found = [Hint(_tidy(_text(node.args[1])), module, node.lineno, via, tuple(_fields(node.args[1])))
             for node in ast.walk(function) if _is_failure(node)]
    return sorted(found, key=lambda hint: hint.line)


def _used_in(module: str, function: str) -> list[Path]:
    call = re.compile(rf"\b{module}\.{function}\(")
    folder = {"checks": "solutions", "exercises": "notebooks"}[module]
    return [path for path in sorted((ROOT / folder).glob("*.ipynb"))
            if any(call.search(cell.source) for cell in nbformat.read(path, as_version=4).cells)]


def checks() -> list[Check]:
    """Every check with every hint it can give, in the order of the source files."""
    helpers: dict[str, list[Hint]] = {}
    for module in HELPER_MODULES:
        for function in _functions(module):
            if _exercise_name(function) is None:
                hints = _own_hints(function, module, via=function.name)
                if hints:
                    helpers[function.name] = hints
    found = []
    for module in CHECK_MODULES:
        for function in _functions(module):
            exercise = _exercise_name(function)
            if exercise is None:
                continue
            hints = _own_hints(function, module)
            for name in sorted(_called_names(function) & set(helpers)):
                hints += helpers[name]
            summary = (ast.get_docstring(function) or "").strip().splitlines()[0:1]
            found.append(Check(module, function.name, exercise, summary[0] if summary else "", hints,
                               _used_in(module, function.name)))
    return found
