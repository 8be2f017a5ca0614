"""A small, faithful miniature of Llama Stack's start-up and serving path.

``looplab stack`` runs ``impls = asyncio.run(construct_stack(config))`` and then serves with
uvicorn, which starts a *second* event loop: the shape of the original server, and of the bug.
"""

from .app import create_app
from .config import ConfigError, RunConfig, load_config
from .construct import Impls, construct_stack
from .main import run_stack

__all__ = ["ConfigError", "Impls", "RunConfig", "construct_stack", "create_app", "load_config", "run_stack"]
