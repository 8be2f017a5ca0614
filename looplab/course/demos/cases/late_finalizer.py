"""Case 8 · A finalizer that closes the client after its loop is gone.

"Close it when it is garbage-collected" reads tidy: a ``__del__`` that runs the async close. But
the object dies when the program lets go of it, usually after ``asyncio.run`` has closed the loop
its connections belong to. The close touches those connections' transports and fails inside
``__del__``, where Python can only print "Exception ignored in ...".
Fix pattern: **lifespan-owned**: close explicitly, on the loop that used the client
(``async with``, or ``await aclose()`` in a ``finally``), before that loop ends.
"""

from __future__ import annotations

import asyncio
import gc

from openai import AsyncOpenAI

from ._case import Step, ask, main


class Session:
    def __init__(self, base_url: str) -> None:
        self.client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)

    def __del__(self) -> None:  # broken: runs whenever the object dies, on whatever loop exists then
        asyncio.run(self.client.close())


class ClosingSession:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def __aenter__(self) -> ClosingSession:  # made on the loop that will use it, and close it
        self.client = AsyncOpenAI(base_url=self.base_url, api_key="-", max_retries=0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


def broken(base_url: str, step: Step) -> None:
    holder = {"session": Session(base_url)}
    step("the work", lambda: asyncio.run(ask(holder["session"].client, "some work")))
    step("the session is dropped", lambda: (holder.clear(), gc.collect()))


def fixed(base_url: str, step: Step) -> None:
    async def work() -> None:
        async with ClosingSession(base_url) as session:
            await ask(session.client, "some work")

    step("the work", lambda: asyncio.run(work()))


if __name__ == "__main__":
    main(broken, fixed)
