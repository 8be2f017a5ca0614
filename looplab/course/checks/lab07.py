"""Lab 7: a regression test and a loop-affinity guard."""

from __future__ import annotations

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
    passed(exercise, "fails on broken, passes on per_call and lifespan")


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
    passed(exercise, f"refused on another loop, before any I/O: {type(box['raised']).__name__}")
