"""Process hygiene: servers start on free ports, report failures with their log, stop with their
whole group, die with their parent, and leftovers are found and stopped by scanning."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import uuid

import psutil
import pytest

from looplab import servers
from looplab.servers import ports, process

pytest_plugins = ["pytester"]


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_mocks_get_their_own_free_ports_and_stop_with_their_group():
    with servers.start_mock() as one, servers.start_mock() as two:
        assert one.port != two.port and one.port > 0
        assert {one.pid, two.pid} <= {p.pid for p in servers.find_tagged(os.environ[servers.SESSION_ENV])}
        assert os.getpgid(one.pid) == one.pid  # its own process group
    for server in (one, two):
        assert not server.running and port_is_closed(server.port)
        assert not psutil.pid_exists(server.pid) or psutil.Process(server.pid).status() == psutil.STATUS_ZOMBIE
    assert "listening on" in one.log_text()  # the log survives the server (its temp dir does not)
    assert not one.log_path.parent.exists()


def test_a_server_that_never_answers_fails_with_its_log():
    never = [sys.executable, "-c", "import sys, time; print('booting slowly', flush=True); time.sleep(60)"]
    with pytest.raises(servers.ServerError, match=r"(?s)did not answer /health within 1 s.*booting slowly"):
        servers.start(never, name="never-ready", timeout=1)
    assert not servers.find_tagged(os.environ[servers.SESSION_ENV])


def test_a_server_that_exits_early_fails_with_its_exit_code_and_log():
    crash = [sys.executable, "-c", "import sys; print('bad config: no model', flush=True); sys.exit(3)"]
    with pytest.raises(servers.ServerError, match=r"(?s)exited with code 3.*bad config: no model"):
        servers.start(crash, name="crashes", timeout=10)


def test_the_mock_refuses_bad_settings_before_anything_starts():
    with pytest.raises(ValueError, match="unknown fault kind 'boom'"):
        servers.start_mock(faults=["boom@1"])
    with pytest.raises(TypeError, match="ttft"):
        servers.start_mock(ttft=5)  # a misspelt setting
    assert not servers.find_tagged(os.environ[servers.SESSION_ENV])


PARENT = textwrap.dedent("""
    import sys
    from looplab import servers
    mock = servers.start_mock(die_with_parent={die})
    print(mock.pid, flush=True)
    sys.stdin.read()  # block until killed
