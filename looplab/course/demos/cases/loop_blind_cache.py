"""Case 7 · A client cache added "for speed", keyed without the loop.

One client per (base URL, API key), kept in a dict so that calls share connections. Every key
the code thinks of is in it except the one that matters: the event loop. A second
``asyncio.run`` (a notebook cell, a sync wrapper, a worker's next task) gets the first loop's
client back. LiteLLM keyed its cache by the loop's ``id()`` to fix this; an ``id`` can be reused
by a new loop once the old one is garbage-collected, so key by the loop object, weakly.
Fix pattern: **per loop**: a cache per running loop, closed before that loop ends.
"""

from __future__ import annotations

import asyncio
import weakref

from openai import AsyncOpenAI

from ._case import Step, ask, main

_clients: dict[tuple[str, str], AsyncOpenAI] = {}


def cached_client(base_url: str, api_key: str = "-") -> AsyncOpenAI:
    key = (base_url, api_key)
    if key not in _clients:
        _clients[key] = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    return _clients[key]


_per_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def loop_client(base_url: str, api_key: str = "-") -> AsyncOpenAI:
    clients = _per_loop.setdefault(asyncio.get_running_loop(), {})
    if (base_url, api_key) not in clients:
        clients[(base_url, api_key)] = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    return clients[(base_url, api_key)]


async def close_loop_clients() -> None:  # before the loop ends: a cache owns what it holds
    for client in _per_loop.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


def broken(base_url: str, step: Step) -> None:
    for call in ("call 1", "call 2"):
        step(call, lambda c=call: asyncio.run(ask(cached_client(base_url), c)))


def fixed(base_url: str, step: Step) -> None:
    async def one_run(call: str) -> None:
        try:
            await ask(loop_client(base_url), call)
            await ask(loop_client(base_url), call + ", again: the same client, reused")
        finally:
            await close_loop_clients()

    for call in ("call 1", "call 2"):
        step(call, lambda c=call: asyncio.run(one_run(c)))


if __name__ == "__main__":
    main(broken, fixed)
