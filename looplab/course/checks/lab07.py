"""Lab 7: a regression test that holds on every client stack, and a loop-affinity guard."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...adapters.witness import WITNESS_ENV, WITNESS_LOG_ENV
from ...real.envs import exact_python, incident_python
from ..feedback import LabCheckFailed, passed

WITNESS, BROKEN = "looplab.adapters.witness:WitnessAdapter", "looplab.adapters.witness:BrokenWitness"
NAMES = {WITNESS: "lifespan", BROKEN: "broken"}  # the witnesses are these adapters, and so the learner reads them
CHAT, MODELS = "/v1/chat/completions", "/v1/models"
SHORT_TIMEOUT_S = 10.0  # a client timeout the check accepts as short: a stuck request fails the test in seconds


def _stacks() -> dict[str, Path | None]:
    """The three client stacks a test is run on, by name (None: the workshop's own interpreter)."""
    try:
        return {"today's (openai 3.x)": None, "the reporter's (httpcore 1.0.2)": exact_python(),
                "the incident era's (openai 1.x, retries on)": incident_python()}
    except FileNotFoundError as missing:
        raise LabCheckFailed("Exercise 7a (a regression test)", f"{missing}") from None


def _verdict(exercise: str, test: Callable[..., None], adapter: str, python: Path | None, where: str) -> str:
    """"passed", or "failed: <the assertion's message>"; a test that raises anything else gets the hint."""
    try:
        test(adapter, python)
    except AssertionError as failed:
        return f"failed: {str(failed)[:160] or 'assert'}"
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 (the learner's test broke, rather than failed)
        name = NAMES.get(adapter, adapter)
        if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
            raise LabCheckFailed(exercise, f"on {where} client stack, with adapter '{name}', your test raised "
                                 f"{type(exc).__name__}: {str(exc)[:200]}. A test must fail with an assert, not "
                                 "crash or hang: give the stack's client a short timeout (start_stack(..., "
                                 "client_timeout=5)) so a stuck request comes back as an error answer you can "
                                 "assert on.") from None
        raise LabCheckFailed(exercise, f"on {where} client stack, with adapter '{name}', your test raised "
                             f"{type(exc).__name__}: {str(exc)[:200]}. A test must fail with an assert, never with "
                             "an error of its own: fix that line of your test.") from None
    return "passed"


def _takes_adapter_and_python(exercise: str, test: Any) -> None:
    """A test of the wrong shape (not a function, other parameters) gets a hint before anything runs."""
    if not callable(test):
        raise LabCheckFailed(exercise, f"regression_test must be a function taking (adapter, python); you gave a "
                             f"{type(test).__name__}.")
    try:
        signature = inspect.signature(test)
    except ValueError:  # no signature to read: let it run
        return
    try:
        signature.bind("broken", None)
    except TypeError:
        raise LabCheckFailed(exercise, f"regression_test must take (adapter, python); yours takes {signature}.") from None


class _Witness:
    """The files the witness adapters write (see :mod:`looplab.adapters.witness`), set in this process's
    environment for the stacks a learner's test starts, and read back."""

    def __init__(self, folder: str) -> None:
        self.runs, self.log = Path(folder) / "interpreters.txt", Path(folder) / "backend-log.json"

    def clear(self) -> None:
        self.runs.unlink(missing_ok=True)
        self.log.unlink(missing_ok=True)

    def last_run(self) -> tuple[str, float] | None:
        """(interpreter, client timeout) of the last stack that ran the witness fix."""
        lines = self.runs.read_text().splitlines() if self.runs.exists() else []
        if not lines:
            return None
        executable, _, timeout = lines[-1].partition("\t")
        return executable, float(timeout or "inf")

    def backend_log(self) -> list[dict[str, Any]] | None:
        return json.loads(self.log.read_text()) if self.log.exists() else None


@contextlib.contextmanager
def _witnessing() -> Iterator[_Witness]:
    with tempfile.TemporaryDirectory(prefix="looplab-witness-") as folder:
        witness = _Witness(folder)
        saved = {name: os.environ.get(name) for name in (WITNESS_ENV, WITNESS_LOG_ENV)}
        os.environ[WITNESS_ENV], os.environ[WITNESS_LOG_ENV] = str(witness.runs), str(witness.log)
        try:
            yield witness
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _why_it_passed(exercise: str, where: str, log: list[dict[str, Any]] | None, python: Path | None) -> None:
    """Why a test passed on the bug, from what the backend saw while the test ran it: the hint. (``log`` is None
    when the backend kept none: a real vLLM, or a test that never started the stack with the adapter.)"""
    chats = [r for r in log or [] if r["path"] == CHAT]
    startup = next((r for r in log or [] if r["path"] == MODELS), None)
    on_startup = [r for r in chats if startup is not None and r["client_port"] == startup["client_port"]]
    repeated = {m: n for m, n in Counter(r["user"] for r in chats).items() if n > 1}
    if log is not None and not chats:
        raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack, and no chat "
                             "request reached the backend through the adapter it was given: start the stack with "
                             "start_stack(adapter=adapter, ...) and send requests through it.")
    if log is not None and not on_startup:
        raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack: none of its "
                             "requests went out on the start-up connection (the one register_model left in the pool). "
                             "The start-up connection had been closed before the first request (the mock's keep-alive "
                             "expired, or the test expired it), and the bug needs it alive: send the first requests "
                             "right after start-up, with a long keep-alive on the mock (start_mock(keepalive_s=60)).")
    if None in repeated:
        raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack: every answer "
                             "was 200, and yet the backend generated the first answer twice (the old client retried the "
                             "crashed request on a new connection). Mark each request (chat(..., user=marker)) and "
                             "assert, from the mock's log, that each was generated once (delivery_counts).")
    if repeated:
        marker, times = next(iter(repeated.items()))
        raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack: your requests "
                             f"were marked, and the backend generated the first answer twice ('{marker}' {times} times: "
                             "the old client retried the crashed request on a new connection), yet your test passed: "
                             "assert from the mock's log that each marker was generated exactly once (delivery_counts).")
    if log is not None and python is None:
        raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack: the first "
                             "request after start-up failed (the backend's log shows it on the start-up connection, and "
                             "the stack answered it with an error), yet your test passed. Assert that every request "
                             "after start-up succeeds, the first one included.")
    raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack, so it cannot catch "
                         "the bug there: assert that the FIRST requests after start-up succeed, and that the backend "
                         "generated each once, with the start-up connection still alive (a long keep-alive on the mock).")


