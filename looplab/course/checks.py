"""Lab checks: each runs the learner's code against real servers and says, in plain words, what is
still wrong and which way to look.

A check either prints one success line or raises :class:`LabCheckFailed` whose message is a hint.
An exercise that is still the stub raises ``NotImplementedError`` (reported as "not attempted").
Every check is proven by breakage in ``tests/test_lab_checks.py``: a committed wrong answer (the
classic mistake the exercise teaches against) must fail it with the intended hint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..proofs import verify
from ..real.envs import incident_python
from ..servers import MockServer, ServerError, StackServer, start_mock, start_stack
from .feedback import LabCheckFailed
from .feedback import passed as _passed
from .helpers import chat, error_of

CRASH = "500 RuntimeError: Event loop is closed"


def _not_attempted_in(text: str) -> None:
    if "NotImplementedError" in text:
        raise NotImplementedError("this exercise is still the stub: write your answer in the cell above")


@contextlib.contextmanager
def _stack(adapter: str, mock: MockServer, exercise: str, **options: Any) -> Iterator[StackServer]:
    """Start the mini stack with the learner's adapter; turn a failed start into a hint."""
    try:
        stack = start_stack(adapter=adapter, vllm_url=mock.base_url, models=options.pop("models", ["tiny-llama"]),
                            **options)
    except ServerError as exc:
        _not_attempted_in(str(exc))
        raise LabCheckFailed(exercise, "the stack did not start with your adapter. The end of its log:\n"
                             + str(exc)[-1500:]) from None
    with stack:
        yield stack


# --- lab 1: make it crash -------------------------------------------------------------------------

def crash_script(path: str | Path = "crash_lab.py") -> None:
    """Lab 1: the script runs ``asyncio.run`` twice with one client; loop 2 must crash."""
    exercise = "Exercise 1 (make it crash)"
    with start_mock(keepalive_s=60) as mock:
        try:
            run = subprocess.run([sys.executable, str(path), mock.base_url], capture_output=True, text=True,
                                 timeout=90)
        except subprocess.TimeoutExpired:
            raise LabCheckFailed(exercise, "your script ran for 90 s without finishing. Does every request "
                                 "complete? Is something waiting forever?") from None
        generated = len(mock.requests("/v1/chat/completions"))
    _not_attempted_in(run.stderr)
    if run.returncode == 0:
        raise LabCheckFailed(exercise, "your script ran without crashing. Create ONE AsyncOpenAI client at module "
                             "level, make a request with it inside a first asyncio.run(), then another inside a "
                             "second asyncio.run().")
    if "Event loop is closed" not in run.stderr:
        last = run.stderr.strip().splitlines()[-1:] or ["(no error output)"]
        raise LabCheckFailed(exercise, f"your script failed, but not with the crash we want: {last[0]}")
    if generated < 1:
        raise LabCheckFailed(exercise, "no request reached the backend before the crash. The first loop must "
                             "complete a request, so that a connection is pooled for the second loop to trip over.")
    _passed(exercise, "loop 1 answered, loop 2 crashed with 'Event loop is closed'")


# --- lab 2: build the broken adapter ----------------------------------------------------------------

def broken_adapter(adapter: str = "lab_adapter:VLLMInferenceAdapter") -> None:
    """Lab 2: the adapter works on one loop, validates models, streams, and crashes after start-up."""
    exercise = "Exercise 2 (the adapter as it shipped)"
    with start_mock(keepalive_s=60) as mock:
        try:
            with _stack(adapter, mock, exercise, models=["not-served"]):
                pass
        except LabCheckFailed as failed:
            if "not-served" not in failed.hint:
                raise
        else:
            raise LabCheckFailed(exercise, "register_model accepted a model the backend does not serve. List the "
                                 "backend's models (client.models.list()) and raise ValueError when the id is missing.")
        with _stack(adapter, mock, exercise) as stack:
            answers = [error_of(chat(stack.base_url)), error_of(chat(stack.base_url)),
                       error_of(chat(stack.base_url, stream=True))]
            log = stack.log_text()
    _not_attempted_in(log)
    if answers[0] != CRASH:
        raise LabCheckFailed(exercise, f"the first request after start-up answered '{answers[0]}', not the crash. "
                             "Create the AsyncOpenAI client in initialize() and use it in register_model(), as "
                             "Llama Stack 0.2.2 did.")
    if answers[1:] != ["200 OK", "200 OK"]:
        raise LabCheckFailed(exercise, f"after the crash, requests should work again; got {answers[1:]}. Does "
                             "chat_completion pass model, messages and stream to client.chat.completions.create, and "
                             "return iterate_stream(response) when streaming?")
    _passed(exercise, "validates models, streams, and crashes exactly like 0.2.2 on the first request")


