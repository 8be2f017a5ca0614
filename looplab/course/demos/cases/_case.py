"""What every case shares: one request, and the JSON line a case prints about its steps.

    python -m looplab.course.demos.cases.NAME --variant broken|fixed --base-url http://127.0.0.1:PORT/v1

A case module defines ``broken(base_url, step)`` and ``fixed(base_url, step)``; each calls
``step(label, fn)`` for every unit of work the real program would do (a CLI command, a Lambda
invocation, a task, a request). ``step`` runs ``fn``, and records whether it worked and, if not, the
error at the root of it. Python's "Exception ignored in ..." reports (a failing ``__del__``) and
``ResourceWarning`` (a client dropped unclosed) are recorded too: both are how this bug hides. So
are the TCP connections the process opened to the backend (``connections``): what a fix costs.
Clients are made with ``max_retries=0``: with retries the first failure is retried on a fresh
connection and the symptom becomes a backend that did the work twice (episode 04).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Step = Callable[[str, Callable[[], Any]], None]
MODEL = "tiny-llama"


async def ask(client: Any, text: str) -> str:
    """One chat completion: what every case's unit of work does."""
    reply = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


def root_of(exc: BaseException) -> BaseException:
    """The error at the bottom: openai's APIConnectionError wraps the transport's RuntimeError."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _described(exc: BaseException) -> dict[str, str]:
    root = root_of(exc)
    return {"error": f"{type(exc).__name__}: {exc}", "root": f"{type(root).__name__}: {root}"[:600]}


def _count_connections(base_url: str) -> list[int]:
    """Count the TCP connections this process opens to the backend (``[n]``, filled in as it runs): Python
    audits every socket connect, whichever library makes it, so this counts on any backend."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    count = [0]

    def hook(event: str, args: tuple) -> None:
        if event == "socket.connect" and isinstance(args[1], tuple) and len(args[1]) >= 2 and args[1][1] == port:
            count[0] += 1

    sys.addaudithook(hook)  # for the rest of this process, which runs this one case
    return count


def main(broken: Callable[[str, Step], None], fixed: Callable[[str, Step], None]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=["broken", "fixed"], required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--guard", action="store_true", help="run under looplab's loop guard (looplab.tools.loopguard)")
    args = parser.parse_args()
    steps: list[dict[str, Any]] = []
    ignored: list[dict[str, str]] = []
    sys.unraisablehook = lambda report: ignored.append(
        {"in": repr(report.object), **_described(report.exc_value)})

    def step(label: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
            steps.append({"step": label, "outcome": "ok"})
        except Exception as exc:  # noqa: BLE001 (recording it is the point)
            steps.append({"step": label, "outcome": "error", **_described(exc)})

    connections = _count_connections(args.base_url)
    with warnings.catch_warnings(record=True) as caught, contextlib.ExitStack() as guarded:
        warnings.simplefilter("always", ResourceWarning)
        if args.guard:  # standard library only: it runs in any interpreter that has openai
            from looplab.tools.loopguard import guard

            guarded.enter_context(guard())
        (broken if args.variant == "broken" else fixed)(args.base_url, step)
        gc.collect()
    print(json.dumps({"variant": args.variant, "steps": steps, "ignored": ignored, "connections": connections[0],
                      "resource_warnings": [str(w.message)[:200] for w in caught
                                            if issubclass(w.category, ResourceWarning)]}))
