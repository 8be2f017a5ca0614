"""``looplab stack``: start-up on one loop, serving on another, exactly like the original server."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from .._serve import serve
from .app import ResourceWarningCounter, create_app
from .config import RunConfig
from .construct import construct_stack


def run_stack(config: RunConfig, *, host: str = "127.0.0.1", port: int = 8321, port_file: Path | None = None,
              log_level: str = "info") -> int:
    logging.basicConfig(level=getattr(logging, log_level.upper()), stream=sys.stdout,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2"):  # one INFO line per backend request drowns the stack's own log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    counter = ResourceWarningCounter()
    counter.install()
    # Loop 1: a temporary loop, created by asyncio.run and closed when construction returns.
    impls = asyncio.run(construct_stack(config))
    # Loop 2: uvicorn's own (Server.run -> asyncio.run again), which serves every request.
    serve(create_app(impls, counter), name="looplab stack", host=host, port=port, port_file=port_file,
          log_level=log_level)
    return 0
