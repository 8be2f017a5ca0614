"""``looplab bench --target strategies``: what each adapter strategy costs, side by side.

Every strategy runs in this one process, on one event loop, against the same backend (the mock,
or a real vLLM by ``--vllm-url``). The crash is not the subject here (start-up and serving share
the loop); the steady-state cost is: how much slower is a request through each strategy than
through one reused client (the baseline), and how many connections does it open?

Fairness: strategies take turns in rounds (baseline, per_call, ..., baseline, per_call, ...), so
a machine that slows down midway slows everyone alike, and the garbage one strategy leaves is collected
before the next one's turn. Connections and TLS handshakes are counted by the mock itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from ...adapters import VLLMConfig, resolve
from ...servers import MockServer, start_latency_proxy, start_mock
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
    connections: int = 0
    requests_logged: int = 0
    other_requests: int = 0  # to the backend, beside the chat completions (a models listing per request, ...)
    handshakes: int = 0
    client_cpu_s: float = 0.0
    max_in_flight: int = 0  # the most of its requests the backend had on its side of the link at once


def max_in_flight(records: list[dict[str, Any]], rtt_s: float) -> int:
    """The most requests in flight at once, from the backend's log: a request counts from its arrival
    (``t_start``) until half a round trip after its response (``t_end``). A serialised client's next
    request arrives a whole round trip after ``t_end``; the other half is margin, because ``t_end`` is
    stamped after the response is written, late when the backend is descheduled.

    Requests one after another never overlap: the next arrives at least a round trip after the last
    response left (half back, half forward). Requests sent together all overlap, whatever the CPU load:
    a lock around the request, or a pool of one connection, shows as 1 however fast the machine.
    Without a round trip (``rtt_s`` 0) quick answers seldom overlap: the measure needs the link."""
    events = sorted([(r["t_start"], 1) for r in records if r.get("t_end") is not None]
                    + [(r["t_end"] + 0.5 * rtt_s, -1) for r in records if r.get("t_end") is not None])
    peak = current = 0
    for _, step in events:  # at a tie an end (-1) sorts first: touching is not overlapping
        current += step
        peak = max(peak, current)
    return peak


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


class _Counts:
    """What the mock saw of one phase: the connections it accepted and the TLS handshakes it completed
    (from its counters, less the one connection of the call that reads them), and the
    requests in its log."""

    def __init__(self, mock: MockServer | None, rtt_s: float = 0.0) -> None:
        self.mock, self.rtt_s = mock, rtt_s
        self.before = mock.stats() if mock is not None else {}

    def add_to(self, samples: _Samples) -> None:
        if self.mock is None:
            return
        after = self.mock.stats()
        samples.connections += after["connections"] - self.before["connections"] - 1  # the stats call's own
        if self.mock.ca_file is not None:
            samples.handshakes += after["tls_handshakes"] - self.before["tls_handshakes"] - 1
        records = self.mock.requests()
        chats = sum(r["path"] == "/v1/chat/completions" for r in records)
        samples.requests_logged += chats
        samples.other_requests += len(records) - chats
        samples.max_in_flight = max(samples.max_in_flight, max_in_flight(
            [r for r in records if r["path"] == "/v1/chat/completions"], self.rtt_s))
        self.mock.clear_requests()


async def _measure(url: str, model: str, names: tuple[str, ...], requests: int, concurrency: int, rounds: int,
                   mock: MockServer | None, tick: Any, rtt_s: float = 0.0) -> dict[str, _Samples]:
    config = VLLMConfig(url=url, max_retries=0)
    adapters = {name: await _make(name, config, model) for name in names}
    samples = {name: _Samples() for name in names}
    try:
        for name in names:  # warm-up: first connections, imports, caches
            await _one(adapters[name], model, _Samples())
        if mock is not None:
            mock.clear_requests()  # registration and warm-up requests are start-up, not steady state
        per_round = max(1, requests // rounds)
        for _ in range(rounds):
            for name in names:
                gc.collect()  # the garbage of the strategy before (a per-call client's) is not this one's cost
                counts, cpu = _Counts(mock, rtt_s), time.process_time()
                for _ in range(per_round):
                    latency = await _one(adapters[name], model, samples[name])
                    if latency is not None:
                        samples[name].sequential.append(latency)
                began = time.perf_counter()
                await asyncio.gather(*(_one(adapters[name], model, samples[name]) for _ in range(concurrency)))
                samples[name].concurrent_walls.append(time.perf_counter() - began)
                samples[name].concurrent_requests += concurrency
                samples[name].client_cpu_s += time.process_time() - cpu
                counts.add_to(samples[name])
                tick()
    finally:
        for adapter in adapters.values():
            await _close(adapter)
    return samples


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 2) if value and baseline else None


@contextlib.contextmanager
def _trusting(bundle: Path | None) -> Iterator[None]:
    """Clients made in this process trust ``bundle`` (``SSL_CERT_FILE``, as they would in production)."""
    if bundle is None:
        yield
        return
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(bundle)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = saved


def measure(*, vllm_url: str | None = None, model: str = "tiny-llama", requests: int = 200, concurrency: int = 20,
            rounds: int = 5, names: tuple[str, ...] = STRATEGIES, tick: Any = lambda: None, tls: bool = False,
            rtt_ms: float = 0.0) -> dict[str, Any]:
    """Run every strategy side by side; return a JSON-ready report.

    ``tls``: the mock serves HTTPS (a certificate made at start-up; clients trust it through
    ``SSL_CERT_FILE``). ``rtt_ms``: a latency proxy adds that round-trip time between the clients and
    the mock (:mod:`looplab.servers.latency_proxy`)."""
    if requests < rounds:
        raise BenchInputError(f"--requests must be at least the number of rounds ({rounds})")
    if vllm_url and (tls or rtt_ms):
        raise BenchInputError("--tls and --rtt-ms shape looplab's own mock; they do not go with --vllm-url")
    if rtt_ms < 0:
        raise BenchInputError(f"--rtt-ms must not be negative, got {rtt_ms}")
    with ExitStack() as stack:
        # A long keep-alive: between its turns a strategy's pool sits idle for seconds, and a 5 s timer would
        # close its connections under it (a race worth a lesson of its own, not a cost of the strategy).
        mock = None if vllm_url else stack.enter_context(start_mock(tls=tls, keepalive_s=60))
        front = stack.enter_context(start_latency_proxy(mock, rtt_ms)) if mock is not None and rtt_ms else mock
        url = vllm_url or front.base_url
        with _trusting(mock.trust_bundle() if mock is not None and tls else None):
            samples = asyncio.run(_measure(url, model, names, requests, concurrency, rounds, mock, tick, rtt_ms / 1000))
    base = summary(samples[names[0]].sequential)
    rows = []
    for name in names:
        s = samples[name]
        seq = summary(s.sequential)
        wall = sum(s.concurrent_walls)
        sent = len(s.sequential) + s.concurrent_requests
        rows.append({
            "strategy": name, **seq,
            "sequential_rps": round(len(s.sequential) / sum(s.sequential), 1) if s.sequential else None,
            "concurrent_rps": round(s.concurrent_requests / wall, 1) if wall else None,
            "ratio_p50": _ratio(seq["p50_ms"], base["p50_ms"]), "ratio_p99": _ratio(seq["p99_ms"], base["p99_ms"]),
            "errors": s.errors,
            "connections": s.connections if mock is not None else None,
            "requests_logged": s.requests_logged if mock is not None else None,
            "other_requests": s.other_requests if mock is not None else None,
            "connections_per_request": round(s.connections / s.requests_logged, 3) if s.requests_logged else None,
            "handshakes": s.handshakes if mock is not None else None,
            "handshakes_per_request": round(s.handshakes / s.requests_logged, 3) if s.requests_logged else None,
            "client_cpu_ms_per_request": round(1000 * s.client_cpu_s / sent, 3) if sent else None,
            "max_in_flight": s.max_in_flight if mock is not None and rtt_ms else None,  # it needs the link
        })
    return {"target": "strategies", "backend": vllm_url or "mock", "tls": tls, "rtt_ms": rtt_ms,
            "requests": requests, "concurrency": concurrency, "rounds": rounds, "baseline": names[0],
            "strategies": rows, "versions": versions(), "machine": machine(), "ok": all(r["errors"] == 0 for r in rows)}


def conditions(rtt_ms: float = 10.0) -> dict[str, dict[str, Any]]:
    """Where a backend is: on this machine over HTTP, over HTTPS, and over HTTPS across ``rtt_ms`` of network."""
    return {"plain": {}, "tls": {"tls": True}, f"tls, {rtt_ms:g} ms RTT": {"tls": True, "rtt_ms": rtt_ms}}


def measure_conditions(rtt_ms: float = 10.0, tick: Any = lambda: None, **options: Any) -> dict[str, Any]:
    """The strategies in each of :func:`conditions`, one after the other: what a per-call client costs
    where a real backend is."""
    reports = []
    for name, condition in conditions(rtt_ms).items():
        report = measure(**options, **condition, tick=tick)
        report["condition"] = name
        reports.append(report)
    import datetime

    return {"target": "strategies", "conditions": reports, "ok": all(r["ok"] for r in reports),
            "versions": reports[0]["versions"], "machine": reports[0]["machine"],
            "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


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


def _where(report: dict[str, Any]) -> str:
    if report["backend"] != "mock":
        return report["backend"]
    return ("HTTPS" if report["tls"] else "HTTP") + (f", {report['rtt_ms']:g} ms RTT" if report["rtt_ms"] else "")


def render(report: dict[str, Any], console: Any) -> None:
    """One table per condition: latency against the reused client, and what each request cost."""
    from rich.table import Table

    from .report import fmt

    for one in report.get("conditions", [report]):
        table = Table(title=f"Adapter strategies, {_where(one)} ({one['requests']} sequential requests each, "
                            f"{one['concurrency']} concurrent per round, {one['rounds']} rounds)")
        for column in ("strategy", "p50 ms", "p99 ms", "x reused p50", "x reused p99", "conc req/s",
                       "connections / req", "TLS handshakes / req", "client CPU ms / req", "errors"):
            table.add_column(column, justify="left" if column == "strategy" else "right")
        for r in one["strategies"]:
            table.add_row(r["strategy"], fmt(r["p50_ms"]), fmt(r["p99_ms"]), fmt(r["ratio_p50"]), fmt(r["ratio_p99"]),
                          fmt(r["concurrent_rps"], 1), fmt(r["connections_per_request"], 3),
                          fmt(r["handshakes_per_request"], 3) if one["tls"] else "-",
                          fmt(r["client_cpu_ms_per_request"]), str(r["errors"]))
        console.print(table)
    console.print("connections and handshakes: counted by the mock (connections it accepted, TLS handshakes it "
                  "completed). A per-call client opens one of each per request; a reused one, one per pool slot.")
