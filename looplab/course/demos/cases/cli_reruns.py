"""Case 1 · A cached client across sequential ``asyncio.run()`` calls.

A CLI runs each command under its own ``asyncio.run()``; a Streamlit-style app reruns its script,
and with it ``asyncio.run()``, on every click. A client cached "so we reuse the connection"
outlives the loop that opened that connection: the next run's first request reaches into a
closed loop.
Fix pattern: **per call**: the command owns its client (``async with``), for as long as it runs.
"""

from __future__ import annotations

import asyncio
import functools

from openai import AsyncOpenAI

from ._case import Step, ask, main


@functools.cache
def get_client(base_url: str) -> AsyncOpenAI:  # one client for the whole process
    return AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)


def broken(base_url: str, step: Step) -> None:
    for command in ("first command", "second command"):
        step(command, lambda c=command: asyncio.run(ask(get_client(base_url), c)))


def fixed(base_url: str, step: Step) -> None:
    async def run_command(command: str) -> str:
        async with AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0) as client:
            return await ask(client, command)

    for command in ("first command", "second command"):
        step(command, lambda c=command: asyncio.run(run_command(c)))


if __name__ == "__main__":
    main(broken, fixed)
