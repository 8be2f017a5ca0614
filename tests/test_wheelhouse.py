"""The facilitator guide's "Rooms without internet", run as the page gives it.

1. On this connected machine: ``python3 run.py wheelhouse DIR`` (kept in ``build/wheelhouse/``, made
   again only when uv.lock, envs/ or run.py change, so later runs take a second).
2. A copy of the repository as a learner gets it (the files git knows, no ``.venv``, no ``.tools``),
   an empty uv cache, and **no network at all**: a network namespace of its own with only loopback
   (``unshare``), and pip and uv told nothing but the page's ``--wheelhouse DIR``. There
   ``python3 run.py workshop --wheelhouse DIR`` must install everything, start JupyterLab (which must
   answer), stop on Ctrl-C, and notebook 01 must pass in the environment it installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)  # the Python a learner runs run.py with

# Runs inside the namespace: the learner's steps, then one JSON line with what happened.
LEARNER = r"""
import json, signal, socket, subprocess, sys, urllib.request
wheelhouse, python = sys.argv[1], sys.executable
result = {"log": []}
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
    result["network"] = True
except OSError:
    result["network"] = False
workshop = subprocess.Popen([python, "run.py", "workshop", "--wheelhouse", wheelhouse],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_a_room_without_internet_installs_from_the_wheelhouse_and_runs_notebook_01(tmp_path):
    prepared = subprocess.run([BASE_PYTHON, "run.py", "wheelhouse", str(WHEELHOUSE)], cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
    manifest = json.loads((WHEELHOUSE / "wheelhouse.json").read_text())
    assert any(name.startswith("llama_stack-0.2.2") for name in manifest["parts"]["envs/llama-stack-0.2.2.txt"]["files"])
    assert any(name.startswith("llama_stack-0.2.3") for name in manifest["parts"]["envs/llama-stack-0.2.3.txt"]["files"])
    assert "envs/incident-exact.txt (Python 3.10)" in manifest["parts"]

    room = tmp_path / "room"
    _learners_copy(room)
    assert not (room / ".venv").exists() and not (room / ".tools").exists()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UV_", "PIP_", "LOOPLAB_", "VIRTUAL_ENV", "PYTEST_", "npm_config_"))}
    env.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
               PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PYTHONDONTWRITEBYTECODE="1")
    script = tmp_path / "learner.py"
    script.write_text(LEARNER)
    isolated = _no_network_prefix()
    learner = subprocess.Popen([*isolated, BASE_PYTHON, str(script), str(WHEELHOUSE)], cwd=room, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = learner.communicate(timeout=900)
    finally:
        if learner.poll() is None:
            os.killpg(learner.pid, signal.SIGKILL)
            learner.wait()
    assert learner.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    log = "\n".join(result["log"])
    if isolated:
        assert result["network"] is False, "the namespace reached pypi.org: the test proves nothing"
    assert "from the wheel folder" in log, log
    assert result.get("jupyterlab") == 200, log
    assert result["workshop_exit"] == 0, log
    assert "skipped, not needed to start" not in log, log  # the releases and mermaid came from the wheelhouse too
    assert result["notebook_exit"] == 0, result["notebook_tail"]
    for env_dir in (".venv-incident", ".venv-exact"):
        assert (room / env_dir / "bin" / "python").exists(), log
    assert (room / "docs" / "assets" / "vendor" / "mermaid.min.js").exists(), log
    shutil.rmtree(room, ignore_errors=True)  # about a gigabyte of environments
