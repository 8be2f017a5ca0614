"""The facilitator guide's "Rooms without internet", run as the page gives it.

1. On this connected machine: ``python3 run.py wheelhouse DIR`` (kept in ``build/wheelhouse/``, made
   again only when uv.lock, envs/, the Python or run.py's wheelhouse format change, so later runs take
   a second).
2. A copy of the repository as a learner gets it (the files git knows, no ``.venv``, no ``.tools``),
   an empty uv cache, and **no network at all**: a network namespace of its own with only loopback
   (``unshare``), and pip and uv told nothing but the page's ``--wheelhouse DIR``. There
   ``python3 run.py workshop --wheelhouse DIR`` must install everything, start JupyterLab (which must
   answer), stop on Ctrl-C, and notebook 01 must pass in the environment it installed.

tests/test_mirror_setup.py runs the setup page's mirror set-up the same way: the same wheelhouse
served as a package mirror (a PEP 503 index for pip and uv, an npm registry for mermaid) on loopback
inside the namespace,
``UV_DEFAULT_INDEX`` and ``PIP_INDEX_URL`` (and ``NPM_CONFIG_REGISTRY``) set as the page says, then
``python3 run.py workshop``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from looplab.room.install import tracked_files

ROOT = Path(__file__).resolve().parents[1]
# preparing the wheelhouse (a first run: minutes of downloads) and the install take longer than the suite's 300 s
pytestmark = pytest.mark.timeout(1800)
WHEELHOUSE = ROOT / "build" / "wheelhouse"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)  # the Python a learner runs run.py with

# Runs inside the namespace: the learner's steps, then one JSON line with what happened.
# "wheelhouse": run.py workshop --wheelhouse DIR; "mirror": DIR served as a package mirror on loopback.
LEARNER = r"""
import base64, hashlib, json, os, re, signal, socket, subprocess, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
wheelhouse, mode, python = Path(sys.argv[1]), sys.argv[2], sys.executable
result = {"log": []}
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
    result["network"] = True
except OSError:
    result["network"] = False

def project(filename):
    stem = filename[:-len(".tar.gz")].rsplit("-", 1)[0] if filename.endswith(".tar.gz") else filename.split("-")[0]
    return re.sub(r"[-_.]+", "-", stem).lower()

HASHES = {}

def sha256(name):
    if name not in HASHES:
        HASHES[name] = hashlib.sha256((wheelhouse / name).read_bytes()).hexdigest()
    return HASHES[name]

