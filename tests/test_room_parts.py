"""The room's parts that need no hub: the board, the limits, the launcher's one-line errors.

The hub itself, with real learners, is ``test_room.py``; the browser, ``test_room_browser.py``.
"""

from __future__ import annotations

import csv
import json
import math
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from looplab.course.checks import columns
from looplab.course.progress import reported
from looplab.course.feedback import LabCheckFailed
from looplab.project import ROOT
from looplab.room.limits import LearnerGroup, Limits, cgroup_mode
from looplab.room.progress import BadReport, Progress, same_hint, to_csv
from looplab.room.settings import new_session_code, valid_name

COLUMNS = [("lab01", "crash_script"), ("lab05", "per_call_adapter")]
ROOM = [sys.executable, "-m", "looplab", "room"]


@pytest.fixture
def progress(tmp_path):
    db = Progress(str(tmp_path / "progress.sqlite"))
    yield db
    db.close()


def test_the_board_shows_each_learners_latest_result_and_who_has_not_started(progress):
    progress.record("ana", "lab01", "crash_script", "failed", "your script did not crash", at=100)
    progress.record("ana", "lab01", "crash_script", "passed", at=200)
    progress.record("ben", "lab05", "per_call_adapter", "failed", "5 of 60 requests failed", at=150)
    progress.record_doctor("ben", False, "looplab doctor: NOT READY (5/6)")
    board = progress.board(COLUMNS, learners=["ana", "ben", "cy"], now=260)
    rows = {row.learner: row for row in board.rows}
    assert [r.learner for r in board.rows] == ["ana", "ben", "cy"]
    assert rows["ana"].cells[("lab01", "crash_script")].mark == "✔"  # the latest attempt counts
    assert rows["ben"].cells[("lab05", "per_call_adapter")].hint == "5 of 60 requests failed"
    assert (rows["ana"].last_attempt, rows["ben"].doctor_ok, rows["cy"].doctor_ok) == (200, False, None)
    assert rows["cy"].cells == {} and rows["cy"].last_attempt is None


def test_three_learners_on_the_same_hint_are_called_out_and_two_are_not(progress):
    for name, hint in (("ana", "9 calls opened 5 connections"), ("ben", "9 calls opened 6 connections")):
        progress.record(name, "lab05", "per_call_adapter", "failed", hint)
    assert not progress.board(COLUMNS).callouts
    progress.record("cy", "lab05", "per_call_adapter", "failed", "9 calls opened 9 connections")
    progress.record("dee", "lab05", "per_call_adapter", "failed", "the stream was never closed")
    (callout,) = progress.board(COLUMNS).callouts
    assert callout.learners == ["ana", "ben", "cy"] and callout.column == ("lab05", "per_call_adapter")
    assert same_hint("9 calls opened 5 connections") == same_hint("12 calls opened 3 connections")


def test_a_report_the_board_cannot_file_is_refused(progress):
    with pytest.raises(BadReport, match="unknown verdict"):
        progress.record("ana", "lab01", "crash_script", "green")
    with pytest.raises(BadReport, match="unknown check"):
        progress.record("ana", "lab01", "nope", "passed", columns=COLUMNS)


def test_the_csv_export_has_one_row_per_learner_with_verdicts_and_hints(progress):
    progress.record("ana", "lab01", "crash_script", "failed", "no crash: the client was made per job", at=1_700_000_000)
    progress.record_doctor("ana", True, "READY")
    rows = list(csv.DictReader(io.StringIO(to_csv(progress.board(COLUMNS, learners=["ana", "ben"])))))
    assert [r["learner"] for r in rows] == ["ana", "ben"]
    assert rows[0]["lab01.crash_script"] == "failed" and rows[0]["lab01.crash_script hint"].startswith("no crash")
    assert rows[0]["doctor"] == "passed" and rows[0]["last_attempt_utc"] == "2023-11-14T22:13:20Z"
    assert rows[1]["lab01.crash_script"] == "" and rows[1]["doctor"] == ""


def test_every_lab_check_is_a_column_and_a_check_reports_without_a_room(monkeypatch):
    from looplab.course import checks

    assert {name for _, name in columns()} == {n for n in checks.__all__ if n != "LabCheckFailed"}
    monkeypatch.delenv("LOOPLAB_ROOM_URL", raising=False)
    sent = []
    monkeypatch.setattr("looplab.course.progress.send", lambda path, payload, timeout=3.0: sent.append(payload))

    @reported
    def failing():
        raise LabCheckFailed("exercise 1a", "look at the loop")

    with pytest.raises(LabCheckFailed):
        failing()
    assert sent == [{"lab": "test_room_parts", "check": "failing", "verdict": "failed", "hint": "look at the loop",
                     "exercise": "exercise 1a"}]


