"""Case 6 · A server preloaded, then forked (gunicorn ``--preload``).

With ``--preload`` the master imports the app once and forks the workers from it. An app that
makes its client and warms it up at import does so on a loop of the master; each worker inherits
the client, its pool, and a connection that belongs to a loop that no longer runs (and whose
socket the master and every worker now share). The worker's first request fails.
Fix pattern: **lifespan-owned**: make the client in each worker, after the fork (the app's
lifespan start-up, or gunicorn's ``post_fork``), and close it there.
"""

from __future__ import annotations

import asyncio
import json
import os

from openai import AsyncOpenAI

from ._case import Step, ask, main


def _in_worker(serve, step: Step) -> None:
    """Fork; the child runs ``serve`` as a worker would and sends its outcome back to the parent."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(read)
        outcome: list[dict] = []
        try:
            asyncio.run(serve())
            outcome.append({"ok": True})
        except Exception as exc:  # noqa: BLE001 (sent to the parent, which records it)
            outcome.append({"ok": False, "exc": exc.__class__.__name__, "msg": str(exc)})
        finally:
            os.write(write, json.dumps(outcome[-1] if outcome else {"ok": False}).encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        reply = json.loads(pipe.read() or '{"ok": false, "exc": "WorkerDied", "msg": ""}')
    os.waitpid(pid, 0)

    def relay() -> None:
        if not reply["ok"]:
            raise RuntimeError(reply["msg"]) if reply["exc"] == "RuntimeError" else OSError(f"{reply['exc']}: {reply['msg']}")

    step("worker's first request", relay)


def broken(base_url: str, step: Step) -> None:
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)  # at import, in the master
    asyncio.run(ask(client, "warm-up"))

    async def serve() -> None:  # a worker's loop
        await ask(client, "a request")

    _in_worker(serve, step)


def fixed(base_url: str, step: Step) -> None:
    async def serve() -> None:  # the worker's lifespan owns its client
        async with AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0) as client:
            await ask(client, "a request")

    _in_worker(serve, step)


if __name__ == "__main__":
    main(broken, fixed)
