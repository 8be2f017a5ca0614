"""Start looplab's own servers by forking a process that has already imported them.

A mock or a stack started with ``python -m looplab ...`` spends most of its start-up importing
(``openai``, FastAPI, uvicorn: about a CPU-second for a stack); a test run or a notebook starts
hundreds of them. So on Linux, :func:`looplab.servers.process.start` asks a fork server of its own
(Python's :mod:`multiprocessing` ``ForkServer``, one per starting process, started on first use and
again if it dies) to fork a copy in which those modules are already imported, and runs the same
command line there (:func:`runpy.run_module`, as ``-m`` does). What the server does is unchanged:
the same code, its own process group, its log, its environment, its working folder, the
``sys.path`` that ``python -m`` would give it.

How the process rules of :mod:`.process` still hold:

* **Dies with its starter.** The fork server lives exactly as long as the process that started it
  (it ends when that process's end of a pipe closes; each forked server closes its copy at once);
  each forked server dies with the fork server (``PR_SET_PDEATHSIG``, checked after it is set, and
  the parent watch of :mod:`.serve`, pointed at the fork server).
* **Found by scanning.** A forked process's ``/proc/PID/cmdline`` and ``environ`` are its fork
  server's: the command line names this module (:data:`MARKER`) and the environment holds the
  starter's ``LOOPLAB_SESSION``. :func:`~.process.find_tagged` counts such a process when it leads
  its own process group, as every forked server does and the fork server never does. Nothing is
  changed in the starter's environment.
* **Anything else is started as before** (:func:`forkable` says what): another interpreter or
  module, a server that must outlive its starter, a starter run with interpreter options (``-W``,
  ``-X``, ``-O``...), an environment other than the one the fork server started with (a server
  could read it at import), not Linux; and a fork server that fails to start.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing import context, forkserver, popen_forkserver, process, reduction, resource_tracker, util
from pathlib import Path
from typing import Any

from .serve import OWNER_ENV, TAG_ENV
from .workdirs import owned_dir

MARKER = "looplab.servers.forked"  # in every fork server's command line (its preload list)
DISABLE_ENV = "LOOPLAB_NO_FORK_SERVER"  # =1: every server is exec'd (to compare, or to rule the fork server out)
# The modules a forked server would otherwise import itself (what `-X importtime` showed a stack and a mock spend).
# Not the modules run as `-m` themselves (runpy would run a second copy of one already imported).
# With the modules they import only once they serve (found the same way, after "listening on"): httpcore2 when
# the adapter's first client connects, openai's chat resources at the first completion, pydantic.v1 when FastAPI
# builds the routes, the mock's app and metrics.
PRELOAD = [MARKER, "ctypes", "runpy", "openai", "fastapi", "uvicorn", "psutil", "looplab.entrypoints.cli",
           "looplab.entrypoints.servers_cli", "looplab.mock_vllm", "looplab.mock_vllm.connections",
           "looplab.mock_vllm.app", "looplab.mock_vllm.metrics", "looplab.stack", "looplab.stack.app",
           "looplab.adapters", "looplab.servers.serve", "pydantic.v1", "httpcore2", "openai.resources.models",
           "openai.resources.chat.completions.completions", "anyio._core._sockets", "anyio._core._streams",
           "fastapi.telemetry._runtime", "concurrent.futures.thread", "uvicorn.loops.asyncio"]
FORKABLE = {"looplab", "looplab.servers.latency_proxy"}  # `python -m MODULE`: looplab's own servers
# Differences a forked server may have from its fork server's environment: set per server, or per test.
_PER_SERVER = {TAG_ENV, OWNER_ENV, "PYTHONUNBUFFERED", "PYTEST_CURRENT_TEST"}
_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15

_LOCK = threading.Lock()
_FORK_SERVER = forkserver.ForkServer()  # our own, not multiprocessing's shared one (set up by others' code)
_FORK_SERVER.set_forkserver_preload(PRELOAD)
_started: dict[str, Any] = {"pid": None, "env": None, "path": None}  # the running fork server's


def _comparable(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in _PER_SERVER}


def _plain_interpreter() -> bool:
    """Whether this process was started without interpreter options an exec'd server would not get
    (``-u`` and ``-B`` change nothing a server does)."""
    for arg in sys.orig_argv[1:]:
        if not arg.startswith("-") or arg == "-" or arg.startswith(("-c", "-m")):
            return True
        if set(arg[1:]) - set("uB"):
            return False
    return True


def forkable(argv: Sequence[str], env: dict[str, str], *, die_with_parent: bool) -> bool:
    """Whether ``argv`` (with the environment ``env``) can run in a fork of the fork server."""
    if not (sys.platform.startswith("linux") and die_with_parent and os.environ.get(DISABLE_ENV) != "1"):
        return False
    if len(argv) < 3 or argv[0] != sys.executable or argv[1] != "-m" or argv[2] not in FORKABLE:
        return False
    reference = _started["env"] if _started["pid"] is not None else dict(os.environ)
    return _plain_interpreter() and _comparable(env) == _comparable(reference)


class ForkedProcess:
    """A forked server, with the part of :class:`subprocess.Popen` that :mod:`.process` uses."""

    def __init__(self, process_: Any, args: Sequence[str]) -> None:
        self._process, self.args, self.pid = process_, list(args), process_.pid

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
    """Start the fork server if it is not running (multiprocessing notices a dead one and starts another)."""
    config = process.current_process()._config  # noqa: SLF001
    if config.get("tempdir") is None:  # where its socket lives: a folder swept once this process is gone
        folder = str(owned_dir(Path(tempfile.gettempdir()), "looplab-mp"))  # (multiprocessing's own would stay)
        config["tempdir"] = folder
        util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=-100)
    remembered = context._default_context._actual_context  # noqa: SLF001 (restored: see below)
    try:
        _FORK_SERVER.ensure_running()
    except ChildProcessError:  # a dead fork server someone else reaped (multiprocessing expects to): forget it
        with contextlib.suppress(OSError):
            os.close(_FORK_SERVER._forkserver_alive_fd)  # noqa: SLF001
        _FORK_SERVER._forkserver_address = _FORK_SERVER._forkserver_alive_fd = None  # noqa: SLF001
        _FORK_SERVER._forkserver_pid = None  # noqa: SLF001
        _FORK_SERVER.ensure_running()
    # ensure_running fixes multiprocessing's default start method as a side effect: a caller's own
    # set_start_method() later would fail. Leave it as it was.
    context._default_context._actual_context = remembered  # noqa: SLF001
    pid = _FORK_SERVER._forkserver_pid  # noqa: SLF001
    if pid != _started["pid"]:
        tail = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path[1:]))"],
                              capture_output=True, text=True, check=True, timeout=60).stdout
        _started.update(pid=pid, env=dict(os.environ), path=json.loads(tail))


class _Launch(popen_forkserver.Popen):
    """multiprocessing's fork-server ``Popen``, on our fork server, with only the start-up data a
    server needs: not the starter's ``__main__`` (a forked child would import it again and run a
    script's top-level code), ``sys.argv`` or ``sys.path``, but ``python -m``'s own path."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = {"name": process_obj._name, "authkey": process.current_process().authkey,  # noqa: SLF001
                     "sys_path": [os.getcwd(), *_started["path"]], "sys_argv": ["-m"], "dir": os.getcwd(),
                     "orig_dir": process.ORIGINAL_DIR}
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = _FORK_SERVER.connect_to_new_process(self._fds)
        parent_w = os.dup(w)  # the child watches it to know its parent
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _ServerProcess(process.BaseProcess):
    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
        return _Launch(process_obj)