def test_a_room_that_does_not_answer_never_breaks_a_check(monkeypatch, capsys):
    from looplab.course import progress as client

    monkeypatch.setenv("LOOPLAB_ROOM_URL", "http://127.0.0.1:9/services/looplab-room/")  # nothing listens on 9
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    monkeypatch.setattr(client, "_warned", False)
    assert client.record("lab01", "crash_script", "passed") is False
    assert client.record("lab01", "crash_script", "passed") is False
    assert capsys.readouterr().err.count("live view did not get this result") == 1


def test_the_limits_are_written_to_the_learners_control_group(tmp_path):
    for controller in ("memory", "pids", "cpu"):
        (tmp_path / controller).mkdir()
    assert cgroup_mode(tmp_path) == "v1"
    group = LearnerGroup("looplab-ana", Limits(3 * 2**30, 300), root=tmp_path)
    group.create()
    assert (tmp_path / "memory/looplab-room/looplab-ana/memory.limit_in_bytes").read_text() == str(3 * 2**30)
    assert (tmp_path / "pids/looplab-room/looplab-ana/pids.max").read_text() == "300"
    unified = tmp_path / "v2"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    group = LearnerGroup("looplab-ben", Limits(2**30, 200), root=unified)
    assert group.mode == "v2"
    group.create()
    assert (unified / "looplab-room/looplab-ben/memory.max").read_text() == str(2**30)
    assert (unified / "looplab-room/looplab-ben/pids.max").read_text() == "200"
    assert cgroup_mode(tmp_path / "nothing-here") is None


def test_session_codes_are_readable_and_names_are_safe_os_user_names():
    code = new_session_code()
    assert re.fullmatch(r"loop-[2-9a-km-np-z]{4}-[2-9a-km-np-z]{4}", code), code  # no 0/o, 1/l to misread
    assert valid_name("li-wei") and valid_name("ana2")
    for bad in ("facilitator", "Root", "a b", "-x", "x" * 21, "../etc", ""):
        assert not valid_name(bad), bad


# --- the launcher's one-line errors (exit 2, no traceback) -----------------------------------------------

