"""Start and stop server processes, and never leave one behind.

Every server runs in its own process group, carries a tag in its environment
(``LOOPLAB_SERVER=<name>``, plus ``LOOPLAB_SESSION`` when the starter has one), dies with the
process that started it (Linux ``PR_SET_PDEATHSIG``; elsewhere the server watches its parent),
and is stopped with its whole group: :meth:`Server.stop` returns once every process of the group
is gone. :func:`find_tagged` finds leftovers by scanning processes; ``looplab cleanup`` stops them.

A started server has one shape (:class:`Server`): its URL and OpenAI base URL, the folders it
owns (removed when it stops), and a client factory (``openai``, sync and async, retries off, as
vLLM's own test harness ``RemoteOpenAIServer`` gives), all set through the constructor.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

from .ports import free_port, listens, port_clash
from .serve import OWNER_ENV, SESSION_ENV, TAG_ENV
from .tls import ca_file_for
from .workdirs import owned_dir, sweep

_PR_SET_PDEATHSIG = 1
_WORKDIR_PREFIX = "looplab"
_LIVE: set[Server] = set()


class ServerError(RuntimeError):
    """A server did not start, or did not answer its health check in time."""


class PortTaken(ServerError):
    """A server told its port exited without ever listening there, saying the port was taken."""


def start_on_a_free_port(launch: Callable[[int], Any], port: int | None = None, attempts: int = 3) -> Any:
    """``launch(port)`` for a server told its port: on ``port`` if given (0 or None: a free one), again on a
    new free one while another process takes it before the server binds it (:class:`PortTaken`)."""
    for attempt in range(1 if port else attempts):
        try:
            return launch(port or free_port())
        except PortTaken:
            if port or attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")


# libc is loaded here, in the parent: a forked child of a multi-threaded process (a Jupyter kernel)
# must not dlopen anything before exec, or it can deadlock on a lock another thread held.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent(parent: int) -> Any:
    """Ask Linux to SIGTERM the child when its parent *thread* exits (PR_SET_PDEATHSIG). Start servers
    from a long-lived thread (the main thread, as notebooks and tests do); elsewhere the server's own
    parent watch (:func:`looplab.servers.serve.watch_parent`) is the safety net."""
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


def die_with_parent() -> Any:
    """A ``preexec_fn`` that makes a child (not one of looplab's servers: a hub, a tool) die with this process."""
    return _die_with_parent(os.getpid())


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


def _wait_gone(procs: Iterable[psutil.Process], timeout: float) -> None:
    """Poll until none of ``procs`` is alive, SIGKILLing stragglers; a deadline, not a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _alive(p)]
        if not alive or time.monotonic() >= deadline:
            return
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        time.sleep(0.02)


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group of ``process``, SIGKILL what is left of it after ``timeout``, and return
    only when every process of the group is gone.

    The grace is the whole group's, not the leader's: a leader often exits before its children have
    finished their own shutdown (vLLM's API server before its engine core has unlinked its shared
    memory, Python's resource tracker before it has removed the semaphores it tracks). SIGKILLing the
    group as soon as the leader is gone left those in /dev/shm."""
    deadline = time.monotonic() + timeout
    members = process_group(process.pid)  # before signalling: children outlive a killed leader in its group
    if process.poll() is None or members:  # the group, also when its leader went first (its members keep the id)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(max(0.0, deadline - time.monotonic()))
    if process.poll() is not None:  # the leader is gone: the rest of the group finishes its own shutdown
        _wait_exit(process.pid, deadline)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout)
    _wait_gone([*members, *process_group(process.pid)], timeout)


def _wait_exit(pgid: int, deadline: float) -> None:
    """Poll until the group ``pgid`` is empty or ``deadline`` passes (a deadline, not a fixed sleep). A
    member that left the group got no SIGTERM from us: it is not waited for (the SIGKILL after finds it)."""
    while process_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)


