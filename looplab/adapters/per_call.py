"""``per_call``: the fix the source article recommends: a new client for every API call, created on
the loop that serves the call, and always closed, streams included. (Upstream went per access in
#3404, through a mixin that never closed its clients: the "never closed" mistake below.)

The two classic mistakes this strategy must avoid (the tests keep both as wrong variants):
closing the client before the caller has read the stream, and never closing it at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .base import VLLMAdapterBase, close_shielded, iterate_stream


class PerCallAdapter(VLLMAdapterBase):
    async def register_model(self, model_id: str) -> dict[str, Any]:
        async with self._new_client() as client:
            return await self._validate_model(client, model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        request = self._request(model, messages, stream, params)
        if stream:
            return self._stream(request)
        async with self._new_client() as client:
            return await client.chat.completions.create(**request)

    # --8<-- [start:stream]
    async def _stream(self, request: dict[str, Any]) -> AsyncIterator[Any]:
        # The client lives exactly as long as the stream: closed when the stream ends, when the
        # caller stops early (aclose), and when the caller's task is cancelled (disconnect).
        client = self._new_client()
        try:
            async for chunk in iterate_stream(await client.chat.completions.create(**request)):
                yield chunk
        finally:
            await close_shielded(client)
    # --8<-- [end:stream]
