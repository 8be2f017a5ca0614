"""What the guided notebooks measure by running something else: a script, a benchmark, a test file.

Each function runs its subject in a subprocess (a fresh interpreter: its own event loops, nothing
shared with the notebook's kernel) and returns what a reader needs, so a notebook cell says *what*
it measures in one line instead of showing the plumbing. A run that fails raises :class:`RunFailed`
with the subprocess's own explanation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class RunFailed(RuntimeError):
    """The subprocess could not do its job; the message is its own last words."""

    def _render_traceback_(self) -> list[str]:  # IPython shows the explanation, not a traceback
        return [f"\033[31m✘ could not run:\033[0m {self}"]


@dataclass
class ScriptRun:
    """What a script printed, and how it ended."""

    stdout: str
    stderr: str
    returncode: int

    def last_error(self) -> str:
        lines = [line for line in _ANSI.sub("", self.stderr).strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


def plain_env() -> dict[str, str]:
    """This environment, with colour off: Python 3.13 colours its tracebacks when the environment asks for
    colour (a kernel's may), and what a check reads must be plain text."""
    return {**os.environ, "PYTHON_COLORS": "0", "NO_COLOR": "1"}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_script(path: str | Path, *args: str, timeout: float = 120) -> ScriptRun:
    """``python path args...``: a script that calls ``asyncio.run`` itself (a notebook cell may not)."""
    try:
        run = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout,
                             env=plain_env())
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{path} did not finish within {timeout:.0f} s") from None
    return ScriptRun(run.stdout, run.stderr, run.returncode)


def _json_of(command: list[str], timeout: float) -> Any:
    try:
        run = subprocess.run([sys.executable, "-m", "looplab", *command], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"`looplab {' '.join(command)}` did not finish within {timeout:.0f} s") from None
    if run.returncode != 0:
        raise RunFailed(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}")
    return json.loads(run.stdout)


def bench(*options: str, timeout: float = 300) -> dict[str, Any]:
    """``looplab bench --target strategies --json OPTIONS``: every strategy against one reused client."""
    return _json_of(["bench", "--target", "strategies", "--json", *options], timeout)


def symptoms(timeout: float = 300) -> list[dict[str, Any]]:
    """``looplab symptoms --json``: the broken adapter on each client stack, inside and after the keep-alive."""
    return _json_of(["symptoms", "--json"], timeout)


def run_tests(path: str | Path, timeout: float = 300) -> dict[str, str]:
    """Run one pytest file on its own (none of this project's options) and return ``{test id: outcome}``,
    the test id being the last part of the parameter (``broken``, ``LazyTouchedAtStartup``...)."""
    report = Path(path).with_suffix(".xml")
    try:
        subprocess.run([sys.executable, "-m", "pytest", str(path), "-q", "-o", "addopts=", "-p",
                        "looplab.entrypoints.pytest_plugin", f"--junitxml={report}"],
                       capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"pytest {path} did not finish within {timeout:.0f} s") from None
    if not report.exists():
        raise RunFailed(f"pytest wrote no report for {path}: does the file hold tests?")
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "")
        key = name.split("[", 1)[1].rstrip("]").split(":")[-1] if "[" in name else name
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[key] = "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
    report.unlink()
    return outcomes
