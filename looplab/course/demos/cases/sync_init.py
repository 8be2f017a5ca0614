"""Case 2 · A client made, and used once, in a synchronous ``__init__``, then served on another loop.

The service checks its backend at construction ("fail fast if it is down"), which in sync code
means ``asyncio.run``; then the server starts its own loop (as ``uvicorn.run`` does) and serves
with the same client. Llama Stack's adapter had this shape, with ``initialize()`` in place of
``__init__``. Making a client at import time or in ``__init__`` is harmless by itself: the client
binds to a loop at its first connection, and here that happens on the wrong one.
Fix pattern: **lifespan-owned**: make, check and close the client in the server's start-up and
shut-down hooks, on the loop that serves.
"""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI

from ._case import Step, ask, main


class BrokenService:
    def __init__(self, base_url: str) -> None:
        self.client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)
        asyncio.run(self.check())  # the start-up check, on a loop that ends right here

    async def check(self) -> None:
        await self.client.models.list()


class FixedService:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client: AsyncOpenAI | None = None

    async def startup(self) -> None:  # the server's lifespan hook: on the serving loop
        self.client = AsyncOpenAI(base_url=self.base_url, api_key="-", max_retries=0)
        await self.client.models.list()

    async def shutdown(self) -> None:
        await self.client.close()


def broken(base_url: str, step: Step) -> None:
    service = BrokenService(base_url)

    async def serve() -> None:  # what uvicorn.run(app) does: a new loop, then requests on it
        await ask(service.client, "a request")

    step("first request", lambda: asyncio.run(serve()))


def fixed(base_url: str, step: Step) -> None:
    service = FixedService(base_url)

    async def serve() -> None:
        await service.startup()
        try:
            await ask(service.client, "a request")
        finally:
            await service.shutdown()

    step("first request", lambda: asyncio.run(serve()))


if __name__ == "__main__":
    main(broken, fixed)