# --- lab 3: hunt the crash ---------------------------------------------------------------------------

def log_analysis(lost_requests: Callable[[list[dict], int], list[dict]],
                 generated_twice: Callable[[list[dict]], dict[str, int]]) -> None:
    """Lab 3: read the mock's request log: the lost request, and the duplicate a retry caused."""
    exercise = "Exercise 3 (read the request log)"
    with start_mock(keepalive_s=60) as mock:
        with _stack("broken", mock, exercise) as stack:
            for marker in ("first", "second"):
                chat(stack.base_url, user=marker)
        crash_records = mock.requests()
        mock.clear_requests()
        with _stack("broken", mock, exercise, python=incident_python()) as stack:
            for marker in ("first", "second"):
                chat(stack.base_url, user=marker)
        retry_records = mock.requests()
    startup_port = next(r["client_port"] for r in crash_records if r["path"] == "/v1/models")
    lost = lost_requests(crash_records, startup_port)
    if [r.get("user") for r in lost or []] != ["first"]:
        raise LabCheckFailed(exercise, f"lost_requests returned the requests {[r.get('user') for r in lost or []]}; "
                             "expected only the first one. Keep the chat completion requests that arrived on the "
                             "start-up connection (their client_port equals startup_port).")
    twice = generated_twice(retry_records)
    if twice != {"first": 2}:
        raise LabCheckFailed(exercise, f"generated_twice returned {twice}; expected {{'first': 2}}. Count chat "
                             "completion requests per `user` marker (a retry goes out on a NEW connection, so "
                             "counting per client_port cannot see it) and keep those seen more than once.")
    _passed(exercise, "found the lost request and the duplicate generation")


# --- lab 5: fix it per call ----------------------------------------------------------------------------

def per_call_adapter(adapter: str = "lab_per_call:PerCallAdapter") -> None:
    """Lab 5: a client per call: no errors, streams too, each request once, no leak, abandoned streams closed."""
    exercise = "Exercise 5 (the per-call fix)"
    with start_mock(keepalive_s=60) as mock, _stack(adapter, mock, exercise) as stack:
        mock.clear_requests()
        sequential = verify.run_burst(stack.url, 30, concurrent=False, label="seq")
        concurrent = verify.run_burst(stack.url, 30, concurrent=True, label="conc")
        errors = sequential.errors + concurrent.errors
        _not_attempted_in(stack.log_text())
        if errors:
            kinds = {"stream" if e.stream else "plain" for e in errors}
            if kinds == {"stream"}:
                raise LabCheckFailed(exercise, "plain requests work but streams fail: the client is closed before "
                                     "the caller reads the stream. Create it inside an async generator and close "
                                     "it in that generator's finally, after the last chunk.")
            raise LabCheckFailed(exercise, f"{len(errors)} of 60 requests failed, e.g. {errors[0].status} "
                                 f"{errors[0].detail[:200]}")
        ports = {r["client_port"] for r in mock.requests("/v1/chat/completions")}
        if len(ports) < 60:
            raise LabCheckFailed(exercise, f"60 requests used only {len(ports)} connections: a client is being "
                                 "reused. In this exercise every call creates (and closes) its own client.")
        baseline = len(stack.diagnostics()["open_sockets"])
        verify.run_burst(stack.url, 60, concurrent=True, label="leak")
        after = stack.diagnostics(collect=True)
        if len(after["open_sockets"]) > max(baseline, 5) or after["resource_warnings"]:
            raise LabCheckFailed(exercise, f"{len(after['open_sockets'])} sockets stay open and "
                                 f"{after['resource_warnings']} ResourceWarnings appeared: clients are not closed. "
                                 "Use `async with` for plain calls and a finally for streams.")
    _passed(exercise, "120 requests, 0 errors, a fresh connection per call, nothing leaked")


# --- lab 6: make the fix fast ----------------------------------------------------------------------------

