"""Ports: a free one for a server that must be told its port, and whether a server listens on its own.

Prefer ``--port 0`` where a server supports it (it binds, then says where: no race). A server told
its port (a real vLLM, a released Llama Stack) can lose it between the choice and its bind to any
other process choosing the same way (a Jupyter kernel picks five ports like this):
:func:`looplab.servers.process.start_on_a_free_port` tries again elsewhere.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable

import psutil


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now. Prefer ``--port 0`` where the server supports it (no race)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_clash(text: str) -> bool:
    """Whether a server's log says a port was taken (said of a server that never listened on its own)."""
    return "address already in use" in text.lower() or "[Errno 98]" in text


def listens(procs: Iterable[psutil.Process], port: int) -> bool:
    """Whether one of ``procs`` (a server's processes) listens on TCP ``port``."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in proc.net_connections(kind="tcp")):
                return True
    return False
