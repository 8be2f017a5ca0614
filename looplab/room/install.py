"""The room's shared install: this checkout, copied once, read-only, with its own ``.venv`` made from
a Python every learner's OS user can run, and JupyterHub's proxy from npm.

Learners' servers, kernels and mock servers all run from it (``/opt/looplab-room/looplab-<key>/``).
It is keyed by the content of the checkout's files, so an unchanged checkout is installed once and
a changed one gets a new folder (the two previous ones are kept, older ones removed). Everything
comes from the same locks as a laptop's install: ``uv.lock`` for Python, ``package-lock.json`` for
the proxy (``looplab/room/proxy/``), ``envs/`` for the incident-era clients.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from ..project import BIN, ROOT

PROXY_DIR = Path(__file__).parent / "proxy"  # package.json + package-lock.json: configurable-http-proxy
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARKER = ".installed"


class InstallError(RuntimeError):
    """The room cannot be installed; the message is one line that names the fix."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def tracked_files(checkout: Path) -> list[str]:
    """What the room installs: the files git knows (committed or staged) plus new ones it does not ignore."""
    done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=checkout,
                          capture_output=True, timeout=60)
    if done.returncode:
        raise InstallError(f"{checkout} is not a git checkout: the room installs a checkout of looplab")
    return sorted(p for p in done.stdout.decode().split("\0") if p and (checkout / p).is_file())


def install_key(checkout: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (checkout / name).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def runnable_by_all(path: Path) -> bool:
    """Every folder above ``path`` can be entered, and ``path`` run, by any user."""
    path = path.resolve()
    try:
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def shared_python() -> str:
    """A Python 3.10-3.13 that learners' OS users can run (root's pyenv Python, in /root, is not one)."""
    candidates = [sys.executable, "/usr/bin/python3.11", "/usr/bin/python3", "/usr/local/bin/python3.11",
                  "/usr/local/bin/python3", shutil.which("python3.11"), shutil.which("python3")]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if not path.exists() or not runnable_by_all(path):
            continue
        version = subprocess.run([str(path), "-c", "import sys; print(sys.version_info[:2] >= (3, 10) and sys.version_info[:2] <= (3, 13))"],
                                 capture_output=True, text=True, timeout=60).stdout.strip()
        if version == "True":
            return str(path)
    raise InstallError("no Python 3.10-3.13 that every user can run (the room's learners run as their own OS users): "
                       "install the OS's Python, e.g. `apt-get install python3`, and run this command again")


def find_uv() -> Path:
    for candidate in (ROOT / ".tools" / BIN / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise InstallError("uv is missing: run `python3 run.py setup` first (it installs uv into .tools/)")


def install_proxy(target: Path) -> Path:
    """configurable-http-proxy from npm, at the version package-lock.json pins."""
    proxy = target / ".proxy"
    executable = proxy / "node_modules" / ".bin" / "configurable-http-proxy"
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm is missing, and the room's proxy (configurable-http-proxy) comes from npm: "
                           "install Node.js and npm (e.g. `apt-get install nodejs npm`) and run this command again")
    proxy.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PROXY_DIR / name, proxy / name)
    say("installing configurable-http-proxy (npm, package-lock.json)")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=proxy, capture_output=True, text=True,
                          timeout=600)
    if done.returncode or not executable.exists():
        raise InstallError(f"npm could not install configurable-http-proxy: {done.stderr.strip()[-300:]}")
    return executable


def proxy_of(install: Path) -> Path:
    return install / ".proxy" / "node_modules" / ".bin" / "configurable-http-proxy"


def install(checkout: Path = ROOT, root: Path = Path("/opt/looplab-room"), python: str | None = None) -> Path:
    """The room's install of ``checkout`` under ``root`` (idempotent); returns its folder."""
    files = tracked_files(checkout)
    target = root / f"looplab-{install_key(checkout, files)}"
    if (target / MARKER).exists() and proxy_of(target).exists():
        return target
    python = python or shared_python()
    uv = find_uv()
    say(f"installing the room's shared, read-only looplab into {target}/ (from uv.lock, on {python})")
    if target.exists():
        shutil.rmtree(target)  # an install that did not finish
    target.mkdir(parents=True)
    root.chmod(0o755)
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(checkout / name, target / name)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(target / ".venv"), "PATH": SAFE_PATH}
    env.pop("VIRTUAL_ENV", None)
    _run([uv, "sync", "--locked", "--quiet", "--python", python], cwd=target, env=env)
    # The incident-era clients (notebooks 04 and 09), built like a laptop's, on the shared Python.
    _run([target / ".venv" / BIN / "python", "-m", "looplab.real.envs", "--uv", uv], cwd=target, env=env)
    install_proxy(target)
    # JupyterLab's defaults for the room: no news fetched from the internet, no kernel dialog on open
    settings = target / ".venv" / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("jupyterlab-overrides.json"), settings / "overrides.json")
    subprocess.run(["chmod", "-R", "a+rX,go-w", str(target)], check=True)
    (target / MARKER).write_text(f"{python}\n")
    prune(root, keep=target)
    return target


def prune(root: Path, keep: Path, keep_previous: int = 2) -> None:
    """Remove old installs, keeping ``keep`` and the ``keep_previous`` most recent others."""
    others = sorted((p for p in root.glob("looplab-*") if p != keep and (p / MARKER).exists()),
                    key=lambda p: (p / MARKER).stat().st_mtime, reverse=True)
    for old in others[keep_previous:]:
        shutil.rmtree(old, ignore_errors=True)


def _run(cmd: list, **kwargs) -> None:  # noqa: ANN003
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=1800, **kwargs)
    if done.returncode:
        raise InstallError(f"{' '.join(map(str, cmd[:3]))} failed: {(done.stderr or done.stdout).strip()[-500:]}")
