"""Hostile and malformed requests: a 4xx in vLLM's error shape, never a 500 or a traceback.

What real vLLM 0.32.0 does, and so what the mock must do: validation failures are 400 with
``type: "Bad Request"`` and the field path in ``param``; semantic errors are 400
``BadRequestError``; an unknown model is 404; a body that is not ``application/json`` is a 400
validation error. Bytes that cannot be decoded as JSON at all (not UTF-8, nested past Python's
recursion limit) fail inside FastAPI before vLLM's handlers see them: FastAPI raises Starlette's
``HTTPException``, which vLLM's handler (registered for FastAPI's subclass) does not catch, so
the body is Starlette's ``{"detail": "There was an error parsing the body"}`` with a 400, the
same mechanism that gives the captured 404/405 bodies. Afterwards the server still answers.
"""

from __future__ import annotations

import json

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MSG = [{"role": "user", "content": "hi"}]
VALID_CHAT = {"model": "tiny-llama", "messages": MSG}
JSON = {"content-type": "application/json"}
BAD_VALUES = {  # field -> values real vLLM rejects with a 400
    "model": [1, 2.5, True, [], {}, ["tiny-llama"]],
    "messages": ["hi", 1, None, {}, {"role": "user"}, ["hi"], [1], [None], [{"content": "no role"}],
                 [{"role": 1, "content": "x"}], [{"role": "user", "content": 5}],
                 [{"role": "user", "content": {"text": "x"}}], []],
    "max_tokens": ["many", 1.5, -1, 0, 10**30, 513, [], {}, "1e400"],
    "max_completion_tokens": [-5, 0, "x", 10**9],
    "temperature": ["hot", -1, [], {}],
    "top_p": [0, 2, -0.5, "x"],
    "n": [0, -1, 1000, "two", 2.5],
    "seed": [10**30, -(10**30), "x", 1.5, []],
    "stream": ["maybe", 2, [], {}],
    "stream_options": ["yes", [], 1, {"include_usage": "often"}],
    "stop": [1, {}, [1, 2], [[]]],
    "user": [1, [], {}],
}
RAW_BODIES = {  # name -> (bytes, headers, expected status)
    "empty body": (b"", JSON, 400),
    "whitespace body": (b"   \n", JSON, 400),
    "truncated json": (b'{"model": "tiny-llama", "messages": [', JSON, 400),
    "trailing garbage": (json.dumps(VALID_CHAT).encode() + b"}}", JSON, 400),
    "single quotes": (b"{'model': 'tiny-llama'}", JSON, 400),
    "not utf-8": (b'{"model": "\xff\xfe\xfa", "messages": []}', JSON, 400),
    "utf-16 bom": (("\ufeff" + json.dumps(VALID_CHAT)).encode("utf-16"), JSON, 400),
    "latin-1 bytes": ('{"model": "caf\u00e9"}'.encode("latin-1"), JSON, 400),
    "json array": (b"[1, 2, 3]", JSON, 400),
    "json string": (b'"hello"', JSON, 400),
    "json number": (b"42", JSON, 400),
    "json null": (b"null", JSON, 400),
    "json true": (b"true", JSON, 400),
    "NaN literal": (b'{"model": "tiny-llama", "messages": [], "temperature": NaN}', JSON, 400),
    "Infinity max_tokens": (b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "x"}], '
                            b'"max_tokens": Infinity}', JSON, 400),
    "huge exponent": (b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "x"}], '
                      b'"max_tokens": 1e400}', JSON, 400),
    "huge integer": (b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "x"}], "max_tokens": '
                     + b"9" * 4000 + b"}", JSON, 400),
    "deeply nested array": (b'{"model": "tiny-llama", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                            JSON, 400),
    "deeply nested object": (b'{"model": "tiny-llama", "x": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
                             JSON, 400),
    "nested messages content": (json.dumps({"model": "tiny-llama", "messages": [
        {"role": "user", "content": [[[[[[["deep"]]]]]]]}]}).encode(), JSON, 400),
    "very long prompt": (json.dumps({"model": "tiny-llama", "messages": [
        {"role": "user", "content": "word " * 5000}]}).encode(), JSON, 400),
    # real vLLM 0.32.0 clamps max_tokens to the room the prompt leaves (measured: 200, finish "length")
    "prompt plus max_tokens beyond context": (json.dumps({"model": "tiny-llama", "max_tokens": 500, "messages": [
        {"role": "user", "content": "word " * 100}]}).encode(), JSON, 200),
    "text/plain": (json.dumps(VALID_CHAT).encode(), {"content-type": "text/plain"}, 400),
    "form encoded": (b"model=tiny-llama&messages=hi", {"content-type": "application/x-www-form-urlencoded"}, 400),
    "multipart": (b"--b\r\n\r\nx\r\n--b--", {"content-type": "multipart/form-data; boundary=b"}, 400),
    "no content type": (json.dumps(VALID_CHAT).encode(), {}, 400),
    "json with charset": (json.dumps(VALID_CHAT).encode(), {"content-type": "application/json; charset=utf-8"}, 200),
    "unknown model": (json.dumps({**VALID_CHAT, "model": "gpt-9"}).encode(), JSON, 404),
    "unknown model with odd chars": (json.dumps({**VALID_CHAT, "model": "../../etc/passwd\u0000"}).encode(), JSON, 404),
    "lone surrogate in content": (b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "\\ud800 x"}]}',
                                  JSON, 200),
    "lone surrogate in model": (b'{"model": "\\udfff", "messages": [{"role": "user", "content": "x"}]}', JSON, 404),
    "null bytes in content": (json.dumps({**VALID_CHAT, "messages": [{"role": "user", "content": "a\u0000b"}]}).encode(),
                              JSON, 200),
    "emoji and rtl": (json.dumps({**VALID_CHAT, "messages": [{"role": "user", "content": "\U0001f525 \u202e abc"}]}).encode(),
                      JSON, 200),
    "unknown extra fields": (json.dumps({**VALID_CHAT, "frobnicate": {"a": [1, 2]}}).encode(), JSON, 200),
    "duplicate keys": (b'{"model": "tiny-llama", "model": "nope", "messages": [{"role": "user", "content": "x"}]}',
                       JSON, 404),
}


