"""``looplab bench --target mock``: how much latency the mock adds over a bare uvicorn app.

A benchmark, not a timed test. Two servers run as real processes on loopback, side by side: the
bare pure-ASGI app of :mod:`.baseline` (the floor uvicorn + h11 + the client cost) and the mock
vLLM server with zero latency knobs. Both are driven by the real ``openai`` client in two phases:
*sequential* (one reused client, one request at a time: the per-request overhead) and *concurrent*
(C streaming requests at once through one client whose pool allows C connections: does the mock
keep up, and does its request log hold exactly one record per stream?). The difference of the
sequential p50s is what the mock costs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .baseline import CHAT_PATH, MODEL, PROMPT, start_baseline
from .report import BenchError, BenchInputError, cpu_seconds, error_text, fmt, machine, versions
from .stats import percentile_ms, summary

if TYPE_CHECKING:
    import openai
    from rich.console import Console
    from rich.table import Table

    from ...servers import MockServer, Server

MESSAGES = [{"role": "user", "content": PROMPT}]
MAX_TOKENS = 16
P50_BUDGET_MS = 1.0  # the project's criterion: the mock adds no more than ~1 ms at p50
_DELAYED_ACK_SUSPECT_MS = 30.0  # a loopback round trip this slow is a timer, not work
_FD_HEADROOM = 256  # files the client needs besides one socket per concurrent stream


# --------------------------------------------------------------------------------------------
# Measurements (client side)
# --------------------------------------------------------------------------------------------

Tick = Callable[[], None]


def _noop() -> None:
    pass


async def _sequential(base_url: str, requests: int, warmup: int, tick: Tick = _noop) -> dict[str, Any]:
    """One reused client, one request at a time: the per-request cost on a warm connection."""
    import openai

    latencies: list[float] = []
    errors: list[str] = []
    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=60) as client:
        for _ in range(warmup):  # connect, and let both sides warm their caches; not counted
            try:
                await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
            except openai.OpenAIError as exc:
                raise BenchError(f"a warm-up request to {base_url} failed: {error_text(exc)}") from exc
        started = time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            try:
                reply = await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
            except openai.OpenAIError as exc:
                errors.append(error_text(exc))
            else:
                latencies.append(time.perf_counter() - t0)
                if not reply.choices or reply.choices[0].finish_reason is None:
                    errors.append("reply without a finish_reason")
            tick()
        elapsed = time.perf_counter() - started
    return {"requests": requests, "warmup": warmup, **summary(latencies),
            "requests_per_s": round(requests / elapsed, 1), "errors": len(errors), "error_samples": errors[:5]}


@dataclass
class _StreamResult:
    total_s: float
    first_chunk_s: float | None
    chunks: int
    finish_reason: str | None


async def _one_stream(client: openai.AsyncOpenAI) -> _StreamResult:
    """Open one streaming chat request and read it to the end."""
    t0 = time.perf_counter()
    first: float | None = None
    chunks, finish = 0, None
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS,
                                                  stream=True)
    async with stream:
        async for chunk in stream:
            if first is None:
                first = time.perf_counter() - t0
            chunks += 1
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
    return _StreamResult(time.perf_counter() - t0, first, chunks, finish)


async def _concurrent(base_url: str, concurrency: int, tick: Tick = _noop) -> dict[str, Any]:
    """``concurrency`` streams at once through one client whose pool allows as many connections."""
    import httpx2
    import openai

    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http_client = openai.DefaultAsyncHttpxClient(limits=limits, timeout=60)

    async def counted() -> _StreamResult:
        try:
            return await _one_stream(client)
        finally:
            tick()

    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0, http_client=http_client) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(counted() for _ in range(concurrency)), return_exceptions=True)
        wall = time.perf_counter() - started
    done = [r for r in results if isinstance(r, _StreamResult)]
    failures = [r for r in results if isinstance(r, BaseException)]
    unfinished = sum(1 for r in done if r.finish_reason is None)
    firsts = [r.first_chunk_s for r in done if r.first_chunk_s is not None]
    total = summary([r.total_s for r in done])
    return {"streams": concurrency, "completed": len(done) - unfinished, "errors": len(failures),
            "unfinished": unfinished, "error_samples": sorted({error_text(e) for e in failures})[:5],
            **total, "first_chunk_p50_ms": percentile_ms(firsts, 50), "first_chunk_p99_ms": percentile_ms(firsts, 99),
            "chunks_per_stream": sorted({r.chunks for r in done}),
            "wall_s": round(wall, 3), "streams_per_s": round(concurrency / wall, 1)}


# --------------------------------------------------------------------------------------------
# The mock's side of the story: its request log.
# --------------------------------------------------------------------------------------------

def _mock_log(mock: MockServer, expected: int) -> dict[str, Any]:
    """What the mock's request log saw for the last phase: one record per request, no duplicates?

    The mock appends a record when a response has ended, which can be a moment after the client
    read the last byte; so the log is read again (for up to 10 s, a deadline that only a lost
    record reaches) until it holds ``expected``.
    """
    deadline = time.monotonic() + 10.0
    records = mock.requests(CHAT_PATH)
    while len(records) < expected and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition, with a deadline
        records = mock.requests(CHAT_PATH)
    ids = [r["id"] for r in records]
    statuses = sorted({r["status"] for r in records}, key=str)
    outcomes = sorted({r["outcome"] for r in records}, key=str)
    summary = {"generation_requests": len(records), "expected": expected,
               "duplicate_ids": len(ids) - len(set(ids)),
               "distinct_client_ports": len({(r["client_host"], r["client_port"]) for r in records}),
               "statuses": statuses, "outcomes": outcomes}
    summary["exact"] = (len(records) == expected and summary["duplicate_ids"] == 0
                        and statuses == [200] and outcomes == ["ok"])
    return summary


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

def _raise_file_limit(needed: int) -> int:
    """Lift this process's open-files soft limit (servers inherit it) so C sockets fit.

    Returns the soft limit now in force; raises :class:`BenchInputError` when even the hard limit
    is too low.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchInputError(f"--concurrency needs about {needed} open files, but this process may open only "
                                  f"{hard} (ulimit -Hn). Lower --concurrency or raise the hard limit.")
        target = hard if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class _Phases:
    """A rich progress bar per phase on stderr, or nothing when stderr is not a terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress: Progress = Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
                                           TimeElapsedColumn(), console=console, transient=True,
                                           disable=not console.is_terminal)

    def run(self, description: str, total: int, server: Server,
            work: Callable[[Tick], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """Run one phase in a fresh event loop, and note the CPU both sides spent on it.

        On a small machine the client can be the bottleneck; then latencies mostly measure the
        client, and the server's CPU seconds are the fairer view of what each server costs.
        """
        task = self.progress.add_task(description, total=total)
        client_before, server_before = time.process_time(), cpu_seconds(server.pid)
        try:
            result = asyncio.run(work(lambda: self.progress.advance(task)))
        finally:
            self.progress.update(task, completed=total, visible=False)
        server_after = cpu_seconds(server.pid)
        result["client_cpu_s"] = round(time.process_time() - client_before, 3)
        result["server_cpu_s"] = (round(server_after - server_before, 3)
                                  if server_after is not None and server_before is not None else None)
        return result


def _diff(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


def _require_running(*servers: Server) -> None:
    """Fail loudly when a server died mid-run, instead of reporting its refusals as its latency."""
    for server in servers:
        if not server.running:
            raise BenchError(f"{server.name} (pid {server.pid}) stopped during the benchmark, exit code "
                             f"{server.process.returncode}. Something else stopped it? (`looplab cleanup` without "
                             f"--session stops every looplab server on this machine.)\n--- its log ends ---\n"
                             f"{server.log_text()[-1500:]}")


def _run_phases(bare: Server, mock: MockServer, requests: int, concurrency: int, warmup: int,
                phases: _Phases) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each phase against the bare app, then the mock, while both are up (same machine state)."""
    targets = {"bare": (bare, bare.url + "/v1"), "mock": (mock, mock.base_url)}
    sequential: dict[str, Any] = {}
    concurrent: dict[str, Any] = {}
    mock.clear_requests()
    for name, (server, url) in targets.items():
        sequential[name] = phases.run(f"{name}: {requests} sequential", requests, server,
                                      lambda tick, url=url: _sequential(url, requests, warmup, tick))
        _require_running(bare, mock)
    sequential["mock"]["log"] = _mock_log(mock, requests + warmup)
    mock.clear_requests()
    for name, (server, url) in targets.items():
        concurrent[name] = phases.run(f"{name}: {concurrency} concurrent streams", concurrency, server,
                                      lambda tick, url=url: _concurrent(url, concurrency, tick))
        _require_running(bare, mock)
    concurrent["mock"]["log"] = _mock_log(mock, concurrency)
    return sequential, concurrent


