"""Folders a process owns, and the one sweeper that removes those of processes that are gone.

Every folder looplab creates for a run (a server's work folder, a real vLLM's temporary files, a
released stack's state) is named ``<prefix>-<pid>-<random>``, ``pid`` being the process that
created it. That process removes it when it stops its server; if it was killed instead, its
servers died with it, and the next :func:`sweep` of the same parent folder removes what is left.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psutil


def owned_dir(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/<prefix>-<this pid>-<random>``, removed by :func:`sweep` once this process is gone."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-{os.getpid()}-", dir=parent))


def owner_of(folder: Path) -> int | None:
    """The pid in an owned folder's name (``<prefix>-<pid>-<random>``), or None if it has none."""
    parts = folder.name.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def sweep(parent: Path, prefix: str) -> list[Path]:
    """Remove ``parent``'s owned folders starting with ``prefix`` whose owner process is gone."""
    removed = []
    for folder in parent.glob(f"{prefix}-*"):
        owner = owner_of(folder)
        if owner is not None and folder.is_dir() and not psutil.pid_exists(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