def one_line(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([*ROOM, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in done.stderr, done.stderr
    return done


needs_root = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                                reason="the room runs on Linux, as root")


@needs_root
def test_a_busy_port_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = one_line("run", "--home", str(tmp_path), "--port", str(busy.getsockname()[1]))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "is busy: choose another with --port" in done.stderr


@needs_root
def test_tls_mistakes_are_one_line(tmp_path):
    missing = one_line("run", "--home", str(tmp_path), "--port", "0", "--cert", str(tmp_path / "no.pem"),
                       "--key", str(tmp_path / "no.key"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and missing.stderr.count("\n") == 1
    bare = one_line("run", "--home", str(tmp_path), "--port", "0", "--ip", "0.0.0.0")  # noqa: S104
    assert bare.returncode == 2 and "needs TLS" in bare.stderr and "--insecure-http" in bare.stderr
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(tmp_path / "other.key")  # not its key
    mismatched = one_line("run", "--home", str(tmp_path), "--port", "0", "--cert", str(tmp_path / "cert.pem"),
                          "--key", str(tmp_path / "other.key"))
    assert mismatched.returncode == 2 and "do not load together" in mismatched.stderr


@needs_root
def test_a_bad_session_code_and_an_unknown_learner_are_one_line(tmp_path):
    bad = one_line("run", "--home", str(tmp_path), "--port", "0", "--code", "short")
    assert bad.returncode == 2 and "is not usable" in bad.stderr
    Progress(str(tmp_path / "progress.sqlite")).record("ana", "lab01", "crash_script", "passed")
    (tmp_path / "room.json").write_text("{}")
    unknown = one_line("learner", "--home", str(tmp_path), "nobody")
    assert unknown.returncode == 2 and "no learner named 'nobody'" in unknown.stderr and "ana" in unknown.stderr
    nowhere = one_line("export", "--home", str(tmp_path / "elsewhere"))
    assert nowhere.returncode == 2 and "no room at" in nowhere.stderr


@needs_root
def test_a_missing_proxy_is_one_line_with_the_fix(tmp_path):
    from looplab.room.launch import Options, RoomError, prepare

    install = tmp_path / "install"
    (install / ".venv" / "bin").mkdir(parents=True)
    (install / ".venv" / "bin" / "jupyterhub").touch()
    with pytest.raises(RoomError, match=r"proxy \(configurable-http-proxy, from npm\) is missing.*run.py room"):
        prepare(Options(home=tmp_path / "home", install=install, port=0))


@needs_root
def test_run_py_room_without_root_is_one_line():
    """As a learner's OS user would run it (not root): one line naming sudo."""
    done = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", str(ROOT / "run.py"), "room"],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().endswith("`sudo python3 run.py room`.")


def test_run_py_on_an_unsupported_python_is_one_line():
    """On a Mac's system Python (3.9): pyenv's 3.9 where this machine has it, else 3.9 simulated."""
    from looplab.real.envs import find_python

    old = find_python("3.9")
    command = [old, str(ROOT / "run.py"), "workshop"] if old else [
        sys.executable, "-c", "import runpy, sys; sys.version_info = (3, 9, 6, 'final', 0); sys.version = '3.9.6 (simulated)'; "
        f"sys.argv = ['run.py', 'workshop']; runpy.run_path({str(ROOT / 'run.py')!r}, run_name='__main__')"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "needs Python 3.10 to 3.13" in done.stderr and "brew install python@3.11" in done.stderr


def test_doctor_line_is_one_paste_able_line():
    from looplab.entrypoints.doctor import Check, one_line

    ready = one_line([Check("python", True, "3.11"), Check("mock vLLM", True, "answered")])
    assert ready.startswith("looplab doctor: READY (2/2) · ") and "openai " in ready and "\n" not in ready
    failed = one_line([Check("python", True, "3.11"), Check("packages", False, "openai 3.50.0 (locked: 3.51.0)",
                                                               "run `python3 run.py setup`")])
    assert failed.startswith("looplab doctor: NOT READY (1/2)")
    assert failed.endswith("packages: openai 3.50.0 (locked: 3.51.0) (fix: run `python3 run.py setup`)")
    done = subprocess.run([*ROOM[:-1], "doctor", "--line", "--skip-jupyter"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("looplab doctor: "), done.stdout
    assert done.returncode == (0 if "READY (" in done.stdout and "NOT READY" not in done.stdout else 1)


@needs_root
def test_a_room_served_with_tls_is_reached_over_https_only(tmp_path):
    from looplab.room.install import install
    from looplab.room.learner import Learner
    from looplab.room.running import RoomProcess, scratch_home

    install()
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    home = scratch_home()
    room = RoomProcess(home, "--port", "0", "--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem"))
    try:
        assert room.url.startswith("https://127.0.0.1:")
        learner = Learner(room.url, "tls-check", room.settings.learner_code, verify=str(tmp_path / "ca.pem"))
        assert learner.login().status_code == 302  # the session code went over TLS, verified against the CA
        import requests

        with pytest.raises(requests.exceptions.ConnectionError):  # no plain HTTP on the same port
            requests.get(room.url.replace("https://", "http://") + "hub/login", timeout=10)
    finally:
        assert room.stop() == 0
        room.forget(["tls-check"])
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def test_the_capacity_page_marks_wrong_verdicts_and_says_what_is_extrapolated(tmp_path):
    from looplab.course import capacity_page

    def run(n, p50, right=True):
        return {"learners": n, "verdicts_right": right, "wrong_verdicts": [] if right else ["lab06 wrong answer passed"],
                "errors": [], "join_p50": 1.0, "join_p95": 2.0, "lab_p50": p50, "lab_p95": p50 * 2,
                "peak_memory_mib_max": 400, "peak_tasks_max": 30, "hub_rss_mib": 300}
    data = {"machine": {"cores": 2, "memory_gib": 24, "platform": "Linux", "date": "2026-12-07"}, "labs": [1, 6],
            "command": "looplab room capacity --learners 1,4", "results": [run(1, 10.0), run(4, 30.0, right=False)],
            "observations": [{"learners": 4, "en": "a websocket closed once", "zh": "websocket 关闭过一次"}]}
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(data))
    page = capacity_page.markdown("en", path=path)
    assert "| 4 | **no** (1) |" in page and "3.0×" in page and "a websocket closed once" in page
    assert "extrapolated from 4 learners (not measured)" in page  # 30 learners
    assert "websocket 关闭过一次" in capacity_page.markdown("zh", path=path)
    rows = capacity_page.planning(data)
    assert [r["learners"] for r in rows] == [12, 30] and not any(r["measured"] for r in rows)
    # memory: 30 learners x 400 MiB x 1.25 headroom + the hub's 300 MiB
    assert rows[1]["memory_gib"] == math.ceil((30 * 400 * 1.25 + 300) / 1024)
    assert "Not measured yet" in capacity_page.markdown("en", path=tmp_path / "missing.json")
