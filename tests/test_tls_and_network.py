"""HTTPS and a network between processes: the mock serves TLS with a certificate made at start-up,
clients trust it the usual way (never with verification off), the latency proxy relays bytes
untouched, and the benchmark counts one TCP connection and one TLS handshake per per-call request."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time

import httpx2
import openai
import pytest

from looplab.servers import start_latency_proxy, start_mock, start_stack
from looplab.course.helpers import chat, error_of


@pytest.fixture(scope="module")
def tls_mock():
    with start_mock(tls=True, keepalive_s=60) as server:
        yield server


def test_the_mock_serves_https_that_a_client_trusts_through_its_ca(tls_mock):
    assert tls_mock.url.startswith("https://127.0.0.1:") and tls_mock.ca_file.is_file()
    with tls_mock.client() as client:
        reply = client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "secure"}])
    assert reply.choices[0].message.content == " secure"
    with pytest.raises(openai.APIConnectionError):  # without its CA, verification refuses it: it is really TLS
        with openai.OpenAI(base_url=tls_mock.base_url, api_key="x", max_retries=0) as untrusting:
            untrusting.models.list()
    with pytest.raises(httpx2.TransportError):  # and plain HTTP to it fails
        httpx2.get(tls_mock.url.replace("https://", "http://") + "/health", timeout=5)


def test_the_mock_counts_its_tls_handshakes(tls_mock):
    before = tls_mock.stats()
    context = ssl.create_default_context(cafile=str(tls_mock.ca_file))
    for _ in range(3):  # three clients: three connections, three handshakes
        with httpx2.Client(verify=context) as client:
            assert client.get(f"{tls_mock.url}/health").status_code == 200
    after = tls_mock.stats()
    # the second stats() call opened one connection of its own
    assert after["tls_handshakes"] - before["tls_handshakes"] == 3 + 1
    assert after["connections"] - before["connections"] == 3 + 1


def test_the_stack_reaches_an_https_backend_and_still_crashes_the_same_way(tls_mock):
    bundle = tls_mock.trust_bundle()
    with start_stack(adapter="broken", vllm_url=tls_mock.base_url, models=["tiny-llama"], ca_file=str(bundle)) as stack:
        answers = [error_of(chat(stack.base_url)) for _ in range(2)]
    assert answers == ["500 RuntimeError: Event loop is closed", "200 OK"]
    with start_stack(adapter="lifespan", vllm_url=tls_mock.base_url, models=["tiny-llama"], ca_file=str(bundle)) as stack:
        assert error_of(chat(stack.base_url)) == "200 OK"


def test_an_https_backend_without_its_ca_is_a_clear_start_up_error(tls_mock):
    result = subprocess.run([sys.executable, "-m", "looplab", "stack", "--adapter", "lifespan", "--vllm-url",
                             tls_mock.base_url, "--model", "tiny-llama", "--port", "0", "--max-retries", "0"],
                            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "register_model('tiny-llama') failed" in result.stderr.strip().splitlines()[-1]


def test_the_latency_proxy_relays_tls_untouched_and_delays_it(tls_mock):
    """A lower bound only (300 ms of round trip cannot take less than 300 ms): no load can break it."""
    with start_latency_proxy(tls_mock, rtt_ms=300) as proxy:
        assert proxy.url.startswith("https://") and proxy.port != tls_mock.port
        began = time.monotonic()
        with proxy.client() as client:  # TLS through the proxy: the certificate is still the mock's
            reply = client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "far"}])
        took = time.monotonic() - began
    assert reply.choices[0].message.content == " far"
    assert took >= 3 * 0.3  # TCP (one round trip), TLS (one), the request (one): a new connection pays three


def test_bad_proxy_options_are_refused():
    result = subprocess.run([sys.executable, "-m", "looplab.servers.latency_proxy", "--target", "127.0.0.1:9",
                             "--rtt-ms", "-1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--rtt-ms must not be negative" in result.stderr


def test_the_benchmark_over_tls_counts_a_connection_and_a_handshake_per_per_call_request():
    result = subprocess.run([sys.executable, "-m", "looplab", "bench", "--target", "strategies", "--tls", "--rtt-ms",
                             "2", "--requests", "10", "--concurrency", "4", "--strategies", "per_call,lifespan",
                             "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["tls"] is True and report["rtt_ms"] == 2.0
    rows = {r["strategy"]: r for r in report["strategies"]}
    requests = 10 + 5 * 4
    assert rows["per_call"]["requests_logged"] == requests
    assert rows["per_call"]["connections_per_request"] == 1.0 and rows["per_call"]["handshakes_per_request"] == 1.0
    for reused in ("reused", "lifespan"):
        assert rows[reused]["handshakes"] <= 4 and rows[reused]["connections"] <= 4  # the pool's, reused
    assert all(r["client_cpu_ms_per_request"] > 0 for r in rows.values())
