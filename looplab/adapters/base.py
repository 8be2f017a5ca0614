"""The adapter protocol, and what every vLLM adapter strategy shares.

Names follow Llama Stack's remote vLLM provider (``VLLMInferenceAdapter``): the stack calls
``initialize()`` and ``register_model()`` while it is being constructed (under
``asyncio.run(construct_stack(config))``: a temporary event loop), then ``chat_completion()``
for every request on uvicorn's loop, and ``shutdown()`` at the end. The strategies differ only
in *when* they create their ``AsyncOpenAI`` client and on *which* loop it lives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import openai


@dataclass
class VLLMConfig:
    """Where the backend is and how the client talks to it (Llama Stack's ``VLLMInferenceAdapterConfig``)."""

    url: str
    api_token: str = "fake"
    #: ``None`` keeps the client's default (2 retries); 0 turns retries off (a diagnostic switch).
    max_retries: int | None = None
    timeout: float = 60.0


# --8<-- [start:protocol]
@runtime_checkable
class InferenceAdapter(Protocol):
    """What the mini stack needs from an inference provider."""

    async def initialize(self) -> None: ...

    async def register_model(self, model_id: str) -> dict[str, Any]: ...

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        """A ``ChatCompletion``, or (``stream=True``) an async iterator of ``ChatCompletionChunk``."""

    async def shutdown(self) -> None: ...
# --8<-- [end:protocol]


class ModelNotServed(ValueError):
    """``register_model`` was asked for a model the backend does not list."""


class VLLMAdapterBase:
    """Shared parts of the strategies. Subclasses decide the client's lifecycle."""

    def __init__(self, config: VLLMConfig) -> None:
        self.config = config

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"base_url": self.config.url, "api_key": self.config.api_token,
                                   "timeout": self.config.timeout}
        if self.config.max_retries is not None:
            options["max_retries"] = self.config.max_retries
        return options

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options())

    async def _validate_model(self, client: openai.AsyncOpenAI, model_id: str) -> dict[str, Any]:
        # This request is the one that leaves a pooled keep-alive connection on the start-up loop.
        served = [m.id async for m in client.models.list()]
        if model_id not in served:
            raise ModelNotServed(f"model {model_id!r} is not served by vLLM at {self.config.url}; "
                                 f"it serves: {', '.join(served) or 'nothing'}")
        return {"identifier": model_id, "provider_resource_id": model_id, "provider_id": "vllm"}

    @staticmethod
    def _request(model: str, messages: list[dict[str, Any]], stream: bool, params: dict[str, Any]) -> dict[str, Any]:
        return {"model": model, "messages": messages, "stream": stream, **params}

    async def initialize(self) -> None:
        """Nothing by default: strategies that create a client here are the ones that break."""

    async def shutdown(self) -> None:
        """Nothing by default."""


_closing: set[asyncio.Task] = set()


async def close_shielded(closeable: Any) -> None:
    """Close a client or stream even inside a cancelled task.

    Under anyio (Starlette streams responses in an anyio task group) cancellation is level-
    triggered: once a scope is cancelled, *every* further ``await`` in it is cancelled too,
    including the one that closes the client, which would leak its connection. The close runs
    in its own task, so cancelling the caller cannot stop it.
    """
    if closeable is None:
        return
    close = getattr(closeable, "close", None) or closeable.aclose
    task = asyncio.ensure_future(close())
    _closing.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_closing.discard)
    await asyncio.shield(task)


async def iterate_stream(stream: Any) -> AsyncIterator[Any]:
    """Yield a stream's chunks and always release its response (connection back to the pool)."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await close_shielded(stream)
