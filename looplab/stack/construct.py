"""``construct_stack``: instantiate the inference adapter, initialise it, register the models.

Mirrors Llama Stack's ``construct_stack`` / ``resolve_impls``: it is a coroutine, and the server
runs it with ``asyncio.run`` *before* uvicorn starts its own loop, which is the whole bug.

A failure during construction is re-raised as :class:`StartupError`, which names the step that
failed, what went wrong and what to do: the stack never starts serving in that case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..adapters import ModelNotServed, resolve
from .config import RunConfig
from .errors import classify

log = logging.getLogger("looplab.stack")


@dataclass
class Impls:
    """What construction produced: the inference implementation and the registered models."""

    inference: Any
    models: list[dict[str, Any]] = field(default_factory=list)


class StartupError(RuntimeError):
    """Constructing the stack failed; the message says in which step, why, and what to do."""


def _fix(status: int, kind: str) -> str:
    if kind == "backend_unavailable":
        return ("start the backend first (e.g. `looplab mock-vllm --port 8000`), or pass its address with "
                "--vllm-url")
    if kind == "backend_timeout":
        return "the backend did not answer in time: check it is healthy, or raise --timeout"
    if status == 401:
        return "the backend refused the API key: pass the right one with --api-key"
    if status == 404:
        return "is --vllm-url the backend's OpenAI base URL, ending in /v1?"
    return "check that --vllm-url points at a vLLM (or the mock) and that it is healthy"


def startup_error(step: str, exc: BaseException, config: RunConfig) -> StartupError:
    """A one-line explanation of a failed start-up step."""
    if isinstance(exc, ModelNotServed):
        return StartupError(f"{step} failed: {exc}. Register a model it serves (--model NAME).")
    if isinstance(exc, ValueError) and step == "loading the adapter":
        return StartupError(str(exc))
    status, kind, message = classify(exc)
    if status == 500:  # the adapter's own exception, not the backend's
        return StartupError(f"{step} failed inside the adapter: {kind}: {message}")
    return StartupError(f"{step} failed: {message} (backend {config.vllm_url}). {_fix(status, kind)}")


async def construct_stack(config: RunConfig) -> Impls:
    step = "loading the adapter"
    try:
        adapter_class = resolve(config.adapter)
        adapter = adapter_class(config.vllm)
        log.info("initialising %s (%s) for %s", adapter_class.__name__, config.adapter, config.vllm_url)
        step = f"{adapter_class.__name__}.initialize()"
        await adapter.initialize()
        models = []
        for model_id in config.models:
            step = f"{adapter_class.__name__}.register_model({model_id!r})"
            models.append(await adapter.register_model(model_id))
            log.info("registered model %s", model_id)
    except Exception as exc:  # noqa: BLE001 (every start-up failure gets its one-line explanation)
        raise startup_error(step, exc, config) from exc
    return Impls(inference=adapter, models=models)
