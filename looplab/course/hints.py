"""Every hint a check can give, read from the checks' own source (the website's "common errors" page).

A check is a public function of a module of :mod:`.checks` (the labs) or :mod:`.exercises` (the guided
notebooks) that names its exercise (``exercise = "Exercise 5 (the per-call fix)"``, or the first
argument of ``judge``); its hints are the second argument of each ``LabCheckFailed(exercise, hint)``
in it, and a ``judge`` call's ``wrong`` hints and ``otherwise``. A helper that is handed the exercise
instead (``stack_with`` in checks/common.py, ``attempt`` in feedback.py) lends its hints to every check that
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
CHECK_PACKAGES = ("checks", "exercises")  # where checks live (labs, guided notebooks), in the page's order
HELPER_MODULES = ("feedback",)  # outside the packages, where a helper's hints may come from too
NOT_CHECKS = {"__init__.py", "fold.py", "lifecycle_probe.py", "bridge_probe.py", "probing.py"}  # no check and no hint in these
JUDGE = "judge"  # exercises/predict.py: its hints are the `wrong` and `otherwise` its callers pass
FILLED_IN = "…"


def modules() -> list[str]:
    """Every module a check or a hint may live in, as a path under looplab/course without ``.py``."""
    found = [f"{package}/{path.stem}" for package in CHECK_PACKAGES
             for path in sorted((COURSE / package).glob("*.py")) if path.name not in NOT_CHECKS]
    return found + list(HELPER_MODULES)


@dataclass(frozen=True)
class Hint:
    text: str  # what the learner reads, computed parts shown as "…"
    module: str  # "checks/lab05": the file under looplab/course, without .py
    line: int  # of the LabCheckFailed call
    via: str | None = None  # the helper it comes from, if not the check itself
    fields: tuple[str, ...] = ()  # the code behind each "…", in order


@dataclass
class Check:
    module: str  # "checks/lab05" (labs) or "exercises/ep05" (guided notebooks)
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


def _is_judged(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == JUDGE and bool(node.args)


def _exercise_name(function: ast.FunctionDef) -> str | None:
    """``exercise = "Exercise 5 (...)"`` in a lab's check, or the first argument of a judge(...) call."""
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["exercise"]
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
        if _is_judged(node) and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            return node.args[0].value
    return None


def _judged_hints(function: ast.FunctionDef, module: str) -> list[Hint]:
    """A judge(...) call's hints: each wrong guess's, then ``otherwise``; judge prefixes what was measured."""
    found = []
    for call in (node for node in ast.walk(function) if _is_judged(node)):
        keywords = {k.arg: k.value for k in call.keywords}
        said = [element.elts[1] for element in getattr(keywords.get("wrong"), "elts", [])
                if isinstance(element, ast.Tuple) and len(element.elts) == 2]
        said += [keywords["otherwise"]] if "otherwise" in keywords else []
        found += [Hint(_tidy(f"measured {FILLED_IN}. " + _text(node)), module, node.lineno, None,
                       ("measured", *_fields(node))) for node in said]
    return found


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
    tree = ast.parse((COURSE / f"{module}.py").read_text(encoding="utf-8"))
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


def _own_hints(function: ast.FunctionDef, module: str, via: str | None = None) -> list[Hint]:
    found = [Hint(_tidy(_text(node.args[1])), module, node.lineno, via, tuple(_fields(node.args[1])))
             for node in ast.walk(function) if _is_failure(node)]
    return sorted(found, key=lambda hint: hint.line)


def _used_in(module: str, function: str) -> list[Path]:
    package = module.split("/")[0]
    call = re.compile(rf"\b{package}\.{function}\(")
    folder = {"checks": "solutions", "exercises": "notebooks"}[package]
    return [path for path in sorted((ROOT / folder).glob("*.ipynb"))
            if any(call.search(cell.source) for cell in nbformat.read(path, as_version=4).cells)]


def checks() -> list[Check]:
    """Every check with every hint it can give, in the order of the source files."""
    helpers: dict[str, list[Hint]] = {}
    for module in modules():
        for function in _functions(module):
            if _exercise_name(function) is None:
                hints = _own_hints(function, module, via=function.name)
                if function.name == JUDGE:  # the rest are its callers' words, shown with each caller
                    hints = [hint for hint in hints if not hint.text.startswith("measured")]
                if hints:
                    helpers[function.name] = hints
    found = []
    for module in modules():
        if module in HELPER_MODULES:
            continue
        for function in _functions(module):
            exercise = _exercise_name(function)
            if exercise is None or function.name.startswith("_"):
                continue
            hints = _own_hints(function, module) + _judged_hints(function, module)
            for name in sorted(_called_names(function) & set(helpers)):
                hints += helpers[name]
            summary = (ast.get_docstring(function) or "").strip().splitlines()[0:1]
            found.append(Check(module, function.name, exercise, summary[0] if summary else "", hints,
                               _used_in(module, function.name)))
    return found