def regression_test(test: Callable[..., None]) -> None:
    """Lab 7a: ``test(adapter, python)`` fails (AssertionError) on the broken adapter on each of three client
    stacks, passes on two fixes on each, really starts the stack with ``python``, with a short client timeout."""
    exercise = "Exercise 7a (a regression test)"
    _takes_adapter_and_python(exercise, test)
    stacks = _stacks()
    with _witnessing() as witness:
        for where, python in stacks.items():
            witness.clear()
            if _verdict(exercise, test, BROKEN, python, where) == "passed":
                _why_it_passed(exercise, where, witness.backend_log(), python)
        for where, python in stacks.items():
            for adapter in (WITNESS, "per_call"):
                witness.clear()
                verdict = _verdict(exercise, test, adapter, python, where)
                if verdict != "passed":
                    raise LabCheckFailed(exercise, f"your test fails on the fixed adapter '{NAMES.get(adapter, adapter)}' "
                                         f"on {where} client stack ({verdict}): it must pass on every fix. Assert "
                                         "on what the bug breaks (the answers, the work done once), not on how a "
                                         "fix serves them.")
                run = witness.last_run() if adapter == WITNESS else None
                if adapter == WITNESS and (run is None or not _same(run[0], python)):
                    raise LabCheckFailed(exercise, "your test did not start the stack with the interpreter it "
                                         "was given (each client stack is a separate Python environment): "
                                         "pass it on, start_stack(..., python=python).")
                if run is not None and run[1] > SHORT_TIMEOUT_S:
                    raise LabCheckFailed(exercise, f"your test starts the stack without a short client timeout: its "
                                         f"client waits up to {run[1]:.0f} s for vLLM. On the reporter's stack, once "
                                         "the keep-alive has expired, requests hang that long, and a test that hangs "
                                         "cannot fail. Give the stack's client a short timeout (start_stack(..., "
                                         f"client_timeout=5), at most {SHORT_TIMEOUT_S:.0f} s), so a stuck request "
                                         "comes back as an error answer you can assert on.")
    passed(exercise, "fails on broken and passes on per_call and lifespan, on all three client stacks, with a short "
           "client timeout")


