"""Notebook 04, one bug, three symptoms."""

from __future__ import annotations

from pathlib import Path


def consistent(frames, root: Path) -> bool:
    """Does the install under ``root`` hold every frame's code at the frame's line?"""
    for frame in frames:
        path = root / frame.file
        if not path.exists():
            return False
        lines = path.read_text().splitlines()
        if frame.line > len(lines) or not lines[frame.line - 1].strip().startswith(frame.code):
            return False  # line numbers count from 1; the traceback shows the code without its indentation
    return True


my_prediction = [500, 504, 504, 504]
