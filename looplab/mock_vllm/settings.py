"""Settings of the mock vLLM server: every knob the CLI exposes, as one dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .faults import FaultRule

#: The vLLM release whose OpenAI-compatible API the mock reproduces (see tests/fixtures).
VLLM_VERSION = "0.32.0"
DEFAULT_MODEL = "tiny-llama"


@dataclass
class MockSettings:
    """What the mock serves and how it behaves.

    Times are in milliseconds, except ``keepalive_s`` (seconds, as uvicorn and vLLM count it).
    """

    models: list[str] = field(default_factory=lambda: [DEFAULT_MODEL])
    max_model_len: int = 512
    api_key: str | None = None
    #: ``echo`` repeats the last user message word by word; ``seeded`` draws words from a
    #: fixed vocabulary with the request's ``seed`` (or ``seed`` below): both are deterministic.
    output: str = "echo"
    seed: int = 0
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    keepalive_s: float = 5.0
    faults: list[FaultRule] = field(default_factory=list)
    fault_seed: int = 0
    #: How long a ``stall`` fault holds a request before giving up on it.
    stall_s: float = 30.0
    request_log: Path | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("the mock needs at least one model name")
        if self.max_model_len < 1:
            raise ValueError(f"max_model_len must be at least 1, got {self.max_model_len}")
        if self.output not in ("echo", "seeded"):
            raise ValueError(f"output must be 'echo' or 'seeded', got {self.output!r}")
        for name, value in (("ttft_ms", self.ttft_ms), ("itl_ms", self.itl_ms),
                            ("keepalive_s", self.keepalive_s), ("stall_s", self.stall_s)):
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
