"""Every lab check proves itself by breakage: the classic wrong answer fails it with the intended hint.

Wrong answers are written as files into a scratch folder that the stack process imports from
(its working directory), exactly as a learner's ``%%writefile`` cell would.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import pytest

from looplab.course import checks
from looplab.course.checks import LabCheckFailed


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # servers started by the checks import learners' modules from here

    def write(name: str, source: str) -> str:
        (tmp_path / name).write_text(textwrap.dedent(source))
        return name
    return write


def fails_with(hint: str, check, *args) -> None:
    with pytest.raises(LabCheckFailed) as failed:
        check(*args)
    assert hint in failed.value.hint, failed.value.hint


SCRIPT_HEADER = """
    import asyncio, functools, sys
    import openai

    def new_client():
        return openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)

    async def ask(client, name, n):
        reply = await client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": f"{name} {n}"}])
        return reply.choices[0].message.content
"""


def test_lab1a_a_client_per_job_does_not_crash(scratch):
    path = scratch("crash_lab.py", SCRIPT_HEADER + """
    async def job(name):
        client = new_client()  # made inside the job: its own loop
        for n in (1, 2):
            print(await ask(client, name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """)
    fails_with("ran without crashing", checks.crash_script, path)


def test_lab1a_no_request_in_the_first_job_does_not_crash(scratch):
    path = scratch("crash_lab.py", SCRIPT_HEADER + """
    get_client = functools.cache(new_client)

    async def job(name):
        print(await ask(get_client(), name, 1))

    async def idle():
        get_client()  # made on loop 1, but nothing pooled there

    asyncio.run(idle())
    asyncio.run(job("second"))
    """)
    fails_with("ran without crashing", checks.crash_script, path)


CACHED_JOBS = SCRIPT_HEADER + """
    get_client = functools.cache(new_client)

    async def job(name):
        for n in (1, 2):
            print(await ask(get_client(), name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
"""


def test_lab1b_the_cached_getter_still_crashes(scratch):
    fails_with("it still crashes", checks.fixed_script, scratch("fixed_lab.py", CACHED_JOBS))


def test_lab1b_a_client_per_request_is_correct_but_not_the_answer(scratch):
    path = scratch("fixed_lab.py", SCRIPT_HEADER + """
    async def job(name):
        for n in (1, 2):
            async with new_client() as client:  # a new client, and connection, for every request
                print(await ask(client, name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """)
    fails_with("a new client for every request", checks.fixed_script, path)


def test_lab1b_a_client_per_loop_never_closed_is_caught(scratch):
    path = scratch("fixed_lab.py", SCRIPT_HEADER + """
    clients = {}

    def get_client():  # one per running loop: no crash, but nothing closes them
        loop = asyncio.get_running_loop()
        if loop not in clients:
            clients[loop] = new_client()
        return clients[loop]

    async def job(name):
        for n in (1, 2):
            print(await ask(get_client(), name, n))

    asyncio.run(job("first"))
    asyncio.run(job("second"))
    """)
    fails_with("unclosed transport", checks.fixed_script, path)


def test_lab1b_dropping_a_job_is_caught(scratch):
    path = scratch("fixed_lab.py", SCRIPT_HEADER + """
    async def job(name):
        async with new_client() as client:
            for n in (1, 2):
                print(await ask(client, name, n))

    asyncio.run(job("first"))  # the second job is gone: nothing left to crash
    """)
    fails_with("the jobs make 4", checks.fixed_script, path)


def test_lab1_a_missing_script_gets_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fails_with("run the %%writefile cell above first", checks.fixed_script, "fixed_lab.py")


LAZY_HEADER = """
    from looplab.adapters.base import VLLMAdapterBase

    class Base(VLLMAdapterBase):
        client = None

        async def chat_completion(self, model, messages, *, stream=False, **params):
            if self.client is None:
                self.client = self._new_client()
            return await self.client.chat.completions.create(model=model, messages=messages, stream=stream)

        async def shutdown(self):
            if self.client is not None:
                await self.client.close()
"""


@pytest.mark.parametrize("body, hint", [
    ("""
    class VLLMInferenceAdapter(Base):  # 0.2.2: the client is made in initialize()
        async def initialize(self):
            self.client = self._new_client()

        async def register_model(self, model_id):
            return await self._validate_model(self.client, model_id)
    """, "first request after start-up crashed"),
    ("""
    class VLLMInferenceAdapter(Base):  # lazy, but register_model is the first use, on the start-up loop
        async def register_model(self, model_id):
            self.client = self.client or self._new_client()
            return await self._validate_model(self.client, model_id)
    """, "first request after start-up crashed"),
    ("""
    class VLLMInferenceAdapter(Base):  # a client per call: correct, but not what 0.2.3 did
        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            client = self._new_client()
            return await client.chat.completions.create(model=model, messages=messages, stream=stream)
    """, "a new client for every call"),
    ("""
    class VLLMInferenceAdapter(Base):  # closes the kept client when registering while serving
        async def register_model(self, model_id):
            async with (self.client or self._new_client()) as client:
                return await self._validate_model(client, model_id)
    """, "register_model closed the client the requests use"),
    ("""
    class VLLMInferenceAdapter(Base):  # 0.2.3 exactly: the throwaway start-up client is never closed
        async def register_model(self, model_id):
            client = self._new_client() if self.client is None else self.client
            return await self._validate_model(client, model_id)
    """, "a client was never closed"),
    ("""
    class VLLMInferenceAdapter(Base):  # never checks that the backend serves it
        async def register_model(self, model_id):
            return {"identifier": model_id, "provider_resource_id": model_id, "provider_id": "vllm"}
    """, "accepted a model the backend does not serve"),
], ids=["client-in-initialize", "kept-from-register-model", "per-call", "closes-the-kept-client",
        "throwaway-never-closed", "no-validation"])
def test_lab2_the_wrong_lazy_fixes_are_caught(scratch, body, hint):
    scratch("wrong_lazy.py", LAZY_HEADER + body)
    fails_with(hint, checks.lazy_adapter, "wrong_lazy:VLLMInferenceAdapter")


def lost_ok(records, startup_port):
    return [r for r in records if r["path"] == "/v1/chat/completions" and r["client_port"] == startup_port]


def twice_ok(records):
    counts = Counter(r["user"] for r in records if r["path"] == "/v1/chat/completions" and r["user"])
    return {user: n for user, n in counts.items() if n > 1}


def test_lab3_counting_per_connection_misses_the_retry():
    def twice_by_port(records):
        counts = Counter(r["client_port"] for r in records if r["path"] == "/v1/chat/completions")
        return {str(port): n for port, n in counts.items() if n > 1}
    fails_with("per `user` marker", checks.log_analysis, lost_ok, twice_by_port)


def test_lab3_every_chat_request_is_not_lost_work():
    def all_chat(records, startup_port):
        return [r for r in records if r["path"] == "/v1/chat/completions"]
    fails_with("start-up connection", checks.log_analysis, all_chat, twice_ok)


def test_lab3_a_count_fitted_to_the_first_log_is_caught():
    def twice_hard_coded(records):
        return {"first": 2}
    fails_with("markers a x3, b x1, c x2", checks.log_analysis, lost_ok, twice_hard_coded)


def test_lab3_counting_unmarked_requests_is_caught():
    def twice_with_unmarked(records):
        counts = Counter(r.get("user") for r in records if r["path"] == "/v1/chat/completions")
        return {user: n for user, n in counts.items() if n > 1}
    fails_with("requests without a marker", checks.log_analysis, lost_ok, twice_with_unmarked)


def test_lab3_lost_requests_fitted_to_the_first_log_is_caught():
    def lost_by_position(records, startup_port):
        return [r for r in records if r["path"] == "/v1/chat/completions"][:1]
    fails_with("on another log, lost_requests", checks.log_analysis, lost_by_position, twice_ok)


def test_lab3_the_answer_passes(capsys):
    checks.log_analysis(lost_ok, twice_ok)
    assert capsys.readouterr().out.startswith("✔ passed")


@pytest.mark.parametrize("variant, hint", [
    ("looplab.adapters.wrong:ClosedBeforeStreamPerCall", "streams fail"),
    ("looplab.adapters.wrong:NeverClosedPerCall", "clients are not closed"),
    ("lifespan", "a client is being reused"),
])
def test_lab5_the_classic_mistakes_are_caught(scratch, variant, hint):
    fails_with(hint, checks.per_call_adapter, variant)


FAST_HEADER = """
    from looplab.adapters.base import VLLMAdapterBase, close_shielded

    class Base(VLLMAdapterBase):
        client = None

        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            return await self.client.chat.completions.create(model=model, messages=messages, stream=stream)
"""


@pytest.mark.parametrize("variant, hint", [
    ("per_call", "a new client (and connection) per call"),
    ("broken", "first request after start-up"),
    ("looplab.adapters.wrong:LazyTouchedAtStartup", "first request after start-up"),
])
def test_lab6_slow_or_broken_answers_are_caught(scratch, variant, hint):
    fails_with(hint, checks.fast_adapter, variant)


@pytest.mark.parametrize("body, hint", [
    ("""
    class FastAdapter(Base):  # lifespan-owned, but the stop hook does nothing
        async def on_serving_start(self):
            self.client = self._new_client()

        async def on_serving_stop(self):
            pass
    """, "connection(s) to vLLM are still open"),
    ("""
    class FastAdapter(Base):  # lazy on first use, never closed
        async def chat_completion(self, model, messages, *, stream=False, **params):
            if self.client is None:
                self.client = self._new_client()
            return await super().chat_completion(model, messages, stream=stream, **params)
    """, "connection(s) to vLLM are still open"),
    ("""
    class FastAdapter(Base):  # the registration client is dropped, not closed
        async def register_model(self, model_id):
            return await self._validate_model(self._new_client(), model_id)

        async def on_serving_start(self):
            self.client = self._new_client()

        async def on_serving_stop(self):
            await close_shielded(self.client)
    """, "ResourceWarning"),
], ids=["no-op-stop-hook", "lazy-never-closed", "registration-client-dropped"])
def test_lab6_answers_that_leave_clients_open_are_caught(scratch, body, hint):
    scratch("wrong_fast.py", FAST_HEADER + body)
    fails_with(hint, checks.fast_adapter, "wrong_fast:FastAdapter")


@pytest.mark.parametrize("variant", ["lifespan", "per_loop"])
def test_lab6_the_lifecycle_of_the_correct_answers_leaves_nothing_open(variant):
    report = checks.lifecycle(variant)
    assert report == {"open_after_shutdown": 0, "resource_warnings": []}


def _statuses_only(adapter, python=None, *, expire=False, request_timeout=30, client_timeout=60, pass_python=True):
    """Notebook 07's test, parametrised into the wrong answers lab 7a warns about."""
    from looplab.course.helpers import chat
    from looplab.servers import start_mock, start_stack

    with start_mock(keepalive_s=60) as vllm, start_stack(adapter=adapter, vllm_url=vllm.base_url, models=["tiny-llama"],
                                                          python=python if pass_python else None,
                                                          client_timeout=client_timeout) as stack:
        if expire:
            vllm.expire_keepalive()
        statuses = [chat(stack.base_url, timeout=request_timeout).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]


def test_lab7a_a_test_that_checks_only_statuses_misses_the_retried_duplicate():
    fails_with("generated the first answer twice", checks.regression_test, _statuses_only)


def test_lab7a_a_test_that_ignores_the_interpreter_it_is_given_is_caught():
    from looplab.course.helpers import chat
    from looplab.proofs.verify import delivery_counts
    from looplab.servers import start_mock, start_stack

    def on_this_interpreter_only(adapter, python=None):
        markers = ["m0", "m1"]
        with start_mock(keepalive_s=60) as vllm, start_stack(adapter=adapter, vllm_url=vllm.base_url,
                                                              models=["tiny-llama"]) as stack:  # python dropped
            statuses = [chat(stack.base_url, user=m).status_code for m in markers]
            repeated = delivery_counts(vllm.requests(), markers)
        assert statuses == [200, 200] and repeated == {}
    fails_with("did not start the stack with the interpreter it was given", checks.regression_test,
               on_this_interpreter_only)


def test_lab7a_a_test_that_errors_on_a_stuck_request_instead_of_failing_is_caught():
    def hangs_then_errors(adapter, python=None):  # keep-alive expired, the reporter's stack wedges; no client timeout
        _statuses_only(adapter, python, expire=True, request_timeout=3)
    fails_with("A test must fail with an assert, not crash or hang", checks.regression_test, hangs_then_errors)


def test_lab7a_a_test_that_checks_only_the_last_request_is_caught():
    def lenient(adapter, python=None):
        from looplab.course.helpers import chat
        from looplab.servers import start_mock, start_stack

        with start_mock(keepalive_s=60) as vllm, start_stack(adapter=adapter, vllm_url=vllm.base_url,
                                                              models=["tiny-llama"], python=python) as stack:
            statuses = [chat(stack.base_url).status_code for _ in range(3)]
        assert statuses[-1] == 200
    fails_with("passes on the broken adapter on today's", checks.regression_test, lenient)


class CreationOnlyGuard:
    def __init__(self, client):
        import asyncio
        asyncio.get_running_loop()  # "checked" once
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)


class IsClosedGuard:
    def __init__(self, client):
        import asyncio
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_loop", asyncio.get_running_loop())

    def __getattr__(self, name):
        if self._loop.is_closed():  # misses another loop while this one still runs
            raise RuntimeError("this client's loop is closed")
        return getattr(self._client, name)


def delegating_guard(client):
    from looplab import loop_bound
    return loop_bound(client)


@pytest.mark.parametrize("guard, hint", [
    (CreationOnlyGuard, "nothing stopped it"),
    (IsClosedGuard, "while its own loop is still running"),
    (delegating_guard, "looplab's own guard"),
], ids=["creation-only", "is-closed-only", "looplab-guard"])
def test_lab7b_guards_that_miss_a_loop_are_caught(guard, hint):
    fails_with(hint, checks.loop_guard, guard)


# --- lab 8: the sync bridge --------------------------------------------------------------------------

BRIDGE_ANSWER = '''
import asyncio, threading
import openai
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, daemon=True).start()
_clients = {}
async def _ask(base_url, text):
    if base_url not in _clients:
        _clients[base_url] = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    reply = await _clients[base_url].chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content
def ask(base_url, text):
    return asyncio.run_coroutine_threadsafe(_ask(base_url, text), _loop).result(timeout=60)
async def _close():
    for client in _clients.values():
        await client.close()
def close():
    asyncio.run_coroutine_threadsafe(_close(), _loop).result(timeout=60)
    _loop.call_soon_threadsafe(_loop.stop)
'''
_RUN_PER_CALL = '''
import asyncio
import openai
{setup}
def ask(base_url, text):
    async def go():
        {body}
    return asyncio.run(go())
def close():
    pass
'''
_CREATE = 'reply = await {client}.chat.completions.create(model="tiny-llama", messages=[{{"role": "user", "content": text}}])\n        return reply.choices[0].message.content'
BRIDGE_WRONG = {
    # the first version: one client, asyncio.run per call (what the lab starts from)
    "shared-client": (_RUN_PER_CALL.format(
        setup="_client = openai.AsyncOpenAI(base_url='http://127.0.0.1:9/v1', api_key='x', max_retries=0)\n"
              "def _get(base_url):\n    global _client\n    _client.base_url = base_url\n    return _client",
        body=_CREATE.format(client="_get(base_url)")), "Every asyncio.run makes a new loop"),
    # a client per thread is not a client per loop
    "per-thread": (_RUN_PER_CALL.format(
        setup="import threading\n_local = threading.local()\n"
              "def _get(base_url):\n    if not hasattr(_local, 'c'):\n"
              "        _local.c = openai.AsyncOpenAI(base_url=base_url, api_key='x', max_retries=0)\n    return _local.c",
        body=_CREATE.format(client="_get(base_url)")), "Every asyncio.run makes a new loop"),
    # correct, and a connection per call
    "client-per-call": (_RUN_PER_CALL.format(setup="", body="async with openai.AsyncOpenAI(base_url=base_url, "
                        "api_key='x', max_retries=0) as client:\n            " + _CREATE.format(client="client")
                        .replace("\n        ", "\n            ")), "a client per call"),
    # one loop, but close() forgets the client
    "close-forgets-the-client": (BRIDGE_ANSWER.replace(
        "    asyncio.run_coroutine_threadsafe(_close(), _loop).result(timeout=60)\n", ""), "close() must close the client"),
    # one loop made but never run: every call waits forever
    "loop-never-started": (BRIDGE_ANSWER.replace("threading.Thread(target=_loop.run_forever, daemon=True).start()\n", "")
                           .replace(".result(timeout=60)", ".result()"), "threads were still waiting after 3 s"),
    "no-close": (BRIDGE_ANSWER.split("async def _close")[0], "no close()"),
}


def test_lab8_the_answer_passes(scratch, capsys):
    checks.sync_bridge(scratch("bridge.py", BRIDGE_ANSWER))
    assert "9 calls from 5 threads" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(BRIDGE_WRONG))
def test_lab8_the_classic_mistakes_are_caught(scratch, name):
    source, hint = BRIDGE_WRONG[name]
    fails_with(hint, checks.sync_bridge, scratch("bridge.py", source), 3)  # a hung bridge costs 3 s here


def test_lab8_a_missing_file_and_the_stub_are_told_apart(scratch):
    fails_with("run the %%writefile cell above first", checks.sync_bridge, "nope.py")
    with pytest.raises(NotImplementedError):
        checks.sync_bridge(scratch("bridge.py", "raise NotImplementedError('Exercise: write your answer here')\n"))
