"""The mock's request log: one record a request, with the connection (client port) it came on.

Records are kept in memory (``GET /looplab/requests`` returns them) and, when a path is given,
appended as JSON lines, flushed per request so another process can follow the file.
Times: ``time`` is wall-clock (epoch seconds); ``t_start``, ``t_first_token`` and ``t_end`` are
the mock's own monotonic clock, so their differences measure the mock's latency knobs exactly.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

ADMIN_PREFIX = "/looplab/"


class RequestLog:
    def __init__(self, path: Path | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            record["seq"] = len(self.records) + 1
            self.records.append(record)
            if self._file:
                self._file.write(json.dumps(record) + "\n")
                self._file.flush()

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


class RequestLogMiddleware:
    """Pure ASGI middleware: opens a record per HTTP request, closes it when the response ends."""

    def __init__(self, app: Any, log: RequestLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        host, port = scope.get("client") or (None, None)
        record: dict[str, Any] = {
            "time": time.time(), "method": scope["method"], "path": scope["path"], "status": None,
            "client_host": host, "client_port": port, "t_start": time.monotonic(),
            "t_first_token": None, "t_end": None, "request_number": None, "model": None,
            "stream": None, "fault": None, "outcome": "ok", "completion_tokens": None, "id": None,
            "user": None,
        }
        scope.setdefault("state", {})["record"] = record

        async def send_and_note(message: dict) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except BaseException:
            if record["outcome"] == "ok":
                record["outcome"] = "error"
            raise
        finally:
            record["t_end"] = time.monotonic()
            self.log.add(record)
