"""Lab 7: a regression test that holds on every client stack, and a loop-affinity guard."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...adapters.witness import WITNESS_ENV
from ...real.envs import exact_python, incident_python
from ..feedback import LabCheckFailed, passed

WITNESS = "looplab.adapters.witness:WitnessAdapter"


def _stacks() -> dict[str, Path | None]:
    """The three client stacks a test is run on, by name (None: the workshop's own interpreter)."""
    try:
        return {"today's (openai 3.x)": None, "the reporter's (httpcore 1.0.2)": exact_python(),
                "the incident era's (openai 1.x, retries on)": incident_python()}
    except FileNotFoundError as missing:
        raise LabCheckFailed("Exercise 7a (a regression test)", f"{missing}") from None


def _verdict(exercise: str, test: Callable[..., None], adapter: str, python: Path | None, where: str) -> str:
    try:
        test(adapter, python)
    except AssertionError:
        return "failed"
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 (the learner's test broke, rather than failed)
        raise LabCheckFailed(exercise, f"on {where} client stack, with adapter '{adapter}', your test raised "
                             f"{type(exc).__name__}: {str(exc)[:200]}. A test must fail with an assert, not "
                             "crash or hang: give the stack's client a short timeout (start_stack(..., "
                             "client_timeout=5)) so a stuck request comes back as an error answer you can "
                             "assert on.") from None
    return "passed"


def _witnessed(witness: Path, python: Path | None) -> bool:
    """Did the last stack the test started run on ``python`` (None: this interpreter)?"""
    seen = witness.read_text().split() if witness.exists() else []
    return bool(seen) and os.path.abspath(seen[-1]) == os.path.abspath(python or sys.executable)  # venvs share a base


def regression_test(test: Callable[..., None]) -> None:
    """Lab 7a: ``test(adapter, python)`` fails (AssertionError) on the broken adapter on each of three client
    stacks, passes on two fixes on each, and really starts the stack with ``python``."""
    exercise = "Exercise 7a (a regression test)"
    stacks = _stacks()
    for where, python in stacks.items():
        if _verdict(exercise, test, "broken", python, where) != "failed":
            hint = ("every answer was 200, and yet the backend generated the first answer twice: the old client "
                    "retried the crashed request on a new connection. Mark each request (chat(..., user=marker)) "
                    "and assert, from the mock's log, that each was generated once (delivery_counts)."
                    if python is not None else "assert that the FIRST requests after start-up succeed, with "
                    "the start-up connection still alive (a long keep-alive on the mock).")
            raise LabCheckFailed(exercise, f"your test passes on the broken adapter on {where} client stack, so "
                                 f"it cannot catch the bug there: {hint}")
    with tempfile.TemporaryDirectory(prefix="looplab-witness-") as folder:
        witness = Path(folder) / "interpreters.txt"
        saved = os.environ.get(WITNESS_ENV)
        os.environ[WITNESS_ENV] = str(witness)
        try:
            for where, python in stacks.items():
                for adapter in (WITNESS, "per_call"):
                    if _verdict(exercise, test, adapter, python, where) != "passed":
                        name = "lifespan" if adapter == WITNESS else adapter
                        raise LabCheckFailed(exercise, f"your test fails on the fixed adapter '{name}' on {where} "
                                             "client stack: it must pass on every fix.")
                    if adapter == WITNESS and not _witnessed(witness, python):
                        raise LabCheckFailed(exercise, "your test did not start the stack with the interpreter it "
                                             "was given (each client stack is a separate Python environment): "
                                             "pass it on, start_stack(..., python=python).")
        finally:
            if saved is None:
                os.environ.pop(WITNESS_ENV, None)
            else:
                os.environ[WITNESS_ENV] = saved
    passed(exercise, "fails on broken and passes on per_call and lifespan, on all three client stacks")


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
    if setup_error is not None:
        raise LabCheckFailed(exercise, f"creating the guard, or using it on its own loop, raised "
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
