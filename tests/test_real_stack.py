"""The real Llama Stack releases against looplab's mock vLLM: 0.2.2 crashes, 0.2.3 does not.

Both releases are installed from the package index by :func:`looplab.real.releases.ensure_release`
(``python3 run.py setup`` does it; here it is a cached no-op). Where they cannot be installed the
tests skip and say why; under ``CI=true`` a skip is a failure.

The mock keeps idle connections 60 s, so a busy machine cannot let the start-up connection expire
before the first request (which would hide the crash, as the keep-alive timeout sometimes did in
production).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from looplab.real import releases as real_stack
from looplab.real.releases import RELEASES, ReleaseError, chat, ensure_release, overlay_dir, start_release
from looplab.servers import find_tagged, start_mock

pytestmark = pytest.mark.timeout(600)  # the first run may install both releases
MODEL = "tiny-llama"
#: what a release may write, by name: none of it may appear in the temporary folder
RELEASE_FILES = re.compile(r"llama|data-gym-cache|trace_store|registry|kvstore|\.db$")


@pytest.fixture(scope="module")
def installed() -> None:
    try:
        for version, base in real_stack.BUILDS:
            ensure_release(version, quiet=True, base=base)
    except (ReleaseError, FileNotFoundError) as exc:
        pytest.skip(f"the llama-stack releases cannot be installed on this machine: {exc}")


@pytest.fixture(scope="module")
def mock():
    with start_mock(keepalive_s=60) as server:
        yield server


@pytest.fixture
def leaves_nothing_behind():
    """No file in the home or temporary folder, no process, no run folder after the test."""
    home, tmp = Path.home(), Path(tempfile.gettempdir())
    home_before, tmp_before = set(os.listdir(home)), set(os.listdir(tmp))
    llama_before = (home / ".llama").exists()
    started: list[real_stack.RealStackServer] = []
    yield started
    for stack in started:
        assert not stack.running
        with pytest.raises(ProcessLookupError):  # the whole process group is gone
            os.killpg(stack.pid, 0)
        assert stack.run_dir is not None and not stack.run_dir.exists(), "its run folder was not removed"
    assert not [p for p in find_tagged() if p.pid in {s.pid for s in started}]
    assert set(os.listdir(home)) - home_before == set()
    assert (home / ".llama").exists() == llama_before
    new = {n for n in set(os.listdir(tmp)) - tmp_before if RELEASE_FILES.search(n)}
    # another suite on the machine makes its own workdirs (looplab-NAME-PID-*): ours carry this process's pid
    assert {n for n in new if not n.startswith("looplab-") or f"-{os.getpid()}-" in n} == set()


def run_release(version: str, mock, started: list, *, retries: bool = True, texts=("first", "second", "third")):
    """Start ``version`` against the mock, send ``texts`` one after the other, stop it; return
    the replies, the release's log and the mock's generation requests."""
    mock.clear_requests()
    with start_release(version, mock.base_url, retries=retries) as stack:
        started.append(stack)
        check_running_release(stack, version)
        replies = [chat(stack, MODEL, text) for text in texts]
    return replies, stack.log_text(), mock.requests("/v1/chat/completions")


def test_0_2_2_on_the_reporters_stack_fails_every_request_after_the_keep_alive(installed, mock,
                                                                              leaves_nothing_behind):
    """#1968 end to end: the released 0.2.2 on the reporter's HTTP stack (httpcore 1.0.2). After the
    keep-alive expired, the first request crashes closing the stale connection and is retried; from
    then on the pool is wedged: every request waits for a slot until the caller gives up, and none
    reaches the backend. ("All inference requests fail.")"""
    from looplab.real.envs import EXACT

    mock.clear_requests()
    with start_release("0.2.2", mock.base_url, base=EXACT) as stack:
        leaves_nothing_behind.append(stack)
        assert psutil.Process(stack.pid).environ()["PYTHONPATH"] == str(overlay_dir("0.2.2", EXACT))
        assert mock.expire_keepalive() == 1  # the start-up connection, closed as the keep-alive timer would
        replies = [chat(stack, MODEL, text, timeout=3) for text in ("first", "second", "third")]
        log = stack.log_text()
    assert [r.status for r in replies] == [0, 0, 0], [r.body for r in replies]  # 0: no answer before the timeout
    assert mock.requests("/v1/chat/completions") == []  # nothing reached the backend: the pool is wedged
    assert "Retrying request to /chat/completions" in log  # the first one crashed, and was retried into the wedge


def check_running_release(stack, version: str) -> None:
    """It listens on 127.0.0.1 only, runs the release from its overlay, and writes only in its run folder."""
    process = psutil.Process(stack.pid)
    listening = [c.laddr for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and {(a.ip, a.port) for a in listening} == {("127.0.0.1", stack.port)}
    environ = process.environ()
    assert environ["PYTHONPATH"] == str(overlay_dir(version))
    for variable in ("HOME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "HF_HOME",
                     "LLAMA_STACK_CONFIG_DIR"):
        assert Path(environ[variable]).is_relative_to(stack.run_dir), variable
    state = stack.run_dir / "llama"
    assert (state / "registry.db").exists() and (state / "trace_store.db").exists()


def numbered(generated) -> list[int]:
    """The mock's request numbers (it counts from its start), from 1 for this test's first request."""
    return [r["request_number"] - generated[0]["request_number"] + 1 for r in generated]


def startup_port(mock) -> int:
    """The client port of the start-up connection: the one model registration listed the models on."""
    (models,) = mock.requests("/v1/models")
    return models["client_port"]


# --- 0.2.2: the client built in initialize() -----------------------------------------------------

def test_0_2_2_answers_200_but_the_backend_generates_the_first_request_twice(installed, mock, leaves_nothing_behind):
    replies, log, generated = run_release("0.2.2", mock, leaves_nothing_behind)
    assert [r.status for r in replies] == [200, 200, 200]  # the caller sees nothing wrong ...
    assert "first" in replies[0].content
    # ... but the first request was generated twice: once on the start-up connection (pooled in the
    # closed start-up loop; the client crashed and silently retried), once on a new connection.
    assert numbered(generated) == [1, 2, 3, 4]
    assert all(r["status"] == 200 and r["outcome"] == "ok" for r in generated)
    assert generated[0]["client_port"] == startup_port(mock)
    assert generated[1]["client_port"] != startup_port(mock)
    assert "Retrying request to /chat/completions" in log
    assert "Event loop is closed" not in log  # the retry hid the crash: not even the log shows it


def test_0_2_2_without_retries_the_first_request_fails_with_event_loop_is_closed(installed, mock,
                                                                                  leaves_nothing_behind):
    """DIAGNOSTIC switch (not the release's behaviour): AsyncOpenAI defaults to max_retries=0."""
    replies, log, generated = run_release("0.2.2", mock, leaves_nothing_behind, retries=False)
    assert [r.status for r in replies] == [500, 200, 200]  # the bad connection was dropped
    assert "DIAGNOSTIC LOOPLAB_DIAGNOSTIC_NO_RETRIES=1" in log
    assert "RuntimeError: Event loop is closed" in log and "_check_closed" in log
    assert "Retrying request" not in log
    # Lost work: the failed request still reached the backend on the start-up connection and was generated.
    assert numbered(generated) == [1, 2, 3]
    assert generated[0]["client_port"] == startup_port(mock)
    assert generated[0]["status"] == 200 and generated[0]["outcome"] == "ok"


# --- 0.2.3: the client created lazily, on first use, in the serving loop (PR #1969) -------------

@pytest.mark.parametrize("retries", [True, False], ids=["default-retries", "diagnostic-no-retries"])
def test_0_2_3_answers_every_request_once(installed, mock, leaves_nothing_behind, retries):
    replies, log, generated = run_release("0.2.3", mock, leaves_nothing_behind, retries=retries)
    assert [r.status for r in replies] == [200, 200, 200]
    assert [text in r.content for r, text in zip(replies, ("first", "second", "third"))] == [True] * 3
    assert numbered(generated) == [1, 2, 3]  # each generated once
    assert startup_port(mock) not in {r["client_port"] for r in generated}  # served on the serving loop's own
    assert "Event loop is closed" not in log and "Retrying request" not in log


# --- installing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", list(RELEASES))
def test_a_release_is_an_overlay_on_the_one_incident_era_environment(installed, version):
    requirements = real_stack.overlay_requirements(version)
    names = {re.split(r"[=;\s]", line)[0].lower() for line in requirements}
    assert f"llama-stack=={version}" in requirements
    assert names.isdisjoint({"openai", "httpx", "httpcore", "fastapi", "starlette", "uvicorn", "pydantic", "anyio"})
    overlay = overlay_dir(version)
    assert (overlay / "llama_stack").is_dir() and not (overlay / "openai").exists()


def test_installing_again_is_cached(installed, capsys):
    stamps = {version: (overlay_dir(version) / ".looplab-installed.json").stat().st_mtime_ns for version in RELEASES}
    for version in RELEASES:
        ensure_release(version)
    assert capsys.readouterr().out.count(": cached in .cache/real-stack/") == len(RELEASES)
    assert {v: (overlay_dir(v) / ".looplab-installed.json").stat().st_mtime_ns for v in RELEASES} == stamps


def test_pins_that_disagree_with_the_incident_era_environment_are_refused(tmp_path, monkeypatch):
    base = tmp_path / "incident-era.txt"
    base.write_text(real_stack.INCIDENT_PINS.read_text().replace("openai==1.73.0", "openai==1.74.0"))
    monkeypatch.setattr(real_stack, "INCIDENT_PINS", base)
    with pytest.raises(ReleaseError, match="openai==1.73.0 vs openai==1.74.0"):
        real_stack.overlay_requirements("0.2.2")


# --- the command line --------------------------------------------------------------------------------

def test_serve_runs_a_release_against_its_own_mock_until_ctrl_c(installed):
    cli = subprocess.Popen([sys.executable, "-m", "looplab", "real-stack", "serve", "0.2.3"],  # noqa: S603
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert cli.stdout is not None
        url, lines = None, []
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = cli.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"llama-stack 0\.2\.3 listening on (http://127\.0\.0\.1:\d+)", line):
                url = match[1]
        assert url, "".join(lines)
        children = psutil.Process(cli.pid).children(recursive=True)
        assert len(children) >= 2  # the mock and the release
        stack = type("Started", (), {"url": url})()
        assert chat(stack, MODEL, "hello").status == 200
        cli.send_signal(signal.SIGINT)
        cli.communicate(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