def start(argv: Sequence[str], env: dict[str, str], log: Path, name: str) -> ForkedProcess | None:
    """Fork a server running ``argv`` (``python -m MODULE ARGS...``) with ``env``, its output in ``log``;
    None when that cannot be done faithfully here (the caller then starts it the usual way)."""
    with _LOCK:
        try:
            _ensure_running()
        except (OSError, subprocess.SubprocessError, ValueError):
            return None
        if _comparable(env) != _comparable(_started["env"]):  # a fork server started again, elsewhere
            return None
        server = _ServerProcess(target=_run, args=(argv[2], list(argv[3:]), env, str(log), name, _started["pid"]),
                                name=f"looplab-{name}", daemon=True)
        server.start()
        # Stopped by looplab (Server.stop, or its exit handler: SIGTERM, then SIGKILL), not by multiprocessing's
        # exit handler, which would wait for it without a time limit.
        process._children.discard(server)  # noqa: SLF001
    return ForkedProcess(server, argv)


def _run(module: str, args: list[str], env: dict[str, str], log: str, name: str, fork_server: int) -> None:
    """In the forked process: become the server ``python -m module args`` would have been."""
    import ctypes
    import gc
    import runpy

    # The preloaded modules' objects, shared with the fork server until written to: the collector would visit
    # (and so copy) every one of them at each full collection. Leave them out of its reach, as gc.freeze is for.
    gc.freeze()
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
    if os.getppid() != fork_server:  # it went before that took effect
        os._exit(1)
    libc.prctl(_PR_SET_NAME, name.encode()[:15])
    os.environ.clear()
    os.environ.update({**env, OWNER_ENV: str(fork_server)})  # its parent watch watches the fork server
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 (the process's own)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = ["-m", *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