def bad_value_cases():
    for field, values in BAD_VALUES.items():
        for i, value in enumerate(values):
            body = {**VALID_CHAT, field: value}
            if field == "stream_options" and not isinstance(value, dict):
                body["stream"] = True
            yield pytest.param(body, id=f"{field}-{i}")


def test_there_are_over_a_hundred_hostile_cases():
    assert len(list(bad_value_cases())) + len(RAW_BODIES) >= 100


@pytest.fixture(scope="module")
def mock():
    from looplab.servers import start_mock

    with start_mock() as server:
        yield server


@pytest.fixture(scope="module")
def http(mock):
    with httpx2.Client(base_url=mock.url, timeout=30) as client:
        yield client


UNPARSEABLE = {"not utf-8", "latin-1 bytes", "deeply nested array", "deeply nested object"}


def assert_vllm_error(response: httpx2.Response, status: int, *, unparseable: bool = False) -> None:
    assert response.status_code == status, response.text[:300]
    assert "Traceback" not in response.text
    if unparseable:
        assert response.json() == {"detail": "There was an error parsing the body"}
    elif status >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == status
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize("body", list(bad_value_cases()))
def test_ill_typed_or_out_of_range_fields_are_400(http, body):
    response = http.post("/v1/chat/completions", json=body)
    assert_vllm_error(response, 400)


@pytest.mark.parametrize("name", list(RAW_BODIES))
def test_malformed_bodies_get_vllms_answer(http, name):
    content, headers, status = RAW_BODIES[name]
    response = http.post("/v1/chat/completions", content=content, headers=headers)
    assert_vllm_error(response, status, unparseable=name in UNPARSEABLE)


@pytest.mark.parametrize("path", ["/v1/completions", "/tokenize"])
@pytest.mark.parametrize("content", [b"", b"[]", b"{", b'{"prompt": 5}', b'{"model": 3}', b'{"prompt": [[[1]]]}',
                                     b'{"prompt": {"a": 1}}', b'{"prompt": "x", "model": []}'])
def test_other_post_routes_reject_bad_bodies(http, path, content):
    assert_vllm_error(http.post(path, content=content, headers=JSON), 400)


@pytest.mark.parametrize("body", [{"prompt": "x", "max_tokens": -3}, {"prompt": ""}, {"prompt": "x", "max_tokens": 10**6}])
def test_completions_check_sampling_fields_like_chat(http, body):
    assert_vllm_error(http.post("/v1/completions", json=body), 400)


def test_wrong_routes_and_methods_keep_fastapis_bodies(http):
    assert http.get("/v1/nothing").json() == {"detail": "Not Found"}
    response = http.get("/v1/chat/completions")
    assert response.status_code == 405 and response.json() == {"detail": "Method Not Allowed"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
chat_bodies = st.fixed_dictionaries(
    {}, optional={"model": st.sampled_from(["tiny-llama", "nope"]) | json_values,
                  "messages": st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]) | json_values},
                                                             optional={"content": json_values}), max_size=3) | json_values,
                  "max_tokens": st.integers(-10, 10**6) | json_values, "temperature": json_values,
                  "stream": st.booleans() | json_values, "stream_options": json_values, "n": json_values,
                  "seed": json_values, "stop": json_values})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=chat_bodies)
def test_random_bodies_never_cause_a_server_error(http, body):
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code < 500, response.text[:300]
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_server_still_serves_after_the_abuse(http, mock):
    # Named so it runs last in this module; it checks the same server the cases above hit.
    assert http.get("/health").status_code == 200
    response = http.post("/v1/chat/completions", json=VALID_CHAT)
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == " hi"
    assert "Traceback" not in mock.log_text()
