"""A faithful mock of vLLM's OpenAI-compatible server (API of vLLM 0.32.0).

>>> from looplab.mock_vllm import MockSettings, create_app
>>> app = create_app(MockSettings(models=["tiny-llama"], ttft_ms=20))

``create_app`` is imported on first use, so reading the settings (as the launcher does) does not
import the web framework.
"""

from typing import Any

from .faults import FAULT_KINDS, FaultRule, parse_fault
from .settings import DEFAULT_MODEL, VLLM_VERSION, MockSettings

__all__ = ["DEFAULT_MODEL", "FAULT_KINDS", "VLLM_VERSION", "FaultRule", "MockSettings", "create_app",
           "parse_fault"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
