"""A room started the way a facilitator starts it (``looplab room run``, a real process), for the
capacity measurement and the tests: wait for its banner, read its settings, stop it with Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..project import ROOT
from ..servers import die_with_parent
from .launch import forget_learner
from .settings import RoomSettings


def scratch_home(prefix: str = "looplab-room-test-") -> Path:
    """A throwaway room home learners can pass through (pytest's own tmp folders are private to root)."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.chmod(0o711)
    return home


class RoomProcess:
    def __init__(self, home: Path, *args: str, timeout: float = 240.0) -> None:
        self.home = home
        self.output: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "looplab", "room", "run", "--home", str(home), *args], cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=die_with_parent())
        self._wait_for("looplab room is running.", timeout)
        self.settings = RoomSettings.load(home / "room.json")

    def _wait_for(self, text: str, timeout: float) -> None:
        """Read the launcher's output in a thread (so it never blocks on a full pipe) until ``text``."""
        seen = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if text in line:
                    seen.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not seen.wait(0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(timeout=120)
                raise RuntimeError(f"the room did not start (exit {self.process.returncode}):\n{''.join(self.output)[-3000:]}")

    @property
    def url(self) -> str:
        return self.settings.public_url()

    def stop(self, timeout: float = 180.0) -> int:
        """Ctrl-C, as the facilitator presses it; returns the launcher's exit code (its output in ``.output``)."""
        if self.process.returncode is not None:
            return self.process.returncode
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._reader.join(30)
        return self.process.returncode

    def forget(self, learners: list[str]) -> None:
        """After a test: remove the learners' OS users and control groups (their homes go with ``home``)."""
        for name in learners:
            forget_learner(self.settings.os_user(name))
