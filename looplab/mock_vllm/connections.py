"""Which transport carries which client connection, so a fault can drop one for real.

uvicorn does not hand an app its socket. This h11 protocol subclass records each connection's
transport under its ``(host, port)``, the same tuple an app sees as ``scope["client"]``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_TRANSPORTS: dict[tuple[str, int], asyncio.Transport] = {}
_PROTOCOLS: dict[tuple[str, int], TrackedH11Protocol] = {}
#: Since the server started: connections accepted, and how many of them completed a TLS handshake
#: (asyncio hands an SSL connection to the protocol only once its handshake is done).
STATS = {"connections": 0, "tls_handshakes": 0}


class TrackedH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        STATS["connections"] += 1
        if transport.get_extra_info("ssl_object") is not None:
            STATS["tls_handshakes"] += 1
        if self.client:
            _TRANSPORTS[tuple(self.client)] = transport
            _PROTOCOLS[tuple(self.client)] = self

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client:
            _TRANSPORTS.pop(tuple(self.client), None)
            _PROTOCOLS.pop(tuple(self.client), None)
        super().connection_lost(exc)

    @property
    def idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete


def close_idle(except_client: Any = None) -> int:
    """Close every connection that is between requests (what the keep-alive timeout does)."""
    keep = tuple(except_client) if except_client else None
    idle = [client for client, protocol in _PROTOCOLS.items() if client != keep and protocol.idle]
    for client in idle:
        _TRANSPORTS[client].close()
    return len(idle)


def drop(client: Any) -> bool:
    """Close the connection of ``client`` (its ``(host, port)``); False if it is not ours to close."""
    transport = _TRANSPORTS.get(tuple(client)) if client else None
    if transport is None:
        return False
    transport.close()  # FIN after what was already written: the client sees a truncated response
    return True
