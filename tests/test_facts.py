"""The facts the workshop teaches (design.md section 2), re-measured on the pinned versions.

Notebooks assert what these facts say. If a version bump changes one, it fails here first, with a
message that names the fact, rather than as a puzzling notebook failure.
"""

from __future__ import annotations

import openai
import pytest

from looplab.course.demos import run_demo
from looplab.real.envs import INCIDENT_OPENAI, incident_openai_version, incident_python
from looplab.servers import start_mock


@pytest.fixture(scope="module")
def mock():
    with start_mock(keepalive_s=60) as server:
        yield server


def two_loops(mock, *args, python=None):
    return run_demo("two_loops", "--base-url", mock.base_url, *args, python=python)["results"]


def test_pinned_client_is_the_one_the_lessons_describe():
    assert openai.__version__.startswith("3."), "FACT CHANGED: the workshop is written for openai 3.x (httpx2)"
    import httpx2

    assert isinstance(openai.AsyncOpenAI(api_key="x")._client, httpx2.AsyncClient), \
        "FACT CHANGED: openai 3.x no longer talks through httpx2; tracebacks in the notebooks name httpcore2"
    assert incident_openai_version() == INCIDENT_OPENAI


def test_crash_is_raised_by_check_closed_through_the_connection_pool(mock):
    first, second = two_loops(mock)
    assert first["outcome"] == "ok"
    assert second["outcome"] == "error", "FACT CHANGED: reusing a client on a second loop no longer fails"
    assert (second["root_error"], second["root_message"]) == ("RuntimeError", "Event loop is closed")
    functions = [f["function"] for f in second["frames"]]
    files = " ".join(f["file"] for f in second["frames"])
    assert functions[-1] == "_check_closed" and "call_soon" in functions
    assert "httpcore2" in files and "connection_pool.py" in files and "selector_events.py" in files
    # ... and it is the SECOND failure: the first came while reading the response (the request had been
    # sent: writing to a socket needs no loop, waiting for the answer does), kept as its __context__.
    first = [f["function"] for f in second["first_frames"]]
    assert second["first_message"] == "Event loop is closed", "FACT CHANGED: the read no longer fails first"
    assert first[-1] == "_check_closed" and "_add_reader" in first and "resume_reading" in first


def test_pinned_client_raises_it_unwrapped_and_does_not_retry(mock):
    mock.clear_requests()
    _, second = two_loops(mock, "--max-retries", "2")  # retries on: still not retried
    assert second["error"] == "RuntimeError", "FACT CHANGED: openai 3.x now wraps the crash"
    sent = [r for r in mock.requests("/v1/chat/completions") if r["user"] == "loop-2"]
    assert len(sent) == 1, "FACT CHANGED: openai 3.x now retries the crashed request"
    assert sent[0]["status"] == 200  # ... and it reached the backend and was generated: lost work


def test_a_client_with_no_request_on_the_first_loop_survives(mock):
    skipped, second = two_loops(mock, "--skip-first")
    assert (skipped["outcome"], second["outcome"]) == ("skipped", "ok")


def test_the_bad_connection_is_dropped_so_the_next_loop_works(mock):
    outcomes = [r["outcome"] for r in two_loops(mock, "--loops", "3")]
    assert outcomes == ["ok", "error", "ok"]


def test_incident_era_client_wraps_the_crash_and_retries_it(mock):
    mock.clear_requests()
    _, wrapped = two_loops(mock, python=incident_python())  # retries off: the crash shows
    assert (wrapped["error"], wrapped["root_message"]) == ("APIConnectionError", "Event loop is closed")
    assert "httpcore/" in " ".join(f["file"] for f in wrapped["frames"])
    mock.clear_requests()
    _, retried = two_loops(mock, "--max-retries", "2", python=incident_python())
    assert retried["outcome"] == "ok", "FACT CHANGED: openai 1.73's retries no longer hide the crash"
    sent = [r for r in mock.requests("/v1/chat/completions") if r["user"] == "loop-2"]
    assert len(sent) == 2, "FACT CHANGED: the hidden crash no longer generates the request twice"


def test_constructing_a_client_builds_an_ssl_context_and_a_shared_one_builds_none():
    """Why a per-call client is slow, counted rather than timed (design.md measured ~29 ms here, upstream
    #4221 ~11 ms; the benchmarks show the milliseconds): every ``AsyncOpenAI()`` builds an SSL context
    and, on this machine's branch, loads a CA bundle into it; a client given a shared context builds none."""
    import ssl

    from looplab.proofs.construction import client_with, construction_work, new_client, this_platform_branch

    fresh = construction_work(new_client)
    assert fresh["ssl_contexts"] >= 1, "FACT CHANGED: constructing AsyncOpenAI no longer builds an SSL context"
    if this_platform_branch() != "truststore":
        assert fresh["ca_loads"] == 1, f"FACT CHANGED: a new client loads {fresh['ca_loads']} CA bundles"
    shared = ssl.create_default_context()
    assert construction_work(lambda: client_with(shared)) == {"ssl_contexts": 0, "ca_loads": 0}, \
        "FACT CHANGED: a client given an SSL context builds one anyway"


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_on_macos_and_windows_a_client_loads_no_ca_bundle(system):
    """httpcore2 builds a truststore context there (the OS verifies at handshake time): construction is
    cheap, so a per-call client costs mostly its connection. Exercised here by forcing that branch."""
    from looplab.proofs.construction import construction_work, loads_a_bundle_on_linux, new_client, platform_branch

    with platform_branch(system):
        work = construction_work(new_client)
    assert work["ca_loads"] == 0 and work["ssl_contexts"] >= 1, work
    with platform_branch("Linux"):  # the same code, Linux's branch (httpcore2 2.14 on Python 3.10 has none)
        assert construction_work(new_client)["ca_loads"] == (1 if loads_a_bundle_on_linux() else 0)
