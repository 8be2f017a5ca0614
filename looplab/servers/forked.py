"""Start looplab's own servers by forking a process that has already imported them.

A mock or a stack started with ``python -m looplab ...`` spends most of its start-up importing
(``openai``, FastAPI, uvicorn: about a CPU-second for a stack); a test run or a notebook starts
hundreds of them. So on Linux, :func:`looplab.servers.process.start` asks Python's own fork
server (:mod:`multiprocessing`'s ``forkserver`` start method, one per starting process, started
on first use) to fork a copy in which those modules are already imported, and runs the same
command line there (:func:`runpy.run_module`, as ``-m`` does). What the server does is unchanged:
the same code, its own process group, its log, its environment, its working folder.

How the process rules of :mod:`.process` still hold:

* **Dies with its starter.** The fork server lives exactly as long as the process that started it
  (it ends when that process's end of a pipe closes; each forked server closes its copy at once);
  each forked server dies with the fork server (``PR_SET_PDEATHSIG``, and the parent watch of
  :mod:`.serve`, pointed at the fork server).
* **Found by its tag.** ``/proc/PID/environ`` of a forked process is its fork server's, so the fork
  server starts tagged (``LOOPLAB_SERVER=fork-server`` and the starter's ``LOOPLAB_SESSION``);
  :func:`~.process.find_tagged` counts a process with that tag only when it leads its own process
  group, as every forked server does and the fork server never does.
* Anything else runs as before (:func:`forkable` says what): another interpreter, a server that
  must outlive its starter, a changed ``PYTHON*`` variable or session, not Linux.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing import context, forkserver, popen_forkserver, resource_tracker, spawn
from pathlib import Path
from typing import Any

from .serve import FORK_SERVER_TAG, OWNER_ENV, SESSION_ENV, TAG_ENV

DISABLE_ENV = "LOOPLAB_NO_FORK_SERVER"  # =1: every server is exec'd (to compare, or to rule the fork server out)
# The modules a forked server would otherwise import itself (what `-X importtime` showed a stack and a mock spend).
PRELOAD = ["ctypes", "runpy", "openai", "fastapi", "uvicorn", "psutil", "looplab.entrypoints.cli", "looplab.entrypoints.servers_cli",
           "looplab.mock_vllm", "looplab.mock_vllm.connections", "looplab.stack", "looplab.stack.app",
           "looplab.adapters", "looplab.servers.serve", "looplab.servers.latency_proxy"]
# `python -m MODULE` commands that may be forked: looplab's own servers.
FORKABLE = {"looplab", "looplab.servers.latency_proxy"}
_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15
_started_with: dict[str, str] | None = None  # the environment the fork server was started with


def _python_variables(env: dict[str, str]) -> dict[str, str]:
    """What the interpreter reads at start-up (a forked server cannot read it again)."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONUNBUFFERED"}


def forkable(argv: Sequence[str], env: dict[str, str], *, die_with_parent: bool) -> bool:
    """Whether ``argv`` (with the environment ``env``) can run in a fork of the fork server."""
    if not (sys.platform.startswith("linux") and die_with_parent and os.environ.get(DISABLE_ENV) != "1"):
        return False
    if len(argv) < 3 or argv[0] != sys.executable or argv[1] != "-m" or argv[2] not in FORKABLE:
        return False
    reference = _started_with if _started_with is not None else dict(os.environ)
    return (_python_variables(env) == _python_variables(reference)
            and env.get(SESSION_ENV) == reference.get(SESSION_ENV))


class ForkedProcess:
    """A forked server, with the part of :class:`subprocess.Popen` that :mod:`.process` uses."""

    def __init__(self, process: Any, args: Sequence[str]) -> None:
        self._process, self.args, self.pid = process, list(args), process.pid

    def poll(self) -> int | None:
        """Its exit code (negative: the signal that ended it), None while it runs."""
        return self._process.exitcode

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code


def _ensure_running() -> None:
    """Start the fork server (tagged, with the modules imported) if it is not running."""
    global _started_with  # noqa: PLW0603 (one fork server per process, like multiprocessing's own)
    server = forkserver._forkserver  # noqa: SLF001 (its documented behaviour; the singleton has no public handle)
    alive = server._forkserver_pid is not None  # noqa: SLF001
    if alive:
        with contextlib.suppress(ChildProcessError):
            alive = os.waitpid(server._forkserver_pid, os.WNOHANG)[0] == 0  # noqa: SLF001
    if not alive:  # (again): it inherits the environment as it is now, tagged
        forkserver.set_forkserver_preload(PRELOAD)
        before = os.environ.get(TAG_ENV)
        os.environ[TAG_ENV] = FORK_SERVER_TAG
        try:
            server.ensure_running()
            _started_with = {k: v for k, v in os.environ.items() if k != TAG_ENV}
        finally:
            if before is None:
                os.environ.pop(TAG_ENV, None)
            else:
                os.environ[TAG_ENV] = before


_LAUNCH = threading.Lock()


class _Launch(popen_forkserver.Popen):
    """multiprocessing's fork-server ``Popen``, minus one step: a forked child would first import the
    starter's ``__main__`` again (a script, a notebook's launcher) and run its top-level code. A
    server needs none of it, so that part of the start-up data the child receives is left out."""

    def _launch(self, process_obj: Any) -> None:
        full = spawn.get_preparation_data
        spawn.get_preparation_data = lambda name: {k: v for k, v in full(name).items() if not k.startswith("init_main_")}
        try:
            super()._launch(process_obj)
        finally:
            spawn.get_preparation_data = full


class _ServerProcess(context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
        return _Launch(process_obj)


def start(argv: Sequence[str], env: dict[str, str], log: Path, name: str) -> ForkedProcess:
    """Fork a server running ``argv`` (``python -m MODULE ARGS...``) with ``env``, its output in ``log``."""
    with _LAUNCH:
        _ensure_running()
        process = _ServerProcess(target=_run, args=(argv[2], list(argv[3:]), env, str(log), name),
                                 name=f"looplab-{name}", daemon=True)
        process.start()
    return ForkedProcess(process, argv)


def _run(module: str, args: list[str], env: dict[str, str], log: str, name: str) -> None:
    """In the forked process: become the server ``python -m module args`` would have been."""
    import ctypes
    import runpy


    # Only the starter keeps the fork server alive: a server holding the pipe's end would keep it (and
    # so itself) alive after the starter is gone. The resource tracker's pipe likewise.
    for holder, attribute in ((forkserver._forkserver, "_forkserver_alive_fd"),  # noqa: SLF001
                              (resource_tracker._resource_tracker, "_fd")):  # noqa: SLF001
        fd = getattr(holder, attribute, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
            setattr(holder, attribute, None)
    os.setsid()  # its own process group, like start_new_session=True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, 15)  # SIGTERM when the fork server goes
    libc.prctl(_PR_SET_NAME, name.encode()[:15])
    os.environ.clear()
    os.environ.update({**env, OWNER_ENV: str(os.getppid())})  # its parent watch watches the fork server
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 (the process's own)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.path.insert(0, os.getcwd())  # as `python -m` does
    sys.argv = ["-m", *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
