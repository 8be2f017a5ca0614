"""Where looplab's environments are: the workshop's own, and the incident-era client's.

``python3 run.py setup`` builds ``.venv-incident/`` from ``envs/incident-era.txt``: the ``openai``
1.73 client (on ``httpx``) of April 2025, whose default retries hid the crash. Code that needs
that client's behaviour runs a process with :func:`incident_python`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCIDENT_ENV = ROOT / ".venv-incident"
INCIDENT_OPENAI = "1.73.0"


def incident_python() -> Path:
    """The incident-era interpreter; raises ``FileNotFoundError`` with the fix if it is missing."""
    python = INCIDENT_ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `python3 run.py setup` to build the openai "
                                f"{INCIDENT_OPENAI} environment")
    return python


def incident_openai_version() -> str:
    """The openai version in the incident-era environment (checked, not assumed)."""
    out = subprocess.run([str(incident_python()), "-c", "import openai; print(openai.__version__)"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()