""")


@pytest.mark.parametrize("die_with_parent", [True, False], ids=["pdeathsig-and-watchdog", "orphan"])
def test_a_server_dies_with_the_process_that_started_it(die_with_parent):
    session = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, servers.SESSION_ENV: session}
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(die=die_with_parent)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(parent.stdout.readline())
        parent.kill()  # like a kernel restart or a killed test run: no cleanup code runs
        parent.wait(10)
        server = psutil.Process(server_pid)
        if die_with_parent:
            server.wait(timeout=10)  # raises TimeoutExpired if it outlived its parent
            assert not servers.find_tagged(session)
        else:
            # Without either guard the server is orphaned: exactly what `looplab cleanup` is for.
            assert [p.pid for p in servers.find_tagged(session)] == [server_pid]
            result = subprocess.run([sys.executable, "-m", "looplab", "cleanup", "--session", session],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"stopping pid {server_pid}" in result.stdout and "1 process(es); 0 left" in result.stdout
            server.wait(timeout=10)
            assert not servers.find_tagged(session)
    finally:
        parent.kill()
        servers.cleanup(session)


def test_cleanup_with_nothing_to_do_says_so():
    result = subprocess.run([sys.executable, "-m", "looplab", "cleanup", "--session", "no-such-session"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "No looplab servers are running." in result.stdout


def test_stop_kills_a_server_that_ignores_sigterm():
    stubborn = [sys.executable, "-c", textwrap.dedent("""
        import signal, sys, http.server, threading
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        srv = http.server.HTTPServer(("127.0.0.1", 0), type("H", (http.server.BaseHTTPRequestHandler,), {
            "do_GET": lambda self: (self.send_response(200), self.end_headers()),
            "log_message": lambda *a: None}))
        open(sys.argv[-1], "w").write(f"http://127.0.0.1:{srv.server_port}")
        srv.serve_forever()
    """)]
    server = servers.start(stubborn, name="stubborn", timeout=10)
    server.stop(timeout=0.5)
    assert server.returncode == -signal.SIGKILL



@pytest.mark.parametrize("how", ["stops-on-sigterm", "crashed-before-stop"])
def test_stop_gives_the_rest_of_the_group_its_grace_once_the_leader_is_gone(tmp_path, how):
    """A leader that exits at once on SIGTERM (or crashed already), and a child of its group whose
    shutdown takes a while (vLLM's engine core unlinking its shared memory): stop() must let the child
    shut down, not SIGKILL it as soon as the leader is gone. It did, and a real vLLM left 400 MB in
    /dev/shm on a busy machine."""
    cleaned = tmp_path / "cleaned"
    child = textwrap.dedent("""
        import signal, sys, time
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        print("ready", flush=True)
        signal.sigwait({signal.SIGTERM})
        time.sleep(0.3)  # the shutdown's own work (unlinking, flushing), not a synchronisation
        open(sys.argv[1], "w").write("done")
    """)
    leader = [sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, http.server
        child = subprocess.Popen([sys.executable, "-c", {child!r}, {str(cleaned)!r}], stdout=subprocess.PIPE)
        child.stdout.readline()  # its SIGTERM is in hand before the server is ready
        srv = http.server.HTTPServer(("127.0.0.1", 0), type("H", (http.server.BaseHTTPRequestHandler,), {{
            "do_GET": lambda self: (self.send_response(200), self.end_headers()),
            "log_message": lambda *a: None}}))
        open(sys.argv[-1], "w").write(f"http://127.0.0.1:{{srv.server_port}}")
        srv.serve_forever()
    """)]
    server = servers.start(leader, name="quick-leader", timeout=20)
    group = servers.process_group(server.pid)
    assert len(group) == 2, group
    if how == "crashed-before-stop":
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(10)
    server.stop(timeout=10)
    assert server.returncode == (-signal.SIGTERM if how == "stops-on-sigterm" else -signal.SIGKILL)
    assert cleaned.exists(), "the group's other process was killed before it finished its shutdown"
    assert not [p for p in group if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_server_told_its_port_starts_again_elsewhere_when_another_process_took_it(monkeypatch):
    """A server told its port (a real vLLM, a released stack) can lose it to another process between
    the choice and its bind: a Jupyter kernel's ZeroMQ socket did, and the health probe read the
    kernel's greeting as an HTTP answer. Now probes wait until the server itself listens there; the
    server, unable to bind, exits saying so, and the start is tried on a new port."""
    told = textwrap.dedent("""
        import sys, http.server
        srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), type("H", (http.server.BaseHTTPRequestHandler,), {
            "do_GET": lambda self: (self.send_response(200), self.end_headers()),
            "log_message": lambda *a: None}))
        srv.serve_forever()
    """)
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        stranger.setblocking(False)
        taken = stranger.getsockname()[1]
        chosen = iter([taken])
        real_free_port = ports.free_port
        monkeypatch.setattr(process, "free_port", lambda: next(chosen, None) or real_free_port())
        tried = []

        def launch(port):
            tried.append(port)
            return servers.start([sys.executable, "-c", told, str(port)], name="told-its-port", timeout=20,
                                 url=f"http://127.0.0.1:{port}")

        with servers.start_on_a_free_port(launch) as server:
            assert tried[0] == taken and server.port == tried[1] != taken
        with pytest.raises(BlockingIOError):
            stranger.accept()  # nobody probed the stranger's port for the server's health
        with pytest.raises(servers.ServerError, match=r"(?s)exited with code 1.*Address already in use"):
            servers.start_on_a_free_port(launch, port=taken)  # a port the caller gave is not changed
    with servers.start_on_a_free_port(launch, 0) as server:  # 0, as `--port 0` gives it: a free one
        assert server.port == tried[-1] != 0
    tried.clear()
    quiet = [sys.executable, "-c", "print('[Errno 98] Address already in use (its metrics port)', flush=True); "
             "import time; time.sleep(60)"]  # says "in use", but of another port, and never answers: no retry
    with pytest.raises(servers.ServerError, match="did not answer") as failed:
        servers.start_on_a_free_port(lambda port: tried.append(port) or servers.start(
            quiet, name="never-listens", timeout=1, url=f"http://127.0.0.1:{port}"))
    assert len(tried) == 1 and not isinstance(failed.value, servers.PortTaken)

STRICT_CI_TESTS = """
import pytest

def test_skipped():
    pytest.skip("needs something")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False

def test_passes():
    pass
"""


def test_under_ci_a_skipped_test_fails_the_run(pytester, monkeypatch):
    pytester.makepyfile(STRICT_CI_TESTS)
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess("-p", "looplab.entrypoints.pytest_plugin")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped under CI=true*needs something*"])
    monkeypatch.setenv("CI", "false")
    pytester.runpytest_subprocess("-p", "looplab.entrypoints.pytest_plugin").assert_outcomes(passed=1, skipped=1, xfailed=1)


def test_a_test_that_leaves_a_server_running_fails_the_session(pytester, monkeypatch):
    pytester.makepyfile("""
        from looplab import servers

        def test_forgets_to_stop():
            servers.start_mock()
    """)
    monkeypatch.delenv(servers.SESSION_ENV, raising=False)  # the inner session gets its own tag
    result = pytester.runpytest_subprocess("-p", "looplab.entrypoints.pytest_plugin")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*servers left running after the tests*stopped them*"])


def test_fixtures_start_and_stop_mocks(pytester):
    pytester.makepyfile("""
        import openai

        def test_uses_fixtures(mock_vllm, start_mock):
            slow = start_mock(ttft_ms=50)
            for server in (mock_vllm, slow):
                client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
                assert client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "hi"}])
                client.close()
    """)
    result = pytester.runpytest_subprocess("-p", "looplab.entrypoints.pytest_plugin")
    result.assert_outcomes(passed=1)


def test_folders_of_a_gone_owner_are_swept_and_others_kept(tmp_path):
    from looplab.servers.workdirs import owned_dir, owner_of, sweep

    mine = owned_dir(tmp_path, "looplab-mock-vllm")
    assert owner_of(mine) == os.getpid()
    dead = tmp_path / "looplab-stack-999999999-abc123"  # beyond any pid: its owner is gone
    other = tmp_path / "unrelated-999999999-abc123"  # another prefix: not ours to sweep
    odd = tmp_path / "looplab-no-pid-here"  # no owner in the name: left alone
    for folder in (dead, other, odd):
        folder.mkdir()
    assert sweep(tmp_path, "looplab") == [dead]
    assert mine.exists() and other.exists() and odd.exists() and not dead.exists()
