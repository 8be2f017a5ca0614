"""The room: a real JupyterHub, real learners (OS users made on first login), real kernels.

One room is started for this module the way a facilitator starts it (``looplab room run``, then
Ctrl-C at the end); learners join through the login form and the proxy. What is proved: learners
are refused without the session code; each runs as their own OS user and can neither read nor change
another's files, nor reach another's server; the facilitator's pages are refused to learners;
results are filed under the token's owner; one learner's runaway cell leaves the others working; a
fix published mid-session arrives without eating a learner's edit; Ctrl-C leaves no process and
keeps the work. The browser test is in ``test_room_browser.py``.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from looplab.project import ROOT
from looplab.room.install import install
from looplab.room.launch import leftovers
from looplab.room.learner import KernelDied, Learner, LearnerError
from looplab.room.running import RoomProcess, scratch_home

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                                reason="the room runs on Linux, as root (it makes an OS user per learner)")
PREFIX = f"t{secrets.token_hex(2)}"
ANA, BEN = f"{PREFIX}-ana", f"{PREFIX}-ben"


@pytest.fixture(scope="module")
def room():
    install()  # the shared install (cached by content: a second run takes no time)
    home = scratch_home()
    running = RoomProcess(home, "--port", "0", "--memory-gib", "1.5", "--tasks", "400")
    yield running
    running.stop()
    running.forget([ANA, BEN])
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def learners(room):
    joined = {}
    for name in (ANA, BEN):
        learner = Learner(room.url, name, room.settings.learner_code)
        learner.join(room.settings.content_repo)
        joined[name] = learner
    return joined


def run_in(learner: Learner, code: str, notebook: str = "looplab/notebooks/01-event-loops.ipynb"):
    with learner.session(notebook) as kernel:
        return kernel.execute(code, timeout=240)


def test_learners_need_the_session_code_and_a_plain_name(room):
    with pytest.raises(LearnerError, match="refused"):
        Learner(room.url, f"{PREFIX}-eve", "wrong-code-123").login()
    with pytest.raises(LearnerError, match="refused"):  # not a name the room accepts as an OS user's
        Learner(room.url, "Root; rm", room.settings.learner_code).login()
    with pytest.raises(LearnerError, match="refused"):  # the facilitator's name needs the facilitator's code
        Learner(room.url, "facilitator", room.settings.learner_code).login()
    assert not any(p.pw_name == f"looplab-{PREFIX}-eve" for p in pwd.getpwall())


def test_each_learner_runs_as_their_own_os_user_with_their_own_copy(room, learners):
    result = run_in(learners[ANA], "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.getcwd())")
    user, cwd = result.stdout.split()
    assert user == f"looplab-{ANA}"
    assert cwd == str(room.settings.homes / user / "looplab" / "notebooks")
    for folder in ("notebooks", "labs", "solutions", "zh"):
        assert (room.settings.homes / user / "looplab" / folder).is_dir(), folder
    assert (room.settings.homes / user).stat().st_mode & 0o777 == 0o700


def test_a_learner_cannot_read_or_change_another_learners_files_or_the_shared_install(room, learners):
    theirs = room.settings.homes / f"looplab-{BEN}" / "looplab" / "labs" / "lab-01-make-it-crash.ipynb"
    assert theirs.exists()
    probe = f"""
import pathlib
for action, path in [("read", {str(theirs)!r}), ("write", {str(theirs.parent / 'mine.txt')!r}),
                     ("write", {str(Path(room.settings.install) / 'looplab' / 'mine.py')!r}),
                     ("write", {str(Path(room.settings.install) / '.venv' / 'mine.pth')!r})]:
    try:
        pathlib.Path(path).read_text() if action == "read" else pathlib.Path(path).write_text("x")
        print("ALLOWED", action, path)
    except PermissionError:
        print("refused", action)
