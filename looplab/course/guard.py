"""A loop-affinity guard: a client that refuses, loudly, to be used on a loop it was not made on.

The crash is a *silent* misuse: nothing stops a coroutine on loop B from using a client whose
pooled connections belong to loop A, until some connection's transport calls into the dead loop,
deep inside the pool, after the request may already have been sent. The guard moves the failure
to the first attribute access on the wrong loop, before any I/O, with a message that says what
happened and what to do.

>>> client = loop_bound(openai.AsyncOpenAI(...))   # inside the loop that will use it  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from typing import Any


class LoopAffinityError(RuntimeError):
    """A loop-bound object was used from another event loop."""


class LoopBound:
    """Wraps an object created on the running loop; every attribute access checks the loop."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def _check(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            state = "closed" if self._loop.is_closed() else "still open, but not this one"
            raise LoopAffinityError(
                f"{type(self._target).__name__} was created on event loop {id(self._loop):#x} ({state}) and is "
                f"being used on {'no running loop' if running is None else f'loop {id(running):#x}'}. Its pooled "
                "connections belong to the loop that created it: create the client on the loop that uses it "
                "(per call, per loop, or in the server's lifespan).")

    def __getattr__(self, name: str) -> Any:
        self._check()
        return getattr(self._target, name)

    async def __aenter__(self) -> Any:
        self._check()
        return await self._target.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._target.__aexit__(*exc)


def loop_bound(target: Any) -> Any:
    """Bind ``target`` to the running loop (call it from a coroutine, where the object is created)."""
    return LoopBound(target, asyncio.get_running_loop())
