"""The bare uvicorn app that ``looplab bench --target mock`` compares the mock with.

A pure-ASGI app (no FastAPI, no validation, no request log) answering ``POST /v1/chat/completions``
with fixed bytes: the floor that uvicorn + h11 + the client cost. Its bodies are built once, at
import, by the mock's own response builders (:mod:`looplab.mock_vllm.generation`), so both servers
send the same shapes, the same 7 tokens and the same number of SSE frames: a fair comparison.

Served in its own process through :func:`looplab.servers.serve` like every looplab server:
``python -m looplab.proofs.bench.baseline --port-file PATH``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ...mock_vllm import generation

MODEL = "tiny-llama"  # the mock's default model
# The mock echoes the prompt, so the bare app replies with the same words.
PROMPT = "Write one short sentence about event loops."
CHAT_PATH = "/v1/chat/completions"


def _compact(frame: Any) -> bytes:
    return f"data: {json.dumps(frame, separators=(',', ':'))}\n\n".encode()  # as the mock (and vLLM) write SSE


def _bodies() -> tuple[bytes, list[bytes]]:
    """The fixed JSON body and SSE frames: what the mock answers for :data:`PROMPT`, built by its builders."""
    output = generation.generate(PROMPT, mode="echo", seed=0, max_tokens=None)
    rid, prompt_tokens = generation.new_id("chatcmpl"), len(generation.tokenize(PROMPT)) + 5
    body = json.dumps(generation.chat_completion(rid, MODEL, [output], prompt_tokens)).encode()
    maker = generation.ChunkMaker(rid, MODEL, chat=True)
    last = len(output.tokens) - 1
    frames = [_compact(maker.role(0))]
    frames += [_compact(maker.token(0, token, output.finish_reason if k == last else None, last_frame=k == last))
               for k, token in enumerate(output.tokens)]
    return body, [*frames, b"data: [DONE]\n\n"]


BODY, FRAMES = _bodies()
_Send = Callable[[dict[str, Any]], Awaitable[None]]
_Receive = Callable[[], Awaitable[dict[str, Any]]]


async def _respond(send: _Send, status: int, body: bytes = b"", content_type: bytes | None = None) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: _Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _stream(send: _Send) -> None:
    """One frame per ``send``, as Starlette's StreamingResponse does, so the frame count matches."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
    for frame in FRAMES:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _lifespan(receive: _Receive, send: _Send) -> None:
    """``serve`` runs uvicorn with ``lifespan="on"``, which insists on an answer."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def bare_app(scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
    """The baseline: health and chat completions (JSON or SSE), nothing else, no framework.

    It still parses the request JSON, because any server must to know whether to stream.
    """
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    route = (scope["method"], scope["path"])
    if route == ("GET", "/health"):
        await _respond(send, 200)
        return
    if route != ("POST", CHAT_PATH):
        await _respond(send, 404, b'{"detail":"Not Found"}', b"application/json")
        return
    try:
        request = json.loads(await _read_body(receive))
    except ValueError:
        await _respond(send, 400, b'{"error":"invalid JSON"}', b"application/json")
        return
    if isinstance(request, dict) and request.get("stream") is True:
        await _stream(send)
    else:
        await _respond(send, 200, BODY, b"application/json")


def start_baseline() -> Any:
    """Start the bare app as a tagged server process; use it as a context manager."""
    from ...servers import start

    return start([sys.executable, "-m", "looplab.proofs.bench.baseline"], name="bare-uvicorn")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the bare server process."""
    from ...servers.serve import serve

    parser = argparse.ArgumentParser(prog="python -m looplab.proofs.bench.baseline",
                                     description="Serve the bare uvicorn app that `looplab bench` compares with.")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    # log level "info" like the mock's default: both pay for uvicorn's access log alike.
    serve(bare_app, name="looplab bare-uvicorn", port=0, port_file=args.port_file, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
