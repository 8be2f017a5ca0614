"""Server-side half of process hygiene: bind, announce the port, serve, and die with the parent.

Every looplab server (mock, stack, the benchmark's bare app) runs through :func:`serve`. It binds
the socket itself, so ``--port 0`` picks a free port with no race, prints the URL, writes it to
``--port-file`` for :mod:`looplab.servers.process`, and watches its parent: when the process that
started it is gone, it shuts itself down (the portable twin of Linux's ``PR_SET_PDEATHSIG``, which
also works on macOS). The options every server takes are declared once, in :class:`ServeOptions`.

Standard library and uvicorn only: this module also runs inside the incident-era interpreter.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import uvicorn

# The environment every looplab server process gets: its tag (its name), the session of its starter,
# and the pid of the process it dies with (:mod:`.forked` says how a forked server is found instead).
TAG_ENV = "LOOPLAB_SERVER"
SESSION_ENV = "LOOPLAB_SESSION"
OWNER_ENV = "LOOPLAB_OWNER_PID"
LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


@dataclass
class ServeOptions:
    """Where and how a server process listens (the options of ``looplab mock-vllm`` and ``looplab stack``)."""

    host: str = field(default="127.0.0.1", metadata={"flag": "--host", "help": "address to bind (127.0.0.1: "
                                                     "this machine only)"})
    port: int = field(default=0, metadata={"flag": "--port", "help": "port to bind; 0 picks a free one and prints it"})
    port_file: Path | None = field(default=None, metadata={"flag": "--port-file", "metavar": "FILE",
                                                           "help": "write the server's URL to this file once bound"})
    log_level: str = field(default="info", metadata={"flag": "--log-level", "choices": LOG_LEVELS,
                                                     "help": "uvicorn's and the server's log level"})
    tls: bool = field(default=False, metadata={"flag": "--tls", "help": "serve HTTPS, with a certificate made at "
                                               "start-up; its CA is written next to --port-file (FILE.ca.pem)"})

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, got {self.port}")
        if self.port_file is not None:
            self.port_file = Path(self.port_file)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket's proto says TCP. With proto 0, Nagle meets the client's delayed ACK and
    # every small response waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}. Try --port 0 to pick a free port.") from None
    sock.set_inheritable(True)
    return sock


def watch_parent() -> None:
    """Shut this process down (SIGTERM to itself) once the process that started it is gone.

    The starter's pid comes from ``LOOPLAB_OWNER_PID``; without it, nothing is watched."""
    owner = os.environ.get(OWNER_ENV)
    if not owner or not owner.isdigit():
        return
    parent = int(owner)
    if os.getppid() != parent:  # the starter died while this process was still starting up
        raise SystemExit(f"the process that started this server (pid {parent}) is gone")

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(0.5):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="looplab-parent-watch", daemon=True).start()


def announce(name: str, url: str, port_file: Path | None) -> None:
    """Say where the server listens: on stdout, and (atomically) in ``port_file`` for its starter."""
    print(f"{name} listening on {url}", flush=True)
    if port_file:
        tmp = Path(f"{port_file}.tmp")
        tmp.write_text(url)
        tmp.replace(port_file)


def serve(app: Any, *, name: str, host: str = "127.0.0.1", port: int = 0, port_file: Path | None = None,
          keepalive_s: float = 5.0, log_level: str = "info", http: Any = "h11", tls: bool = False) -> None:
    """Serve ``app`` with uvicorn (its own event loop, like ``uvicorn.run``) until SIGINT/SIGTERM.

    With ``tls``, serve HTTPS with a certificate made now by a throw-away CA, whose certificate is
    written next to ``port_file`` (see :mod:`looplab.servers.tls`)."""
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"{'https' if tls else 'http'}://{shown}:{actual}"
    certificates: dict[str, str] = {}
    if tls:
        import tempfile

        from .tls import ca_file_for, make_server_certificate

        folder = Path(port_file).parent if port_file else Path(tempfile.mkdtemp(prefix="looplab-tls-"))
        ca, chain, key = make_server_certificate(host, folder / "tls")
        certificates = {"ssl_certfile": str(chain), "ssl_keyfile": str(key)}
        if port_file:
            ca_file_for(Path(port_file)).write_bytes(ca.read_bytes())
        print(f"{name}: HTTPS with a certificate from a CA made at start-up: trust {ca}", flush=True)
    config = uvicorn.Config(app, timeout_keep_alive=keepalive_s, log_level=log_level, http=http,
                            timeout_graceful_shutdown=3, lifespan="on", **certificates)
    server = uvicorn.Server(config)
    announce(name, url, port_file)
    watch_parent()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
