"""Lab 5: the per-call fix."""

from __future__ import annotations

from typing import Any

from ...proofs import verify
from ...servers import StackServer, start_mock
from ..feedback import LabCheckFailed, passed
from .common import not_attempted_in, refuses_unserved, stack_with

BURST = 30  # requests per burst that must all answer, each on its own connection: one at a time, then at once
LEAK_BURST = 30  # requests per leak test, plain then streamed, all at once
COUNTED = 2 * BURST  # the requests whose errors and connections are counted
SENT = COUNTED + 2 * LEAK_BURST  # every request the check sends (looplab.course.facts quotes these on the pages)


def per_call_adapter(adapter: str = "lab_per_call:PerCallAdapter") -> None:
    """Lab 5: a client per call: no errors, streams too, a connection per call, every client closed (plain calls',
    streams', registration's), and registration refuses a model the backend does not serve."""
    exercise = "Exercise 5 (the per-call fix)"
    # Tokens 2 ms apart: a stream is still arriving when the caller reads it, so a client closed before
    # that read fails every time (with no delay, a loaded machine may have buffered the whole answer).
    with start_mock(keepalive_s=60, itl_ms=2) as mock:
        refuses_unserved(adapter, mock, exercise)
        with stack_with(adapter, mock, exercise) as stack:
            started = stack.diagnostics(collect=True)
            mock.clear_requests()
            with mock.counting_connections() as connections:
                sequential = verify.run_burst(stack.url, BURST, concurrent=False, label="seq")
                concurrent = verify.run_burst(stack.url, BURST, concurrent=True, label="conc")
            errors = sequential.errors + concurrent.errors
            not_attempted_in(stack.log_text())
            if errors:
                kinds = {"stream" if e.stream else "plain" for e in errors}
                if kinds == {"stream"}:
                    raise LabCheckFailed(exercise, "plain requests work but streams fail: the client is closed before "
                                         "the caller reads the stream. A stream is read after chat_completion has "
                                         "returned: its client must live until the stream's last chunk.")
                raise LabCheckFailed(exercise, f"{len(errors)} of the first 60 requests (30 one at a time, 30 at once) failed, e.g. {errors[0].status} "
                                     f"{errors[0].detail[:200]}")
            opened = connections.opened
            if opened < COUNTED:
                raise LabCheckFailed(exercise, f"60 requests used only {opened} connections: a client is being "
                                     "reused. In this exercise every call creates (and closes) its own client.")
            _every_client_closed(stack, started, exercise)
    passed(exercise, f"{SENT} requests, 0 errors, a fresh connection per call, every client closed, the model checked")


def _leaks(stack: StackServer, before: dict[str, Any], stream: bool) -> tuple[dict[str, Any], str | None]:
    """A burst of plain (or streamed) requests at once; what the stack holds afterwards, and the leak if any."""
    verify.run_burst(stack.url, LEAK_BURST, concurrent=True, stream_every=1 if stream else 0, label="leak")
    after = stack.diagnostics(collect=True)
    sockets, warned = len(after["open_sockets"]), after["resource_warnings"] - before["resource_warnings"]
    seen = ([f"{sockets} sockets to vLLM stayed open"] if sockets > max(len(before["open_sockets"]), 5) else []) \
        + ([f"{warned} ResourceWarning(s) appeared once the garbage was collected"] if warned else [])
    return after, " and ".join(seen) or None


def _every_client_closed(stack: StackServer, started: dict[str, Any], exercise: str) -> None:
    """Every client closed, told apart by whom it served: plain calls, streams, registration at start-up."""
    baseline = stack.diagnostics(collect=True)
    after_plain, plain = _leaks(stack, baseline, stream=False)
    _, streamed = _leaks(stack, after_plain, stream=True)
    if plain:
        raise LabCheckFailed(exercise, f"after {LEAK_BURST} plain requests, {plain}: plain calls leave their clients "
                             f"open{' (streamed calls too)' if streamed else ''}. A client made for a call is closed "
                             "once the call is done.")
    if streamed:
        raise LabCheckFailed(exercise, f"plain calls close their clients, but after {LEAK_BURST} streamed requests, "
                             f"{streamed}: streamed calls leave their clients open. A stream's client must be closed "
                             "after its last chunk, by whatever the caller iterates.")
    if started["resource_warnings"]:
        raise LabCheckFailed(exercise, f"before any request, the stack had already raised {started['resource_warnings']} "
                             "ResourceWarning(s): the client register_model used at start-up was dropped without "
                             "being closed. Close it before start-up ends (async with).")