def _same(executable: str, python: Path | None) -> bool:
    return os.path.abspath(executable) == os.path.abspath(python or sys.executable)  # venvs share a base


# --- 7b: the guard ------------------------------------------------------------------------------------------

class _Recorder:
    """A stand-in client that records every attribute that reaches it."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        return lambda *a, **k: "ok"


def _closed_loop_scenario(guard: Callable[[Any], Any], box: dict[str, Any]) -> None:
    """Made under one asyncio.run, used under the next (the incident's shape)."""
    target = _Recorder()

    async def create() -> Any:
        guarded = guard(target)
        box["created"] = True
        guarded.chat("same loop")  # use on the creating loop must work
        return guarded

    guarded = asyncio.run(create())
    before = len(target.touched)
    box["module"] = type(guarded).__module__

    async def use() -> None:
        guarded.chat("other loop")

    try:
        asyncio.run(use())
        box["raised"] = None
    except Exception as exc:  # noqa: BLE001 (any clear error will do)
        box["raised"] = exc
    box["same_loop_ok"] = before == 1
    box["reached_target"] = len(target.touched) > before


def _open_loop_scenario(guard: Callable[[Any], Any], box: dict[str, Any]) -> None:
    """Made on a loop that keeps running in another thread, used from this thread's loop meanwhile."""
    target = _Recorder()
    home = asyncio.new_event_loop()
    runner = threading.Thread(target=home.run_forever, daemon=True)
    runner.start()
    try:
        async def create() -> Any:
            return guard(target)

        guarded = asyncio.run_coroutine_threadsafe(create(), home).result(10)

        async def use() -> None:
            guarded.chat("another running loop")

        try:
            asyncio.run(use())
            box["raised"] = None
        except Exception as exc:  # noqa: BLE001
            box["raised"] = exc
        box["reached_target"] = bool(target.touched)
    finally:
        home.call_soon_threadsafe(home.stop)
        runner.join(10)
        home.close()


def _run(scenario: Callable[[Callable[[Any], Any], dict[str, Any]], None], guard: Callable[[Any], Any],
         exercise: str) -> dict[str, Any]:
    box: dict[str, Any] = {}

    def guarded_scenario() -> None:
        try:
            scenario(guard, box)
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
    if setup_error is not None and box.get("created"):
        raise LabCheckFailed(exercise, f"using the guarded client on the loop that created it raised "
                             f"{type(setup_error).__name__}: {setup_error}. There the guard must pass every attribute "
                             "through: the loop to remember is the one running when the guard is made "
                             "(asyncio.get_running_loop()).")
    if setup_error is not None:
        raise LabCheckFailed(exercise, f"creating the guard (guard(client), inside a coroutine) raised "
                             f"{type(setup_error).__name__}: {setup_error}")
    return box


def loop_guard(guard: Callable[[Any], Any]) -> None:
    """Lab 7b: ``guard(client)`` (called on a loop) refuses use from any other loop, closed or running, before
    any I/O, and passes use on its own loop through."""
    exercise = "Exercise 7b (a loop-affinity guard)"
    box = _run(_closed_loop_scenario, guard, exercise)
    if str(box.get("module", "")).startswith("looplab."):
        raise LabCheckFailed(exercise, "your guard hands the work to looplab's own guard (loop_bound). Write the "
                             "check yourself: remember the loop in __init__, compare it in __getattr__.")
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
    box = _run(_open_loop_scenario, guard, exercise)
    if box.get("raised") is None or box.get("reached_target"):
        raise LabCheckFailed(exercise, "used from another loop while its own loop is still running (two threads, "
                             "two loops), the guard let the call through. A closed loop is only one case: compare "
                             "the running loop with the creating loop (`is`), do not only ask whether the old one "
                             "is closed.")
    passed(exercise, f"refused on a closed loop's successor and on another running loop, before any I/O: "
           f"{type(box['raised']).__name__}")
