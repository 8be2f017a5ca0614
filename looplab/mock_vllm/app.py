"""The mock's ASGI app: vLLM's OpenAI-compatible routes, faults and the request log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse

from . import connections, errors, generation, sampling
from .errors import APIError, JSONResponse, bad_request
from .faults import FaultPlan
from .protocol import ChatCompletionRequest, CompletionRequest, TokenizeRequest
from .requestlog import RequestLog, RequestLogMiddleware
from .settings import VLLM_VERSION, MockSettings


class _Auth:
    """vLLM's API-key check: only paths under /v1 need ``Authorization: Bearer <key>``."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.expected = app, f"Bearer {key}"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS" and scope["path"].startswith("/v1"):
            given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not secrets.compare_digest(given, self.expected):
                await JSONResponse({"error": "Unauthorized"}, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _sse(frame: Any) -> bytes:
    # Compact JSON, as vLLM writes its chunks (checked against a live vLLM by tests/test_real_vllm.py).
    return f"data: {frame if isinstance(frame, str) else json.dumps(frame, separators=(',', ':'))}\n\n".encode()


_CHARS_PER_TOKEN_BOUND = 13  # before tokenizing, vLLM refuses a text prompt of over 13 characters per context token


def create_app(settings: MockSettings | None = None) -> FastAPI:
    """Build the mock vLLM app. Serve it with uvicorn (``looplab mock-vllm``) or mount it in tests."""
    from .metrics import CONTENT_TYPE, Metrics  # here: the incident-era interpreter imports this module, without prometheus_client

    settings = settings or MockSettings()
    log = RequestLog(settings.request_log)
    plan = FaultPlan(settings.faults, settings.fault_seed)
    created = int(time.time())
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        log.close()

    app = FastAPI(title="looplab mock vLLM", version=VLLM_VERSION, docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan, default_response_class=JSONResponse)
    app.state.settings, app.state.request_log = settings, log
    metrics = app.state.metrics = Metrics(settings.models)
    errors.install(app)
    app.add_middleware(RequestLogMiddleware, log=log)
    if settings.api_key:
        app.add_middleware(_Auth, key=settings.api_key)

    async def pause(ms: float) -> None:
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    async def require_json(request: Request) -> None:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise RequestValidationError(errors=["Unsupported Media Type: Only 'application/json' is allowed"])

    def check_model(name: str | None) -> str:
        if name is None:
            return settings.models[0]
        if name not in settings.models:
            raise APIError(404, "NotFoundError",
                           f"The model `{name}` does not exist. Valid aliases: {', '.join(settings.models)}.",
                           "model")
        return name

    # The checks run in real vLLM 0.32.0's order: the request (stream options, a max_tokens above the
    # context length), then the prompt (characters, then tokens), then the sampling parameters.
    # Below the context length, max_tokens is clamped to the room the prompt leaves, as vLLM does.
    def check_request(req: Any, max_tokens: int | None, field: str) -> None:
        limit = settings.max_model_len
        if req.stream_options is not None and not req.stream:
            raise bad_request("Stream options can only be defined when `stream=True`. (parameter=stream_options)",
                              "stream_options")
        if max_tokens is not None and max_tokens > limit:
            raise bad_request(f"{field}={max_tokens} cannot be greater than max_model_len={limit}. "
                              f"Please request fewer output tokens. (parameter={field}, value={max_tokens})", field)

    def check_prompt(chars: int | None, tokens: int, *, exact: bool) -> None:
        """``chars`` of a text prompt (None for token ids); ``exact``: vLLM knows the full token count
        (token ids) rather than "at least" the limit plus one (text, tokenized with truncation)."""
        limit = settings.max_model_len
        if chars is not None and chars > _CHARS_PER_TOKEN_BOUND * limit:
            raise bad_request(f"This model's maximum context length is {limit} tokens. However, your prompt contains "
                              f"{chars} characters (more than {_CHARS_PER_TOKEN_BOUND * limit} characters, which is "
                              f"the upper bound for {limit} input tokens). Please reduce the length of the input "
                              f"prompt. (parameter=input_text, value={chars})", "input_text")
        if tokens > limit:
            count, at_least = (tokens, "") if exact else (limit + 1, "at least ")
            raise bad_request(f"This model's maximum context length is {limit} tokens. However, your prompt contains "
                              f"{at_least}{count} input tokens, which exceeds this limit even without any output "
                              f"tokens. Please reduce the length of the input prompt. "
                              f"(parameter=input_tokens, value={count})", "input_tokens")

    def check_sampling(req: Any, max_tokens: int | None, prompt_tokens: int) -> int:
        """Validate the sampling fields; return the room for output (vLLM clamps max_tokens to it)."""
        room = settings.max_model_len - prompt_tokens
        sampling.check(req, room if max_tokens is None else min(max_tokens, room))
        return room

    async def generate(request: Request, req: Any, *, model: str, chat: bool, sources: list[tuple[str, int]],
                       max_tokens: int | None) -> Response:
        """Answer for ``sources`` (text and token count of each prompt; several for a batch of prompts)."""
        rooms = [check_sampling(req, max_tokens, tokens) for _, tokens in sources]
        refused = sampling.logprobs_error(req, chat)
        if refused is not None:  # the engine's check: a stream has already started, so it is in-band
            if not req.stream:
                raise refused
            frames = [_sse(errors.error_body(refused.status, refused.type, refused.message, refused.param)),
                      _sse("[DONE]")]
            return StreamingResponse(iter(frames), media_type="text/event-stream; charset=utf-8")
        prompt_tokens = sum(tokens for _, tokens in sources)
        record = request.scope["state"]["record"]
        number, fault = plan.next_request()
        record.update(request_number=number, model=model, stream=bool(req.stream), fault=fault, user=req.user)
        if fault == "500":
            return errors.error_response(500, "InternalServerError", f"Injected fault on request {number}.")
        if fault == "429":
            return errors.error_response(429, "Too Many Requests", f"Injected rate limit on request {number}.")
        seed = req.seed if req.seed is not None else settings.seed
        outputs = []
        for (source, _), room in zip(sources, rooms):
            limit = None if max_tokens is None else min(max_tokens, room)  # clamped to the room left, as vLLM does
            outputs += [generation.clip(generation.generate(source, mode=settings.output, seed=seed + i,
                                                            max_tokens=limit), room) for i in range(req.n)]
        rid = generation.new_id("chatcmpl" if chat else "cmpl")
        record.update(id=rid, completion_tokens=sum(len(o.tokens) for o in outputs))

        def served() -> None:  # the engine is done with it: vLLM's success counters move here
            now = time.monotonic()
            metrics.succeeded(model, reasons=[o.finish_reason for o in outputs], prompt_tokens=prompt_tokens,
                              generated=record["completion_tokens"], ttft_s=record["t_first_token"] - record["t_start"],
                              e2e_s=now - record["t_start"])

        if not req.stream:
            metrics.started(model)
            try:
                return await answer(record, fault, outputs, served, chat=chat, rid=rid, model=model,
                                    prompt_tokens=prompt_tokens, request=request)
            finally:
                metrics.ended(model)

        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        return StreamingResponse(
            stream(request, rid, model, outputs, prompt_tokens, chat=chat, fault=fault, usage=include_usage,
                   served=served),
            media_type="text/event-stream; charset=utf-8")

    async def answer(record: dict, fault: str | None, outputs: list[generation.Output], served: Any, *,
                     chat: bool, rid: str, model: str, prompt_tokens: int, request: Request) -> Response:
        """A whole (non-streamed) answer, after the latency knobs; faults end it early."""
        if fault == "stall":
            record["outcome"] = "stalled"
            await asyncio.sleep(settings.stall_s)
            connections.drop(request.scope.get("client"))
            return Response(status_code=504)
        if fault == "drop":
            record["outcome"] = "dropped"
            connections.drop(request.scope.get("client"))
            return Response(status_code=502)  # never reaches the client: its connection is gone
        await pause(settings.ttft_ms)
        record["t_first_token"] = time.monotonic()
        await pause(settings.itl_ms * max(0, max(len(o.tokens) for o in outputs) - 1))
        build = generation.chat_completion if chat else generation.text_completion
        body = build(rid, model, outputs, prompt_tokens)
        served()
        return JSONResponse(body)

    async def stream(request: Request, rid: str, model: str, outputs: list[generation.Output],
                     prompt_tokens: int, *, chat: bool, fault: str | None, usage: bool,
                     served: Any) -> AsyncIterator[bytes]:
        record = request.scope["state"]["record"]
        maker = generation.ChunkMaker(rid, model, chat=chat)
        client = request.scope.get("client")
        metrics.started(model)  # here, not before: a stream nobody starts reading never runs its finally
        try:
            await pause(settings.ttft_ms)
            record["t_first_token"] = time.monotonic()
            if chat:
                for i in range(len(outputs)):
                    yield _sse(maker.role(i))
            if fault == "stall":
                record["outcome"] = "stalled"
                await asyncio.sleep(settings.stall_s)
                connections.drop(client)
                return
            for i, out in enumerate(outputs):
                for k, token in enumerate(out.tokens):
                    if k:
                        await pause(settings.itl_ms)
                    last = k == len(out.tokens) - 1
                    if fault == "drop" and k == max(1, len(out.tokens) // 2):
                        record["outcome"] = "dropped"
                        connections.drop(client)
                        return
                    is_final_frame = last and i == len(outputs) - 1 and not usage
                    yield _sse(maker.token(i, token, out.finish_reason if last else None, last_frame=is_final_frame))
            served()
            if usage:
                yield _sse(maker.usage(prompt_tokens, sum(len(o.tokens) for o in outputs)))
            yield _sse("[DONE]")
        except asyncio.CancelledError:
            if record["outcome"] == "ok":
                record["outcome"] = "client_disconnected"
            raise
        finally:
            metrics.ended(model)

    @app.get("/health")
    async def health() -> Response:
        return Response(status_code=200)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": VLLM_VERSION}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(name, settings.max_model_len, created)
                                           for name in settings.models]}

    @app.post("/v1/chat/completions", dependencies=[Depends(require_json)])
    async def chat_completions(request: Request, req: ChatCompletionRequest) -> Response:
        model = check_model(req.model)
        field = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
        max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
        check_request(req, max_tokens, field)
        if not req.messages:
            raise bad_request("Cannot apply chat template to an empty conversation. Provide at least one message.")
        user = [m for m in req.messages if m.role == "user"] or req.messages
        prompt_tokens = generation.chat_prompt_tokens(req.messages)
        # vLLM counts the characters of the rendered template; the mock has none, so it counts the contents.
        check_prompt(sum(len(generation.message_text(m.content)) for m in req.messages), prompt_tokens, exact=False)
        return await generate(request, req, model=model, chat=True,
                              sources=[(generation.message_text(user[-1].content), prompt_tokens)],
                              max_tokens=max_tokens)

    @app.post("/v1/completions", dependencies=[Depends(require_json)])
    async def completions(request: Request, req: CompletionRequest) -> Response:
        model = check_model(req.model)
        check_request(req, req.max_tokens, "max_tokens")
        if req.prompt is None or req.prompt == "":
            raise bad_request("Either prompt or prompt_embeds must be provided and non-empty. (parameter=prompt)",
                              "prompt")
        if req.prompt == []:
            raise bad_request("You must pass at least one prompt")
        prompts = generation.prompts(req.prompt)  # a batch of prompts gets one choice per prompt (times n)
        for source, tokens, chars in prompts:
            if tokens == 0:
                raise bad_request("The decoder prompt cannot be empty")
            check_prompt(chars, tokens, exact=chars is None)
        return await generate(request, req, model=model, chat=False,
                              sources=[(source, tokens) for source, tokens, _ in prompts], max_tokens=req.max_tokens)

    @app.post("/tokenize", dependencies=[Depends(require_json)])
    async def tokenize(req: TokenizeRequest) -> dict[str, Any]:
        check_model(req.model)
        if req.messages is not None:
            text = " ".join(generation.message_text(m.content) for m in req.messages)
        elif req.prompt is not None:
            text = generation.message_text(req.prompt)
        else:
            raise bad_request("Either prompt or messages must be provided.", "prompt")
        tokens = generation.tokenize(text)
        return {"count": len(tokens), "max_model_len": settings.max_model_len,
                "tokens": [generation.token_id(t) for t in tokens],
                "token_strs": tokens if req.return_token_strs else None}

    @app.get("/looplab/requests")
    async def requests() -> list[dict[str, Any]]:
        """The request log (mock only, not part of vLLM's API)."""
        return log.records

    @app.post("/looplab/expire-keepalive")
    async def expire_keepalive(request: Request) -> dict[str, int]:
        """Close every idle keep-alive connection now, as the keep-alive timeout would (mock only).

        Lets a test reach "after the keep-alive expired" deterministically, without waiting."""
        return {"closed": connections.close_idle(except_client=request.scope.get("client"))}

    @app.get("/looplab/stats")
    async def stats() -> dict[str, int]:
        """Connections accepted and TLS handshakes completed since start-up (mock only)."""
        return dict(connections.STATS)

    @app.delete("/looplab/requests")
    async def clear_requests() -> Response:
        log.clear()
        return Response(status_code=204)

    return app


def _model_card(name: str, max_model_len: int, created: int) -> dict[str, Any]:
    return {
        "id": name, "object": "model", "created": created, "owned_by": "vllm", "root": name, "parent": None,
        "max_model_len": max_model_len,
        "permission": [{
            "id": f"modelperm-{secrets.token_hex(8)}", "object": "model_permission", "created": created,
            "allow_create_engine": False, "allow_sampling": True, "allow_logprobs": True,
            "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False,
            "organization": "*", "group": None, "is_blocking": False,
        }],
    }
