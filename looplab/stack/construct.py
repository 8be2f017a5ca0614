"""``construct_stack``: instantiate the inference adapter, initialise it, register the models.

Mirrors Llama Stack's ``construct_stack`` / ``resolve_impls``: it is a coroutine, and the server
runs it with ``asyncio.run`` *before* uvicorn starts its own loop, which is the whole bug.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..adapters import resolve
from .config import RunConfig

log = logging.getLogger("looplab.stack")


@dataclass
class Impls:
    """What construction produced: the inference implementation and the registered models."""

    inference: Any
    models: list[dict[str, Any]] = field(default_factory=list)


async def construct_stack(config: RunConfig) -> Impls:
    adapter_class = resolve(config.adapter)
    adapter = adapter_class(config.vllm)
    log.info("initialising %s (%s) for %s", adapter_class.__name__, config.adapter, config.vllm.url)
    await adapter.initialize()
    models = []
    for model_id in config.models:
        models.append(await adapter.register_model(model_id))
        log.info("registered model %s", model_id)
    return Impls(inference=adapter, models=models)
