"""The stack's HTTP server: OpenAI-compatible routes that go through the inference adapter.

Served by uvicorn on *its own* loop, after ``construct_stack`` ran on a temporary one.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import warnings
from collections.abc import AsyncIterator
from typing import Any

import psutil
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from .construct import Impls
from .errors import classify, error_body

log = logging.getLogger("looplab.stack")


class ResourceWarningCounter:
    """Counts (and logs) ``ResourceWarning``s: unclosed sockets and transports show up here."""

    def __init__(self) -> None:
        self.count = 0
        self._previous = warnings.showwarning

    def install(self) -> None:
        warnings.simplefilter("always", ResourceWarning)
        warnings.showwarning = self._show

    def _show(self, message: Any, category: type, filename: str, lineno: int, file: Any = None,
              line: str | None = None) -> None:
        if issubclass(category, ResourceWarning):
            self.count += 1
            log.warning("ResourceWarning: %s", message)
        else:
            self._previous(message, category, filename, lineno, file, line)


def open_sockets() -> list[dict[str, Any]]:
    """This process's outgoing TCP connections (to the backend): not the listening socket, and not
    the connections clients opened to it."""
    conns = psutil.Process(os.getpid()).net_connections(kind="tcp")
    listening = {c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN}
    return [{"local_port": c.laddr.port, "remote_port": c.raddr.port if c.raddr else None, "status": c.status}
            for c in conns if c.status != psutil.CONN_LISTEN and c.laddr.port not in listening]


def _to_json(obj: Any) -> Any:
    return obj.model_dump(mode="json", exclude_unset=True) if hasattr(obj, "model_dump") else obj


def create_app(impls: Impls, warnings_counter: ResourceWarningCounter | None = None) -> FastAPI:
    adapter = impls.inference
    counter = warnings_counter or ResourceWarningCounter()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if hasattr(adapter, "on_serving_start"):
            await adapter.on_serving_start()
        try:
            yield
        finally:
            if hasattr(adapter, "on_serving_stop"):
                await adapter.on_serving_stop()
            await adapter.shutdown()

    app = FastAPI(title="looplab mini stack", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    def failure(exc: BaseException, what: str) -> JSONResponse:
        status, type_, message = classify(exc)
        if status == 500:
            log.error("%s failed inside the adapter", what, exc_info=exc)
        else:
            log.warning("%s failed: %s %s", what, status, message)
        return JSONResponse(error_body(status, type_, message), status_code=status)

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "OK"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m["identifier"], "object": "model", "owned_by": "looplab",
                                            **m} for m in impls.models]}

    @app.post("/v1/models")
    async def register_model(request: Request) -> Response:
        """Register a model while serving, as Llama Stack's models API does: ``register_model`` on this loop."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        model_id = body.get("model_id") if isinstance(body, dict) else None
        if not isinstance(model_id, str) or not model_id:
            return JSONResponse(error_body(400, "invalid_request_error", "'model_id' is required"), 400)
        try:
            registered = await adapter.register_model(model_id)
        except ValueError as exc:  # the backend does not serve it
            return JSONResponse(error_body(400, "invalid_request_error", str(exc)), 400)
        except Exception as exc:  # noqa: BLE001
            return failure(exc, "model registration")
        impls.models[:] = [m for m in impls.models if m["identifier"] != registered["identifier"]] + [registered]
        return JSONResponse(_to_json(registered))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(error_body(400, "invalid_request_error", "the body is not valid JSON"), 400)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return JSONResponse(error_body(400, "invalid_request_error", "'model' and a list of 'messages' are required"), 400)
        params = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        stream = bool(body.get("stream"))
        try:
            result = await adapter.chat_completion(body["model"], body["messages"], stream=stream, **params)
        except Exception as exc:  # noqa: BLE001 (every failure becomes an answer; the server keeps serving)
            return failure(exc, "chat completion")
        if not stream:
            return JSONResponse(_to_json(result))
        chunks = result.__aiter__()
        try:
            first = await chunks.__anext__()  # errors before the first chunk still get a status code
        except StopAsyncIteration:
            first = None
        except Exception as exc:  # noqa: BLE001
            await _close(chunks)
            return failure(exc, "chat completion stream")
        return StreamingResponse(_sse(first, chunks, failure), media_type="text/event-stream")

    @app.get("/looplab/diagnostics")
    async def diagnostics(collect: bool = False) -> dict[str, Any]:
        """Open TCP connections and ResourceWarnings so far (``collect=true`` runs the GC first)."""
        if collect:
            gc.collect()
        return {"pid": os.getpid(), "adapter": type(adapter).__name__, "open_sockets": open_sockets(),
                "resource_warnings": counter.count}

    return app


async def _close(chunks: Any) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose:
        await aclose()


async def _sse(first: Any, chunks: Any, failure: Any) -> AsyncIterator[bytes]:
    try:
        if first is not None:
            yield f"data: {json.dumps(_to_json(first))}\n\n".encode()
        async for chunk in chunks:
            yield f"data: {json.dumps(_to_json(chunk))}\n\n".encode()
        yield b"data: [DONE]\n\n"
    except Exception as exc:  # noqa: BLE001 (headers are sent: report the failure in-band, as OpenAI does)
        yield f"data: {json.dumps(json.loads(failure(exc, 'chat completion stream').body))}\n\n".encode()
    finally:
        await _close(chunks)  # also when the caller disconnected: the adapter must release its client