def http_get(url: str, timeout: float, context: Any = None) -> tuple[int, bytes]:
    """GET ``url`` (loopback); the status and body, also for error statuses. ``context``: an
    ``ssl.SSLContext`` that trusts the server, for ``https://``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    """A running server process. Stop it with :meth:`stop` or by leaving its ``with`` block.

    ``owned`` folders are removed when it stops (its work folder, with its log, always is);
    ``api_key`` is what :meth:`client` sends (the server's own key, if it needs one); ``ca_file`` is
    the CA that signed an HTTPS server's certificate (``None`` for ``http://``).
    """

    def __init__(self, name: str, process: subprocess.Popen, workdir: Path, *, url: str,
                 owned: Sequence[Path] = (), api_key: str | None = None, api_path: str = "/v1",
                 ca_file: Path | None = None) -> None:
        self.name, self.process, self.url = name, process, url
        self._workdir, self.owned, self.api_key, self._api_path = workdir, tuple(owned), api_key, api_path
        self.ca_file = ca_file
        self._log_cache: str | None = None

    @property
    def ssl_context(self) -> Any:
        """An ``ssl.SSLContext`` that trusts this server (None for ``http://``)."""
        if self.ca_file is None:
            return None
        from .tls import client_context

        return client_context(self.ca_file)

    def trust_bundle(self) -> Path | None:
        """The system's CAs plus this server's, for another process's ``SSL_CERT_FILE`` (None for ``http://``)."""
        if self.ca_file is None:
            return None
        from .tls import trust_bundle

        return trust_bundle(self.ca_file)

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
    def base_url(self) -> str:
        """The OpenAI ``base_url`` (``.../v1``)."""
        return f"{self.url}{self._api_path}"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once stopped (negative: the signal that ended it), None while running."""
        return self.process.poll()

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

    def client(self, **options: Any) -> Any:
        """An ``openai.OpenAI`` client for this server, retries off (close it, or use ``with``)."""
        import openai

        if self.ca_file is not None:
            options.setdefault("http_client", openai.DefaultHttpx2Client(verify=self.ssl_context))
        return openai.OpenAI(**self._client_options(options))

    def async_client(self, **options: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client for this server, retries off, for the running loop."""
        import openai

        if self.ca_file is not None:
            options.setdefault("http_client", openai.DefaultAsyncHttpx2Client(verify=self.ssl_context))
        return openai.AsyncOpenAI(**self._client_options(options))

    def _client_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.api_key or "EMPTY", "max_retries": 0, "timeout": 60,
                **options}

    def group(self) -> list[psutil.Process]:
        """The live processes of the server's process group (the server and every child it started)."""
        return process_group(self.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and its whole process group (SIGTERM, then SIGKILL after ``timeout``).

        Returns once every process of the group is gone, and its folders are removed: a caller
        may check for leftovers at once."""
        _LIVE.discard(self)
        stop_group(self.process, timeout)
        if self._log_cache is None:
            self._log_cache = self.log_text()
            for folder in (self._workdir, *self.owned):
                shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(argv: Sequence[str], *, name: str, health_path: str = "/health", timeout: float = 30.0,
          env: dict[str, str] | None = None, url: str | None = None, die_with_parent: bool = True,
          cls: type[Server] = Server, **attributes: Any) -> Any:
    """Start ``argv`` as a tagged server process and wait until ``health_path`` answers 200.

    Without ``url``, ``--port-file PATH`` is appended to ``argv`` and the server writes its URL
    there (looplab's own servers do, with ``--port 0``). With ``url``, the server was told its
    port some other way (a real vLLM). ``attributes`` go to ``cls``'s constructor (``owned``,
    ``api_key``, ...). On failure the server is stopped and :class:`ServerError` carries the end of
    its log.
    """
    parent = Path(tempfile.gettempdir())
    sweep(parent, _WORKDIR_PREFIX)
    workdir = owned_dir(parent, f"{_WORKDIR_PREFIX}-{name}")
    port_file = workdir / "url"
    command = list(argv) if url else [*argv, "--port-file", str(port_file)]
    child_env = {**os.environ, **(env or {}), TAG_ENV: name, "PYTHONUNBUFFERED": "1"}
    child_env.pop(OWNER_ENV, None)
    if die_with_parent:  # the server watches this pid too (where PR_SET_PDEATHSIG does not exist)
        child_env[OWNER_ENV] = str(os.getpid())
    deadline = time.monotonic() + timeout
    from . import forked  # imports multiprocessing: only for a process that starts servers

    with open(workdir / "server.log", "wb") as log:
        process: Any = None
        if forked.forkable(command, child_env, die_with_parent=die_with_parent):
            process = forked.start(command, child_env, workdir / "server.log", name)
        if process is None:
            process = subprocess.Popen(  # noqa: S603
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env,
                start_new_session=True, preexec_fn=_die_with_parent(os.getpid()) if die_with_parent else None)
    try:
        found = url or _wait_for_url(name, process, workdir, port_file, deadline, f"{health_path} within {timeout:.0f} s")
        if found.startswith("https://") and not url:
            attributes.setdefault("ca_file", ca_file_for(port_file))
        server = cls(name, process, workdir, url=found, **attributes)
    except BaseException:
        stop_group(process, 2)
        shutil.rmtree(workdir, ignore_errors=True)
        for folder in attributes.get("owned", ()):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    _LIVE.add(server)
    try:
        # A port chosen for the server (not by it) can be taken by another process before the server binds it
        # (a Jupyter kernel picks its ports the same way): answers count only once the server itself listens.
        told = urllib.parse.urlsplit(url).port if url else None
        _wait_healthy(server, health_path, deadline, timeout, told)
    except BaseException:
        server.stop(timeout=2)
        raise
    return server


def _log_tail(workdir: Path) -> str:
    try:
        return (workdir / "server.log").read_text(errors="replace")[-4000:]
    except FileNotFoundError:
        return ""


def _exited(name: str, process: subprocess.Popen, workdir: Path) -> ServerError:
    log = _log_tail(workdir)
    last = next((line for line in reversed(log.strip().splitlines()) if line.strip()), "")
    return ServerError(f"{name} exited with code {process.returncode} before it was ready: {last}\n"
                       f"--- its log ---\n{log}")


def _wait_for_url(name: str, process: subprocess.Popen, workdir: Path, port_file: Path, deadline: float,
                  waited_for: str) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _exited(name, process, workdir)
        if port_file.exists():
            return port_file.read_text().strip()
        time.sleep(0.02)  # polling a condition, with a deadline
    raise ServerError(f"{name} did not answer {waited_for} (it never said where it listens).\n"
                      f"--- its log ---\n{_log_tail(workdir)}")


def _family(pid: int) -> list[psutil.Process]:
    """``pid``, its descendants, and its process group (a child whose parent went is no descendant)."""
    with contextlib.suppress(psutil.Error):
        return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True), *process_group(pid)]
    return process_group(pid)


def _wait_healthy(server: Server, health_path: str, deadline: float, timeout: float, port: int | None = None) -> None:
    """Until ``health_path`` answers 200. ``port``: the server was told it, so answers count only once
    its own processes listen there (checked every 0.2 s, until they do: reading sockets costs CPU)."""
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not server.running:
            exited = _exited(server.name, server.process, server._workdir)  # noqa: SLF001 (its own class)
            if port is not None and port_clash(server.log_text()):
                raise PortTaken(str(exited))
            raise exited
        if port is not None:
            if not listens(_family(server.pid), port):
                last = f"not listening on port {port} yet"
                time.sleep(0.2)  # polling a condition, with a deadline
                continue
            port = None  # its own: from now on, only its answer is waited for
        try:
            status, _ = http_get(server.url + health_path, timeout=2, context=server.ssl_context)
            if status == 200:
                return
            last = f"HTTP {status}"
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.05)  # polling a condition, with a deadline
    raise ServerError(f"{server.name} did not answer {health_path} within {timeout:.0f} s ({last}).\n"
                      f"--- its log ---\n{server.log_text()[-4000:]}")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """``with running(start(...)) as s:`` for any server, stopping it whatever happens."""
    try:
        yield server
    finally:
        server.stop()


def _fork_server_family(proc: psutil.Process) -> bool | None:
    """For a fork server of :mod:`.forked` or a server it forked (both have its command line): whether
    it is a forked server, which leads its own process group (the fork server never does); None for
    any other process."""
    from .forked import MARKER

    try:
        if not any(MARKER in part for part in proc.cmdline()):
            return None
        return os.getpgid(proc.pid) == proc.pid
    except (OSError, psutil.Error):
        return None


def find_tagged(session: str | None = None) -> list[psutil.Process]:
    """Processes tagged as looplab servers (optionally only those of one session), found by scanning."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            environ = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        family = _fork_server_family(proc)  # None: not one; else whether it is a forked server
        if family is False or (TAG_ENV not in environ and family is None):
            continue  # the fork server itself (it ends with its starter), or not looplab's
        if session is None or environ.get(SESSION_ENV) == session:
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
    _wait_gone(procs, timeout)
    return [p.pid for p in procs]


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop(timeout=2)
