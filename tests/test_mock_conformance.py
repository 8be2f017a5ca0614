"""The mock against real vLLM 0.32.0, route by route (responses captured in tests/fixtures).

Compared: status code, content type, keys, nesting and value types, SSE framing and frame order.
Not compared: text, ids, timestamps (they differ between runs of real vLLM too).
"""

from __future__ import annotations

import copy
import json

import httpx2
import pytest

from looplab.proofs.conformance import ShapeMismatch, compare_shape, compare_stream, parse_sse

from .conftest import REFERENCE_KEY, REFERENCE_MAX_LEN, REFERENCE_MODEL, load_reference

CASES = sorted(load_reference())


@pytest.fixture(scope="module")
def reference_like_mock():
    from looplab.servers import start_mock

    with start_mock(models=[REFERENCE_MODEL], api_key=REFERENCE_KEY, max_model_len=REFERENCE_MAX_LEN) as mock:
        yield mock


def send(url: str, request: dict) -> httpx2.Response:
    headers = dict(request["headers"])
    if request["auth"]:
        headers["authorization"] = f"Bearer {REFERENCE_KEY}"
    body = request["body"]
    content = body.encode() if isinstance(body, str) else None if body is None else json.dumps(body).encode()
    if content is not None:
        headers.setdefault("content-type", "application/json")
    with httpx2.Client(base_url=url, timeout=10) as client:
        return client.request(request["method"], request["path"], content=content, headers=headers)


@pytest.mark.parametrize("name", CASES)
def test_mock_matches_real_vllm(reference_like_mock, reference, name):
    case = reference[name]
    response = send(reference_like_mock.url, case["request"])
    assert response.status_code == case["status"], response.text
    assert response.headers.get("content-type", "") == case["content_type"]
    if "sse_frames" in case:
        compare_stream(case["sse_frames"], parse_sse(response.content))
    elif case["json"] is None:
        assert response.content == b""
    else:
        compare_shape(case["json"], response.json())


def test_reference_covers_every_route(reference):
    routes = {(c["request"]["method"], c["request"]["path"]) for c in reference.values()}
    for route in [("GET", "/health"), ("GET", "/version"), ("GET", "/v1/models"),
                  ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/tokenize")]:
        assert route in routes


# The comparison proves itself by breakage: a dropped, renamed or retyped field must fail it.
def _mutations(body):
    dropped = copy.deepcopy(body)
    del dropped["choices"][0]["finish_reason"]
    renamed = copy.deepcopy(body)
    renamed["choices"][0]["message"]["text"] = renamed["choices"][0]["message"].pop("content")
    retyped = copy.deepcopy(body)
    retyped["created"] = str(retyped["created"])
    nested = copy.deepcopy(body)
    nested["usage"] = [nested["usage"]]
    return {"dropped": dropped, "renamed": renamed, "retyped": retyped, "nested": nested}


@pytest.mark.parametrize("mutation", ["dropped", "renamed", "retyped", "nested"])
def test_shape_comparison_catches_a_broken_body(reference, mutation):
    body = reference["chat"]["json"]
    compare_shape(body, copy.deepcopy(body))
    with pytest.raises(ShapeMismatch):
        compare_shape(body, _mutations(body)[mutation])


def test_stream_comparison_catches_broken_framing(reference):
    frames = reference["chat_stream_usage"]["sse_frames"]
    with pytest.raises(ShapeMismatch, match="frames differ"):
        compare_stream(frames, frames[1:])  # no role chunk first
    with pytest.raises(ShapeMismatch, match="frames differ"):
        compare_stream(frames, frames[:-1])  # no [DONE]
    with pytest.raises(ShapeMismatch, match="single 'data: ' line"):
        parse_sse(b"event: x\ndata: {}\n\n")
