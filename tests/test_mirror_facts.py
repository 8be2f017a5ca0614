"""What run.py's install through a package mirror rests on, measured with uv 0.13.8 (the pinned uv).

1. ``uv sync --locked`` refuses a lock made against another index ("The lockfile at `uv.lock` needs
   to be updated, but `--locked` was provided"), so it cannot install uv.lock through a mirror.
2. The lock's versions and sha256 hashes, exported (``uv export --frozen``) and installed with
   ``uv pip sync --require-hashes`` from a mirror that serves the same bytes, install fine: this runs
   run.py's own ``sync_through_mirror``, not a copy of its commands.
3. The same, from a mirror that serves other bytes under the same file name (and advertises their
   own, correct hash), is refused: "Hash mismatch", and nothing is installed.

Fully offline: three PEP 503 indexes on 127.0.0.1 (the origin the lock is made against, an honest
mirror, a lying one) serve a wheel made here by hand.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
WHEEL = "probe_pkg-1.0-py3-none-any.whl"
BIN = "Scripts" if os.name == "nt" else "bin"


def make_wheel(init_source: str) -> bytes:
    def record_line(name: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{name},sha256={digest},{len(data)}\n"

    files = {
        "probe_pkg/__init__.py": init_source.encode(),
        "probe_pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: probe-pkg\nVersion: 1.0\n",
        "probe_pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(record_line(name, data) for name, data in files.items()) + "probe_pkg-1.0.dist-info/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, data in {**files, "probe_pkg-1.0.dist-info/RECORD": record.encode()}.items():
            wheel.writestr(name, data)
    return buffer.getvalue()


class Index:
    """A PEP 503 simple index serving one wheel, on 127.0.0.1 (any free port), logging the paths asked for."""

    def __init__(self, wheel: bytes):
        sha = hashlib.sha256(wheel).hexdigest()
        link = f'<a href="/files/{WHEEL}#sha256={sha}">{WHEEL}</a>'
        self.sha256, self.requests = sha, []
        pages = {"/simple/": b'<a href="/simple/probe-pkg/">probe-pkg</a>', "/simple/probe-pkg/": link.encode(),
                 f"/files/{WHEEL}": wheel}
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):  # uv probes wheels with HEAD; a 501 here makes it retry, then fail
                index.requests.append(f"{self.command} {self.path}")
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html")  # uv does not mind it for the wheel
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                return body or b""

            def do_GET(self):
                self.wfile.write(self.do_HEAD())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _env(index: str, cache: Path) -> dict[str, str]:
    """No config files, no inherited index/pip settings, and only the given index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_")) and k != "VIRTUAL_ENV"}
    env.update(UV_DEFAULT_INDEX=index, UV_CACHE_DIR=str(cache), UV_NO_CONFIG="1", UV_PYTHON=sys.executable,
               UV_PYTHON_DOWNLOADS="never", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    return env


def uv(*args, cwd: Path, index: str, cache: Path) -> subprocess.CompletedProcess:
    """The pinned uv, told to use only ``index``."""
    return subprocess.run([str(UV), *map(str, args)], cwd=cwd, env=_env(index, cache), capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    assert UV.exists(), f"{UV} is missing: `python3 run.py setup` installs the pinned uv there"
    wheels = {"origin": make_wheel("WHO = 'origin'\n"), "lying": make_wheel("WHO = 'lying'\n")}
    wheels["honest"] = wheels["origin"]  # the very same bytes (zip entries carry the time they were made)
    indexes = {}
    try:
        indexes.update((name, Index(wheel)) for name, wheel in wheels.items())
        project = tmp_path_factory.mktemp("project")
        (project / "pyproject.toml").write_text('[project]\nname = "probe-project"\nversion = "0"\n'
                                                'requires-python = ">=3.10"\ndependencies = ["probe-pkg==1.0"]\n'
                                                "\n[tool.uv]\npackage = false\n")
        locked = uv("lock", cwd=project, index=indexes["origin"].url, cache=project / "cache")
        assert locked.returncode == 0, locked.stderr
        assert f'source = {{ registry = "{indexes["origin"].url}" }}' in (project / "uv.lock").read_text()
        yield project, indexes
    finally:
        for index in indexes.values():
            index.close()


def install_from(mirror: Index, project: Path, tmp: Path):
    """run.py's own mirror path (``sync_through_mirror``: the lock's versions and hashes, exported, then
    installed from the mirror), run on the probe project with the mirror as uv's index."""
    venv = tmp / "venv"
    mirror.requests.clear()
    code = ("import sys; from pathlib import Path; import run; "
            "assert run.package_mirror() == sys.argv[2], run.package_mirror(); "  # run.py sees the mirror
            "run.sync_through_mirror(Path(sys.argv[1]), sys.argv[2], project=Path(sys.argv[3]), "
            "venv_dir=Path(sys.argv[4]), editable=False)")
    synced = subprocess.run([sys.executable, "-c", code, str(UV), mirror.url, str(project), str(venv)], cwd=ROOT,
                            env=_env(mirror.url, tmp / "cache"), capture_output=True, text=True, timeout=120)
    imported = subprocess.run([str(venv / BIN / "python"), "-c", "import probe_pkg; print(probe_pkg.WHO)"],
                              capture_output=True, text=True, timeout=60)
    return synced, imported


def test_uv_sync_locked_refuses_a_lock_made_against_another_index(world, tmp_path):
    project, indexes = world
    synced = uv("sync", "--locked", cwd=project, index=indexes["honest"].url, cache=tmp_path / "cache")
    assert synced.returncode != 0 and "needs to be updated" in synced.stderr, (
        "FACT CHANGED: uv sync --locked now accepts a lock made against another index, so run.py's "
        f"export + pip sync detour may be unnecessary:\n{synced.stdout}{synced.stderr}")


def test_the_lock_hashes_let_an_honest_mirror_install(world, tmp_path):
    project, indexes = world
    synced, imported = install_from(indexes["honest"], project, tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert f"GET /files/{WHEEL}" in indexes["honest"].requests, indexes["honest"].requests
    assert imported.returncode == 0 and imported.stdout.strip() == "origin", imported.stderr


def test_the_lock_hashes_refuse_a_mirror_that_serves_other_bytes(world, tmp_path):
    project, indexes = world
    lying = indexes["lying"]
    synced, imported = install_from(lying, project, tmp_path)
    assert synced.returncode != 0 and "Hash mismatch" in synced.stderr, synced.stdout + synced.stderr
    assert "run.py: command failed" in synced.stderr  # run.py stops there, naming the command
    expected, _, computed = synced.stderr.partition("Computed:")
    assert f"sha256:{indexes['origin'].sha256}" in expected and f"sha256:{lying.sha256}" in computed, synced.stderr
    assert imported.returncode != 0 and "ModuleNotFoundError" in imported.stderr, imported.stdout
