"""Small runnable demonstrations, each a script that prints one JSON result.

They run in a subprocess (``python -m looplab.course.demos.NAME``) because they call ``asyncio.run``,
which Jupyter's own running loop forbids in a cell, and because a crashed demonstration must
not leave half-closed connections in the caller's process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_demo(name: str, *args: str, python: str | Path | None = None, timeout: float = 60) -> dict[str, Any]:
    """Run ``looplab.course.demos.<name>`` in a fresh interpreter and return the JSON it prints."""
    completed = subprocess.run([str(python or sys.executable), "-m", f"looplab.course.demos.{name}", *args],
                               capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"demo {name} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["stderr"] = completed.stderr
    return result
