"""Settings of the mock vLLM server: every knob, declared once.

Each field that is a command-line option says so in its metadata (flag and help); the ``looplab
mock-vllm`` command and :func:`looplab.servers.start_mock` are both generated from this class
(see :mod:`looplab.servers.options`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .faults import FaultRule, parse_fault

#: The vLLM release whose OpenAI-compatible API the mock reproduces (see tests/fixtures).
VLLM_VERSION = "0.32.0"
DEFAULT_MODEL = "tiny-llama"


def _option(flag: str, help: str, **more: object) -> dict[str, object]:  # noqa: A002 (argparse's word)
    return {"flag": flag, "help": help, **more}


@dataclass
class MockSettings:
    """What the mock serves and how it behaves.

    Times are in milliseconds, except ``keepalive_s`` and ``stall_s`` (seconds, as uvicorn and vLLM
    count them).
    """

    models: list[str] = field(default_factory=lambda: [DEFAULT_MODEL], metadata=_option(
        "--model", "a model name to serve (repeat for several)", repeat=True, metavar="NAME"))
    max_model_len: int = field(default=512, metadata=_option("--max-model-len", "context length in tokens"))
    api_key: str | None = field(default=None, metadata=_option(
        "--api-key", "require 'Authorization: Bearer KEY' on /v1 routes, as vLLM does"))
    #: ``echo`` repeats the last user message word by word; ``seeded`` draws words from a
    #: fixed vocabulary with the request's ``seed`` (or ``seed`` below): both are deterministic.
    output: str = field(default="echo", metadata=_option(
        "--output", "echo the last user message, or seeded words", choices=["echo", "seeded"]))
    seed: int = field(default=0, metadata=_option("--seed", "seed for --output seeded when a request has none"))
    ttft_ms: float = field(default=0.0, metadata=_option("--ttft-ms", "time to first token, in ms"))
    itl_ms: float = field(default=0.0, metadata=_option("--itl-ms", "inter-token latency, in ms"))
    keepalive_s: float = field(default=5.0, metadata=_option(
        "--keepalive", "seconds an idle keep-alive connection stays open (as uvicorn and vLLM)", metavar="SECONDS"))
    faults: list[FaultRule] = field(default_factory=list, metadata=_option(
        "--fault", "inject faults: KIND is 500, 429, drop or stall; WHEN is request numbers (1,3) or rate=P. "
        "Repeatable. Example: --fault 500@1,3 --fault drop@rate=0.1", repeat=True, parse=parse_fault,
        metavar="KIND@WHEN"))
    fault_seed: int = field(default=0, metadata=_option("--fault-seed", "seed for rate-based faults"))
    #: How long a ``stall`` fault holds a request before giving up on it.
    stall_s: float = field(default=30.0, metadata=_option("--stall-seconds", "how long a stall fault holds a request"))
    request_log: Path | None = field(default=None, metadata=_option(
        "--request-log", "append one JSON line per request to this file", metavar="FILE"))

    def __post_init__(self) -> None:
        self.models = list(self.models)
        self.faults = [parse_fault(f) if isinstance(f, str) else f for f in self.faults]
        if self.request_log is not None:
            self.request_log = Path(self.request_log)
            if not self.request_log.parent.is_dir():
                raise ValueError(f"the request log's folder {self.request_log.parent} does not exist")
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
