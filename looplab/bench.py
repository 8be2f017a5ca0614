"""``looplab bench``: how much latency the mock adds over a bare uvicorn app, measured for real.

A benchmark, not a timed test. Two servers run as real processes on loopback, side by side:

* a *bare* pure-ASGI app (no FastAPI, no validation, no request log) answering
  ``POST /v1/chat/completions`` with fixed bytes -- the floor that uvicorn + h11 + the client cost;
* the mock vLLM server with zero latency knobs (``start_mock()``).

Both are driven by the real ``openai`` client in two phases: *sequential* (one reused client, one
request at a time: the per-request overhead) and *concurrent* (C streaming requests at once through
one client whose pool allows C connections: does the mock keep up, and does its request log hold
exactly one record per stream?). The difference of the sequential p50s is what the mock costs.

The bare app is started through :func:`looplab.servers.start` like every looplab server, so this
module doubles as its entry point: ``python -m looplab.bench --serve-baseline --port-file PATH``.
Heavy imports (openai, rich) stay inside functions: ``looplab``'s CLI imports this module for
every command, and the bare server must not pay for them either.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .servers import MockServer, Server

TARGETS = ("mock", "strategies")
MODEL = "tiny-llama"  # the mock's default model
# The mock echoes the prompt, so the bare app replies with the same words: both send 7 tokens,
# the same number of SSE frames and bodies of similar size -- a fair comparison.
PROMPT = "Write one short sentence about event loops."
MESSAGES = [{"role": "user", "content": PROMPT}]
MAX_TOKENS = 16
CHAT_PATH = "/v1/chat/completions"
P50_BUDGET_MS = 1.0  # the project's criterion: the mock adds no more than ~1 ms at p50
_DELAYED_ACK_SUSPECT_MS = 30.0  # a loopback round trip this slow is a timer, not work
_FD_HEADROOM = 256  # files the client needs besides one socket per concurrent stream


class BenchError(RuntimeError):
    """The benchmark could not run (as opposed to: it ran and found errors)."""


class BenchInputError(BenchError):
    """The options ask for something this machine cannot do; found before any server starts."""


# --------------------------------------------------------------------------------------------
# The bare uvicorn app (the baseline), served in its own process.
# --------------------------------------------------------------------------------------------

def _bare_frames() -> tuple[bytes, list[bytes]]:
    """The fixed body and SSE frames the bare app sends, shaped like vLLM 0.32.0's.

    Built once at import: the baseline should cost what uvicorn costs, not what building JSON does.
    """
    rid, created = "chatcmpl-0123456789abcdef", int(time.time())
    tokens = [" " + word for word in PROMPT.split()]
    body = {
        "id": rid, "object": "chat.completion", "created": created, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens), "refusal": None,
                                             "annotations": None, "audio": None, "function_call": None,
                                             "reasoning": None},
                     "logprobs": None, "finish_reason": "stop", "stop_reason": None, "token_ids": None,
                     "routed_experts": None}],
        "service_tier": None, "system_fingerprint": "vllm-0.32.0-bare",
        "usage": {"prompt_tokens": 15, "total_tokens": 15 + len(tokens), "completion_tokens": len(tokens),
                  "prompt_tokens_details": None, "completion_tokens_details": None},
        "prompt_logprobs": None, "prompt_token_ids": None, "prompt_text": None, "kv_transfer_params": None,
        "ec_transfer_params": None, "metrics": None,
    }

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        frame = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        return f"data: {json.dumps(frame)}\n\n".encode()

    frames = [chunk({"role": "assistant", "content": ""}, None)]
    frames += [chunk({"content": token}, None) for token in tokens[:-1]]
    frames += [chunk({"content": tokens[-1]}, "stop"), b"data: [DONE]\n\n"]
    return json.dumps(body).encode(), frames


_BARE_BODY, _BARE_FRAMES = _bare_frames()
_SendFn = Callable[[dict[str, Any]], Awaitable[None]]
_ReceiveFn = Callable[[], Awaitable[dict[str, Any]]]


async def _bare_respond(send: _SendFn, status: int, body: bytes = b"", content_type: bytes | None = None) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _bare_read_body(receive: _ReceiveFn) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _bare_stream(send: _SendFn) -> None:
    """One frame per ``send``, as Starlette's StreamingResponse does, so the frame count matches."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
    for frame in _BARE_FRAMES:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _bare_lifespan(receive: _ReceiveFn, send: _SendFn) -> None:
    """``serve`` runs uvicorn with ``lifespan="on"``, which insists on an answer."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def bare_app(scope: dict[str, Any], receive: _ReceiveFn, send: _SendFn) -> None:
    """The baseline: health and chat completions (JSON or SSE), nothing else, no framework.

    It still parses the request JSON, because any server must to know whether to stream.
    """
    if scope["type"] == "lifespan":
        await _bare_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    route = (scope["method"], scope["path"])
    if route == ("GET", "/health"):
        await _bare_respond(send, 200)
        return
    if route != ("POST", CHAT_PATH):
        await _bare_respond(send, 404, b'{"detail":"Not Found"}', b"application/json")
        return
    try:
        request = json.loads(await _bare_read_body(receive))
    except ValueError:
        await _bare_respond(send, 400, b'{"error":"invalid JSON"}', b"application/json")
        return
    if isinstance(request, dict) and request.get("stream") is True:
        await _bare_stream(send)
    else:
        await _bare_respond(send, 200, _BARE_BODY, b"application/json")


def _serve_baseline(argv: list[str]) -> int:
    """Entry point of the bare server process (``python -m looplab.bench --serve-baseline``)."""
    from ._serve import serve

    parser = argparse.ArgumentParser(prog="python -m looplab.bench",
                                     description="Serve the bare uvicorn app that `looplab bench` compares with.")
    parser.add_argument("--serve-baseline", action="store_true", required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    # log level "info" like the mock's default: both pay for uvicorn's access log alike.
    serve(bare_app, name="looplab bare-uvicorn", port=0, port_file=args.port_file, log_level=args.log_level)
    return 0


def start_baseline() -> Server:
    """Start the bare app as a tagged server process; use it as a context manager."""
    from .servers import start

    return start([sys.executable, "-m", "looplab.bench", "--serve-baseline"], name="bare-uvicorn")


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the closest ranks.

    Written out rather than ``statistics.quantiles`` because that needs two or more values.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _percentile_ms(values: list[float], q: float) -> float | None:
    """A percentile in ms, or None (JSON null, not NaN) when every request failed."""
    return _ms(percentile(values, q)) if values else None


def _summary(latencies: list[float]) -> dict[str, float | None]:
    """p50, p99 and mean, in milliseconds."""
    return {"p50_ms": _percentile_ms(latencies, 50), "p99_ms": _percentile_ms(latencies, 99),
            "mean_ms": _ms(sum(latencies) / len(latencies)) if latencies else None}


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


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
                raise BenchError(f"a warm-up request to {base_url} failed: {_error_text(exc)}") from exc
        started = time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            try:
                reply = await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
            except openai.OpenAIError as exc:
                errors.append(_error_text(exc))
            else:
                latencies.append(time.perf_counter() - t0)
                if not reply.choices or reply.choices[0].finish_reason is None:
                    errors.append("reply without a finish_reason")
            tick()
        elapsed = time.perf_counter() - started
    return {"requests": requests, "warmup": warmup, **_summary(latencies),
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
    total = _summary([r.total_s for r in done])
    return {"streams": concurrency, "completed": len(done) - unfinished, "errors": len(failures),
            "unfinished": unfinished, "error_samples": sorted({_error_text(e) for e in failures})[:5],
            **total, "first_chunk_p50_ms": _percentile_ms(firsts, 50), "first_chunk_p99_ms": _percentile_ms(firsts, 99),
            "chunks_per_stream": sorted({r.chunks for r in done}),
            "wall_s": round(wall, 3), "streams_per_s": round(concurrency / wall, 1)}


# --------------------------------------------------------------------------------------------
# The mock's side of the story: its request log.
# --------------------------------------------------------------------------------------------

def _mock_log(mock: MockServer, expected: int) -> dict[str, Any]:
    """What the mock's request log saw for the last phase: one record per request, no duplicates?

    The mock appends a record when a response has ended, which can be a moment after the client
    read the last byte; so the log is read again (for up to 2 s) until it holds ``expected``.
    """
    deadline = time.monotonic() + 2.0
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


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("openai", "httpx2", "uvicorn", "h11", "fastapi", "starlette", "pydantic", "looplab"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


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
        client_before, server_before = time.process_time(), _cpu_seconds(server.pid)
        try:
            result = asyncio.run(work(lambda: self.progress.advance(task)))
        finally:
            self.progress.update(task, completed=total, visible=False)
        server_after = _cpu_seconds(server.pid)
        result["client_cpu_s"] = round(time.process_time() - client_before, 3)
        result["server_cpu_s"] = (round(server_after - server_before, 3)
                                  if server_after is not None and server_before is not None else None)
        return result


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (None once it is gone)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


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
    from .servers import start_mock

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
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "open_files_limit": files},
            "settings": {"requests": requests, "warmup": warmup, "concurrency": concurrency,
                         "model": MODEL, "max_tokens": MAX_TOKENS},
            "servers": {"bare": "pure ASGI app on uvicorn (h11), python -m looplab.bench --serve-baseline",
                        "mock": "looplab mock-vllm, ttft 0 ms, itl 0 ms"},
            "sequential": sequential, "concurrent": concurrent}


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def _fmt(value: Any, digits: int = 2) -> str:
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
        table.add_row(name, _fmt(r["p50_ms"], 3), _fmt(r["p99_ms"], 3), _fmt(r["mean_ms"], 3),
                      _fmt(r["requests_per_s"], 1), str(r["errors"]), _fmt(r["server_cpu_s"], 2))
    table.add_row("mock - bare", _fmt(seq["mock_minus_bare_p50_ms"], 3), _fmt(seq["mock_minus_bare_p99_ms"], 3),
                  "", "", "", "", style="bold")
    return table


def _concurrent_table(report: dict[str, Any]) -> Table:
    table = _table(f"Concurrent: {report['settings']['concurrency']} streaming chat requests at once "
                   "(latency per stream in ms; first = first chunk; CPU in s)",
                   ("server", "errors", "done", "p50", "p99", "first p50", "wall s", "client CPU", "server CPU"))
    for name in ("bare", "mock"):
        r = report["concurrent"][name]
        table.add_row(name, str(r["errors"]), str(r["completed"]), _fmt(r["p50_ms"], 0),
                      _fmt(r["p99_ms"], 0), _fmt(r["first_chunk_p50_ms"], 0), _fmt(r["wall_s"], 2),
                      _fmt(r["client_cpu_s"], 2), _fmt(r["server_cpu_s"], 2))
    return table


def _render(report: dict[str, Any], console: Console) -> None:
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
    console.print(f"The mock adds {_fmt(seq['mock_minus_bare_p50_ms'], 3)} ms at p50 over a bare uvicorn app "
                  f"({budget} the {seq['p50_budget_ms']:.0f} ms budget). "
                  + ("[green]All requests served without error.[/]" if report["ok"] else "[red]Errors: see above.[/]"))
    for note in report["notes"]:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    v = report["versions"]
    console.print(f"[dim]python {v['python']}, openai {v['openai']}, httpx2 {v['httpx2']}, uvicorn {v['uvicorn']}, "
                  f"{report['machine']['cpus']} CPUs[/]")


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = "count"  # argparse names the type in some messages
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``looplab bench``."""
    p.description = ("Measure the latency a looplab server adds over a bare uvicorn app, on loopback: "
                     "sequential requests on one reused client, then many concurrent streams.")
    p.add_argument("--target", choices=TARGETS, default="mock",
                   help="mock: the mock against a bare uvicorn app; strategies: every adapter strategy "
                        "against a reused client (default: mock)")
    p.add_argument("--requests", type=_at_least(1), metavar="N",
                   help="sequential requests measured per server or strategy (default: 300 for mock, 200 for strategies)")
    p.add_argument("--concurrency", type=_at_least(1), metavar="C",
                   help="concurrent requests (default: 500 streams for mock; 20 per round for strategies)")
    p.add_argument("--vllm-url", help="strategies: measure against this backend instead of a fresh mock")
    p.add_argument("--plot", type=Path, metavar="PNG", help="strategies: also save a chart to this file")
    p.add_argument("--strategies", metavar="LIST",
                   help="strategies: comma-separated names or import paths (module:Class) to measure after "
                        "'reused' (default: all of looplab's)")
    p.add_argument("--warmup", type=_at_least(0), default=20, metavar="W",
                   help="sequential warm-up requests per server, not counted (default: 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    """Run ``looplab bench``: 0 when every request succeeded and the mock's log is exact, else 1."""
    from rich.console import Console

    if args.target == "strategies":
        return _run_strategies(args)
    if args.vllm_url or args.plot or args.strategies:
        print("looplab bench: --vllm-url, --plot and --strategies go with --target strategies", file=sys.stderr)
        return 2
    report = _guarded(lambda: measure(args.requests or 300, args.concurrency or 500, args.warmup,
                                      Console(stderr=True)))
    if isinstance(report, int):
        return report
    return _emit(report, args.json, lambda: _render(report, Console()))


def _guarded(measure_fn: Callable[[], dict[str, Any]]) -> dict[str, Any] | int:
    """Run a measurement; turn its failures into a message and ``looplab bench``'s exit code."""
    from .servers import ServerError

    try:
        return measure_fn()
    except BenchInputError as exc:
        print(f"looplab bench: {exc}", file=sys.stderr)
        return 2
    except (BenchError, ServerError) as exc:
        print(f"looplab bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("looplab bench: interrupted; the servers were stopped.", file=sys.stderr)
        return 130


def _emit(report: dict[str, Any], as_json: bool, render: Callable[[], None]) -> int:
    """Print the report (JSON for machines, tables for people); 0 only when every request succeeded."""
    if as_json:
        print(json.dumps(report))
    else:
        render()
    return 0 if report["ok"] else 1


def _run_strategies(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from . import strategy_bench

    rounds = 5
    names = strategy_bench.STRATEGIES
    if args.strategies:
        names = ("reused", *[n.strip() for n in args.strategies.split(",") if n.strip() and n.strip() != "reused"])
    console = Console(stderr=True)

    def measure_all() -> dict[str, Any]:
        with Progress(console=console, transient=True, disable=args.json or not console.is_terminal) as progress:
            task = progress.add_task("strategies", total=rounds * len(names))
            return strategy_bench.measure(vllm_url=args.vllm_url, requests=args.requests or 200,
                                          concurrency=args.concurrency or 20, rounds=rounds, names=names,
                                          tick=lambda: progress.advance(task))

    report = _guarded(measure_all)
    if isinstance(report, int):
        return report
    if args.plot:
        report["plot"] = str(strategy_bench.plot(report, args.plot))
    return _emit(report, args.json, lambda: strategy_bench.render(report, Console(width=max(Console().width, 110))))


if __name__ == "__main__":
    raise SystemExit(_serve_baseline(sys.argv[1:]))
