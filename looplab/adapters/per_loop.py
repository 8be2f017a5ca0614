"""``per_loop``: one client per running event loop, closed with its loop or at shutdown.

Each loop gets its own client the first time it asks, so a client never crosses loops. To close a
client *with its loop*, a guard task is parked on that loop: ``asyncio.run`` (and uvicorn, which
runs on it) cancels every remaining task before closing a loop, and the guard's ``finally`` closes
the client while its loop can still run the close. (Upstream's ollama adapter took the same shape,
#2862.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from .base import VLLMAdapterBase, close_shielded, iterate_stream


class PerLoopAdapter(VLLMAdapterBase):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._clients: dict[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = {}
        self._guards: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def _client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        for old in [old for old in self._clients if old.is_closed()]:
            self._clients.pop(old), self._guards.pop(old, None)
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._new_client()
            self._guards[loop] = loop.create_task(self._close_with_loop(client), name="looplab-per-loop-guard")
        return client

    @staticmethod
    async def _close_with_loop(client: openai.AsyncOpenAI) -> None:
        try:
            await asyncio.Event().wait()  # parked until the loop shuts down and cancels it
        finally:
            await client.close()

    async def register_model(self, model_id: str) -> dict[str, Any]:
        return await self._validate_model(self._client(), model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        response = await self._client().chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response

    async def shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        guard = self._guards.pop(loop, None)
        client = self._clients.pop(loop, None)
        if guard:
            guard.cancel()
        await close_shielded(client)
