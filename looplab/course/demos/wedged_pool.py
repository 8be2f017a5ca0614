"""The reporter's symptom, small: a pool wedged by the dead loop, and the frame #1968 ends in.

    python -m looplab.course.demos.wedged_pool --base-url http://127.0.0.1:PORT/v1 [--requests 3] [--deadline 1]

One ``AsyncOpenAI`` client (retries off) makes a request on loop 1, which pools a keep-alive
connection. The backend then closes its idle connections, as its keep-alive timer would (the
mock's ``/looplab/expire-keepalive``). On loop 2, each request runs under a deadline (an anyio
cancel scope, as Starlette cancels a request whose caller went away). Run it with the reporter's
httpcore 1.0.2 (``.venv-exact/``): request 1 fails closing the stale connection, and the later ones
wait for a pool slot that never frees until the deadline cancels them, inside
``connection_pool.py`` at ``async with self._pool_lock:``. With httpcore 1.0.8 or httpcore2 only
request 1 fails. Prints one JSON object: per request, its outcome and each exception of its chain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
import urllib.request
from typing import Any

import anyio
import openai


def _site(path: str) -> str:
    return path.split("site-packages/", 1)[-1]


def chain(exc: BaseException) -> list[dict[str, Any]]:
    """Each exception of the chain, first raised first, with its last two frames."""
    links: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in links:
        links.append(seen)
        seen = seen.__cause__ or seen.__context__
    out = []
    for link in reversed(links):
        frames = traceback.extract_tb(link.__traceback__)
        out.append({"error": type(link).__name__, "message": str(link)[:120],
                    "frames": [f"{_site(f.filename)}:{f.lineno} {f.name}" for f in frames[-2:]],
                    "code": frames[-1].line if frames else None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--requests", type=int, default=3, help="requests on loop 2 (default: 3)")
    parser.add_argument("--deadline", type=float, default=1.0, help="seconds each loop-2 request may take")
    args = parser.parse_args()
    client = openai.AsyncOpenAI(base_url=args.base_url, api_key="x", max_retries=0)

    async def ask(n: int) -> None:
        await client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": f"r{n}"}],
                                             user=f"r{n}")

    asyncio.run(ask(0))  # loop 1: a keep-alive connection is pooled, then the loop is closed
    root = args.base_url.rstrip("/").removesuffix("/v1")
    with urllib.request.urlopen(urllib.request.Request(f"{root}/looplab/expire-keepalive", method="POST")):
        pass  # the backend closes its idle connections, as its keep-alive timeout would

    async def loop2() -> list[dict[str, Any]]:
        results = []
        for n in range(1, args.requests + 1):
            try:
                with anyio.fail_after(args.deadline):
                    await ask(n)
                results.append({"request": n, "outcome": "ok"})
            except BaseException as exc:  # noqa: BLE001 (the point is to show it; CancelledError included)
                outcome = "deadline" if isinstance(exc, TimeoutError) else "error"
                results.append({"request": n, "outcome": outcome, "chain": chain(exc)})
        return results

    from importlib import metadata

    core = "httpcore2" if any(d.metadata["Name"] == "httpcore2" for d in metadata.distributions()) else "httpcore"
    print(json.dumps({"openai": openai.__version__, "httpcore": f"{core} {metadata.version(core)}",
                      "results": asyncio.run(loop2())}))


if __name__ == "__main__":
    main()
