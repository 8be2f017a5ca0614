"""Witnesses: adapters that also tell a lab check what a learner's regression test did with them.

A lab check hands them to a learner's regression test in place of a strategy:

* ``WitnessAdapter``, the lifespan adapter (a fix): with ``LOOPLAB_WITNESS_FILE`` set,
  ``initialize()`` appends this process's ``sys.executable`` and the client's timeout to that file,
  so the check can tell whether the test started the stack on the client stack it was asked to
  test, and with a short client timeout;
* ``BrokenWitness``, the broken adapter (the bug): with ``LOOPLAB_WITNESS_LOG`` set, it copies the
  backend's request log (the mock's) to that file before each request and at shutdown, so the check
  can say why a test passed on the bug: no request on the start-up connection (the keep-alive had
  expired), requests without markers, a duplicate nobody asserted on.

Without the variables they are just the adapters they extend. They run on every client stack
(Python 3.10 and openai 1.x included): standard library only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import urllib.request
from typing import Any

from .broken import BrokenAdapter
from .lifespan import LifespanAdapter

WITNESS_ENV = "LOOPLAB_WITNESS_FILE"
WITNESS_LOG_ENV = "LOOPLAB_WITNESS_LOG"


class WitnessAdapter(LifespanAdapter):
    async def initialize(self) -> None:
        path = os.environ.get(WITNESS_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(f"{sys.executable}\t{self.config.timeout}\n")


def _copy_backend_log(url: str, path: str) -> None:
    root = url.rstrip("/")
    root = root[:-3] if root.endswith("/v1") else root
    try:
        with urllib.request.urlopen(f"{root}/looplab/requests", timeout=5) as response:  # noqa: S310 (the mock)
            body = response.read()
    except OSError:  # a real vLLM keeps no log; a mock already stopped has nothing more to say
        return
    with open(path, "wb") as out:
        out.write(body)


class BrokenWitness(BrokenAdapter):
    async def _witness(self) -> None:
        path = os.environ.get(WITNESS_LOG_ENV)
        if path:
            await asyncio.to_thread(_copy_backend_log, self.config.url, path)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                              **params: Any) -> Any:
        await self._witness()
        return await super().chat_completion(model, messages, stream=stream, **params)

    async def shutdown(self) -> None:
        await self._witness()
        await super().shutdown()
