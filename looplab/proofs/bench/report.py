"""What every benchmark report shares: the versions it ran with, CPU accounting, its errors, its output."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from typing import Any


class BenchError(RuntimeError):
    """The benchmark could not run (as opposed to: it ran and found errors)."""


class BenchInputError(BenchError):
    """The options ask for something this machine cannot do; found before any server starts."""


def versions() -> dict[str, str]:
    """The versions that decide what a benchmark measures: Python, the client and its HTTP stack, the server."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("openai", "httpx2", "httpcore2", "uvicorn", "h11", "fastapi", "starlette", "pydantic", "looplab"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> dict[str, Any]:
    import os

    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (None once it is gone)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def guarded(measure: Callable[[], dict[str, Any]]) -> dict[str, Any] | int:
    """Run a measurement; turn its failures into one line on stderr and ``looplab bench``'s exit code."""
    from ...servers import ServerError

    try:
        return measure()
    except BenchInputError as exc:
        print(f"looplab bench: {exc}", file=sys.stderr)
        return 2
    except (BenchError, ServerError) as exc:
        print(f"looplab bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("looplab bench: interrupted; the servers were stopped.", file=sys.stderr)
        return 130


def emit(report: dict[str, Any], as_json: bool, render: Callable[[], None]) -> int:
    """Print the report (JSON for machines, tables for people); 0 only when every request succeeded."""
    if as_json:
        print(json.dumps(report))
    else:
        render()
    return 0 if report["ok"] else 1


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
