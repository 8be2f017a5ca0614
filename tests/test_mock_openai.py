"""The mock served as a real process, driven by the real ``openai`` client (sync and async)."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx2
import openai
import pytest

from looplab.mock_vllm import VLLM_VERSION

from looplab.proofs import verify
from looplab.mock_vllm.faults import FaultPlan, parse_fault

KEY = "sekret"
HELLO = [{"role": "user", "content": "hello event loop"}]


@pytest.fixture(scope="module")
def mock():
    from looplab.servers import start_mock

    with start_mock(models=["tiny-llama", "tiny-llama-2"], api_key=KEY, max_model_len=256) as server:
        yield server


@pytest.fixture
def client(mock):
    with openai.OpenAI(base_url=mock.base_url, api_key=KEY, max_retries=0, timeout=10) as c:
        yield c


def arun(coro_fn, mock):
    async def main():
        async with openai.AsyncOpenAI(base_url=mock.base_url, api_key=KEY, max_retries=0, timeout=10) as c:
            return await coro_fn(c)
    return asyncio.run(main())


def test_model_list_has_vllms_fields(client):
    models = client.models.list().data
    assert [m.id for m in models] == ["tiny-llama", "tiny-llama-2"]
    card = models[0].model_dump()
    assert card["owned_by"] == "vllm" and card["object"] == "model"
    assert card["root"] == "tiny-llama" and card["parent"] is None and card["max_model_len"] == 256
    assert card["permission"][0]["object"] == "model_permission"


def test_chat_completion_echoes_the_prompt(client):
    reply = client.chat.completions.create(model="tiny-llama", messages=HELLO)
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == " hello event loop"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 3 and reply.usage.total_tokens == reply.usage.prompt_tokens + 3


def test_max_tokens_truncates_with_finish_reason_length(client):
    reply = client.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=2)
    assert reply.choices[0].message.content == " hello event"
    assert reply.choices[0].finish_reason == "length"


def test_async_chat_completion(mock):
    reply = arun(lambda c: c.chat.completions.create(model="tiny-llama-2", messages=HELLO), mock)
    assert reply.model == "tiny-llama-2" and reply.choices[0].message.content == " hello event loop"


def test_chat_stream_starts_with_role_and_ends_with_finish(client):
    chunks = list(client.chat.completions.create(model="tiny-llama", messages=HELLO, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == " hello event loop"
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.id == chunks[0].id and c.id.startswith("chatcmpl-") for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_chat_stream_usage_chunk_comes_last_with_no_choices(mock):
    async def go(c):
        stream = await c.chat.completions.create(model="tiny-llama", messages=HELLO, stream=True,
                                                 stream_options={"include_usage": True})
        return [chunk async for chunk in stream]
    chunks = arun(go, mock)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_seeded_output_is_deterministic(start_mock):
    server = start_mock(output="seeded")
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        texts = [c.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=6, seed=s)
                 .choices[0].message.content for s in (7, 7, 8)]
    assert texts[0] == texts[1] != texts[2]
    assert len(texts[0].split()) == 6


def test_completions_plain_and_streamed(client, mock):
    reply = client.completions.create(model="tiny-llama", prompt="one two three", max_tokens=2)
    assert reply.id.startswith("cmpl-") and reply.object == "text_completion"
    assert reply.choices[0].text == " one two" and reply.choices[0].finish_reason == "length"

    async def go(c):
        stream = await c.completions.create(model="tiny-llama", prompt="one two three", stream=True,
                                            stream_options={"include_usage": True})
        return [chunk async for chunk in stream]
    chunks = arun(go, mock)
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == " one two three"
    assert chunks[-1].usage.completion_tokens == 3


def test_tokenize_and_version(mock):
    body = httpx2.post(f"{mock.url}/tokenize", json={"model": "tiny-llama", "prompt": "a b c"}).json()
    assert body["count"] == 3 and len(body["tokens"]) == 3 and body["max_model_len"] == 256
    assert httpx2.get(f"{mock.url}/version").json() == {"version": VLLM_VERSION}


ERROR_CASES = {
    "unknown model": (dict(model="nope", messages=HELLO), openai.NotFoundError, 404, "NotFoundError", "model"),
    "max_tokens beyond context": (dict(model="tiny-llama", messages=HELLO, max_tokens=10_000),
                                  openai.BadRequestError, 400, "BadRequestError", "max_tokens"),
    "stream_options without stream": (dict(model="tiny-llama", messages=HELLO, stream_options={"include_usage": True}),
                                      openai.BadRequestError, 400, "BadRequestError", "stream_options"),
    "missing messages": (dict(model="tiny-llama", messages=openai.omit), openai.BadRequestError, 400,
                         "Bad Request", "body.messages"),
    "messages not a list": (dict(model="tiny-llama", messages="hi"), openai.BadRequestError, 400,
                            "Bad Request", "body.messages"),
    "max_tokens not a number": (dict(model="tiny-llama", messages=HELLO, max_tokens="many"),
                                openai.BadRequestError, 400, "Bad Request", "body.max_tokens"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_have_vllms_status_type_and_exception(client, case):
    kwargs, exc_class, status, error_type, param = ERROR_CASES[case]
    with pytest.raises(exc_class) as info:
        client.chat.completions.create(**kwargs)
    assert info.value.status_code == status
    assert info.value.body["type"] == error_type and info.value.body["param"] == param
    assert info.value.body["code"] == status and info.value.body["message"]


def test_invalid_json_is_a_400_in_vllms_shape(mock):
    response = httpx2.post(f"{mock.base_url}/chat/completions", content=b'{"model": "tiny-llama", "messages": [',
                           headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "Bad Request"


def test_api_key_is_required_on_v1_routes_only(mock):
    with openai.OpenAI(base_url=mock.base_url, api_key="wrong", max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError) as info:
            wrong.models.list()
    assert info.value.status_code == 401 and info.value.body == "Unauthorized"  # the client unwraps "error"
    assert httpx2.get(f"{mock.base_url}/models").status_code == 401  # no key at all
    assert httpx2.get(f"{mock.url}/health").status_code == 200  # not under /v1


def test_latency_knobs_measured_by_the_mocks_own_clock(start_mock):
    server = start_mock(ttft_ms=120, itl_ms=30)
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        chunks = list(c.chat.completions.create(model="tiny-llama", stream=True,
                                                messages=[{"role": "user", "content": "a b c d e"}]))
        c.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "a b c d e"}])
    assert len(chunks) == 6
    streamed, plain = server.requests("/v1/chat/completions")
    for record in (streamed, plain):
        assert record["t_first_token"] - record["t_start"] >= 0.120
        assert record["t_end"] - record["t_first_token"] >= 4 * 0.030  # five tokens, four gaps
    fast = start_mock()
    with openai.OpenAI(base_url=fast.base_url, api_key="x", max_retries=0) as c:
        c.chat.completions.create(model="tiny-llama", messages=HELLO)
    (record,) = fast.requests("/v1/chat/completions")
    slow = plain["t_end"] - plain["t_start"]
    assert record["t_end"] - record["t_start"] < slow / 2  # without the knobs, no such wait


def _raw_request(port: int, path: str) -> tuple[int, bytes]:
    """One GET on a connection we own, so we know its client port."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        local_port = sock.getsockname()[1]
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return local_port, data


