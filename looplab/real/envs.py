"""The interpreters looplab runs code in, besides its own: the incident-era client's environment.

``python3 run.py setup`` builds ``.venv-incident/`` from ``envs/incident-era.txt``: the ``openai``
1.73 client (on ``httpx``) of April 2025, whose default retries hid the crash. Code that needs
that client's behaviour runs a process with :func:`incident_python`; looplab's own source is on
that interpreter's path, so ``python -m looplab stack`` runs there too (the studied system and
the server side of :mod:`looplab.servers` import only what that environment has).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..project import BIN, ENVS, ROOT

INCIDENT_ENV = ROOT / ".venv-incident"
INCIDENT_PINS = ENVS / "incident-era.txt"


def pinned(path: Path, name: str) -> str:
    """The version ``name`` is pinned to (``name==X``) in a requirements file."""
    match = re.search(rf"^{re.escape(name)}==([^\s;#]+)", path.read_text(), re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise ValueError(f"{path.name} pins no {name}")
    return match[1]


INCIDENT_OPENAI = pinned(INCIDENT_PINS, "openai")


def incident_python() -> Path:
    """The incident-era interpreter; raises ``FileNotFoundError`` with the fix if it is missing."""
    python = INCIDENT_ENV / BIN / ("python.exe" if BIN == "Scripts" else "python")
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `python3 run.py setup` to build the openai "
                                f"{INCIDENT_OPENAI} environment")
    return python


def installed_version(python: Path, module: str) -> str:
    """``module.__version__`` as an interpreter sees it (checked, not assumed)."""
    out = subprocess.run([str(python), "-c", f"import {module}; print({module}.__version__)"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def incident_openai_version() -> str:
    """The openai version in the incident-era environment."""
    return installed_version(incident_python(), "openai")