def fast_adapter(adapter: str = "lab_fast:FastAdapter") -> None:
    """Lab 6: correct across loops (start-up, keep-alive expiry, leaks) and as fast as a reused client."""
    exercise = "Exercise 6 (a fast, correct fix)"
    with start_mock(keepalive_s=60) as mock, _stack(adapter, mock, exercise) as stack:
        first = error_of(chat(stack.base_url))
        _not_attempted_in(stack.log_text())
        if first != "200 OK":
            raise LabCheckFailed(exercise, f"the first request after start-up answered '{first}'. The client used "
                                 "to serve must be created on the serving loop (per loop, or in on_serving_start).")
        mock.expire_keepalive()
        burst = verify.run_burst(stack.url, 40, concurrent=True)
        if burst.errors:
            raise LabCheckFailed(exercise, f"{burst.summary()}")
        after = stack.diagnostics(collect=True)
        if after["resource_warnings"]:
            raise LabCheckFailed(exercise, "ResourceWarnings: a client is never closed. Close the start-up client "
                                 "(async with) and the serving client at shutdown (on_serving_stop / shutdown).")
    run = subprocess.run([sys.executable, "-m", "looplab", "bench", "--target", "strategies", "--strategies", adapter,
                          "--requests", "40", "--concurrency", "8", "--json"],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise LabCheckFailed(exercise, f"the benchmark could not run your adapter: {run.stderr.strip()[-400:]}")
    rows = {r["strategy"]: r for r in json.loads(run.stdout)["strategies"]}
    mine = rows[adapter]
    if mine["connections"] >= mine["requests_logged"] / 2:  # a pool reuses; a client per call cannot
        raise LabCheckFailed(exercise, f"{mine['connections']} connections for {mine['requests_logged']} requests: a "
                             "new client (and connection) per call. Reuse one client per loop, or one owned by the "
                             "server's lifespan.")
    _passed(exercise, f"correct across loops, {mine['ratio_p50']}x a reused client, {mine['connections']} connections")


# --- lab 7: regression test and guard ----------------------------------------------------------------------

def regression_test(test: Callable[[str], None]) -> None:
    """Lab 7a: the test fails (AssertionError) on the broken adapter and passes on every fix."""
    exercise = "Exercise 7a (a regression test)"
    results = {}
    for adapter in ("broken", "per_call", "lifespan"):
        try:
            test(adapter)
            results[adapter] = "passed"
        except AssertionError:
            results[adapter] = "failed"
    if results["broken"] != "failed":
        raise LabCheckFailed(exercise, "your test passes on the broken adapter, so it cannot catch the bug. Start the "
                             "mini stack (start-up on one loop, serving on another) with a long keep-alive, and "
                             "assert that the FIRST requests after start-up succeed.")
    wrong = [a for a in ("per_call", "lifespan") if results[a] != "passed"]
    if wrong:
        raise LabCheckFailed(exercise, f"your test fails on the fixed adapters {wrong}: it must pass on every fix.")
    _passed(exercise, "fails on broken, passes on per_call and lifespan")


class _Recorder:
    """A stand-in client that records every attribute that reaches it."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        return lambda *a, **k: "ok"


def loop_guard(guard: Callable[[Any], Any]) -> None:
    """Lab 7b: ``guard(client)`` (called on a loop) refuses use from another loop, before any I/O."""
    exercise = "Exercise 7b (a loop-affinity guard)"
    box: dict[str, Any] = {}

    def scenario() -> None:
        target = _Recorder()

        async def create() -> Any:
            guarded = guard(target)
            guarded.chat("same loop")  # use on the creating loop must work
            return guarded

        guarded = asyncio.run(create())
        before = len(target.touched)

        async def use() -> None:
            guarded.chat("other loop")

        try:
            asyncio.run(use())
            box["raised"] = None
        except Exception as exc:  # noqa: BLE001 (any clear error will do)
            box["raised"] = exc
        box["same_loop_ok"] = before == 1
        box["reached_target"] = len(target.touched) > before

    def guarded_scenario() -> None:
        try:
            scenario()
        except BaseException as exc:  # noqa: BLE001 (reported below, in the learner's words)
            box["setup_error"] = exc

    thread = threading.Thread(target=guarded_scenario, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():
        raise LabCheckFailed(exercise, "using your guard did not finish within 30 s: does __getattr__ call itself "
                             "(an attribute read inside it that is not set with object.__setattr__)?")
    setup_error = box.get("setup_error")
    if isinstance(setup_error, NotImplementedError) or isinstance(box.get("raised"), NotImplementedError):
        raise NotImplementedError("this exercise is still the stub: write your answer in the cell above")
    if setup_error is not None:
        raise LabCheckFailed(exercise, f"creating the guard, or using it on its own loop, raised "
                             f"{type(setup_error).__name__}: {setup_error}")
    if not box.get("same_loop_ok"):
        raise LabCheckFailed(exercise, "using the guarded client on the loop that created it must just work (pass "
                             "the attribute through to the client).")
    if box.get("raised") is None:
        raise LabCheckFailed(exercise, "the guarded client was used from another loop and nothing stopped it. Check "
                             "the running loop on EVERY attribute access (__getattr__), not only at creation.")
    if box.get("reached_target"):
        raise LabCheckFailed(exercise, "the guard raised, but only after the call reached the client. Check the loop "
                             "before passing the attribute through.")
    if "loop" not in str(box["raised"]).lower():
        raise LabCheckFailed(exercise, f"the guard raised '{box['raised']}'. Say what happened: mention the loop.")
    _passed(exercise, f"refused on another loop, before any I/O: {type(box['raised']).__name__}")
