"""Lab 8: the sync bridge, a sync web app's threads calling an async client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from ..helpers import served
from .bridge_probe import THREADS, TOTAL
from .common import not_attempted_in


def sync_bridge(path: str | Path = "bridge.py", wait_s: float = 20) -> None:
    """9 calls of ``ask`` (4 threads twice, then the main thread), then ``close()``: every answer, no request
    served twice, one client's connections reused (at most one per thread), nothing left unclosed.
    ``wait_s``: how long the threads may take (a local mock answers in milliseconds)."""
    exercise = "Exercise 8 (the sync bridge)"
    calls = TOTAL
    if not Path(path).exists():
        raise LabCheckFailed(exercise, f"there is no {path} here: run the %%writefile cell above first")
    with start_mock(keepalive_s=60) as mock:
        try:
            with mock.counting_connections() as opened:
                run = subprocess.run([sys.executable, "-m", "looplab.course.checks.bridge_probe", str(path), mock.base_url,
                                      str(wait_s)], capture_output=True, text=True, timeout=wait_s + 90)
        except subprocess.TimeoutExpired:
            raise LabCheckFailed(exercise, f"the calls did not finish in {wait_s + 90:.0f} s. Does ask() wait for a loop that never "
                                 "runs (a loop made but never started in its thread)?") from None
        connections = opened.opened
        answered = served(mock.base_url)
    if run.returncode != 0:
        not_attempted_in(run.stderr)
        raise LabCheckFailed(exercise, f"importing or running {path} failed: {run.stderr.strip()[-400:]}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    if report["hung"]:
        raise LabCheckFailed(exercise, f"{report['hung']} of {THREADS} threads were still waiting after {wait_s:.0f} s: a call "
                             "that waits for its answer must send its coroutine to a loop that is running")
    if report["errors"]:
        raise LabCheckFailed(exercise, f"{len(report['errors'])} of {calls} calls failed, first with "
                             f"{report['errors'][0]}. Every asyncio.run makes a new loop, and so does every thread "
                             "that runs one: a client shared between them crosses loops. Keep one loop for the "
                             "whole process, running in a thread of its own, and send each call to it.")
    if answered > calls:
        raise LabCheckFailed(exercise, f"the backend answered {answered} requests for {calls} calls: some were sent "
                             "twice. Retries hide the crash and double the work; fix the loops, not the retry count.")
    if connections > THREADS:
        raise LabCheckFailed(exercise, f"{calls} calls opened {connections} connections: a client per call. That is "
                             "correct, and pays a client and a connection every time; make one client, on one loop, "
                             "and reuse it.")
    if report.get("no_close"):
        raise LabCheckFailed(exercise, "your module has no close(): the web app calls it at shutdown, to close the "
                             "client and stop its loop")
    if report["resource_warnings"]:
        raise LabCheckFailed(exercise, f"after close(), Python warned: {report['resource_warnings'][0][:90]}. close() "
                             "must close the client, on the loop that made it, and then stop that loop.")
    passed(exercise, f"{calls} calls from {THREADS + 1} threads over {connections} connection(s), each served once, "
                     "nothing left open")