class Mirror(BaseHTTPRequestHandler):
    # /simple/NAME/ (PEP 503, for pip and uv), /files/FILE, /NAME (an npm packument: mermaid, iframe-worker), /NAME/-/FILE
    def do_HEAD(self):  # uv asks for a wheel's headers first
        self.do_GET(head=True)
    def do_GET(self, head=False):
        path, body, kind = self.path.split("?")[0], None, "text/html"
        files = sorted(p.name for p in wheelhouse.iterdir() if p.name.endswith((".whl", ".tar.gz")))
        if path.startswith("/simple/"):
            name = path.strip("/").split("/")[-1]
            links = [f'<a href="/files/{f}#sha256={sha256(f)}">{f}</a>' for f in files if project(f) == name]
            body = ("<html><body>" + "".join(links) + "</body></html>").encode() if links else None
        elif path.startswith("/files/") or "/-/" in path:
            target = wheelhouse / path.rsplit("/", 1)[-1]
            body, kind = (target.read_bytes() if target.is_file() else None), "application/octet-stream"
        elif (packed := sorted(wheelhouse.glob(f"{path.strip('/')}-[0-9]*.tgz"))) and "/" not in path.strip("/"):
            name, tgz = path.strip("/"), packed[-1]
            data, version = tgz.read_bytes(), tgz.name[len(name) + 1:-len(".tgz")]
            dist = {"tarball": f"http://127.0.0.1:{self.server.server_port}/{name}/-/{tgz.name}",
                    "shasum": hashlib.sha1(data).hexdigest(),
                    "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}
            body = json.dumps({"name": name, "dist-tags": {"latest": version},
                               "versions": {version: {"name": name, "version": version, "dist": dist}}}).encode()
            kind = "application/json"
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if not head:
            self.wfile.write(body or b"")
    def log_message(self, *args):
        pass

env = dict(os.environ)
if mode == "mirror":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    index = f"http://127.0.0.1:{server.server_port}/simple"
    env.update(UV_DEFAULT_INDEX=index, PIP_INDEX_URL=index, NPM_CONFIG_REGISTRY=f"http://127.0.0.1:{server.server_port}/")
    command = [python, "run.py", "workshop"]
else:
    command = [python, "run.py", "workshop", "--wheelhouse", str(wheelhouse)]
workshop = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
for line in workshop.stdout:
    result["log"].append(line.rstrip())
    if "JupyterLab: http" in line:
        url = line.split("JupyterLab:", 1)[1].strip()
        result["status_url"] = url.split("/lab/")[0] + "/api/status?" + url.split("?", 1)[1]
    if "Press Ctrl-C" in line:
        break
if "status_url" in result:
    with urllib.request.urlopen(result["status_url"], timeout=30) as response:
        result["jupyterlab"] = response.status
    workshop.send_signal(signal.SIGINT)
result["log"] += [line.rstrip() for line in workshop.stdout]
result["workshop_exit"] = workshop.wait(120)
notebook = subprocess.run([".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "notebooks/01-event-loops.ipynb"], capture_output=True, text=True, timeout=300)
result["notebook_exit"], result["notebook_tail"] = notebook.returncode, notebook.stdout[-2000:]
print(json.dumps(result))
"""


def _no_network_prefix() -> list[str]:
    """A network namespace with only loopback (up), when this machine lets us make one."""
    prefix = ["unshare", "--net", *([] if os.geteuid() == 0 else ["--map-root-user"]), "--", "sh", "-c",
              'ip link set lo up && exec "$@"', "sh"]
    if shutil.which("unshare") and shutil.which("ip"):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return []


def _learners_copy(target: Path) -> None:
    for name in tracked_files(ROOT):  # what a learner's copy holds: the files git knows (as the room installs)
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def _prepared_wheelhouse() -> dict:
    """build/wheelhouse/, made by run.py (once: later calls find it ready), one test process at a time."""
    import fcntl

    WHEELHOUSE.parent.mkdir(parents=True, exist_ok=True)
    with open(WHEELHOUSE.parent / ".wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepared = subprocess.run([BASE_PYTHON, "run.py", "wheelhouse", str(WHEELHOUSE)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=1800)
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
    manifest = json.loads((WHEELHOUSE / "wheelhouse.json").read_text())
    assert any(name.startswith("llama_stack-0.2.2") for name in manifest["parts"]["envs/llama-stack-0.2.2.txt"]["files"])
    assert any(name.startswith("llama_stack-0.2.3") for name in manifest["parts"]["envs/llama-stack-0.2.3.txt"]["files"])
    assert "envs/incident-exact.txt (Python 3.10)" in manifest["parts"]
    return manifest


def _install_and_start_offline(tmp_path: Path, mode: str) -> tuple[Path, dict, str]:
    """A learner's copy, an empty uv cache, no network: install and start the workshop, run notebook 01."""
    room = tmp_path / "room"
    _learners_copy(room)
    assert not (room / ".venv").exists() and not (room / ".tools").exists()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UV_", "PIP_", "LOOPLAB_", "VIRTUAL_ENV", "PYTEST_", "npm_config_"))}
    env.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
               PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PYTHONDONTWRITEBYTECODE="1",
               LOOPLAB_NO_COMPILE_BYTECODE="1",  # the releases' bytecode: half the test's CPU, for a copy thrown away
               npm_config_cache=str(tmp_path / "npm-cache"))
    script = tmp_path / "learner.py"
    script.write_text(LEARNER)
    isolated = _no_network_prefix()
    if not isolated:  # with the network, a pass would prove nothing (under CI=true a skip fails the run)
        pytest.skip("no network namespace on this machine (unshare --net and ip): the offline install cannot be proven")
    learner = subprocess.Popen([*isolated, BASE_PYTHON, str(script), str(WHEELHOUSE), mode], cwd=room, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = learner.communicate(timeout=900)
    finally:
        # the whole group, even when the learner script has exited: a workshop it left (and its JupyterLab) too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(learner.pid, signal.SIGKILL)
        learner.wait()
        for cache in ("uv-cache", "pip-cache", "npm-cache"):  # gigabytes each, whatever the outcome
            shutil.rmtree(tmp_path / cache, ignore_errors=True)
    assert learner.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    log = "\n".join(result["log"])
    assert result["network"] is False, "the namespace reached pypi.org: the test proves nothing"
    return room, result, log


def _assert_installed_and_ran(room: Path, result: dict, log: str) -> None:
    assert result.get("jupyterlab") == 200, log
    assert result["workshop_exit"] == 0, log
    assert "skipped, not needed to start" not in log, log  # the releases and mermaid came from the wheelhouse too
    assert result["notebook_exit"] == 0, result["notebook_tail"]
    for env_dir in (".venv-incident", ".venv-exact"):
        assert (room / env_dir / "bin" / "python").exists(), log
    for asset in ("mermaid.min.js", "iframe-worker-shim.js"):  # the website's npm parts came from it too
        assert (room / "docs" / "assets" / "vendor" / asset).exists(), log
    shutil.rmtree(room, ignore_errors=True)  # about a gigabyte of environments


def test_a_room_without_internet_installs_from_the_wheelhouse_and_runs_notebook_01(tmp_path):
    """The facilitator guide's *Rooms without internet*: prepare, then install with no network."""
    _prepared_wheelhouse()
    room, result, log = _install_and_start_offline(tmp_path, "wheelhouse")
    assert "from the wheel folder" in log, log
    _assert_installed_and_ran(room, result, log)


def test_the_setup_page_states_the_download_a_wheelhouse_measures():
    """docs/data/setup-installs.yml's package-file sizes are what the wheelhouse holds for this machine
    (within 5 %), and no part downloads less than its files."""
    from looplab.course import installs
    from looplab.real.envs import find_python

    _prepared_wheelhouse()
    measured = installs.downloads_from_wheelhouse(WHEELHOUSE, exact_on_310=find_python("3.10") is not None)
    parts = {p["id"]: p for p in installs.load()["parts"] if p["id"] in measured}
    for part, mb in measured.items():
        stated = parts[part]["files_mb"]
        assert abs(stated - mb) <= max(2.0, 0.05 * mb), (
            f"{part}: docs/data/setup-installs.yml says {stated} MB of files, the wheelhouse holds {mb:.1f} MB: update it")
        assert parts[part]["download_mb"] >= stated, part


def test_a_wrong_wheelhouse_is_one_line_naming_the_fix(tmp_path):
    for args, expected in ((["workshop", "--wheelhouse", str(tmp_path)], "python3 run.py wheelhouse DIR"),
                           (["workshop", "--wheelhouse"], "--wheelhouse needs the folder"),
                           (["wheelhouse"], "name the folder to fill"),
                           (["wheelhouse", str(ROOT / "README.md")], "is a file: name a folder"),
                           (["test", "--wheelhouse", str(tmp_path)], "--wheelhouse is for `workshop` and `room`")):
        done = subprocess.run([BASE_PYTHON, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
