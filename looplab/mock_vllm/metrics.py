"""``GET /metrics``: the series a vLLM dashboard reads first, in vLLM 0.32.0's names, types and labels.

Real vLLM labels every series with ``model_name`` and ``engine`` (the engine's index, "0" for one
engine), pre-creates ``vllm:request_success_total`` for each finished reason, and uses the bucket
bounds below (figures from vLLM 0.32.0's ``v1/metrics/buckets.py``). The differential test in
``tests/test_real_vllm.py`` compares names, types, labels and buckets with a real server's.

The mock counts what it serves: a request is *running* from the moment its generation starts
until its last byte; it *succeeds* when the answer (or the stream's last frame) has been built.
Nothing waits in a queue here, so ``num_requests_waiting`` stays 0. After a crash, these
counters answer "did the request reach vLLM?": a success that the caller never saw.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

ENGINE = "0"
FINISHED_REASONS = ("stop", "length", "abort", "error", "repetition")
TIME_TO_FIRST_TOKEN_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                               7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
                           240.0, 480.0, 960.0, 1920.0, 7680.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST  # "text/plain; version=1.0.0; charset=utf-8", as vLLM 0.32.0 sends
LABELS = ["model_name", "engine"]


class Metrics:
    """One app's series, in a registry of its own (several mock apps may live in one process)."""

    def __init__(self, models: list[str]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.running = Gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
                             LABELS, registry=r)
        self.waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
                             LABELS, registry=r)
        self.success = Counter("vllm:request_success", "Count of successfully processed requests.",
                               [*LABELS, "finished_reason"], registry=r)
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", LABELS, registry=r)
        self.generation_tokens = Counter("vllm:generation_tokens", "Number of generation tokens processed.",
                                         LABELS, registry=r)
        self.ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                              LABELS, buckets=TIME_TO_FIRST_TOKEN_BUCKETS, registry=r)
        self.e2e = Histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
                             LABELS, buckets=REQUEST_LATENCY_BUCKETS, registry=r)
        for model in models:  # vLLM shows every series from the start, at zero
            for metric in (self.running, self.waiting, self.prompt_tokens, self.generation_tokens, self.ttft, self.e2e):
                metric.labels(model, ENGINE)
            for reason in FINISHED_REASONS:
                self.success.labels(model, ENGINE, reason)

    def started(self, model: str) -> None:
        self.running.labels(model, ENGINE).inc()

    def ended(self, model: str) -> None:
        self.running.labels(model, ENGINE).dec()

    def succeeded(self, model: str, *, reasons: list[str], prompt_tokens: int, generated: int,
                  ttft_s: float, e2e_s: float) -> None:
        """One request served: one success per choice's finished reason, as vLLM counts them per sequence."""
        for reason in reasons:
            self.success.labels(model, ENGINE, reason if reason in FINISHED_REASONS else "stop").inc()
        self.prompt_tokens.labels(model, ENGINE).inc(prompt_tokens)
        self.generation_tokens.labels(model, ENGINE).inc(generated)
        self.ttft.labels(model, ENGINE).observe(ttft_s)
        self.e2e.labels(model, ENGINE).observe(e2e_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
