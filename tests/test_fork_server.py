"""looplab's own servers are forked from a fork server that has already imported them (Linux), and
every rule of process hygiene still holds for them: found by their tag, their own process group,
gone with the process that started them, the starter's script never run again, exit codes and logs
as before. Anything that cannot be forked faithfully is started as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import pytest

from looplab import servers
from looplab.servers import forked

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is used on Linux only")


def fork_server_of(server: servers.Server) -> psutil.Process:
    return psutil.Process(server.pid).parent()


def test_a_mock_and_a_stack_are_forked_from_one_tagged_fork_server_that_is_not_a_server():
    with servers.start_mock() as mock, servers.start_stack(vllm_url=mock.base_url, adapter="per_call") as stack:
        assert isinstance(mock.process, forked.ForkedProcess) and isinstance(stack.process, forked.ForkedProcess)
        parent = fork_server_of(mock)
        assert fork_server_of(stack).pid == parent.pid and parent.ppid() == os.getpid()
        assert forked.MARKER in " ".join(parent.cmdline()) and os.getpgid(parent.pid) != parent.pid
        assert parent.environ().get(servers.SESSION_ENV) == os.environ[servers.SESSION_ENV]
        assert servers.TAG_ENV not in os.environ  # the starter's environment is left alone
        tagged = {p.pid for p in servers.find_tagged(os.environ[servers.SESSION_ENV])}
        assert {mock.pid, stack.pid} <= tagged and parent.pid not in tagged
        assert os.getpgid(stack.pid) == stack.pid
        # its socket's folder is one the sweep removes once this process is gone (multiprocessing's own would stay)
        assert list(Path(tempfile.gettempdir()).glob(f"looplab-mp-{os.getpid()}-*/listener-*"))
        with stack.client() as client:  # the stack forked from it serves, through the adapter, the mock forked from it
            reply = client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
    # uvicorn stops gracefully on SIGTERM, then raises it again: as when exec'd
    assert mock.returncode == stack.returncode == -signal.SIGTERM
    assert "listening on" in stack.log_text()


def test_what_cannot_be_forked_faithfully_is_started_as_before(tmp_path):
    argv = [sys.executable, "-m", "looplab", "mock-vllm"]
    env = dict(os.environ)
    assert forked.forkable(argv, env, die_with_parent=True)
    assert not forked.forkable(argv, env, die_with_parent=False)  # must outlive its starter: the fork server would not
    assert not forked.forkable(["/other/python", *argv[1:]], env, die_with_parent=True)  # another interpreter
    assert not forked.forkable([sys.executable, "-m", "http.server"], env, die_with_parent=True)  # not looplab's
    assert not forked.forkable(argv, {**env, "PYTHONPATH": str(tmp_path)}, die_with_parent=True)  # read at start-up
    assert not forked.forkable(argv, {**env, servers.SESSION_ENV: "another"}, die_with_parent=True)  # its tag would lie
    assert not forked.forkable(argv, {**env, "LOOPLAB_SSL_PLATFORM": "macos"}, die_with_parent=True)  # read at import
    assert forked.forkable(argv, {**env, "PYTEST_CURRENT_TEST": "another test"}, die_with_parent=True)
    with servers.start_mock(env={"PYTHONWARNINGS": "error::DeprecationWarning"}) as mock:
        assert isinstance(mock.process, subprocess.Popen)
    started_with_options = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", STARTS_ONE],
                                          capture_output=True, text=True, timeout=60)
    assert started_with_options.stdout.split() == ["Popen", "200"], started_with_options.stderr


STARTS_ONE = ("from looplab import servers\nwith servers.start_mock() as m:\n"
              "    print(type(m.process).__name__, servers.http_get(m.url + '/health', timeout=5)[0])")


def test_a_fork_server_that_died_is_started_again():
    with servers.start_mock() as first:
        fork_server = fork_server_of(first)
    fork_server.kill()  # e.g. a Jupyter interrupt reaching it while it was still importing
    fork_server.wait(10)
    with servers.start_mock() as second:
        assert isinstance(second.process, forked.ForkedProcess)
        assert fork_server_of(second).pid != fork_server.pid
        assert servers.http_get(second.url + "/health", timeout=5)[0] == 200


def test_a_failing_forked_server_reports_its_exit_code_and_log(mock_vllm):
    with pytest.raises(servers.ServerError, match=r"(?s)stack exited with code 1 before it was ready.*"
                                                  r"not served by vLLM.*its log.*initialising PerCallAdapter"):
        servers.start_stack(vllm_url=mock_vllm.base_url, adapter="per_call", models=["no-such-model"], timeout=20)


SCRIPT = textwrap.dedent("""
    import sys
    from looplab import servers
    print("top-level code ran", flush=True)
    mock = servers.start_mock()
    print(type(mock.process).__name__, mock.pid, servers.http_get(mock.url + "/health", timeout=5)[0], flush=True)
    if sys.argv[1:] == ["keep"]:
        sys.stdin.read()  # block until killed
    mock.stop()
""")


def test_the_starters_script_is_not_run_again_in_a_forked_server(tmp_path):
    script = tmp_path / "starts_a_mock.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("top-level code ran") == 1
    assert "ForkedProcess" in result.stdout and " 200" in result.stdout


def test_killing_the_starter_takes_the_fork_server_and_its_servers(tmp_path):
    script = tmp_path / "starts_a_mock.py"
    script.write_text(SCRIPT)
    starter = subprocess.Popen([sys.executable, str(script), "keep"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    try:
        assert starter.stdout.readline().strip() == "top-level code ran"
        kind, pid, status = starter.stdout.readline().split()
        assert (kind, status) == ("ForkedProcess", "200")
        mock = psutil.Process(int(pid))
        fork_server = mock.parent()
        starter.kill()  # no cleanup code runs in the starter
        starter.wait(10)
        fork_server.wait(timeout=10)  # raises TimeoutExpired if it outlived its starter
        mock.wait(timeout=10)
        with servers.start_mock():  # any next start (here or in any process) sweeps what a killed starter left
            assert not list(Path(tempfile.gettempdir()).glob(f"looplab-mp-{starter.pid}-*"))
    finally:
        starter.kill()


def test_cleanup_finds_a_forked_server_and_names_it_not_its_fork_server(tmp_path):
    """A forked server's command line is its fork server's; `looplab cleanup` says which server it stops."""
    script = tmp_path / "starts_a_mock.py"
    script.write_text(SCRIPT)
    session = f"test-{os.getpid()}-{tmp_path.name}"
    starter = subprocess.Popen([sys.executable, str(script), "keep"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=tmp_path, env={**os.environ, servers.SESSION_ENV: session})
    try:
        assert starter.stdout.readline().strip() == "top-level code ran"
        kind, pid, _ = starter.stdout.readline().split()
        assert kind == "ForkedProcess"
        mock = psutil.Process(int(pid))
        fork_server = mock.parent()
        result = subprocess.run([sys.executable, "-m", "looplab", "cleanup", "--session", session],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[0] == f"stopping pid {pid}: looplab mock-vllm (forked by pid {fork_server.pid})"
        assert "Stopped 1 process(es); 0 left." in result.stdout  # the fork server is not a server: left to its starter
        mock.wait(timeout=10)
        assert fork_server.is_running() and starter.poll() is None
    finally:
        starter.kill()
        starter.wait(10)
        servers.cleanup(session)
