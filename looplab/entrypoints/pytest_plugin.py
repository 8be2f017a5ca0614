"""pytest plugin: server fixtures, strict CI, and a leftover-process check.

Loaded by the project's pytest configuration (``-p looplab.entrypoints.pytest_plugin``); a learner's own
tests can load it the same way.

* Under ``CI=true`` a skipped test is reported as a failure: CI must prove everything.
* Every server started during the session carries the session's tag; at the end, any tagged
  process still running fails the session (and is stopped).
* Fixtures: ``mock_vllm`` (a default mock server for one test) and ``start_mock`` (a factory
  taking the same settings as :func:`looplab.servers.start_mock`; all are stopped after the test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .. import servers

_STRICT_CI = os.environ.get("CI") == "true"


def pytest_configure(config: pytest.Config) -> None:
    # A fresh tag per session, also for a pytest run started from inside another one (a notebook
    # running its own tests): each session checks, and cleans up, only what it started. Kernels
    # and servers started during the session inherit the tag through the environment.
    os.environ[servers.SESSION_ENV] = uuid.uuid4().hex


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if _STRICT_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must prove everything: {reason}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import tempfile
    from pathlib import Path

    from ..servers.workdirs import sweep

    sweep(Path(tempfile.gettempdir()), "looplab")  # folders of starters killed meanwhile (a fork server's socket)
    session_tag = os.environ.get(servers.SESSION_ENV)
    leftovers = servers.find_tagged(session_tag)
    if leftovers:
        described = ", ".join(f"pid {p.pid}" for p in leftovers)
        servers.cleanup(session_tag)
        session.config.get_terminal_writer().line(
            f"looplab: servers left running after the tests ({described}); stopped them. "
            "A test or notebook did not clean up.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def start_mock() -> Iterator[Callable[..., servers.MockServer]]:
    """Factory: ``start_mock(ttft_ms=20, faults=["500@1"])`` starts a mock stopped after the test."""
    started: list[servers.Server] = []

    def factory(**settings: Any) -> servers.MockServer:
        server = servers.start_mock(**settings)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def mock_vllm(start_mock: Callable[..., servers.MockServer]) -> servers.MockServer:
    """A mock vLLM server with default settings, for one test."""
    return start_mock()
