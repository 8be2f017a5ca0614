"""``lifespan``: one client owned by the server's lifespan, created and closed on uvicorn's loop.

Start-up work that needs the backend (``register_model``) uses its own short-lived client, closed
before the temporary loop ends. The long-lived client is created in the server's lifespan start
(``on_serving_start``), on the loop that will serve every request, and closed in its lifespan end.
This is the shape FastAPI and httpx recommend: the owner of the loop owns the client.
"""

from __future__ import annotations

from typing import Any

import openai

from .base import VLLMAdapterBase, close_shielded, iterate_stream


class LifespanAdapter(VLLMAdapterBase):
    _client: openai.AsyncOpenAI | None = None

    async def register_model(self, model_id: str) -> dict[str, Any]:
        async with self._new_client() as client:
            return await self._validate_model(client, model_id)

    async def on_serving_start(self) -> None:
        self._client = self._new_client()

    async def on_serving_stop(self) -> None:
        await close_shielded(self._client)
        self._client = None

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        if self._client is None:
            raise RuntimeError("the lifespan adapter serves only inside the server's lifespan "
                               "(on_serving_start was not called)")
        response = await self._client.chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response
