"""Start and stop looplab's servers as real processes, and never leave one behind.

Every server runs in its own process group, carries a tag in its environment
(``LOOPLAB_SERVER=<name>``, plus ``LOOPLAB_SESSION`` when the starter has one), dies with the
process that started it (Linux ``PR_SET_PDEATHSIG``; elsewhere the server watches its parent),
and is stopped with its whole group. :func:`find_tagged` finds leftovers by scanning processes;
``looplab cleanup`` stops them.

>>> with start_mock(ttft_ms=5) as mock:          # doctest: +SKIP
...     client = openai.OpenAI(base_url=mock.base_url, api_key="x")
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

from ._serve import OWNER_ENV

TAG_ENV = "LOOPLAB_SERVER"
SESSION_ENV = "LOOPLAB_SESSION"
_PR_SET_PDEATHSIG = 1
_LIVE: set[Server] = set()


class ServerError(RuntimeError):
    """A server did not start, or did not answer its health check in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now. Prefer ``--port 0`` where the server supports it (no race)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# libc is loaded here, in the parent: a forked child of a multi-threaded process (a Jupyter kernel)
# must not dlopen anything before exec, or it can deadlock on a lock another thread held.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent(parent: int) -> Any:
    """Ask Linux to SIGTERM the child when its parent *thread* exits (PR_SET_PDEATHSIG). Start servers
    from a long-lived thread (the main thread, as notebooks and tests do); elsewhere the server's own
    parent watch (``looplab._serve``) is the safety net."""
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def process_group(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is ``pgid``, found by scanning."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError, OSError):
            if os.getpgid(proc.pid) == pgid and _alive(proc):
                found.append(proc)
    return found


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Poll until none of ``procs`` is alive, SIGKILLing stragglers; a deadline, not a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _alive(p)]
        if not alive or time.monotonic() >= deadline:
            break
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        time.sleep(0.02)


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    """A running server process. Stop it with :meth:`stop` or by leaving its ``with`` block."""

    def __init__(self, name: str, url: str, process: subprocess.Popen, workdir: Path) -> None:
        self.name, self.url, self.process, self._workdir = name, url, process, workdir
        self._log_cache: str | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else f"stopped ({self.process.returncode})"
        return f"<{type(self).__name__} {self.name} {self.url} pid={self.pid} {state}>"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def log_path(self) -> Path:
        return self._workdir / "server.log"

    def log_text(self) -> str:
        """Everything the server printed (stdout and stderr), also after it stopped."""
        if self._log_cache is not None:
            return self._log_cache
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def returncode(self) -> int | None:
        """The exit code once stopped (negative: the signal that ended it), None while running."""
        return self.process.poll()

    def group(self) -> list[psutil.Process]:
        """The live processes of the server's process group (the server and every child it started)."""
        return process_group(self.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and its whole process group: SIGTERM, then SIGKILL after ``timeout``.

        Returns only when every process of the group is gone (or ``timeout`` more has passed after
        SIGKILL, which the kernel does not refuse): a caller may check for leftovers at once."""
        _LIVE.discard(self)
        members = self.group()  # before signalling: children outlive a killed leader in its group
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout)
        _wait_gone([*members, *self.group()], timeout)
        if self._log_cache is None:
            self._log_cache = self.log_text()
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MockServer(Server):
    """The mock vLLM server, with its request log one call away."""

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url`` (``.../v1``)."""
        return f"{self.url}/v1"

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The mock's request log, oldest first; only requests to ``path`` when given."""
        status, body = _get(f"{self.url}/looplab/requests", timeout=5)
        if status != 200:
            raise ServerError(f"{self.name}: request log answered HTTP {status}")
        records = json.loads(body)
        return [r for r in records if path is None or r["path"] == path]

    def expire_keepalive(self) -> int:
        """Close the mock's idle keep-alive connections now (as its keep-alive timeout would)."""
        request = urllib.request.Request(f"{self.url}/looplab/expire-keepalive", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read())["closed"]

    def clear_requests(self) -> None:
        request = urllib.request.Request(f"{self.url}/looplab/requests", method="DELETE")
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (loopback only)
            pass


class StackServer(Server):
    """The mini stack, with its diagnostics one call away."""

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def diagnostics(self, collect: bool = False) -> dict[str, Any]:
        """Open TCP connections and ResourceWarnings inside the stack process."""
        status, body = _get(f"{self.url}/looplab/diagnostics?collect={'true' if collect else 'false'}", timeout=10)
        if status != 200:
            raise ServerError(f"{self.name}: diagnostics answered HTTP {status}")
        return json.loads(body)


def start(argv: Sequence[str], *, name: str, health_path: str = "/health", timeout: float = 30.0,
          env: dict[str, str] | None = None, url: str | None = None, die_with_parent: bool = True,
          cls: type[Server] = Server) -> Server:
    """Start ``argv`` as a tagged server process and wait until ``health_path`` answers 200.

    Without ``url``, ``--port-file PATH`` is appended to ``argv`` and the server writes its URL
    there (looplab's own servers do, with ``--port 0``). With ``url``, the server was told its
    port some other way (a real vLLM). On failure the server is stopped and :class:`ServerError`
    carries the end of its log.
    """
    _prune_orphaned_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=f"looplab-{name}-{os.getpid()}-"))
    port_file = workdir / "url"
    command = list(argv) if url else [*argv, "--port-file", str(port_file)]
    child_env = {**os.environ, **(env or {}), TAG_ENV: name, "PYTHONUNBUFFERED": "1"}
    child_env.pop(OWNER_ENV, None)
    if die_with_parent:  # the server watches this pid too (where PR_SET_PDEATHSIG does not exist)
        child_env[OWNER_ENV] = str(os.getpid())
    with open(workdir / "server.log", "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env,
            start_new_session=True, preexec_fn=_die_with_parent(os.getpid()) if die_with_parent else None)
    server = cls(name, url or "", process, workdir)
    _LIVE.add(server)
    try:
        _wait_healthy(server, port_file, health_path, timeout)
    except BaseException:
        server.stop(timeout=2)
        raise
    return server


