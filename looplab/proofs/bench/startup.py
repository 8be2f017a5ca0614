"""``looplab bench --target startup``: what starting looplab's own servers costs, forked or exec'd.

A notebook, a lab check or a test starts a mock and a mini stack, sends a request or two, and stops
them; the test suite does that hundreds of times. This benchmark does it ``N`` times, one pair after
the other, each pair answering one chat completion through the stack, twice: once with every server
exec'd as ``python -m looplab ...`` (``LOOPLAB_NO_FORK_SERVER=1``), once forked from the fork server
of :mod:`looplab.servers.forked`. It reports the CPU time of every server (user + system, read just
before it is stopped: its imports, its start-up, its one request) and, for the forked run, the fork
server's own (its preload, paid once), and the wall time from the first start to the last stop.
The benchmark's own process (the starter) does the same work in both runs and is not counted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .report import BenchInputError, cpu_seconds, error_text, fmt, machine, versions

if TYPE_CHECKING:
    from rich.console import Console

MODEL = "tiny-llama"
MODES = ("exec", "forked")


@contextlib.contextmanager
def _exec_only(on: bool) -> Iterator[None]:
    from ...servers.forked import DISABLE_ENV

    before = os.environ.get(DISABLE_ENV)
    if on:
        os.environ[DISABLE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DISABLE_ENV, None)
        else:
            os.environ[DISABLE_ENV] = before


def _one_pair(errors: list[str]) -> tuple[float, bool]:
    """Start a mock and a stack in front of it, send one chat completion, stop both: the servers' CPU-s
    and whether both were forked."""
    from ...servers import start_mock, start_stack
    from ...servers.forked import ForkedProcess

    spent, forked = 0.0, True
    with start_mock() as mock, start_stack(adapter="per_call", vllm_url=mock.base_url, models=[MODEL]) as stack:
        try:
            stack.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                   max_tokens=4)
        except Exception as exc:  # noqa: BLE001 (reported, and the report is not ok)
            errors.append(error_text(exc))
        for server in (mock, stack):
            spent += cpu_seconds(server.pid) or 0.0
            forked = forked and isinstance(server.process, ForkedProcess)
    return spent, forked


def _run(mode: str, pairs: int, tick: Callable[[], None]) -> dict[str, Any]:
    from ...servers import forked as fork_server

    errors: list[str] = []
    servers_cpu, all_forked = 0.0, True
    started = time.perf_counter()
    with _exec_only(mode == "exec"):
        for _ in range(pairs):
            spent, was_forked = _one_pair(errors)
            servers_cpu += spent
            all_forked = all_forked and was_forked
            tick()
    wall = time.perf_counter() - started
    preload = cpu_seconds(fork_server._started["pid"]) if mode == "forked" and fork_server._started["pid"] else None  # noqa: SLF001
    if mode == "forked" and not all_forked:
        errors.append("some servers were exec'd, not forked: the fork server could not be used here")
    total = servers_cpu + (preload or 0.0)
    return {"mode": mode, "pairs": pairs, "servers_cpu_s": round(servers_cpu, 2),
            "fork_server_cpu_s": None if preload is None else round(preload, 2), "cpu_s": round(total, 2),
            "cpu_s_per_pair": round(total / pairs, 3), "wall_s": round(wall, 2), "errors": errors[:5],
            "error_count": len(errors)}


def measure(pairs: int, console: Console | None = None, tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Both runs, exec'd first (the fork server starts with the second); one report."""
    if not sys.platform.startswith("linux"):
        raise BenchInputError("--target startup compares the fork server with exec'd servers: the fork server "
                              "is used on Linux only")
    from ...servers.forked import DISABLE_ENV

    if os.environ.get(DISABLE_ENV) == "1":
        raise BenchInputError(f"{DISABLE_ENV}=1 turns the fork server off: unset it to compare")
    runs = {}
    for mode in MODES:
        if console is not None:
            console.print(f"{mode}: {pairs} mock-and-stack pairs, one after the other", highlight=False)
        runs[mode] = _run(mode, pairs, tick)
    saved = runs["exec"]["cpu_s"] - runs["forked"]["cpu_s"]
    return {"target": "startup", "ok": not any(r["error_count"] for r in runs.values()), "pairs": pairs,
            "runs": runs, "cpu_saved_s": round(saved, 2),
            "cpu_ratio": round(runs["forked"]["cpu_s"] / runs["exec"]["cpu_s"], 3) if runs["exec"]["cpu_s"] else None,
            "versions": versions(), "machine": machine()}


def render(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"{report['pairs']} mock-and-stack pairs, one after the other, one request each")
    for column in ("servers", "servers' CPU-s", "fork server's CPU-s", "CPU-s in all", "per pair", "wall s"):
        table.add_column(column, justify="left" if column == "servers" else "right")
    for mode in MODES:
        r = report["runs"][mode]
        table.add_row(mode, fmt(r["servers_cpu_s"]), fmt(r["fork_server_cpu_s"]), fmt(r["cpu_s"]),
                      fmt(r["cpu_s_per_pair"], 3), fmt(r["wall_s"]))
    console.print(table)
    for mode in MODES:
        for sample in report["runs"][mode]["errors"]:
            console.print(f"[red]{mode} error:[/] {sample}", highlight=False)
    console.print(f"Forked servers save {fmt(report['cpu_saved_s'])} CPU-s "
                  f"({fmt(report['cpu_ratio'], 3)} of the exec'd cost), the fork server's preload included. "
                  + ("[green]Every request succeeded.[/]" if report["ok"] else "[red]Errors: see above.[/]"))
    v = report["versions"]
    console.print(f"[dim]python {v['python']}, openai {v['openai']}, uvicorn {v['uvicorn']}, "
                  f"{report['machine']['cpus']} CPUs[/]")
