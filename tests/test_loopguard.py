"""The loop guard a team adopts: a cross-loop use becomes a clear error naming where the client was made.

Real clients (openai on httpx2, plain httpx) against the real mock server; the same misuse without
the guard shows the incident's own error, so the guard's message is what changed, not the bug.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import httpx
import openai
import pytest

from looplab.tools.loopguard import Guard, LoopAffinityError, LoopGuardWarning, guard


@pytest.fixture(scope="module")
def base_url():
    from looplab.servers import start_mock

    with start_mock() as mock:
        yield mock.base_url


def _ask(client):
    return client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "hi"}])


def test_without_the_guard_the_second_loop_gets_the_incidents_error(base_url):
    client = openai.AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)
    asyncio.run(_ask(client))
    with pytest.raises(Exception) as failure:
        asyncio.run(_ask(client))
    assert "Event loop is closed" in repr(failure.value) + repr(failure.value.__cause__)


def test_the_guard_names_the_client_where_it_was_made_and_the_closed_loop(base_url):
    with guard():
        client = openai.AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0); made = sys._getframe().f_lineno  # noqa: E702
        asyncio.run(_ask(client))
        with pytest.raises(LoopAffinityError) as failure:
            asyncio.run(_ask(client))
    message = str(failure.value)
    assert message.startswith("AsyncOpenAI made at ") and f"{__file__}:{made}" in message
    assert "(now closed)" in message


def test_the_guard_catches_plain_httpx_and_a_loop_still_running_in_another_thread(base_url):
    with guard():
        client = httpx.AsyncClient()
        started, stop = threading.Event(), None

        def other() -> None:
            nonlocal stop
            loop = asyncio.new_event_loop()
            stop = loop.stop
            loop.run_until_complete(client.get(base_url + "/models"))
            started.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=other)
        thread.start()
        assert started.wait(30)
        with pytest.raises(LoopAffinityError, match="still running, in another thread"):
            asyncio.run(client.get(base_url + "/models"))
        stop.__self__.call_soon_threadsafe(stop)
        thread.join(30)


def test_right_uses_pass_and_the_guard_leaves_the_classes_as_they_were(base_url):
    before = (openai._base_client.AsyncAPIClient.request, httpx.AsyncClient.send, httpx.AsyncClient.__init__)
    with guard():
        async def per_run():
            async with openai.AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0) as client:
                await _ask(client)
                await _ask(client)
        asyncio.run(per_run())
        asyncio.run(per_run())
        loop = asyncio.new_event_loop()
        shared = openai.AsyncOpenAI(base_url=base_url, api_key="-", max_retries=0)
        loop.run_until_complete(_ask(shared))
        loop.run_until_complete(_ask(shared))  # one loop, used twice: fine
        loop.run_until_complete(shared.close())
        loop.close()
    assert (openai._base_client.AsyncAPIClient.request, httpx.AsyncClient.send, httpx.AsyncClient.__init__) == before


def test_the_pytest_option_turns_a_suites_cross_loop_use_into_the_guards_error(base_url, tmp_path):
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(f"""
        import asyncio, openai
        client = openai.AsyncOpenAI(base_url={base_url!r}, api_key="-", max_retries=0)
        async def ask():
            await client.chat.completions.create(model="tiny-llama", messages=[{{"role": "user", "content": "hi"}}])
        def test_one():
            asyncio.run(ask())
        def test_two():
            asyncio.run(ask())
    """))
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "looplab.tools.loopguard", *extra,
         "test_suite.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    guarded = run("--loop-guard")
    assert guarded.returncode == 1 and "1 failed, 1 passed" in guarded.stdout, guarded.stdout[-2000:]
    assert "LoopAffinityError: AsyncOpenAI made at" in guarded.stdout and "test_suite.py:3" in guarded.stdout
    plain = run()
    assert "LoopAffinityError" not in plain.stdout and "Event loop is closed" in plain.stdout, plain.stdout[-2000:]


def test_a_client_the_guard_cannot_track_is_let_through_and_said_once():
    """aiohttp 4's ClientSession has __slots__ and no __weakref__: the guard's weak-keyed look-up used
    to raise TypeError on every request. Now it lets such a client through, and warns once per class."""
    class SlottedClient:
        __slots__ = ("calls",)

        def __init__(self) -> None:
            self.calls = 0

        async def send(self) -> int:
            self.calls += 1
            return self.calls

    active = Guard()
    active._patch(SlottedClient, "send")
    try:
        client = SlottedClient()
        with pytest.warns(LoopGuardWarning, match="cannot be weakly referenced") as warned:
            assert asyncio.run(client.send()) == 1
            assert asyncio.run(client.send()) == 2  # a second loop: let through, neither TypeError nor a false alarm
            assert asyncio.run(client.send()) == 3
        assert len(warned) == 1
        assert list(active.untracked.values()) == [3] and next(iter(active.untracked)).endswith("SlottedClient")
    finally:
        active.uninstall()
    assert "send" in SlottedClient.__dict__ and SlottedClient.send.__name__ == "send"  # the class as it was


def test_the_workshops_old_plugin_path_still_gives_the_option(tmp_path):
    """`pytest -p looplab.tools.loopguard --loop-guard` (the notebooks' spelling) still works: the
    option comes from the installed entry point, and the shim registers no hooks twice."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "looplab.tools.loopguard",
                          "--loop-guard", "test_one.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "loop guard: on for" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