def _prune_orphaned_workdirs() -> None:
    """Remove the temp folders of servers whose starter was killed (its pid is in the name)."""
    for folder in Path(tempfile.gettempdir()).glob("looplab-*-*-*"):
        owner = folder.name.split("-")[-2]
        if owner.isdigit() and not psutil.pid_exists(int(owner)) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def _wait_healthy(server: Server, port_file: Path, health_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not server.running:
            raise ServerError(f"{server.name} exited with code {server.process.returncode} before it was "
                              f"ready.\n--- its log ---\n{server.log_text()[-4000:]}")
        if not server.url and port_file.exists():
            server.url = port_file.read_text().strip()
        if server.url:
            try:
                status, _ = _get(server.url + health_path, timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
        time.sleep(0.05)  # polling a condition, with a deadline
    raise ServerError(f"{server.name} did not answer {health_path} within {timeout:.0f} s ({last}).\n"
                      f"--- its log ---\n{server.log_text()[-4000:]}")


def mock_argv(*, models: Sequence[str] = (), max_model_len: int | None = None, api_key: str | None = None,
              output: str | None = None, seed: int | None = None, ttft_ms: float | None = None,
              itl_ms: float | None = None, keepalive_s: float | None = None, faults: Sequence[str] = (),
              fault_seed: int | None = None, stall_s: float | None = None, request_log: str | Path | None = None,
              host: str = "127.0.0.1", port: int = 0) -> list[str]:
    """The command line that starts the mock with these settings (see ``looplab mock-vllm --help``)."""
    argv = [sys.executable, "-m", "looplab", "mock-vllm", "--host", host, "--port", str(port)]
    for model in models:
        argv += ["--model", model]
    for fault in faults:
        argv += ["--fault", fault]
    options = {"--max-model-len": max_model_len, "--api-key": api_key, "--output": output, "--seed": seed,
               "--ttft-ms": ttft_ms, "--itl-ms": itl_ms, "--keepalive": keepalive_s, "--fault-seed": fault_seed,
               "--stall-seconds": stall_s, "--request-log": request_log}
    for flag, value in options.items():
        if value is not None:
            argv += [flag, str(value)]
    return argv


def start_mock(*, timeout: float = 30.0, env: dict[str, str] | None = None, die_with_parent: bool = True,
               **settings: Any) -> MockServer:
    """Start the mock vLLM server on a free port; use it as a context manager.

    ``settings`` are :func:`mock_argv`'s keywords (``ttft_ms=20``, ``faults=["500@1"]``, ...).
    """
    server = start(mock_argv(**settings), name="mock-vllm", timeout=timeout, env=env,
                   die_with_parent=die_with_parent, cls=MockServer)
    assert isinstance(server, MockServer)
    return server


def stack_argv(*, adapter: str, vllm_url: str, models: Sequence[str] = (), api_key: str | None = None,
               max_retries: int | None = None, client_timeout: float | None = None, config: str | Path | None = None,
               python: str | Path | None = None, host: str = "127.0.0.1", port: int = 0) -> list[str]:
    """The command line of ``looplab stack`` (``python`` picks another interpreter, e.g. the openai 1.73 one)."""
    argv = [str(python or sys.executable), "-m", "looplab", "stack", "--adapter", adapter, "--vllm-url", vllm_url,
            "--host", host, "--port", str(port)]
    for model in models:
        argv += ["--model", model]
    if config is not None:
        argv += ["--config", str(config)]
    if api_key is not None:
        argv += ["--api-key", api_key]
    if max_retries is not None:
        argv += ["--max-retries", str(max_retries)]
    if client_timeout is not None:
        argv += ["--timeout", str(client_timeout)]
    return argv


def start_stack(*, timeout: float = 30.0, env: dict[str, str] | None = None, **options: Any) -> StackServer:
    """Start the mini stack on a free port (see :func:`stack_argv` for the options)."""
    server = start(stack_argv(**options), name="stack", health_path="/v1/health", timeout=timeout, env=env,
                   cls=StackServer)
    assert isinstance(server, StackServer)
    return server


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """``with running(start(...)) as s:`` for any server, stopping it whatever happens."""
    try:
        yield server
    finally:
        server.stop()


def find_tagged(session: str | None = None) -> list[psutil.Process]:
    """Processes tagged as looplab servers (optionally only those of one session), found by scanning."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            environ = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        if TAG_ENV in environ and (session is None or environ.get(SESSION_ENV) == session):
            with contextlib.suppress(psutil.NoSuchProcess):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
    return found


def cleanup(session: str | None = None, timeout: float = 5.0) -> list[int]:
    """Stop every tagged leftover (and its process group); return the pids stopped."""
    procs = [p for p in find_tagged(session) if p.pid != os.getpid()]
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            pgid = os.getpgid(proc.pid)
            if pgid == proc.pid:
                os.killpg(pgid, signal.SIGTERM)
            else:
                proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return [p.pid for p in procs]


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop(timeout=2)