def _notes(sequential: dict[str, Any]) -> list[str]:
    """Hints for figures that say more about the transport than about the servers."""
    bare_p50 = sequential["bare"]["p50_ms"]
    if bare_p50 is None or bare_p50 < _DELAYED_ACK_SUSPECT_MS:
        return []
    return [f"The bare app needs {bare_p50:.1f} ms per request on loopback, where a few ms is normal: responses "
            "are probably waiting for a delayed ACK (about 40 ms) because the servers' sockets lack TCP_NODELAY. "
            "asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; a socket made with "
            "socket.socket(family, SOCK_STREAM) has proto 0. Both servers pay it, and it swamps the difference "
            "this benchmark is meant to show."]


def _verdict(sequential: dict[str, Any], concurrent: dict[str, Any]) -> bool:
    """Correctness only (timings are reported, never judged here): no error, every stream finished,
    and the mock logged exactly one record per request."""
    results = [phase[name] for phase in (sequential, concurrent) for name in ("bare", "mock")]
    return (all(r["errors"] == 0 for r in results)
            and all(concurrent[name]["unfinished"] == 0 for name in ("bare", "mock"))
            and sequential["mock"]["log"]["exact"] and concurrent["mock"]["log"]["exact"])


def measure(requests: int, concurrency: int, warmup: int, console: Console) -> dict[str, Any]:
    """Start both servers, run both phases against each, and stop the servers whatever happens."""
    from ...servers import start_mock

    files = _raise_file_limit(concurrency + _FD_HEADROOM)
    phases = _Phases(console)
    with ExitStack() as running:
        with console.status("starting the servers") if not phases.progress.disable else nullcontext():
            bare = running.enter_context(start_baseline())
            mock = running.enter_context(start_mock(ttft_ms=0, itl_ms=0))
        running.enter_context(phases.progress)
        sequential, concurrent = _run_phases(bare, mock, requests, concurrency, warmup, phases)
    overhead_p50 = _diff(sequential["mock"]["p50_ms"], sequential["bare"]["p50_ms"])
    sequential.update(mock_minus_bare_p50_ms=overhead_p50, p50_budget_ms=P50_BUDGET_MS,
                      mock_minus_bare_p99_ms=_diff(sequential["mock"]["p99_ms"], sequential["bare"]["p99_ms"]),
                      within_budget=overhead_p50 is not None and overhead_p50 <= P50_BUDGET_MS)
    return {"target": "mock", "ok": _verdict(sequential, concurrent), "notes": _notes(sequential),
            "versions": versions(),
            "machine": {**machine(), "open_files_limit": files},
            "settings": {"requests": requests, "warmup": warmup, "concurrency": concurrency,
                         "model": MODEL, "max_tokens": MAX_TOKENS},
            "servers": {"bare": "pure ASGI app on uvicorn (h11), python -m looplab.bench --serve-baseline",
                        "mock": "looplab mock-vllm, ttft 0 ms, itl 0 ms"},
            "sequential": sequential, "concurrent": concurrent}


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column == "server" else "right")
    return table


