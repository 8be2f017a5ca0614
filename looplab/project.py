"""Where the project's own files are: the checkout, its pins (``envs/``) and its caches (``.cache/``).

The base of the house: standard library only, importable from every layer except the studied
system (which never needs to know where it is checked out).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "envs"
CACHE = ROOT / ".cache"
LOCK_FILE = ROOT / "uv.lock"
BIN = "Scripts" if os.name == "nt" else "bin"


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, set[str]]:
    """name -> versions pinned in uv.lock (a package can be locked twice, per Python version)."""
    found: dict[str, set[str]] = {}
    for name, version in re.findall(r'^name = "([^"]+)"\nversion = "([^"]+)"', lock.read_text(), re.MULTILINE):
        found.setdefault(name, set()).add(version)
    return found


def locked_version(name: str) -> str:
    """The one version of ``name`` that uv.lock pins (the ``openai`` client, say)."""
    (version,) = locked_versions()[name]
    return version
