"""Lab 6: a fix that is correct and fast, and that cleans up after itself."""

from __future__ import annotations

import json
import subprocess
import sys

from ...proofs import verify
from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from ..helpers import chat, error_of
from .common import not_attempted_in, stack_with


def lifecycle(adapter: str, exercise: str = "Exercise 6 (a fast, correct fix)") -> dict:
    """The adapter's whole life in one process (start-up loop, serving loop, shutdown): after shutdown no
    connection to vLLM is open, no ResourceWarning was raised, no thread of the adapter runs and no loop of it
    is unclosed. Raises the hint; returns the probe's report."""
    with start_mock(keepalive_s=60) as mock:
        run = subprocess.run([sys.executable, "-m", "looplab.course.checks.lifecycle_probe", adapter, mock.base_url],
                             capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        not_attempted_in(run.stderr)
        raise LabCheckFailed(exercise, f"running your adapter's lifecycle failed: {run.stderr.strip()[-400:]}")
    report = json.loads(run.stdout)
    if report.get("not_attempted"):
        raise NotImplementedError("this exercise is still the stub: write your answer in the cell above")
    if "error" in report:
        raise LabCheckFailed(exercise, f"start-up, two requests and shutdown, in one process, raised {report['error']}")
    if report["open_after_shutdown"]:
        raise LabCheckFailed(exercise, f"after shutdown, {report['open_after_shutdown']} connection(s) to vLLM are still "
                             "open: the serving client was never closed. Close it when serving stops "
                             "(on_serving_stop, on the loop that made it), and close every client you create.")
    if report["resource_warnings"]:
        raise LabCheckFailed(exercise, f"{len(report['resource_warnings'])} ResourceWarning(s) ("
                             f"{report['resource_warnings'][0][:80]}): a client was dropped without being closed. "
                             "Close the start-up client before start-up ends (async with) and the serving client "
                             "when serving stops.")
    if report["threads_alive"] or report["loops_unclosed"]:
        threads = f"the thread(s) {', '.join(map(repr, report['threads_alive']))} still running" \
            if report["threads_alive"] else "no thread left"
        raise LabCheckFailed(exercise, f"after shutdown, your adapter left {threads} and {report['loops_unclosed']} "
                             "event loop(s) it made unclosed. A server already has a loop that serves every "
                             "request: use it. Whatever the adapter starts, it must stop (and close) when serving "
                             "stops.")
    return report


def fast_adapter(adapter: str = "lab_fast:FastAdapter") -> None:
    """Correct across loops (start-up, keep-alive expiry, 40 at once), leaves nothing open, and reuses connections."""
    exercise = "Exercise 6 (a fast, correct fix)"
    with start_mock(keepalive_s=60) as mock, stack_with(adapter, mock, exercise) as stack:
        first = error_of(chat(stack.base_url))
        not_attempted_in(stack.log_text())
        if first != "200 OK":
            raise LabCheckFailed(exercise, f"the first request after start-up answered '{first}'. The client used "
                                 "to serve must be created on the serving loop (per loop, or in on_serving_start).")
        mock.expire_keepalive()
        burst = verify.run_burst(stack.url, 40, concurrent=True)
        if burst.errors:
            raise LabCheckFailed(exercise, f"{burst.summary()}")
    lifecycle(adapter, exercise)
    _as_fast_as_a_reused_client(adapter, exercise)


#: The speed test's network and load: a backend RTT_MS away (the latency proxy), requests one at a time and
#: CONCURRENCY at a time, against one reused client measured in the same rounds (``looplab bench``). A round trip
#: much longer than a request's CPU time keeps the p50 verdict on a loaded machine: an extra round trip per
#: request doubles the p50 (1.9). Throughput does not hold as well, so it is reported, not judged: a lock that
#: serialises requests serves 1/CONCURRENCY of a reused client's requests per second only when the client has
#: the CPU to spare (0.19 on an idle machine, 0.33 with four busy processes, 0.51 once on a loaded CI machine).
#: What the backend saw holds, loaded or not: how many requests it had at once (``max_in_flight``: a reused
#: client 8, a lock 1, a semaphore of 2, 2).
RTT_MS, CONCURRENCY, REQUESTS = 50, 8, 40
SLOWER_P50, MIN_IN_FLIGHT = 1.5, CONCURRENCY // 2  # verdicts: p50 at most 1.5x; at least half the requests at once


def _as_fast_as_a_reused_client(adapter: str, exercise: str) -> None:
    run = subprocess.run([sys.executable, "-m", "looplab", "bench", "--target", "strategies", "--strategies", adapter,
                          "--requests", str(REQUESTS), "--concurrency", str(CONCURRENCY), "--rtt-ms", str(RTT_MS),
                          "--json"], capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise LabCheckFailed(exercise, f"the benchmark could not run your adapter: {run.stderr.strip()[-400:]}")
    rows = {r["strategy"]: r for r in json.loads(run.stdout)["strategies"]}
    mine, reused = rows[adapter], rows["reused"]
    if mine["errors"]:
        raise LabCheckFailed(exercise, f"{mine['errors']} of the benchmark's requests failed with your adapter, all "
                             "on one loop: does chat_completion forward every parameter (max_tokens too)?")
    if mine["connections"] >= mine["requests_logged"] / 2:  # a pool reuses; a client per call cannot
        raise LabCheckFailed(exercise, f"{mine['connections']} connections for {mine['requests_logged']} requests: a "
                             "new connection for every request, so a new client (or at least a new pool) per call. "
                             "Reuse one client per loop, or one owned by the server's lifespan.")
    if mine["ratio_p50"] > SLOWER_P50:
        extra = (f"; and the backend received {mine['other_requests']} other requests beside the "
                 f"{mine['requests_logged']} chat completions: each request waits for its own extra round trips"
                 if mine["other_requests"] else ": something in each request waits (a round trip, a construction)")
        raise LabCheckFailed(exercise, f"one at a time, your requests took {mine['ratio_p50']}x as long as through a "
                             f"reused client (p50 {mine['p50_ms']:.0f} ms against {reused['p50_ms']:.0f} ms, with "
                             f"{RTT_MS} ms of network){extra}. A request should cost one round trip to vLLM.")
    share = mine["concurrent_rps"] / reused["concurrent_rps"]
    if mine["max_in_flight"] < MIN_IN_FLIGHT:  # the load-proof sign of requests waiting for one another
        raise LabCheckFailed(exercise, f"one at a time your requests are as fast as a reused client's (p50 "
                             f"{mine['ratio_p50']}x), but {CONCURRENCY} at a time the backend never had more than "
                             f"{mine['max_in_flight']} of your requests at once (a reused client: "
                             f"{reused['max_in_flight']}), and your adapter served {mine['concurrent_rps']:.0f} "
                             f"requests/s against the reused client's {reused['concurrent_rps']:.0f} ({share:.0%}): "
                             "its requests wait for one another (a lock or a semaphore around the request, or a pool "
                             "too small). A server's speed is its throughput under concurrency: let requests "
                             "overlap on the one client.")
    passed(exercise, f"correct across loops, closed at shutdown, as fast as a reused client: p50 {mine['ratio_p50']}x, "
           f"{CONCURRENCY} at a time {mine['max_in_flight']} at the backend at once and {share:.0%} of its throughput, "
           f"{mine['connections']} connections for "
           f"{mine['requests_logged']} requests")
