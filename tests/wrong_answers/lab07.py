"""Lab 07: a regression test for every client stack (7a, functions), and a loop-affinity guard (7b, classes)."""

from __future__ import annotations

import asyncio

from . import Wrong

LAB = 7


def _test(adapter, python=None, *, markers=("m0", "m1", "m2"), marked=True, expire=False, keepalive_s=60, client_timeout=5,
          pass_python=True, check_delivery=True, only_last=False, request_timeout=30, one_connection=False):
    """Notebook 07's test, and lab 7a's answer, with a switch for each mistake the lab warns about."""
    from looplab.course.helpers import chat
    from looplab.proofs.verify import delivery_counts
    from looplab.servers import start_mock, start_stack

    options = {"client_timeout": client_timeout} if client_timeout else {}
    with start_mock(keepalive_s=keepalive_s) as vllm, \
         start_stack(adapter=adapter, vllm_url=vllm.base_url, models=["tiny-llama"],
                     python=python if pass_python else None, **options) as stack:
        if expire:
            vllm.expire_keepalive()  # "as in production, the idle connections have timed out"
        statuses = [chat(stack.base_url, user=m if marked else None, timeout=request_timeout).status_code
                    for m in markers]
        records = vllm.requests("/v1/chat/completions")
        repeated = delivery_counts(records, list(markers))
    if only_last:
        assert statuses[-1] == 200
    else:
        assert statuses == [200] * len(markers), statuses
    if check_delivery:
        assert repeated == {}, repeated
    if one_connection:
        assert len({r["client_port"] for r in records}) == 1, "one client, one connection"


def statuses_only(adapter, python=None):
    _test(adapter, python, marked=False, check_delivery=False)


def marks_but_never_asks_the_log(adapter, python=None):
    _test(adapter, python, check_delivery=False)


def only_the_last_request(adapter, python=None):
    _test(adapter, python, only_last=True, check_delivery=False)


def waits_out_the_keep_alive(adapter, python=None):
    _test(adapter, python, expire=True, client_timeout=2)


def ignores_the_interpreter(adapter, python=None):
    _test(adapter, python, markers=("m0", "m1"), pass_python=False)


def demands_one_connection(adapter, python=None):
    _test(adapter, python, one_connection=True)


def no_client_timeout(adapter, python=None):
    _test(adapter, python, client_timeout=None)


def errors_on_a_stuck_request(adapter, python=None):  # keep-alive expired, the reporter's stack wedges
    _test(adapter, python, expire=True, client_timeout=None, request_timeout=3, check_delivery=False)


class CreationOnlyGuard:
    def __init__(self, client):
        asyncio.get_running_loop()  # "checked" once
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)


class _RemembersItsLoop:
    """What each guard below does right: remember the client and the loop running when it is made."""

    def __init__(self, client):
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_loop", asyncio.get_running_loop())


class NewLoopGuard(_RemembersItsLoop):
    def __init__(self, client):
        super().__init__(client)
        object.__setattr__(self, "_loop", asyncio.new_event_loop())  # a new loop, not the running one

    def __getattr__(self, name):
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("used on another event loop than the one that created the client")
        return getattr(self._client, name)


class LooksAfterTouchingGuard(_RemembersItsLoop):
    def __getattr__(self, name):
        attribute = getattr(self._client, name)  # the client is reached first
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("used on another event loop than the one that created the client")
        return attribute


class IsClosedGuard(_RemembersItsLoop):
    def __getattr__(self, name):
        if self._loop.is_closed():  # misses another loop while this one still runs
            raise RuntimeError("this client's loop is closed")
        return getattr(self._client, name)


class SilentGuard(_RemembersItsLoop):
    def __getattr__(self, name):
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("not allowed")  # says nothing of what happened
        return getattr(self._client, name)


def delegating_guard(client):
    from looplab import loop_bound
    return loop_bound(client)


def regression(name: str, breaks: str, hint: str, test) -> Wrong:
    return Wrong(name, breaks, hint, "regression_test", (test,))


def guard(name: str, breaks: str, hint: str, answer) -> Wrong:
    return Wrong(name, breaks, hint, "loop_guard", (answer,))


WRONG = [
    regression("checks-only-statuses", "R1", "Mark each request", statuses_only),
    regression("marks-but-never-asks-the-log", "R1", "yet your test passed: assert from the mock's log",
               marks_but_never_asks_the_log),
    regression("checks-only-the-last-request", "R1", "the first request after start-up failed", only_the_last_request),
    regression("waits-out-the-keep-alive", "R2", "start-up connection had been closed", waits_out_the_keep_alive),
    regression("ignores-the-interpreter", "R3", "did not start the stack with the interpreter", ignores_the_interpreter),
    regression("demands-one-connection", "R4", "fails on the fixed adapter 'per_call'", demands_one_connection),
    regression("no-client-timeout", "R5", "without a short client timeout", no_client_timeout),
    regression("errors-on-a-stuck-request", "R5", "A test must fail with an assert, not crash or hang",
               errors_on_a_stuck_request),
    guard("a-new-loop-for-the-running-one", "R6", "on the loop that created it", NewLoopGuard),
    guard("checks-only-at-creation", "R7", "nothing stopped it", CreationOnlyGuard),
    guard("looks-after-touching-the-client", "R7", "only after the call reached the client", LooksAfterTouchingGuard),
    guard("asks-only-if-the-old-loop-is-closed", "R8", "while its own loop is still running", IsClosedGuard),
    guard("says-nothing-of-the-loop", "R9", "mention the loop", SilentGuard),
    guard("looplabs-own-guard", "R10", "looplab's own guard", delegating_guard),
]
