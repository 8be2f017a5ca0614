"""A small, faithful miniature of Llama Stack's start-up and serving path.

``looplab stack`` runs ``impls = asyncio.run(construct_stack(config))`` and then serves with
uvicorn, which starts a *second* event loop: the shape of the original server, and of the bug.

The run config (:mod:`.config`) is imported eagerly; the server parts on first use, so reading a
config does not import the web framework.
"""

from typing import Any

from .config import ConfigError, RunConfig, load_config

__all__ = ["ConfigError", "Impls", "RunConfig", "StartupError", "construct_stack", "create_app", "load_config",
           "run_stack"]
_LAZY = {"create_app": ".app", "Impls": ".construct", "StartupError": ".construct", "construct_stack": ".construct",
         "run_stack": ".main"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
