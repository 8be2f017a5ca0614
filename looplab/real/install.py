"""One cached install: a folder built once, reused while what it was built from is unchanged.

The real systems need large things built on first use (vLLM's environment, the tiny model, each
released Llama Stack). Each is a :class:`CachedInstall`: a target folder, and a *fingerprint*
(what it is built from: pins, a builder's source, the interpreter). The fingerprint is written as a
stamp file when the build succeeded; a later call with the same fingerprint returns at once,
anything else rebuilds. One installer at a time (a file lock), so two test runs cannot race.

Staged builds happen in ``<target>.partial`` and are moved into place only when complete, so a
killed build never looks installed. A virtual environment cannot be moved (its scripts hold their
own path): it is built in place (``staged=False``), and its stamp, written last, is what marks it done.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STAMP = ".looplab-installed.json"


class CachedInstall:
    def __init__(self, target: Path, fingerprint: Callable[[], dict[str, Any]], *, staged: bool = True,
                 lock: Path | None = None) -> None:
        self.target, self.fingerprint, self.staged = target, fingerprint, staged
        self.lock_path = lock or target.parent / f".{target.name}.lock"

    @property
    def stamp(self) -> Path:
        return self.target / STAMP

    def current(self) -> bool:
        """True when the target holds a finished build of the current fingerprint."""
        try:
            return json.loads(self.stamp.read_text()) == self.fingerprint()
        except (OSError, ValueError):
            return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "w") as lock:
            try:
                import fcntl
            except ImportError:  # native Windows is not supported anyway
                yield
                return
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure(self, build: Callable[[Path], Any], *, force: bool = False) -> bool:
        """Build unless current (or ``force``): ``build(folder)`` fills ``folder``. True if it built."""
        with self._locked():
            if self.current() and not force:
                return False
            folder = self.target.with_name(self.target.name + ".partial") if self.staged else self.target
            shutil.rmtree(folder, ignore_errors=True)
            if self.staged:
                folder.mkdir(parents=True)
            try:
                build(folder)
                (folder / STAMP).write_text(json.dumps(self.fingerprint()))
            except BaseException:
                if self.staged:
                    shutil.rmtree(folder, ignore_errors=True)
                raise
            if self.staged:
                shutil.rmtree(self.target, ignore_errors=True)
                folder.rename(self.target)
            return True