"""
    result = run_in(learners[ANA], probe)
    assert "ALLOWED" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 4


def test_a_learner_cannot_reach_another_learners_server(room, learners):
    ana, ben = learners[ANA], learners[BEN]
    through_proxy = ana.http.get(ben.url("api/contents/looplab"), headers=ana.headers(), timeout=30, allow_redirects=False)
    assert through_proxy.status_code == 403, through_proxy.status_code
    # straight to the port of ben's server, on this machine: it still asks the hub whose token it is
    port = next(c.laddr.port for p in psutil.process_iter(["username", "cmdline"])
                if p.info["username"] == f"looplab-{BEN}" and "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])
                for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
    direct = ana.http.get(f"http://127.0.0.1:{port}/user/{BEN}/api/contents/looplab", headers=ana.headers(), timeout=30,
                          allow_redirects=False)
    assert direct.status_code == 403, direct.status_code
    own = ana.http.get(ana.url("api/contents/looplab"), headers=ana.headers(), timeout=30)
    assert own.status_code == 200


def test_the_facilitators_pages_are_refused_to_learners(room, learners):
    ana = learners[ANA]
    for page in ("", "board", "board.json", "export.csv"):
        with_cookie = ana.http.get(room.url + f"services/looplab-room/{page}", timeout=30)
        with_token = ana.http.get(room.url + f"services/looplab-room/{page}", headers=ana.headers(), timeout=30)
        assert (with_cookie.status_code, with_token.status_code) == (403, 403), page
    facilitator = Learner(room.url, "facilitator", room.settings.facilitator_code)
    facilitator.login()
    assert facilitator.http.get(room.url + "services/looplab-room/", timeout=30).status_code == 200


def test_a_result_is_filed_under_the_learner_whose_token_sent_it(room, learners):
    ana = learners[ANA]
    api = room.url + "services/looplab-room/api/attempts"
    forged = {"lab": "lab01", "check": "crash_script", "verdict": "passed", "learner": BEN}
    assert ana.http.post(api, json=forged, headers=ana.headers(), timeout=30).status_code == 201
    assert ana.http.post(api, json=forged, timeout=30, headers={"Authorization": "token nope"}).status_code == 403
    assert ana.http.post(api, json={**forged, "check": "no_such_check"}, headers=ana.headers(), timeout=30).status_code == 400
    board = facilitator_board(room)
    rows = {row["learner"]: row for row in board["rows"]}
    assert rows[ANA]["cells"]["lab01.crash_script"]["verdict"] == "passed"
    assert "lab01.crash_script" not in rows.get(BEN, {}).get("cells", {})


def facilitator_board(room) -> dict:
    facilitator = Learner(room.url, "facilitator", room.settings.facilitator_code)
    facilitator.login()
    reply = facilitator.http.get(room.url + "services/looplab-room/board.json", timeout=30)
    reply.raise_for_status()
    return reply.json()


def test_a_check_cell_reports_its_hint_and_the_csv_has_it(room, learners):
    """A learner runs lab 01's first check on a wrong answer (no crash): the board shows ✘ with the
    hint the learner read, and the CSV export carries it."""
    ben = learners[BEN]
    wrong = ('%%writefile crash_lab.py\nimport asyncio, sys, openai\n'
             'async def job(name):\n    async with openai.AsyncOpenAI(base_url=sys.argv[1], api_key="x", max_retries=0) as c:\n'
             '        for _ in range(2):\n            await c.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": name}])\n'
             'asyncio.run(job("a")); asyncio.run(job("b")); print("both jobs done")\n')
    with ben.session("looplab/labs/lab-01-make-it-crash.ipynb") as kernel:
        assert kernel.execute(wrong).status == "ok"
        checked = kernel.execute('from looplab import checks\nchecks.crash_script("crash_lab.py")')
    assert checked.status == "error" and checked.error.startswith("LabCheckFailed"), checked.text
    cell = {row["learner"]: row for row in facilitator_board(room)["rows"]}[BEN]["cells"]["lab01.crash_script"]
    assert cell["verdict"] == "failed" and cell["hint"] and cell["hint"][:40] in checked.error
    facilitator = Learner(room.url, "facilitator", room.settings.facilitator_code)
    facilitator.login()
    csv_text = facilitator.http.get(room.url + "services/looplab-room/export.csv", timeout=30).text
    line = next(line for line in csv_text.splitlines() if line.startswith(BEN + ","))
    assert "failed" in line and cell["hint"][:40] in line


def test_one_learners_runaway_cell_leaves_the_others_working(room, learners):
    ana, ben = learners[ANA], learners[BEN]
    with ana.session("looplab/notebooks/01-event-loops.ipynb") as kernel:
        with pytest.raises(KernelDied):  # 3 GiB in a 1.5 GiB group: the kernel is killed, nobody else
            kernel.execute("hog = b'x' * (3 * 2**30)", timeout=240)
    with ana.session("looplab/notebooks/01-event-loops.ipynb") as kernel:  # a process bomb stops at the group's limit
        bomb = kernel.execute("import subprocess\nprocs = []\ntry:\n    while len(procs) < 5000:\n"
                              "        procs.append(subprocess.Popen(['sleep', '600']))\nexcept OSError as exc:\n"
                              "    print('stopped at', len(procs), type(exc).__name__)\n"
                              "for p in procs:\n    p.kill(); p.wait()\n", timeout=240)
        assert "stopped at" in bomb.stdout, bomb.text
        assert int(bomb.stdout.split()[2]) < 400
    served = run_in(ben, "from looplab import start_mock\nwith start_mock() as mock:\n"
                         "    print(mock.client().chat.completions.create(model='tiny-llama', "
                         "messages=[{'role': 'user', 'content': 'still here'}]).choices[0].message.content)")
    assert served.stdout.strip() == "still here", served.text


def test_a_fix_published_mid_session_arrives_and_the_learners_edit_stays(room, learners, tmp_path):
    ana = learners[ANA]
    lab = "looplab/labs/lab-01-make-it-crash.ipynb"
    notebook = ana.contents(lab)["content"]
    exercise = next(c for c in notebook["cells"] if c["cell_type"] == "code" and "YOUR CODE HERE" in "".join(c["source"]))
    exercise["source"] = "".join(exercise["source"]).replace("# YOUR CODE HERE", "# ana's answer, typed in the room")
    ana.save_notebook(lab, notebook)
    # the facilitator fixes a typo in another cell of the same lab, commits and publishes
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
    path = checkout / "labs" / "lab-01-make-it-crash.ipynb"
    fixed = json.loads(path.read_text())
    key = next(c for c in fixed["cells"] if c["cell_type"] == "markdown" and "## Key points" in "".join(c["source"]))
    key["source"] = "".join(key["source"]).replace("## Key points", "## Key points (fixed mid-session)")
    path.write_text(json.dumps(fixed, indent=1, ensure_ascii=False) + "\n")
    subprocess.run(["git", "-c", "user.name=f", "-c", "user.email=f@x", "commit", "--quiet", "-am", "a fix"], cwd=checkout,
                   check=True)
    published = subprocess.run([sys.executable, "-m", "looplab", "room", "publish", "--home", str(room.home)],
                               cwd=checkout, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(checkout)})
    assert published.returncode == 0, published.stderr
    ana.pull(room.settings.content_repo)
    after = "".join("".join(c["source"]) for c in ana.contents(lab)["content"]["cells"])
    assert "ana's answer, typed in the room" in after
    assert "## Key points (fixed mid-session)" in after


def test_ctrl_c_stops_every_process_and_keeps_the_work(room, learners):
    users = [f"looplab-{name}" for name in learners]
    running = [p for p in psutil.process_iter(["username"]) if p.info["username"] in users]
    assert running, "the learners' servers should be running before Ctrl-C"
    assert room.stop() == 0, "".join(room.output)
    assert not leftovers(room.settings)
    assert not [p.pid for p in psutil.process_iter(["username"]) if p.info["username"] in users]
    assert not [p.pid for p in psutil.process_iter(["cmdline"])
                if str(room.home) in " ".join(p.info["cmdline"] or []) or room.settings.proxy in " ".join(p.info["cmdline"] or [])]
    assert (room.settings.homes / users[0] / "looplab" / "labs").is_dir()
    assert "ana's answer, typed in the room" in (room.settings.homes / users[0] / "looplab" / "labs"
                                                 / "lab-01-make-it-crash.ipynb").read_text()