def _sequential_table(report: dict[str, Any]) -> Table:
    seq, settings = report["sequential"], report["settings"]
    table = _table(f"Sequential: {settings['requests']} chat requests, one reused client "
                   f"(+{settings['warmup']} warm-up; latency in ms, CPU in s)",
                   ("server", "p50", "p99", "mean", "req/s", "errors", "server CPU"))
    for name in ("bare", "mock"):
        r = seq[name]
        table.add_row(name, fmt(r["p50_ms"], 3), fmt(r["p99_ms"], 3), fmt(r["mean_ms"], 3),
                      fmt(r["requests_per_s"], 1), str(r["errors"]), fmt(r["server_cpu_s"], 2))
    table.add_row("mock - bare", fmt(seq["mock_minus_bare_p50_ms"], 3), fmt(seq["mock_minus_bare_p99_ms"], 3),
                  "", "", "", "", style="bold")
    return table


def _concurrent_table(report: dict[str, Any]) -> Table:
    table = _table(f"Concurrent: {report['settings']['concurrency']} streaming chat requests at once "
                   "(latency per stream in ms; first = first chunk; CPU in s)",
                   ("server", "errors", "done", "p50", "p99", "first p50", "wall s", "client CPU", "server CPU"))
    for name in ("bare", "mock"):
        r = report["concurrent"][name]
        table.add_row(name, str(r["errors"]), str(r["completed"]), fmt(r["p50_ms"], 0),
                      fmt(r["p99_ms"], 0), fmt(r["first_chunk_p50_ms"], 0), fmt(r["wall_s"], 2),
                      fmt(r["client_cpu_s"], 2), fmt(r["server_cpu_s"], 2))
    return table


def render(report: dict[str, Any], console: Console) -> None:
    """The people's view: two tables, bare and mock side by side, then the mock's log and a verdict."""
    seq, conc = report["sequential"], report["concurrent"]
    console.print(_sequential_table(report))
    console.print(_concurrent_table(report))
    for phase, log in (("sequential", seq["mock"]["log"]), ("concurrent", conc["mock"]["log"])):
        console.print(f"mock request log, {phase}: {log['generation_requests']} generation requests "
                      f"(expected {log['expected']}), {log['duplicate_ids']} duplicate ids, "
                      f"{log['distinct_client_ports']} distinct client ports, statuses {log['statuses']}",
                      highlight=False)
    for name in ("bare", "mock"):
        for phase, r in (("sequential", seq[name]), ("concurrent", conc[name])):
            for sample in r["error_samples"]:
                console.print(f"[red]{name} {phase} error:[/] {sample}", highlight=False)
    budget = "within" if seq["within_budget"] else "[red]over[/]"
    console.print(f"The mock adds {fmt(seq['mock_minus_bare_p50_ms'], 3)} ms at p50 over a bare uvicorn app "
                  f"({budget} the {seq['p50_budget_ms']:.0f} ms budget). "
                  + ("[green]All requests served without error.[/]" if report["ok"] else "[red]Errors: see above.[/]"))
    for note in report["notes"]:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    v = report["versions"]
    console.print(f"[dim]python {v['python']}, openai {v['openai']}, httpx2 {v['httpx2']}, uvicorn {v['uvicorn']}, "
                  f"{report['machine']['cpus']} CPUs[/]")


