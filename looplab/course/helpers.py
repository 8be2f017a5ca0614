"""Helpers for the notebooks and labs: the backend switch, small requests, readable tables.

One switch picks the backend: with ``VLLM_BASE_URL`` unset, :func:`backend` starts the bundled
mock on a free port; with it set (e.g. ``http://127.0.0.1:8000/v1``), it uses that real vLLM and
starts nothing. The mock keeps a request log; a real vLLM does not, so cells that read the log
say so and move on.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import httpx2

from ..servers import MockServer, start_mock

MODEL = os.environ.get("LOOPLAB_MODEL", "tiny-llama")


class RealBackend:
    """A real vLLM reached by URL: same attributes as the mock, but no request log."""

    has_log = False

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url.removesuffix("/v1")

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        raise RuntimeError("a real vLLM keeps no request log: this step needs the bundled mock")

    def clear_requests(self) -> None:
        pass

    def expire_keepalive(self) -> int:
        raise RuntimeError("only the mock can expire its keep-alive connections on demand")

    def stop(self) -> None:
        pass

    def __enter__(self) -> RealBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<real vLLM at {self.base_url}>"


_last_backend: MockServer | None = None


def backend(**mock_settings: Any) -> MockServer | RealBackend:
    """The mock (started now, on a free port) or, if ``VLLM_BASE_URL`` is set, that real vLLM.

    Re-running the cell that calls it stops the mock the previous call started, so a learner who
    runs a cell twice does not leave a server behind."""
    global _last_backend
    if _last_backend is not None:
        _last_backend.stop()
        _last_backend = None
    url = os.environ.get("VLLM_BASE_URL")
    if url:
        return RealBackend(url)
    mock = start_mock(**mock_settings)
    _last_backend = mock
    return mock


def chat(base_url: str, content: str = "hello", *, stream: bool = False, user: str | None = None,
         model: str = MODEL, timeout: float = 30) -> httpx2.Response:
    """One chat request to an OpenAI-compatible server (the stack or vLLM), read to the end."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
    if user:
        body["user"] = user
    with httpx2.Client(timeout=timeout) as client:
        response = client.post(f"{base_url.rstrip('/')}/chat/completions", json=body)
        response.read()
        return response


def error_of(response: httpx2.Response) -> str:
    """``"500 RuntimeError: Event loop is closed"`` for an error response, ``"200 OK"`` otherwise."""
    if response.status_code == 200:
        return "200 OK"
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['type']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.text[:200]}"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain(text: str) -> str:
    """Text without terminal colour codes (servers that log with rich colour their tracebacks)."""
    return _ANSI.sub("", text)


def lines_with(text: str, *needles: str) -> str:
    """The lines of a log that contain any of ``needles``, colour codes removed."""
    return "\n".join(line.strip() for line in plain(text).splitlines() if any(n in line for n in needles))


class Table:
    """A small table that renders as HTML in Jupyter and as text elsewhere."""

    def __init__(self, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
        self.rows, self.columns = [dict(r) for r in rows], list(columns)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in self.columns)
                       + "</tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        widths = [max([len(c)] + [len(str(r.get(c, ""))) for r in self.rows]) for c in self.columns]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths))]
        lines += ["  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(self.columns, widths)) for r in self.rows]
        return "\n".join(lines)


def request_log(server: Any, path: str | None = "/v1/chat/completions",
                columns: Sequence[str] = ("request_number", "user", "client_port", "status", "stream", "outcome")) -> Table:
    """The mock's request log as a table (one row per request that reached the backend)."""
    return Table(server.requests(path), columns)


def served(base_url: str) -> int:
    """How many requests vLLM (or the mock) says it completed: the sum of ``vllm:request_success_total``
    over every finished reason, read from its ``/metrics``. After a failure, it answers "did the work
    happen anyway?"."""
    from prometheus_client.parser import text_string_to_metric_families

    root = base_url.rstrip("/").removesuffix("/v1")
    with httpx2.Client(timeout=30) as client:
        response = client.get(f"{root}/metrics")
    response.raise_for_status()
    return int(sum(s.value for family in text_string_to_metric_families(response.text)
                   if family.name == "vllm:request_success" for s in family.samples if s.name.endswith("_total")))
