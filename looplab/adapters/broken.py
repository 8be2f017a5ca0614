"""``broken``: the incident. The client is created in ``initialize()``, on the start-up loop.

``register_model()`` then lists models with it, which leaves a pooled keep-alive connection whose
transport belongs to that loop. ``asyncio.run`` closes the loop; uvicorn serves on a new one; the
first request that reuses (or closes) that connection calls into the dead loop:
``RuntimeError: Event loop is closed``.
"""

from __future__ import annotations

from typing import Any

import openai

from .base import VLLMAdapterBase, close_shielded, iterate_stream


class BrokenAdapter(VLLMAdapterBase):
    client: openai.AsyncOpenAI

    async def initialize(self) -> None:
        self.client = self._new_client()  # bound to whatever loop runs initialize(): the temporary one

    async def register_model(self, model_id: str) -> dict[str, Any]:
        return await self._validate_model(self.client, model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        response = await self.client.chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response

    async def shutdown(self) -> None:
        await close_shielded(self.client)
