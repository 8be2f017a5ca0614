"""Date a traceback: which versions of a library put *that* code at *that* line?

A traceback frame names a file, a line number, a function and the code on that line. A release
of the library matches the frame when its file holds that code at that line (counted from 1, the
indentation aside). The versions consistent with a traceback are those that match every frame of
theirs. Applied to #1968's traceback against every release of the era, this finds httpx 0.27.0
(only), httpcore 1.0.1 or 1.0.2, openai 1.65.3 to 1.73.0 (the file is identical across them) and
anyio 4.x: ``envs/incident-exact.in`` pins that.

:data:`REPORTED` holds the frames #1968 shows (the middle of its traceback could not be read);
:func:`installed_candidates` the library folders installed here (one per client environment), so a
notebook can run the method offline on three real candidates.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..real.envs import EXACT, INCIDENT


@dataclass(frozen=True)
class Frame:
    file: str  # relative to site-packages, as the traceback shows it after ".../site-packages/"
    line: int
    function: str
    code: str  # the code the traceback printed under the frame (stripped)


#: The frames of #1968's traceback that name a library file (ogx-ai/ogx, formerly meta-llama/llama-stack).
REPORTED = [
    Frame("openai/_base_client.py", 1500, "_request", "response = await self._client.send("),
    Frame("httpx/_client.py", 1661, "send", "response = await self._send_handling_auth("),
    Frame("httpx/_client.py", 1689, "_send_handling_auth", "response = await self._send_handling_redirects("),
    Frame("httpx/_client.py", 1726, "_send_handling_redirects", "response = await self._send_single_request(request)"),
    Frame("httpx/_client.py", 1763, "_send_single_request", "response = await transport.handle_async_request(request)"),
    Frame("httpx/_transports/default.py", 373, "handle_async_request", "resp = await self._pool.handle_async_request(req)"),
    Frame("httpcore/_async/connection_pool.py", 234, "handle_async_request", "await self._close_expired_connections()"),
    Frame("httpcore/_async/connection_pool.py", 244, "handle_async_request", "async with self._pool_lock:"),
]


def site_packages(env_folder: Path) -> Path:
    """The site-packages folder of a virtual environment."""
    found = sorted(env_folder.glob("lib/python3*/site-packages")) or sorted(env_folder.glob("Lib/site-packages"))
    if not found:
        raise FileNotFoundError(f"{env_folder} has no site-packages: run `python3 run.py setup`")
    return found[0]


def installed_candidates() -> dict[str, Path]:
    """Candidate installs to test a traceback against: each client environment's site-packages."""
    return {"the reporter's (.venv-exact)": site_packages(EXACT.folder),
            "the incident era's (.venv-incident)": site_packages(INCIDENT.folder),
            "the workshop's (.venv)": Path(sysconfig.get_paths()["purelib"])}


def line_at(root: Path, relative: str, number: int) -> str | None:
    """Line ``number`` (from 1) of ``root/relative``, stripped; None if the file or the line is missing."""
    try:
        lines = (root / relative).read_text(errors="replace").splitlines()
    except OSError:
        return None
    return lines[number - 1].strip() if 0 < number <= len(lines) else None


def matching(frames: list[Frame], root: Path) -> list[bool]:
    """For each frame: does the install under ``root`` hold that code at that line?"""
    return [(line_at(root, f.file, f.line) or "").startswith(f.code) for f in frames]


def table(frames: list[Frame] = REPORTED) -> list[dict[str, str]]:
    """One row per frame, one column per installed candidate: ✓ or what that line holds instead."""
    rows = []
    for frame in frames:
        row = {"frame": f"{frame.file}:{frame.line}"}
        for name, root in installed_candidates().items():
            found = line_at(root, frame.file, frame.line)
            row[name] = "✓" if found is not None and found.startswith(frame.code) else (found or "(no such file)")[:40]
        rows.append(row)
    return rows
