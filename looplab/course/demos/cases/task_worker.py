"""Case 4 · A task worker that runs ``asyncio.run`` per task with a shared async client.

Celery, RQ and friends call tasks as plain functions; an async body therefore gets wrapped in
``asyncio.run``, a new loop per task. The client (or an async database engine, the same bug with
a different pool) is a module global made once per worker process. Task 1 works; task 2 finds
task 1's pooled connection, bound to task 1's closed loop.
Fix pattern: **one loop**: the worker process keeps one loop and runs every task on it.
"""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI

from ._case import Step, ask, main


def broken(base_url: str, step: Step) -> None:
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)  # shared by every task

    def summarise(document: str) -> str:  # @app.task in the real thing
        return asyncio.run(ask(client, f"summarise {document}"))

    for document in ("report-1", "report-2"):
        step(f"task {document}", lambda d=document: summarise(d))


def fixed(base_url: str, step: Step) -> None:
    worker_loop = asyncio.new_event_loop()  # made when the worker process starts (worker_process_init)
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)

    def summarise(document: str) -> str:
        return worker_loop.run_until_complete(ask(client, f"summarise {document}"))

    for document in ("report-1", "report-2"):
        step(f"task {document}", lambda d=document: summarise(d))
    step("worker stops", lambda: (worker_loop.run_until_complete(client.close()), worker_loop.close()))


if __name__ == "__main__":
    main(broken, fixed)
