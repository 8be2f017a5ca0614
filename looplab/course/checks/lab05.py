"""Lab 5: the per-call fix."""

from __future__ import annotations

from ...proofs import verify
from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from .common import not_attempted_in, stack_with

def per_call_adapter(adapter: str = "lab_per_call:PerCallAdapter") -> None:
    """Lab 5: a client per call: no errors, streams too, a connection per call, no leak."""
    exercise = "Exercise 5 (the per-call fix)"
    # Tokens 2 ms apart: a stream is still arriving when the caller reads it, so a client closed before
    # that read fails every time (with no delay, a loaded machine may have buffered the whole answer).
    with start_mock(keepalive_s=60, itl_ms=2) as mock, stack_with(adapter, mock, exercise) as stack:
        mock.clear_requests()
        with mock.counting_connections() as connections:
            sequential = verify.run_burst(stack.url, 30, concurrent=False, label="seq")
            concurrent = verify.run_burst(stack.url, 30, concurrent=True, label="conc")
        errors = sequential.errors + concurrent.errors
        not_attempted_in(stack.log_text())
        if errors:
            kinds = {"stream" if e.stream else "plain" for e in errors}
            if kinds == {"stream"}:
                raise LabCheckFailed(exercise, "plain requests work but streams fail: the client is closed before "
                                     "the caller reads the stream. Create it inside an async generator and close "
                                     "it in that generator's finally, after the last chunk.")
            raise LabCheckFailed(exercise, f"{len(errors)} of 60 requests failed, e.g. {errors[0].status} "
                                 f"{errors[0].detail[:200]}")
        opened = connections.opened
        if opened < 60:
            raise LabCheckFailed(exercise, f"60 requests used only {opened} connections: a client is being "
                                 "reused. In this exercise every call creates (and closes) its own client.")
        baseline = len(stack.diagnostics()["open_sockets"])
        verify.run_burst(stack.url, 60, concurrent=True, label="leak")
        after = stack.diagnostics(collect=True)
        if len(after["open_sockets"]) > max(baseline, 5) or after["resource_warnings"]:
            raise LabCheckFailed(exercise, f"{len(after['open_sockets'])} sockets stay open and "
                                 f"{after['resource_warnings']} ResourceWarnings appeared: clients are not closed. "
                                 "Use `async with` for plain calls and a finally for streams.")
    passed(exercise, "120 requests, 0 errors, a fresh connection per call, nothing leaked")
