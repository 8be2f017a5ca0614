"""Lab 8: the sync bridge, a sync web app's threads calling an async client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from ..helpers import served
from .probing import MAIN, THREADS, TOTAL, worker
from .common import not_attempted_in

EXECUTOR = "asyncio_"  # the threads of a loop's default executor (its getaddrinfo runs there)
CALLERS = [worker(n) for n in range(THREADS)] + [MAIN]  # the threads that call ask(): 4 workers, then the main one


def _per_thread(opened: dict[str, int]) -> str:
    """``worker 1: 2, ..., the main thread: 1, thread 'openai-loop': 4``: who opened the connections."""
    names = [name for name in CALLERS if opened.get(name)] + sorted(set(opened) - set(CALLERS))
    return ", ".join(f"{name if name in CALLERS else repr(name)}: {opened[name]}" for name in names) or "none"


def _probe(path: str | Path, wait_s: float, exercise: str) -> tuple[dict[str, Any], int, int]:
    """Run the probe on the learner's module against a fresh mock: its report, the connections the mock
    accepted, and the requests it says it served."""
    with start_mock(keepalive_s=60) as mock:
        try:
            with mock.counting_connections() as opened:
                run = subprocess.run([sys.executable, "-m", "looplab.course.checks.bridge_probe", str(path), mock.base_url,
                                      str(wait_s)], capture_output=True, text=True, timeout=wait_s + 90)
        except subprocess.TimeoutExpired:
            raise LabCheckFailed(exercise, f"the calls did not finish in {wait_s + 90:.0f} s. Does ask() wait for a loop that never "
                                 "runs (a loop made but never started in its thread)?") from None
        answered = served(mock.base_url)
    if run.returncode != 0:
        not_attempted_in(run.stderr)
        raise LabCheckFailed(exercise, f"importing or running {path} failed: {run.stderr.strip()[-400:]}")
    return json.loads(run.stdout.strip().splitlines()[-1]), opened.opened, answered


def sync_bridge(path: str | Path = "bridge.py", wait_s: float = 20) -> None:
    """9 calls of ``ask`` (4 threads twice, then the main thread), then ``close()``: every answer is text, no
    request served twice, connections reused (at most one per thread), and afterwards nothing the module made is
    left: no thread running, no loop unclosed, no connection open, no ResourceWarning.
    ``wait_s``: how long the threads may take (a local mock answers in milliseconds)."""
    exercise = "Exercise 8 (the sync bridge)"
    calls = TOTAL
    if not Path(path).exists():
        raise LabCheckFailed(exercise, f"there is no {path} here: run the %%writefile cell above first")
    report, connections, answered = _probe(path, wait_s, exercise)
    if report.get("no_ask"):
        raise LabCheckFailed(exercise, f"{path} has no function ask(base_url, text): the web app's handlers call it, "
                             "from their threads, for every request.")
    by_thread = _per_thread(report["connections_by_thread"])
    if report["hung"]:
        raise LabCheckFailed(exercise, f"{report['hung']} of {THREADS} threads were still waiting after {wait_s:.0f} s: a call "
                             "that waits for its answer must send its coroutine to a loop that is running")
    if report["errors"] and not any("loop" in error.lower() for error in report["errors"]):
        raise LabCheckFailed(exercise, f"{len(report['errors'])} of {calls} calls failed, first with "
                             f"{report['errors'][0]}: an error of ask() itself, not of the loops. The handlers call "
                             "ask(base_url, text) and expect the answer's text.")
    if report["errors"]:
        raise LabCheckFailed(exercise, f"{len(report['errors'])} of {calls} calls failed, first with "
                             f"{report['errors'][0]}. Every asyncio.run makes a new loop, and so does every thread "
                             "that runs one: a client shared between them crosses loops. Keep one loop for the "
                             "whole process, running in a thread of its own, and send each call to it.")
    if report["not_text"] is not None:
        raise LabCheckFailed(exercise, f"ask() returned a {report['not_text']} object: return the answer's text, a str "
                             "(reply.choices[0].message.content), as the web app's handlers expect.")
    if answered > calls:
        raise LabCheckFailed(exercise, f"the backend answered {answered} requests for {calls} calls: some were sent "
                             "twice. A call that fails and is tried again hides the crash and doubles the work; fix "
                             "the loops, not the symptom.")
    if connections > len(CALLERS):
        shared = "no connection carried a second request" if connections >= calls else "connections were hardly reused"
        raise LabCheckFailed(exercise, f"{calls} calls from {len(CALLERS)} threads opened {connections} connections "
                             f"({by_thread}): {shared}, so each call paid for a client and a connection. At most one "
                             "connection per thread: make one client, on one loop, and reuse it.")
    if report.get("no_close"):
        raise LabCheckFailed(exercise, "your module has no close(): the web app calls it at shutdown, to close the "
                             "client and stop its loop")
    if report.get("close_error"):
        raise LabCheckFailed(exercise, f"close() raised {report['close_error']}")
    _nothing_left(exercise, report, by_thread)
    passed(exercise, f"{calls} calls from {THREADS + 1} threads over {connections} connection(s) ({by_thread}), each "
                     "served once; after close() no thread, loop or connection left")


def _nothing_left(exercise: str, report: dict[str, Any], by_thread: str) -> None:
    """After close(): no thread of the module running, no loop of it unclosed, no connection open, no warning."""
    opened, loops = report["connections_by_thread"], report["loops_unclosed"]
    callers_opened = [name for name in CALLERS if opened.get(name)]
    if loops and len(callers_opened) > 1:  # the connections came from the callers' own threads: a loop in each
        raise LabCheckFailed(exercise, f"each thread that called ask() opened a connection of its own ({by_thread}): "
                             "each ran a loop and a client of its own. That keeps to one connection per thread, but "
                             "close(), called from one thread, cannot reach the others' loops and clients: after "
                             f"close(), {loops} event loop(s) were never closed. Keep one loop for the process, in a "
                             "thread of its own, and send every call to it: close() then has one client to close "
                             "and one loop to stop.")
    executors = [name for name in report["threads_alive"] if name.startswith(EXECUTOR)]
    started = [name for name in report["threads_alive"] if not name.startswith(EXECUTOR)]
    if started:
        raise LabCheckFailed(exercise, f"after close(), the thread {', '.join(map(repr, started))} that your module "
                             "started is still running: stop its loop (loop.call_soon_threadsafe(loop.stop)), wait "
                             "for the thread to end (join), then close the loop (loop.close()).")
    if executors:
        raise LabCheckFailed(exercise, f"after close(), {len(executors)} thread(s) of a loop's executor ("
                             f"{executors[0]!r}, ...) are still running: they end when their loop is closed "
                             "(loop.close(), once the loop has stopped and its thread has ended).")
    if loops:
        raise LabCheckFailed(exercise, f"after close(), {loops} event loop(s) your module made were never closed: once "
                             "a loop has stopped and its thread has ended (join), close it (loop.close()).")
    if report["open_after_close"] or report["resource_warnings"]:
        seen = (f"{report['open_after_close']} connection(s) to the backend were still open"
                if report["open_after_close"] else f"Python warned: {report['resource_warnings'][0][:90]}")
        raise LabCheckFailed(exercise, f"after close(), {seen}. close() must close the client, on the loop that "
                             "made it, before it stops that loop.")
