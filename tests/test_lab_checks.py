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


CRASH_HEADER = """
    import asyncio, sys
    import openai

    async def ask(client, n):
        reply = await client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": str(n)}])
        return reply.choices[0].message.content
"""


def test_lab1_a_client_per_loop_does_not_crash(scratch):
    path = scratch("crash_lab.py", CRASH_HEADER + """
    for n in (1, 2):
        client = openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)  # a new client each loop
        print(asyncio.run(ask(client, n)))
    """)
    fails_with("ran without crashing", checks.crash_script, path)


def test_lab1_no_request_in_the_first_loop_does_not_crash(scratch):
    path = scratch("crash_lab.py", CRASH_HEADER + """
    client = openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)
    asyncio.run(asyncio.sleep(0))  # loop 1 makes no request: nothing pooled
    print(asyncio.run(ask(client, 2)))
    """)
    fails_with("ran without crashing", checks.crash_script, path)


ADAPTER_HEADER = """
    from looplab.adapters.base import VLLMAdapterBase, close_shielded, iterate_stream
"""


def test_lab2_a_lazy_client_does_not_reproduce_the_bug(scratch):
    scratch("lazy_adapter.py", ADAPTER_HEADER + """
    class VLLMInferenceAdapter(VLLMAdapterBase):
        client = None

        async def register_model(self, model_id):
            async with self._new_client() as client:
                return await self._validate_model(client, model_id)

        async def chat_completion(self, model, messages, *, stream=False, **params):
            self.client = self.client or self._new_client()
            response = await self.client.chat.completions.create(model=model, messages=messages, stream=stream)
            return iterate_stream(response) if stream else response
    """)
    fails_with("not the crash", checks.broken_adapter, "lazy_adapter:VLLMInferenceAdapter")


def test_lab2_registration_without_validation_is_caught(scratch):
    scratch("trusting_adapter.py", ADAPTER_HEADER + """
    class VLLMInferenceAdapter(VLLMAdapterBase):
        async def initialize(self):
            self.client = self._new_client()

        async def register_model(self, model_id):
            await self.client.models.list()
            return {"identifier": model_id}  # never checks that the backend serves it

        async def chat_completion(self, model, messages, *, stream=False, **params):
            response = await self.client.chat.completions.create(model=model, messages=messages, stream=stream)
            return iterate_stream(response) if stream else response
    """)
    fails_with("accepted a model the backend does not serve", checks.broken_adapter, "trusting_adapter:VLLMInferenceAdapter")


def lost_ok(records, startup_port):
    return [r for r in records if r["path"] == "/v1/chat/completions" and r["client_port"] == startup_port]


def twice_ok(records):
    counts = Counter(r["user"] for r in records if r["path"] == "/v1/chat/completions")
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


@pytest.mark.parametrize("variant, hint", [
    ("looplab.adapters.wrong:ClosedBeforeStreamPerCall", "streams fail"),
    ("looplab.adapters.wrong:NeverClosedPerCall", "clients are not closed"),
    ("lifespan", "a client is being reused"),
])
def test_lab5_the_classic_mistakes_are_caught(scratch, variant, hint):
    fails_with(hint, checks.per_call_adapter, variant)


@pytest.mark.parametrize("variant, hint", [
    ("per_call", "a new client (and connection) per call"),
    ("broken", "first request after start-up"),
    ("looplab.adapters.wrong:LazyTouchedAtStartup", "first request after start-up"),
])
def test_lab6_slow_or_broken_answers_are_caught(scratch, variant, hint):
    fails_with(hint, checks.fast_adapter, variant)


def test_lab7_a_test_that_cannot_fail_is_caught():
    from looplab.servers import start_mock, start_stack
    from looplab.course.helpers import chat

    def lenient_test(adapter):  # checks only the LAST request: passes on the bug
        with start_mock(keepalive_s=60) as vllm, start_stack(adapter=adapter, vllm_url=vllm.base_url,
                                                              models=["tiny-llama"]) as stack:
            statuses = [chat(stack.base_url).status_code for _ in range(3)]
        assert statuses[-1] == 200
    fails_with("passes on the broken adapter", checks.regression_test, lenient_test)


def test_lab7_a_guard_that_checks_only_at_creation_is_caught():
    import asyncio

    class CreationOnlyGuard:
        def __init__(self, client):
            asyncio.get_running_loop()  # "checked" once
            self._client = client

        def __getattr__(self, name):
            return getattr(self._client, name)
    fails_with("nothing stopped it", checks.loop_guard, CreationOnlyGuard)
