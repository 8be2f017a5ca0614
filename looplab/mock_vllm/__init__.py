"""A faithful mock of vLLM's OpenAI-compatible server (API of vLLM 0.32.0).

>>> from looplab.mock_vllm import MockSettings, create_app
>>> app = create_app(MockSettings(models=["tiny-llama"], ttft_ms=20))
"""

from .app import create_app
from .faults import FAULT_KINDS, FaultRule, parse_fault
from .settings import DEFAULT_MODEL, VLLM_VERSION, MockSettings

__all__ = ["DEFAULT_MODEL", "FAULT_KINDS", "VLLM_VERSION", "FaultRule", "MockSettings", "create_app",
           "parse_fault"]
