"""The ``looplab`` command line and the README's workshop command, run as a user would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from looplab import servers
from looplab.entrypoints import doctor
from looplab.project import locked_version

ROOT = Path(__file__).resolve().parents[1]


def looplab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "looplab", *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_command():
    result = looplab("--help")
    assert result.returncode == 0
    for command in ("mock-vllm", "cleanup", "doctor", "bench"):
        assert command in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--fault", "boom@1"], "unknown fault kind 'boom'"),
    (["--fault", "500"], "expected KIND@SCHEDULE"),
    (["--max-model-len", "0"], "max_model_len must be at least 1"),
    (["--ttft-ms", "-5"], "ttft_ms must not be negative"),
    (["--output", "poetry"], "invalid choice: 'poetry'"),
])
def test_mock_vllm_refuses_bad_options_before_binding(args, message):
    result = looplab("mock-vllm", "--port", "0", *args)
    assert result.returncode == 2 and message in result.stderr


def test_mock_vllm_reports_a_port_in_use():
    with servers.start_mock() as mock:
        result = looplab("mock-vllm", "--port", str(mock.port))
    assert result.returncode != 0 and f"cannot listen on 127.0.0.1:{mock.port}" in result.stderr
    assert "--port 0" in result.stderr


def test_mock_vllm_prints_where_it_listens_and_writes_the_request_log(tmp_path):
    log = tmp_path / "requests.jsonl"
    with servers.start_mock(request_log=log, models=["a", "b"]) as mock:
        urllib.request.urlopen(f"{mock.base_url}/models").read()
    assert f"listening on {mock.url}" in mock.log_text()
    lines = log.read_text().splitlines()
    assert any('"/v1/models"' in line for line in lines)


def test_doctor_passes_here_and_names_the_platform():
    lines: list[str] = []
    assert doctor.report(out=lines.append) == 0, "\n".join(lines)
    assert lines[-1] == "Ready for the workshop."
    assert any(line.startswith("PASS  mock vLLM") for line in lines)
    assert doctor.platform_kind() in {"linux", "wsl2", "macos"}


def test_doctor_reports_a_version_drift_with_its_fix(monkeypatch):
    monkeypatch.setattr(doctor.metadata, "version", lambda name: "0.0.1")
    lines: list[str] = []
    assert doctor.report(skip_jupyter=True, out=lines.append) == 1
    locked = locked_version("openai")
    assert any(line.startswith("FAIL  packages") and f"openai 0.0.1 (locked: {locked})" in line for line in lines)
    assert any("fix: run `python3 run.py setup`" in line for line in lines)


def test_workshop_command_prints_the_url_and_stops_cleanly_on_ctrl_c():
    session = os.environ[servers.SESSION_ENV]
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "workshop", "--no-setup"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url, website, chinese, seen = None, None, "", []
        for line in proc.stdout:
            seen.append(line)
            if "JupyterLab: " in line:
                url = line.split("JupyterLab: ", 1)[1].strip()
            if "简体中文: " in line:
                chinese = line.split("简体中文: ", 1)[1].strip()
            if "Website: " in line:
                website = line.split("Website: ", 1)[1].strip()
                break
        assert url and url.startswith("http://127.0.0.1:"), "the workshop command printed no URL:\n" + "".join(seen)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        assert "/lab/tree/zh/notebooks?token=" in chinese  # the Chinese notebooks (zh/), same server
        with urllib.request.urlopen(chinese.replace("/lab/tree/", "/api/contents/"), timeout=10) as response:
            assert b"01-event-loops.ipynb" in response.read()
        if website.startswith("http://"):  # the site is served when it has been built
            with urllib.request.urlopen(website, timeout=10) as response:
                assert response.status == 200 and b"looplab" in response.read()
        else:
            assert "python3 run.py site" in website
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole foreground group
        rest = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, rest
        assert "stopped" in rest
        assert not servers.find_tagged(session)
        import socket
        for address in filter(None, [url, website if website.startswith("http://") else None]):
            port = int(address.split(":")[2].split("/")[0])
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"{address} still answers after Ctrl-C"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_ctrl_c_while_the_workshop_starts_stops_jupyterlab_and_exits_cleanly():
    """Ctrl-C before the banner (a learner's impatience, or a script that stops the workshop as soon as it has
    read the banner) stops JupyterLab and exits 0 with no traceback."""
    import psutil

    from looplab.proofs.verify import wait_until

    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "workshop", "--no-setup"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        def jupyterlab() -> list[psutil.Process]:
            with contextlib.suppress(psutil.Error):
                return [c for c in psutil.Process(proc.pid).children()
                        if "jupyter" in " ".join(c.cmdline()) and "lab" in c.cmdline()]
            return []
        assert wait_until(lambda: jupyterlab(), timeout=60), "the workshop command started no JupyterLab"
        lab = jupyterlab()[0]
        os.killpg(proc.pid, signal.SIGINT)  # JupyterLab is starting: no banner yet
        out = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, out
        assert "Traceback" not in out and "stopped" in out, out
        assert not lab.is_running() or lab.status() == psutil.STATUS_ZOMBIE, "JupyterLab outlived Ctrl-C"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_doctor_says_when_the_machine_is_not_ready_for_an_offline_room(tmp_path, monkeypatch):
    monkeypatch.setattr(doctor, "LOCK_FILE", tmp_path / "uv.lock")  # a checkout with nothing set up
    result = doctor.check_offline()
    assert not result.ok and ".venv-incident" in result.detail and "run.py setup" in result.fix


# --- looplab doctor: which package index (PyPI or a mirror) ----------------------------------------

@pytest.fixture
def no_index_settings(monkeypatch, tmp_path):
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_CONFIG_FILE", str(tmp_path / "no-uv.toml"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "no-pip.conf"))
    return tmp_path


def test_doctor_names_pypi_when_no_mirror_is_set(no_index_settings):
    from looplab.entrypoints import doctor

    check = doctor.check_index()
    assert check.ok and check.detail == ("uv: https://pypi.org/simple (uv's default); "
                                         "pip: https://pypi.org/simple (pip's default)")


def test_doctor_names_the_mirror_each_installer_uses_and_where_it_is_set(no_index_settings, monkeypatch):
    from looplab.entrypoints import doctor

    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://me:s3cret@mirror.example.cn/pypi/simple")
    (no_index_settings / "no-pip.conf").write_text("[global]\nindex-url = https://mirror.example.cn/pypi/simple\n")
    detail = doctor.check_index().detail
    assert "uv: https://***@mirror.example.cn/pypi/simple (UV_DEFAULT_INDEX)" in detail
    assert "s3cret" not in detail  # a token in an index URL is never printed
    assert f"pip: https://mirror.example.cn/pypi/simple ({no_index_settings / 'no-pip.conf'})" in detail
    assert "refuses a file whose hash differs" in detail and "only one installer" not in detail


def test_doctor_says_when_only_pip_uses_a_mirror(no_index_settings, monkeypatch):
    from looplab.entrypoints import doctor

    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example.cn/pypi/simple")
    (no_index_settings / "no-uv.toml").write_text('[[index]]\nurl = "https://pypi.org/simple"\ndefault = true\n')
    detail = doctor.check_index().detail
    assert "only one installer uses a mirror: set UV_DEFAULT_INDEX" in detail
