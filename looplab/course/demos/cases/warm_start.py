"""Case 3 · A serverless warm start: a global client, and ``asyncio.run`` per invocation.

A function platform (AWS Lambda and the like) imports the module once per container and calls the
handler for every event; the handler is synchronous, so it runs its coroutine with
``asyncio.run``. The cold start works. A warm start reuses the container, its global client and
that client's pooled connection, which belongs to the previous invocation's closed loop.
Fix pattern: **one loop**: keep one event loop for the container's life, beside the client, and
run every invocation on it (or make the client per invocation, inside it).
"""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI

from ._case import Step, ask, main


def broken(base_url: str, step: Step) -> None:
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)  # module scope, in the real thing

    def handler(event: str) -> str:
        return asyncio.run(ask(client, event))

    step("cold start", lambda: handler("invocation 1"))
    step("warm start", lambda: handler("invocation 2"))


def fixed(base_url: str, step: Step) -> None:
    loop = asyncio.new_event_loop()  # the container's loop, made once, like the client
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)

    def handler(event: str) -> str:
        return loop.run_until_complete(ask(client, event))

    step("cold start", lambda: handler("invocation 1"))
    step("warm start", lambda: handler("invocation 2"))
    step("container stops", lambda: (loop.run_until_complete(client.close()), loop.close()))


if __name__ == "__main__":
    main(broken, fixed)
