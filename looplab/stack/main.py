"""``looplab stack``: start-up on one loop, serving on another, exactly like the original server.

Llama Stack's server ``main()`` does ``impls = asyncio.run(construct_stack(config))`` and then
``uvicorn.run(app)``; :func:`run_stack` does the same. How the app is served is a parameter:
``looplab stack`` passes looplab's process-hygiene server (:func:`looplab.servers.serve`), which is
uvicorn too, run the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from .app import ResourceWarningCounter, create_app
from .config import RunConfig
from .construct import construct_stack


def _uvicorn_run(app: Any) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8321)  # as the original: uvicorn.run starts loop 2


def run_stack(config: RunConfig, *, serve: Callable[[Any], None] = _uvicorn_run, log_level: str = "info") -> int:
    logging.basicConfig(level=getattr(logging, log_level.upper()), stream=sys.stdout,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2"):  # one INFO line per backend request drowns the stack's own log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if config.ca_file:  # an https:// backend signed by this CA: trusted the usual way, by every client the adapter makes
        os.environ["SSL_CERT_FILE"] = config.ca_file
    counter = ResourceWarningCounter()
    counter.install()
    # Loop 1: a temporary loop, created by asyncio.run and closed when construction returns.
    impls = asyncio.run(construct_stack(config))
    # Loop 2: uvicorn's own (Server.run -> asyncio.run again), which serves every request.
    serve(create_app(impls, counter))
    return 0
