"""The crash in a few lines: one ``AsyncOpenAI`` client, used under two ``asyncio.run`` calls.

    python -m looplab.course.demos.two_loops --base-url http://127.0.0.1:PORT/v1 [--skip-first] [--loops 3]

Loop 1 makes a request (unless ``--skip-first``), which leaves a pooled keep-alive connection
bound to loop 1. ``asyncio.run`` closes loop 1. Loop 2 makes a request with the same client: the
pool touches the old connection, whose transport calls ``loop.call_soon`` on the closed loop.
Prints one JSON object: per loop, what happened and (on failure) the traceback's frames.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
from typing import Any

import openai


def frames(exc: BaseException) -> list[dict[str, Any]]:
    """Every frame of the exception's traceback: file, line, function."""
    return [{"file": f.filename, "line": f.lineno, "function": f.name}
            for f in traceback.extract_tb(exc.__traceback__)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--skip-first", action="store_true", help="make no request on the first loop")
    parser.add_argument("--loops", type=int, default=2)
    parser.add_argument("--max-retries", type=int, default=0)
    args = parser.parse_args()

    client = openai.AsyncOpenAI(base_url=args.base_url, api_key="x", max_retries=args.max_retries)

    async def ask(n: int) -> str:
        reply = await client.chat.completions.create(
            model="tiny-llama", messages=[{"role": "user", "content": f"loop {n}"}], user=f"loop-{n}")
        return reply.choices[0].message.content or ""

    results = []
    for n in range(1, args.loops + 1):
        if n == 1 and args.skip_first:
            results.append({"loop": n, "outcome": "skipped"})
            continue
        try:
            text = asyncio.run(ask(n))
            results.append({"loop": n, "outcome": "ok", "text": text})
        except Exception as exc:  # noqa: BLE001 (the point is to show it)
            root = exc
            while root.__cause__ is not None:
                root = root.__cause__
            # The error raised first is often not the one reported: the pool hits the closed loop while
            # *reading* the response, then again while closing the connection in its error handling.
            # Python keeps the first as __context__ of the second; follow it to the beginning.
            first = root
            while isinstance(first.__context__, RuntimeError):
                first = first.__context__
            results.append({"loop": n, "outcome": "error", "error": type(exc).__name__, "message": str(exc),
                            "root_error": type(root).__name__, "root_message": str(root), "frames": frames(root),
                            "first_error": type(first).__name__, "first_message": str(first),
                            "first_frames": frames(first), "traceback": "".join(traceback.format_exception(exc))})
    print(json.dumps({"openai": openai.__version__, "results": results}))


if __name__ == "__main__":
    main()
