"""``lazy_once``: what Llama Stack 0.2.3 shipped (PR #1969). Modelled faithfully, weaknesses included.

The client is created on first use and then cached, so normally it is born on uvicorn's loop.
Two weaknesses, which the tests expose rather than hide:

* ``register_model`` (run at start-up) uses a throwaway client that is never closed: its socket
  stays open until garbage collection, with an "unclosed" ``ResourceWarning``;
* the fix holds only while nothing touches ``client`` during start-up. When start-up code does
  (a health check, a warm-up), the lazy creation happens inside the temporary loop and the
  original crash returns: the regression upstream later met in its VertexAI provider (#6057).
"""

from __future__ import annotations

from typing import Any

import openai

from .base import VLLMAdapterBase, close_shielded, iterate_stream


class LazyOnceAdapter(VLLMAdapterBase):
    _client: openai.AsyncOpenAI | None = None

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = self._new_client()  # on whichever loop first asks
        return self._client

    async def register_model(self, model_id: str) -> dict[str, Any]:
        client = self._new_client() if self._client is None else self._client  # throwaway, never closed
        return await self._validate_model(client, model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        response = await self.client.chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response

    async def shutdown(self) -> None:
        await close_shielded(self._client)
        self._client = None
