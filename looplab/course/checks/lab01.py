"""Lab 1: make it crash through a cached getter, then fix it without giving up the reuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from ..measure import plain_env
from .common import not_attempted_in

CHAT = "/v1/chat/completions"


def _run_script(path: str | Path, exercise: str) -> tuple[subprocess.CompletedProcess, list[dict[str, Any]], int]:
    """Run the learner's script against a fresh mock (long keep-alive), ResourceWarnings shown."""
    if not Path(path).exists():
        raise LabCheckFailed(exercise, f"there is no {path} here: run the %%writefile cell above first")
    with start_mock(keepalive_s=60) as mock:
        try:
            with mock.counting_connections() as connections:
                run = subprocess.run([sys.executable, "-W", "always::ResourceWarning", str(path), mock.base_url],
                                     capture_output=True, text=True, timeout=90, env=plain_env())
        except subprocess.TimeoutExpired:
            raise LabCheckFailed(exercise, "your script ran for 90 s without finishing. Does every request "
                                 "complete? Is something waiting forever?") from None
        records = mock.requests(CHAT)
    not_attempted_in(run.stderr)
    return run, records, connections.opened


def _last_error(stderr: str) -> str:
    """The last line of the script's error output that says what failed (not a warning, not a traceback's frame)."""
    said = [line for line in stderr.strip().splitlines() if line.strip() and not line.startswith((" ", "\t"))
            and "Warning" not in line and "tracemalloc" not in line and not line.startswith("Traceback")]
    return said[-1] if said else "(no error output)"


def crash_script(path: str | Path = "crash_lab.py") -> None:
    """Lab 1a: two ``asyncio.run`` jobs share a client through a cached getter; job 2 must crash."""
    exercise = "Exercise 1a (make it crash)"
    run, records, opened = _run_script(path, exercise)
    if run.returncode == 0 and opened > 1:
        raise LabCheckFailed(exercise, f"your script ran without crashing: its {len(records)} requests went over "
                             f"{opened} connections, so the jobs did not share one client. get_client() must return "
                             "the SAME client every time (cache it: functools.cache, or a module-level variable set "
                             "on the first call), and both jobs must use it, each under its own asyncio.run().")
    if run.returncode == 0:
        raise LabCheckFailed(exercise, f"your script ran without crashing: its {len(records)} request(s) went over "
                             "one connection, so they all ran on one loop. The first job must complete a request "
                             "(its connection then waits in the pool), and the second job, under its own "
                             "asyncio.run(), must use the same client.")
    if "Event loop is closed" not in run.stderr:
        raise LabCheckFailed(exercise, f"your script failed, but not with the crash we want: {_last_error(run.stderr)}")
    if not records:
        raise LabCheckFailed(exercise, "no request reached the backend before the crash. The first job must "
                             "complete a request, so that a connection is pooled for the second job to trip over.")
    passed(exercise, f"job 1 answered ({len(records)} request(s) reached the backend), job 2 crashed with "
           "'Event loop is closed'")


def fixed_script(path: str | Path = "fixed_lab.py") -> None:
    """Lab 1b: the same two jobs, two requests each: no crash, one connection per job, nothing left open."""
    exercise = "Exercise 1b (fix it, keep the reuse)"
    run, records, opened = _run_script(path, exercise)
    if "Event loop is closed" in run.stderr:
        raise LabCheckFailed(exercise, "it still crashes: the second job used a client made on the first job's loop. "
                             "Make the client inside the job (the coroutine asyncio.run runs), so each loop gets "
                             "its own.")
    if run.returncode != 0:
        raise LabCheckFailed(exercise, f"your script failed: {_last_error(run.stderr)}")
    if len(records) != 4:
        raise LabCheckFailed(exercise, f"the backend received {len(records)} chat requests; the jobs make 4 (two "
                             "each). Keep both jobs and both requests in each.")
    connections = opened
    if connections > 2:
        raise LabCheckFailed(exercise, f"4 requests used {connections} connections: a new client for every request. "
                             "That is correct but pays for a client and a connection each time; reuse ONE client "
                             "for both requests of a job.")
    if "ResourceWarning" in run.stderr:
        raise LabCheckFailed(exercise, "no crash, but Python warned about an unclosed transport: a client outlived "
                             "its loop with its connection open. Close each job's client before the job ends "
                             "(`async with openai.AsyncOpenAI(...) as client:`).")
    passed(exercise, "4 requests, 2 connections (one per loop, reused within it), nothing left open")
