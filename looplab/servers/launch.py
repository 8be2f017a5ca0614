"""looplab's own servers, started as real processes: the mock vLLM and the mini stack.

Their settings are the studied system's own classes (:class:`~looplab.mock_vllm.MockSettings`,
:class:`~looplab.stack.RunConfig`), validated here, in the starting process, before anything
starts; the child gets the same settings back as a command line (:func:`~.options.to_argv`).

>>> with start_mock(ttft_ms=5) as mock:          # doctest: +SKIP
...     client = mock.client()
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
import sys
import urllib.request
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from ..mock_vllm.settings import MockSettings
from ..stack.config import RunConfig, load_config
from .options import to_argv
from .process import Server, ServerError, http_get, start
from .serve import ServeOptions


@dataclass
class ConnectionCount:
    opened: int = 0


class MockServer(Server):
    """The mock vLLM server, with its request log one call away."""

    has_log = True  # a real vLLM reached by URL keeps none

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The mock's request log, oldest first; only requests to ``path`` when given."""
        status, body = http_get(f"{self.url}/looplab/requests", timeout=5, context=self.ssl_context)
        if status != 200:
            raise ServerError(f"{self.name}: request log answered HTTP {status}")
        records = json.loads(body)
        return [r for r in records if path is None or r["path"] == path]

    def stats(self) -> dict[str, int]:
        """Connections the mock accepted and TLS handshakes it completed, since it started."""
        status, body = http_get(f"{self.url}/looplab/stats", timeout=5, context=self.ssl_context)
        if status != 200:
            raise ServerError(f"{self.name}: stats answered HTTP {status}")
        return json.loads(body)

    @contextlib.contextmanager
    def counting_connections(self) -> Iterator[ConnectionCount]:
        """Count the TCP connections the mock accepts inside the block (``count.opened`` after it).

        The mock's own counter, not distinct client ports: on loopback Linux hands a closed
        connection's port to the next one at once, so ports undercount a client per request."""
        count = ConnectionCount()
        before = self.stats()["connections"]  # this call's own connection included
        yield count
        count.opened = self.stats()["connections"] - before - 1  # not this second call's own

    def _call(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5, context=self.ssl_context) as response:  # noqa: S310 (loopback)
            return response.read()

    def expire_keepalive(self) -> int:
        """Close the mock's idle keep-alive connections now (as its keep-alive timeout would)."""
        return json.loads(self._call("POST", "/looplab/expire-keepalive"))["closed"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/looplab/requests")


class StackServer(Server):
    """The mini stack, with its diagnostics one call away."""

    def diagnostics(self, collect: bool = False) -> dict[str, Any]:
        """Open TCP connections and ResourceWarnings inside the stack process."""
        status, body = http_get(f"{self.url}/looplab/diagnostics?collect={'true' if collect else 'false'}",
                                timeout=10)
        if status != 200:
            raise ServerError(f"{self.name}: diagnostics answered HTTP {status}")
        return json.loads(body)


def serve_argv(host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> list[str]:
    """``--host``/``--port`` (and ``--tls``) for a server command (whose own default port is not 0)."""
    return to_argv(ServeOptions, ServeOptions(host=host, port=port, tls=tls), always=("port",))


def mock_argv(settings: MockSettings | None = None, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False,
              python: str | Path | None = None) -> list[str]:
    """The command line that starts the mock with these settings (see ``looplab mock-vllm --help``)."""
    return [str(python or sys.executable), "-m", "looplab", "mock-vllm", *serve_argv(host, port, tls),
            *to_argv(MockSettings, settings or MockSettings())]


def start_mock(*, timeout: float = 30.0, env: dict[str, str] | None = None, die_with_parent: bool = True,
               host: str = "127.0.0.1", port: int = 0, tls: bool = False, **settings: Any) -> MockServer:
    """Start the mock vLLM server on a free port; use it as a context manager.

    ``settings`` are :class:`~looplab.mock_vllm.MockSettings`' fields (``ttft_ms=20``,
    ``faults=["500@1"]``, ...); a wrong one raises ``ValueError`` or ``TypeError`` before anything
    starts. ``tls=True`` serves HTTPS: ``mock.ca_file`` is the CA to trust, ``mock.client()`` trusts it."""
    mock_settings = MockSettings(**settings)
    return start(mock_argv(mock_settings, host=host, port=port, tls=tls), name="mock-vllm", timeout=timeout, env=env,
                 die_with_parent=die_with_parent, cls=MockServer, api_key=mock_settings.api_key)


def stack_argv(*, config: str | Path | None = None, python: str | Path | None = None, host: str = "127.0.0.1",
               port: int = 0, **options: Any) -> list[str]:
    """The command line of ``looplab stack`` (``python`` picks another interpreter, e.g. the openai 1.73
    one); ``options`` are :class:`~looplab.stack.RunConfig`'s fields, checked here first."""
    if config is not None:
        load_config(config, **options)
    else:
        RunConfig.from_values(options, "start_stack")
    argv = [str(python or sys.executable), "-m", "looplab", "stack", *serve_argv(host, port),
            *to_argv(RunConfig, options)]
    return argv + (["--config", str(config)] if config is not None else [])


def start_stack(*, timeout: float = 30.0, env: dict[str, str] | None = None, **options: Any) -> StackServer:
    """Start the mini stack on a free port (see :func:`stack_argv` for the options)."""
    return start(stack_argv(**options), name="stack", health_path="/v1/health", timeout=timeout, env=env,
                 cls=StackServer)


def start_latency_proxy(target: Server, rtt_ms: float, *, timeout: float = 30.0) -> Server:
    """A network of ``rtt_ms`` round-trip time in front of ``target`` (see :mod:`.latency_proxy`):
    the returned server's URLs reach ``target`` through it (``https://`` if ``target`` is)."""
    host_port = target.url.split("://", 1)[1]
    scheme = target.url.split("://", 1)[0]
    argv = [sys.executable, "-m", "looplab.servers.latency_proxy", "--target", host_port, "--rtt-ms", str(rtt_ms),
            "--scheme", scheme]
    return start(argv, name="latency-proxy", timeout=timeout, ca_file=target.ca_file, api_key=target.api_key)