def test_request_log_records_each_requests_client_port(mock, client):
    mock.clear_requests()
    local_port, data = _raw_request(mock.port, "/version")
    assert data.startswith(b"HTTP/1.1 200")
    client.chat.completions.create(model="tiny-llama", messages=HELLO)
    client.chat.completions.create(model="tiny-llama", messages=HELLO)
    version, first, second = mock.requests()
    assert version["path"] == "/version" and version["client_port"] == local_port
    assert first["client_port"] == second["client_port"] != local_port  # one pooled keep-alive connection
    assert first["request_number"] + 1 == second["request_number"]
    assert first["status"] == second["status"] == 200 and first["id"] != second["id"]


def test_keepalive_timeout_closes_idle_connections(start_mock):
    server = start_mock(keepalive_s=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        # Taken before the request: the server's 0.5 s idle timer starts after its answer, so the close
        # comes at least 0.5 s after this instant however loaded the machine is (a lower bound only).
        asked = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert sock.recv(65536) == b""  # the server closed the idle connection (recv would time out otherwise)
        assert time.monotonic() - asked >= 0.5  # closed by the timer, not at once


def test_faults_follow_their_schedule(start_mock):
    server = start_mock(faults=["500@1", "429@2", "drop@3,4", "stall@5"], stall_s=2)
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=0.5) as c:
        def chat(**kw):
            return c.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "a b c d e f"}], **kw)
        with pytest.raises(openai.InternalServerError):
            chat()
        with pytest.raises(openai.RateLimitError):
            chat()
        with pytest.raises(openai.APIConnectionError):
            chat()  # dropped before any response
        received = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in chat(stream=True):  # dropped mid-stream, after some chunks
                received.append(chunk)
        assert len(received) >= 2 and received[0].choices[0].delta.role == "assistant"
        with pytest.raises(openai.APITimeoutError):
            chat()  # stalled
        assert chat().choices[0].message.content == " a b c d e f"  # the schedule is over: served normally
    # the stalled request is logged when its stall ends (a deadline-bounded wait on that condition)
    assert verify.wait_until(lambda: len(server.requests("/v1/chat/completions")) == 6, timeout=10)
    by_number = {r["request_number"]: r for r in server.requests("/v1/chat/completions")}
    assert {n: r["fault"] for n, r in by_number.items()} == {1: "500", 2: "429", 3: "drop", 4: "drop", 5: "stall", 6: None}
    assert [by_number[n]["status"] for n in (1, 2)] == [500, 429]
    assert by_number[4]["outcome"] == "dropped" and by_number[5]["outcome"] == "stalled"


def test_rate_faults_are_reproducible_from_the_seed(start_mock):
    server = start_mock(faults=["500@rate=0.4"], fault_seed=11)
    plan = FaultPlan([parse_fault("500@rate=0.4")], seed=11)
    expected = {n for n, kind in (plan.next_request() for _ in range(20)) if kind}
    failed = set()
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        for n in range(1, 21):
            try:
                c.chat.completions.create(model="tiny-llama", messages=HELLO)
            except openai.InternalServerError:
                failed.add(n)
    assert failed == expected and 0 < len(failed) < 20


@pytest.mark.parametrize("spec", ["boom@1", "500", "500@", "500@x", "500@rate=2", "drop@0"])
def test_bad_fault_specs_are_refused_with_a_hint(spec):
    with pytest.raises(ValueError, match="fault|rate|counted"):
        parse_fault(spec)
