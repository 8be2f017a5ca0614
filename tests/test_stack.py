"""The mini stack: the crash shown deterministically, every fixed strategy proven, wrong ones caught.

The mock runs with a long keep-alive (60 s) so that a busy machine cannot let the start-up
connection expire before the first request; "after the keep-alive expired" is reached on purpose
with the mock's ``expire-keepalive`` call, which closes idle connections as the timeout would.
"""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from looplab.proofs import verify
from looplab.adapters import FIXED
from looplab.real.envs import incident_python
from looplab.servers import start_mock, start_stack

WRONG = {  # variant -> what the suite must find wrong with it
    "broken": "Event loop is closed",
    "looplab.adapters.wrong:LazyTouchedAtStartup": "Event loop is closed",
    "looplab.adapters.wrong:ClosedBeforeStreamPerCall": "already closed",  # its stream's client is closed
    "looplab.adapters.wrong:NeverClosedPerCall": "leak",
    "lazy_once": "leak",
}
BURST = 50  # the highest concurrency the suite sends: a pool may hold one connection per concurrent request
HELLO = {"model": "tiny-llama", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def mock():
    with start_mock(keepalive_s=60) as server:
        yield server


def post(stack, body=HELLO) -> httpx2.Response:
    return httpx2.post(f"{stack.base_url}/chat/completions", json=body, timeout=30)


def startup_port(mock) -> int:
    (models,) = [r for r in mock.requests("/v1/models")]
    return models["client_port"]


# --- the crash ---------------------------------------------------------------------------------

def test_broken_first_request_crashes_and_the_request_was_still_generated(mock):
    mock.clear_requests()
    with start_stack(adapter="broken", vllm_url=mock.base_url, models=["tiny-llama"]) as stack:
        first = post(stack, {**HELLO, "user": "first"})
        later = [post(stack, {**HELLO, "user": f"later-{i}"}) for i in range(3)]
    assert first.status_code == 500
    assert first.json()["error"] == {"message": "Event loop is closed", "type": "RuntimeError", "param": None,
                                     "code": 500}
    assert [r.status_code for r in later] == [200, 200, 200]  # the bad connection was dropped
    log = stack.log_text()
    assert "Traceback" in log and "_check_closed" in log and "RuntimeError: Event loop is closed" in log
    # Lost work: the crashed request reached the backend on the start-up connection and was generated.
    (record,) = [r for r in mock.requests("/v1/chat/completions") if r["user"] == "first"]
    assert record["client_port"] == startup_port(mock)
    assert record["status"] == 200 and record["completion_tokens"] > 0 and record["outcome"] == "ok"


def test_incident_era_client_hides_the_crash_and_generates_twice(mock):
    mock.clear_requests()
    with start_stack(adapter="broken", vllm_url=mock.base_url, models=["tiny-llama"],
                     python=incident_python()) as stack:
        response = post(stack, {**HELLO, "user": "first"})
    assert response.status_code == 200  # the caller sees nothing wrong ...
    generated = [r for r in mock.requests("/v1/chat/completions") if r["user"] == "first"]
    assert len(generated) == 2  # ... but the backend generated the answer twice
    assert generated[0]["client_port"] == startup_port(mock) != generated[1]["client_port"]
    assert "Retrying request" in stack.log_text()


def test_incident_era_client_without_retries_shows_the_crash(mock):
    with start_stack(adapter="broken", vllm_url=mock.base_url, models=["tiny-llama"], max_retries=0,
                     python=incident_python()) as stack:
        first, second = post(stack), post(stack)
    assert first.status_code == 500 and first.json()["error"]["message"] == "Event loop is closed"
    assert second.status_code == 200


# --- the suite every strategy runs ---------------------------------------------------------------

def serving_problems(stack, mock) -> list[str]:
    """50 sequential and 50 concurrent requests, half streamed, right after start-up and again
    after the keep-alive expired; every one must succeed and reach the backend exactly once."""
    problems, markers = [], []
    for phase in ("after start-up", "after keep-alive expiry"):
        if phase == "after keep-alive expiry":
            mock.expire_keepalive()
        for concurrent in (False, True):
            result = verify.run_burst(stack.url, BURST, concurrent=concurrent, label=f"{phase[:5]}-{concurrent}")
            markers += result.markers
            if result.errors:
                problems.append(f"{phase}, {'concurrent' if concurrent else 'sequential'}: {result.summary()}")
    wrong_counts = verify.delivery_counts(mock.requests(), markers)
    if wrong_counts:
        problems.append(f"{len(wrong_counts)} requests not delivered exactly once, e.g. {list(wrong_counts.items())[:3]}")
    return problems


def leak_problems(stack) -> list[str]:
    """After 200 more requests (four bursts of ``BURST``), the stack holds no more backend sockets than
    a pool can need (one per concurrent request: ``BURST``) and garbage collection finds no unclosed
    client (no ResourceWarning). A pool is bounded by the peak concurrency; a leak grows with every request."""
    for _ in range(4):
        verify.run_burst(stack.url, BURST, concurrent=True, label="leak")
    before_gc = len(stack.diagnostics()["open_sockets"])
    after = stack.diagnostics(collect=True)
    problems = []
    if before_gc > BURST:
        problems.append(f"leak: {before_gc} backend sockets open after 200 requests, {BURST} at most at once "
                        f"(a pool needs at most {BURST})")
    if after["resource_warnings"]:
        problems.append(f"leak: {after['resource_warnings']} ResourceWarning(s) (unclosed clients or transports)")
    return problems


def suite_problems(adapter: str, mock) -> list[str]:
    mock.clear_requests()
    with start_stack(adapter=adapter, vllm_url=mock.base_url, models=["tiny-llama"]) as stack:
        return serving_problems(stack, mock) + leak_problems(stack)


@pytest.mark.parametrize("strategy", FIXED)
def test_fixed_strategy_passes_the_suite(strategy, mock):
    assert suite_problems(strategy, mock) == []


@pytest.mark.parametrize("variant", list(WRONG))
def test_the_suite_catches_a_wrong_adapter(variant, mock):
    problems = suite_problems(variant, mock)
    assert any(WRONG[variant] in p for p in problems), problems


# --- abandoned streams ---------------------------------------------------------------------------

async def read_one_chunk_then_hang_up(url: str) -> None:
    body = {"model": "tiny-llama", "stream": True, "messages": [{"role": "user", "content": " ".join(["w"] * 200)}]}
    async with httpx2.AsyncClient(base_url=url, timeout=30) as client:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    break  # leaving the block closes our connection mid-stream


@pytest.mark.parametrize("adapter, closes", [("per_call", True), ("looplab.adapters.wrong:NeverClosedPerCall", False)])
def test_an_abandoned_stream_still_closes_the_per_call_client(adapter, closes):
    with start_mock(keepalive_s=60, itl_ms=20) as slow_mock, \
         start_stack(adapter=adapter, vllm_url=slow_mock.base_url, models=["tiny-llama"]) as stack:
        baseline = len(stack.diagnostics()["open_sockets"])
        asyncio.run(read_one_chunk_then_hang_up(stack.url))
        released = verify.wait_until(lambda: len(stack.diagnostics()["open_sockets"]) <= baseline, timeout=8)
        warnings = stack.diagnostics(collect=True)["resource_warnings"]
        record = verify.wait_until(lambda: slow_mock.requests("/v1/chat/completions"), timeout=8)
    assert record
    assert (released and warnings == 0) is closes, (released, warnings)


# --- faults and outages --------------------------------------------------------------------------

FAULTS = [("500", False, 502, "backend_error"), ("429", False, 502, "backend_error"),
          ("drop", False, 502, "backend_connection_lost"), ("stall", False, 504, "backend_timeout")]


@pytest.mark.parametrize("strategy", FIXED)
def test_backend_faults_map_to_clear_errors_and_the_stack_keeps_serving(strategy):
    # Each faulty request is followed by a normal one: faults on the odd generation requests.
    schedule = [f"{kind}@{2 * n - 1}" for n, (kind, *_rest) in enumerate(FAULTS, start=1)]
    schedule.append(f"drop@{2 * len(FAULTS) + 1}")
    with start_mock(keepalive_s=60, faults=schedule, stall_s=5) as faulty, \
         start_stack(adapter=strategy, vllm_url=faulty.base_url, models=["tiny-llama"], max_retries=0,
                     client_timeout=1) as stack:
        for kind, _, status, type_ in FAULTS:
            response = post(stack)
            assert (response.status_code, response.json()["error"]["type"]) == (status, type_), kind
            assert post(stack).status_code == 200  # and the next request is served normally
        streamed = asyncio.run(verify.burst(stack.url, 1, concurrent=False, stream_every=1, label="drop"))
        # the last fault drops a stream midway: headers were sent, so the error arrives in the stream
        assert streamed.errors and "backend_connection_lost" in streamed.errors[0].detail
        assert post(stack).status_code == 200


@pytest.mark.parametrize("strategy", FIXED)
def test_backend_outage_is_503_and_recovery_is_automatic(strategy):
    backend = start_mock(keepalive_s=60)
    port = backend.port
    try:
        with start_stack(adapter=strategy, vllm_url=backend.base_url, models=["tiny-llama"], max_retries=0) as stack:
            assert post(stack).status_code == 200
            backend.stop()
            down = post(stack)
            assert down.status_code == 503 and down.json()["error"]["type"] == "backend_unavailable"
            backend = start_mock(keepalive_s=60, port=port)  # back, on the same address
            assert post(stack).status_code == 200
    finally:
        backend.stop()


# --- load ------------------------------------------------------------------------------------------

def test_500_concurrent_streams_through_the_recommended_strategy(mock):
    mock.clear_requests()
    with start_stack(adapter="lifespan", vllm_url=mock.base_url, models=["tiny-llama"]) as stack:
        result = verify.run_burst(stack.url, 500, concurrent=True, stream_every=1, label="load")
    assert not result.errors, result.summary()
    assert verify.delivery_counts(mock.requests(), result.markers) == {}
