"""Case 5 · A test fixture that makes the client on another loop than the test.

pytest-asyncio runs a session-scoped async fixture on a session loop and each test, by default,
on a loop of its own. A fixture that makes a client and checks the server with it leaves a pooled
connection on the fixture's loop; the test then uses the client on its loop. (The test suite here
plays both parts with ``asyncio.run``: the fixture's loop ends when its run ends; in pytest it
may still be open, and then the error reads "attached to a different loop" instead.)
Fix pattern: **one loop**: give the fixture and the tests the same loop (pytest-asyncio's
``loop_scope``), or make the client in the test's own scope.
"""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI

from ._case import Step, ask, main


def broken(base_url: str, step: Step) -> None:
    async def client_fixture() -> AsyncOpenAI:  # scope="session": its own loop
        client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)
        await client.models.list()  # "wait until the server answers"
        return client

    client = asyncio.run(client_fixture())

    async def test_chat() -> None:  # the test's loop
        assert await ask(client, "a test")

    step("test_chat", lambda: asyncio.run(test_chat()))


def fixed(base_url: str, step: Step) -> None:
    async def session() -> None:  # fixture and tests on one loop (loop_scope="session")
        async with AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0) as client:
            await client.models.list()
            assert await ask(client, "a test")

    step("test_chat", lambda: asyncio.run(session()))


if __name__ == "__main__":
    main(broken, fixed)
