"""Run one adapter's whole life in this process, and report what it left open.

``python -m looplab.course.checks.lifecycle_probe ADAPTER VLLM_URL`` constructs the adapter as the
mini stack does (``asyncio.run(construct_stack(...))``), then on a second loop does what uvicorn's
lifespan and two requests do: ``on_serving_start``, a plain and a streamed chat completion,
``on_serving_stop``, ``shutdown``. After that loop has closed, and a garbage collection, it counts
this process's connections still open to the backend, the threads the adapter started that are
still running, the event loops it made and never closed, and the ``ResourceWarning``\\ s raised on
the way. It prints one JSON object. Lab checks run it in a subprocess, so each run imports the learner's
module afresh.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import warnings
from typing import Any
from urllib.parse import urlsplit

from ...stack.config import RunConfig
from ...stack.construct import construct_stack
from .probing import loops_unclosed, open_to, threads_left

MESSAGES = [{"role": "user", "content": "lifecycle"}]


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
    ours = set(threading.enumerate())
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
        still_open, threads, loops = open_to(port), threads_left(ours), loops_unclosed(caught)
    resource_warnings = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
                         and "unclosed event loop" not in str(w.message)]
    return {"open_after_shutdown": still_open, "resource_warnings": resource_warnings, "threads_alive": threads,
            "loops_unclosed": loops}


if __name__ == "__main__":
    print(json.dumps(probe(*sys.argv[1:3])))
