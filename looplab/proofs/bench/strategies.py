"""``looplab bench --target strategies``: what each adapter strategy costs, side by side.

Every strategy runs in this one process, on one event loop, against the same backend (the mock,
or a real vLLM by ``--vllm-url``). The crash is not the subject here (start-up and serving share
the loop); the steady-state cost is: how much slower is a request through each strategy than
through one reused client (the baseline), and how many connections does it open?

Fairness: strategies take turns in rounds (baseline, per_call, ..., baseline, per_call, ...), so
a machine that slows down midway slows everyone alike. Connections are counted from the mock's
request log (distinct client ports of the phase's generation requests).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from ...adapters import VLLMConfig, resolve
from ...servers import MockServer, start_mock
from .report import BenchInputError, machine, versions
from .stats import summary

#: Measured in this order; ``reused`` is the baseline (one client made once, on this loop).
STRATEGIES = ("reused", "per_call", "per_call_shared_ssl", "lazy_once", "per_loop", "lifespan")
MESSAGES = [{"role": "user", "content": "how much does a client cost"}]


class _Reused:
    """The baseline: one client, created once on the benchmark's loop and reused."""

    def __init__(self, config: VLLMConfig) -> None:
        self.client = openai.AsyncOpenAI(base_url=config.url, api_key=config.api_token, max_retries=0)

    async def chat_completion(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Any:
        return await self.client.chat.completions.create(model=model, messages=messages, **params)

    async def shutdown(self) -> None:
        await self.client.close()


@dataclass
class _Samples:
    sequential: list[float] = field(default_factory=list)
    concurrent_walls: list[float] = field(default_factory=list)
    concurrent_requests: int = 0
    errors: int = 0
    ports: set[int] = field(default_factory=set)
    requests_logged: int = 0


async def _make(name: str, config: VLLMConfig, model: str) -> Any:
    if name == "reused":
        return _Reused(config)
    try:
        adapter = resolve(name)(config)
    except ValueError as exc:
        raise BenchInputError(str(exc)) from None
    await adapter.initialize()
    await adapter.register_model(model)
    if hasattr(adapter, "on_serving_start"):
        await adapter.on_serving_start()
    return adapter


async def _close(adapter: Any) -> None:
    if hasattr(adapter, "on_serving_stop"):
        await adapter.on_serving_stop()
    await adapter.shutdown()


async def _one(adapter: Any, model: str, samples: _Samples) -> float | None:
    began = time.perf_counter()
    try:
        await adapter.chat_completion(model, MESSAGES, max_tokens=4)
    except Exception:  # noqa: BLE001 (counted, reported)
        samples.errors += 1
        return None
    return time.perf_counter() - began


def _log_phase(mock: MockServer | None, samples: _Samples) -> None:
    if mock is None:
        return
    records = mock.requests("/v1/chat/completions")
    samples.ports |= {r["client_port"] for r in records}
    samples.requests_logged += len(records)
    mock.clear_requests()


async def _measure(url: str, model: str, names: tuple[str, ...], requests: int, concurrency: int, rounds: int,
                   mock: MockServer | None, tick: Any) -> dict[str, _Samples]:
    config = VLLMConfig(url=url, max_retries=0)
    adapters = {name: await _make(name, config, model) for name in names}
    samples = {name: _Samples() for name in names}
    if mock is not None:
        mock.clear_requests()  # registration requests are start-up, not steady state
    try:
        for name in names:  # warm-up: first connections, imports, caches
            await _one(adapters[name], model, _Samples())
        if mock is not None:
            mock.clear_requests()
        per_round = max(1, requests // rounds)
        for _ in range(rounds):
            for name in names:
                for _ in range(per_round):
                    latency = await _one(adapters[name], model, samples[name])
                    if latency is not None:
                        samples[name].sequential.append(latency)
                began = time.perf_counter()
                await asyncio.gather(*(_one(adapters[name], model, samples[name]) for _ in range(concurrency)))
                samples[name].concurrent_walls.append(time.perf_counter() - began)
                samples[name].concurrent_requests += concurrency
                _log_phase(mock, samples[name])
                tick()
    finally:
        for adapter in adapters.values():
            await _close(adapter)
    return samples


def measure(*, vllm_url: str | None = None, model: str = "tiny-llama", requests: int = 200, concurrency: int = 20,
            rounds: int = 5, names: tuple[str, ...] = STRATEGIES, tick: Any = lambda: None) -> dict[str, Any]:
    """Run every strategy side by side; return a JSON-ready report."""
    if requests < rounds:
        raise BenchInputError(f"--requests must be at least the number of rounds ({rounds})")
    with ExitStack() as stack:
        mock = None if vllm_url else stack.enter_context(start_mock())
        url = vllm_url or mock.base_url
        samples = asyncio.run(_measure(url, model, names, requests, concurrency, rounds, mock, tick))
    baseline = summary(samples[names[0]].sequential)["p50_ms"]
    rows = []
    for name in names:
        s = samples[name]
        seq = summary(s.sequential)
        wall = sum(s.concurrent_walls)
        rows.append({
            "strategy": name, **seq,
            "sequential_rps": round(len(s.sequential) / sum(s.sequential), 1) if s.sequential else None,
            "concurrent_rps": round(s.concurrent_requests / wall, 1) if wall else None,
            "ratio_p50": round(seq["p50_ms"] / baseline, 2) if seq["p50_ms"] and baseline else None,
            "errors": s.errors,
            "connections": len(s.ports) if mock is not None else None,
            "requests_logged": s.requests_logged if mock is not None else None,
        })
    return {"target": "strategies", "backend": vllm_url or "mock", "requests": requests,
            "concurrency": concurrency, "rounds": rounds, "baseline": names[0], "strategies": rows,
            "versions": versions(), "machine": machine(), "ok": all(r["errors"] == 0 for r in rows)}


def plot(report: dict[str, Any], path: Path) -> Path:
    """A PNG: p50 latency (with p99) and concurrent throughput per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["strategies"]
    names = [r["strategy"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    p50 = [r["p50_ms"] or 0 for r in rows]
    p99 = [max((r["p99_ms"] or 0) - (r["p50_ms"] or 0), 0) for r in rows]
    left.barh(names, p50, xerr=[[0] * len(p99), p99], color="#4c72b0", capsize=3)
    left.invert_yaxis()
    left.set_xlabel("latency per request, ms (bar: p50, whisker: p99)")
    left.set_title("Sequential requests")
    for y, r in enumerate(rows):  # the ratio to the baseline, right of the whisker
        left.annotate(f"{r['ratio_p50']}x", (r["p99_ms"] or r["p50_ms"] or 0, y), xytext=(6, -4),
                      textcoords="offset points", fontweight="bold")
    left.set_xlim(right=max(r["p99_ms"] or 0 for r in rows) * 1.2)
    right.barh(names, [r["concurrent_rps"] or 0 for r in rows], color="#55a868")
    right.invert_yaxis()
    right.set_xlabel(f"requests per second, {report['concurrency']} at a time")
    right.set_title("Concurrent requests")
    fig.suptitle(f"Adapter strategies against {report['backend']} (baseline: one reused client)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def render(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"Adapter strategies, side by side ({report['requests']} sequential requests each, "
                        f"{report['concurrency']} concurrent per round, {report['rounds']} rounds)")
    for column in ("strategy", "p50 ms", "p99 ms", "x baseline", "seq req/s", "conc req/s", "connections", "errors"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for r in report["strategies"]:
        table.add_row(r["strategy"], f"{r['p50_ms']:.2f}" if r["p50_ms"] else "-", f"{r['p99_ms']:.2f}" if r["p99_ms"] else "-",
                      f"{r['ratio_p50']:.2f}" if r["ratio_p50"] else "-", str(r["sequential_rps"]),
                      str(r["concurrent_rps"]), "-" if r["connections"] is None else str(r["connections"]),
                      str(r["errors"]))
    console.print(table)
    console.print("connections: distinct client ports in the mock's log (a per-call client opens one per request).")
