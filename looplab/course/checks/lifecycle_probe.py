"""Run one adapter's whole life in this process, and report what it left open.

``python -m looplab.course.checks.lifecycle_probe ADAPTER VLLM_URL`` constructs the adapter as the
mini stack does (``asyncio.run(construct_stack(...))``), then on a second loop does what uvicorn's
lifespan and two requests do: ``on_serving_start``, a plain and a streamed chat completion,
``on_serving_stop``, ``shutdown``. After that loop has closed, and a garbage collection, it counts
this process's connections still open to the backend and the ``ResourceWarning``\\ s raised on the way.
It prints one JSON object. Lab checks run it in a subprocess, so each run imports the learner's
module afresh.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import warnings
from typing import Any
from urllib.parse import urlsplit

import psutil

from ...stack.config import RunConfig
from ...stack.construct import construct_stack

MESSAGES = [{"role": "user", "content": "lifecycle"}]


def open_to(port: int) -> int:
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status != psutil.CONN_CLOSE_WAIT)


async def _serve(adapter: Any) -> None:
    if hasattr(adapter, "on_serving_start"):
        await adapter.on_serving_start()
    await adapter.chat_completion("tiny-llama", MESSAGES)
    async for _ in await adapter.chat_completion("tiny-llama", MESSAGES, stream=True):
        pass
    if hasattr(adapter, "on_serving_stop"):
        await adapter.on_serving_stop()
    await adapter.shutdown()


def probe(adapter_path: str, vllm_url: str) -> dict[str, Any]:
    port = urlsplit(vllm_url).port or 80
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            impls = asyncio.run(construct_stack(RunConfig(adapter=adapter_path, vllm_url=vllm_url,
                                                          models=["tiny-llama"])))
            asyncio.run(_serve(impls.inference))
        except NotImplementedError:
            return {"not_attempted": True}
        except Exception as exc:  # noqa: BLE001 (reported to the learner)
            return {"error": f"{type(exc).__name__}: {exc}"}
        gc.collect()  # a client the adapter dropped unclosed warns now; one it still holds keeps its socket
        still_open = open_to(port)
    resource_warnings = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return {"open_after_shutdown": still_open, "resource_warnings": resource_warnings}


if __name__ == "__main__":
    print(json.dumps(probe(*sys.argv[1:3])))
