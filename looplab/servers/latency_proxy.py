"""A network between two processes on one machine: a TCP proxy that delays every byte by half a
round trip in each direction, so that handshakes cost what they cost on a real link.

    python -m looplab.servers.latency_proxy --target 127.0.0.1:8000 --rtt-ms 10 --port 0

Bytes pass through untouched (TLS included: the proxy never decrypts). The model of the link:

* a new connection costs one round trip before any data flows (TCP's SYN and SYN-ACK): the proxy
  connects to the target ``rtt`` after accepting;
* every chunk of data then arrives ``rtt / 2`` after it was sent, in each direction, in order.

So over HTTPS a new connection pays about three round trips before its first response byte
(TCP, the TLS 1.3 handshake, the request), a reused one pays one. loopback and the proxy's own
work add well under a millisecond. ``looplab bench --rtt-ms`` starts one between the client and
the mock; each client connection gets its own upstream connection, so the mock's connection counts
stay true.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it was read, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the link's latency (this is the proxy's job, not a synchronisation)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await sender
    finally:
        sender.cancel()


async def _relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, host: str, port: int,
                 rtt: float) -> None:
    try:
        await asyncio.sleep(rtt)  # the TCP handshake: one round trip before data can flow
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(_pump(client_reader, upstream_writer, rtt / 2),
                             _pump(upstream_reader, client_writer, rtt / 2), return_exceptions=True)
    finally:
        for writer in (upstream_writer, client_writer):
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


async def serve(target: str, rtt_ms: float, host: str, port: int, port_file: Path | None, scheme: str = "http") -> None:
    target_host, _, target_port = target.rpartition(":")
    from .serve import announce, bind, watch_parent

    sock = bind(host, port)
    server = await asyncio.start_server(lambda r, w: _relay(r, w, target_host, int(target_port), rtt_ms / 1000),
                                        sock=sock)
    url = f"{scheme}://{host}:{sock.getsockname()[1]}"  # the scheme of the target: bytes pass through untouched
    announce(f"looplab latency-proxy (to {target}, rtt {rtt_ms} ms)", url, port_file)
    watch_parent()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m looplab.servers.latency_proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="HOST:PORT to relay to")
    parser.add_argument("--rtt-ms", type=float, required=True, help="the round-trip time to add, in ms")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--scheme", choices=["http", "https"], default="http",
                        help="the target's scheme, for the URL the proxy announces (it never decrypts)")
    args = parser.parse_args(argv)
    if args.rtt_ms < 0:
        parser.error("--rtt-ms must not be negative")
    try:
        asyncio.run(serve(args.target, args.rtt_ms, args.host, args.port, args.port_file, args.scheme))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
