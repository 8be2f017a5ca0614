"""Deliberately wrong adapters: the classic mistakes, kept so that tests, notebooks and lab checks
can prove they catch them. Never use these; each docstring says what is wrong.

Loaded by the stack by import path, e.g. ``looplab.adapters.wrong:NeverClosedPerCall``.
"""

from __future__ import annotations

from typing import Any

from .base import VLLMAdapterBase, iterate_stream
from .lazy_once import LazyOnceAdapter


class NeverClosedPerCall(VLLMAdapterBase):
    """Per-call clients that are never closed: every call leaves a socket until garbage collection."""

    async def register_model(self, model_id: str) -> dict[str, Any]:
        return await self._validate_model(self._new_client(), model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        client = self._new_client()
        response = await client.chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response


class ClosedBeforeStreamPerCall(VLLMAdapterBase):
    """Per-call clients closed by ``async with`` before the caller reads the stream."""

    async def register_model(self, model_id: str) -> dict[str, Any]:
        async with self._new_client() as client:
            return await self._validate_model(client, model_id)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        async with self._new_client() as client:
            response = await client.chat.completions.create(**self._request(model, messages, stream, params))
        return iterate_stream(response) if stream else response  # the stream's client is already closed


class LazyTouchedAtStartup(LazyOnceAdapter):
    """The lazy fix, regressed: a start-up warm-up creates the lazy client inside the temporary loop."""

    async def initialize(self) -> None:
        await self.client.models.list()  # "check the backend is up": creates and pools on the start-up loop
