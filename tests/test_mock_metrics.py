"""The mock's ``/metrics``: vLLM's Prometheus text, parsed by prometheus_client, moving with requests.

(Names, types, labels and buckets are compared with a real vLLM's in tests/test_real_vllm.py.)
"""

from __future__ import annotations

import time

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from looplab.servers import start_mock

MODEL = "tiny-llama"


def read(url: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(url + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted({"model_name": MODEL, "engine": "0", **labels}.items())))
    assert key in samples, f"{name}{labels} is not served"
    return samples[key]


def test_counters_move_with_requests_streamed_or_not():
    with start_mock() as mock:
        before = read(mock.url)
        assert value(before, "vllm:request_success_total", finished_reason="stop") == 0  # there from the start
        client = openai.OpenAI(base_url=mock.base_url, api_key="-")
        whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        for _ in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
        client.close()
        after = read(mock.url)
    assert value(after, "vllm:request_success_total", finished_reason=whole.choices[0].finish_reason) == 2
    assert value(after, "vllm:prompt_tokens_total") == 2 * whole.usage.prompt_tokens
    assert value(after, "vllm:generation_tokens_total") >= whole.usage.completion_tokens
    for histogram in ("vllm:e2e_request_latency_seconds", "vllm:time_to_first_token_seconds"):
        assert value(after, histogram + "_count") == 2
    assert value(after, "vllm:num_requests_running") == 0 and value(after, "vllm:num_requests_waiting") == 0


def test_a_request_is_running_while_it_streams_and_a_failed_one_is_no_success():
    """A stream held open by the mock's stall fault is running, deterministically; the 500 is no success."""
    with start_mock(faults=["stall@1", "500@2"], stall_s=120) as mock:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with httpx.stream("POST", mock.base_url + "/chat/completions", json=body, timeout=60) as response:
            lines = response.iter_lines()  # kept: a dropped iterator closes the response, and the mock sees it go
            while not next(lines).startswith("data:"):  # up to the role frame; then the stall holds the stream
                pass
            during = read(mock.url)
        deadline = time.monotonic() + 30  # the mock notices the closed connection on its own loop: wait for it
        while value(read(mock.url), "vllm:num_requests_running") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        failed = httpx.post(mock.base_url + "/chat/completions", json={**body, "stream": False}, timeout=60)
        after = read(mock.url)
    assert value(during, "vllm:num_requests_running") == 1
    assert failed.status_code == 500
    assert value(after, "vllm:num_requests_running") == 0
    assert sum(value(after, "vllm:request_success_total", finished_reason=r) for r in ("stop", "length")) == 0
