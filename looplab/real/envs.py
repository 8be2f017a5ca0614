"""The interpreters looplab runs code in besides its own: the clients of the incident's era.

Two isolated environments, each pinned by a file in ``envs/``, built by ``python3 run.py setup``
(which runs ``python -m looplab.real.envs``):

* ``.venv-incident/`` (``envs/incident-era.txt``): the ``openai`` 1.73 client on ``httpx`` 0.28 /
  ``httpcore`` 1.0.8, as Llama Stack 0.2.2 and 0.2.3 were installed in April 2025. Its default
  retries hid the crash.
* ``.venv-exact/`` (``envs/incident-exact.txt``): the HTTP stack of the reporter of #1968 as the line
  numbers of the issue's traceback pin it (``httpx`` 0.27.0, ``httpcore`` 1.0.2), on Python 3.10
  where the machine has one (as the reporter), else on the running Python.

looplab's own source is on both interpreters' paths, so ``python -m looplab stack`` runs there too:
the studied system and the server side of :mod:`looplab.servers` import only what they have.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..project import BIN, ENVS, ROOT


def pinned(path: Path, name: str) -> str:
    """The version ``name`` is pinned to (``name==X``) in a requirements file."""
    match = re.search(rf"^{re.escape(name)}==([^\s;#]+)", path.read_text(), re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise ValueError(f"{path.name} pins no {name}")
    return match[1]


@dataclass(frozen=True)
class ClientEnv:
    """An isolated environment with an older ``openai`` client and its HTTP stack."""

    name: str
    folder: Path
    pins: Path
    python_wanted: str | None  # "3.10": built with that Python where the machine has one
    what: str

    @property
    def python(self) -> Path:
        """The environment's interpreter; raises ``FileNotFoundError`` with the fix if it is missing."""
        python = self.folder / BIN / ("python.exe" if BIN == "Scripts" else "python")
        if not python.exists():
            raise FileNotFoundError(f"{python} is missing: run `python3 run.py setup` to build {self.what}")
        return python

    def version(self, package: str) -> str:
        return pinned(self.pins, package)


INCIDENT = ClientEnv("incident-era", ROOT / ".venv-incident", ENVS / "incident-era.txt", None,
                     "the incident-era client environment (openai 1.73)")
EXACT = ClientEnv("exact", ROOT / ".venv-exact", ENVS / "incident-exact.txt", "3.10",
                  "the reporter's HTTP stack (httpx 0.27.0, httpcore 1.0.2)")
CLIENT_ENVS = {env.name: env for env in (INCIDENT, EXACT)}

INCIDENT_ENV, INCIDENT_PINS = INCIDENT.folder, INCIDENT.pins
INCIDENT_OPENAI = INCIDENT.version("openai")


def incident_python() -> Path:
    """The incident-era interpreter (openai 1.73); ``FileNotFoundError`` with the fix if it is missing."""
    return INCIDENT.python


def exact_python() -> Path:
    """The interpreter with the reporter's HTTP stack (httpcore 1.0.2)."""
    return EXACT.python


def installed_version(python: Path, module: str) -> str:
    """``module.__version__`` as an interpreter sees it (checked, not assumed)."""
    out = subprocess.run([str(python), "-c", f"import {module}; print({module}.__version__)"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def incident_openai_version() -> str:
    """The openai version in the incident-era environment."""
    return installed_version(incident_python(), "openai")


def python_version(python: str | Path) -> str:
    return subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def find_python(wanted: str) -> str | None:
    """An interpreter of version ``wanted`` ("3.10") on this machine: on the PATH, or installed by pyenv."""
    candidates = [shutil.which(f"python{wanted}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = subprocess.run([pyenv, "prefix", wanted], capture_output=True, text=True, timeout=60)
        if prefix.returncode == 0 and prefix.stdout.strip():
            candidates.append(str(Path(prefix.stdout.strip().splitlines()[0]) / "bin" / f"python{wanted}"))
    for candidate in filter(None, candidates):
        try:
            if python_version(candidate).startswith(wanted + "."):
                return candidate
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def build(env: ClientEnv, uv: Path, say=print) -> str:  # noqa: ANN001 (a print-like function)
    """Create (or re-sync) ``env`` with ``uv``; returns the Python version it runs."""
    python = (find_python(env.python_wanted) if env.python_wanted else None) or sys.executable
    wanted = python_version(python)
    interpreter = env.folder / BIN / "python"
    if interpreter.exists() and python_version(interpreter) != wanted:
        shutil.rmtree(env.folder)  # built with another Python before (e.g. 3.10 was installed since)
    if not interpreter.exists():
        subprocess.run([str(uv), "venv", "--quiet", "--python", python, str(env.folder)], check=True)
    subprocess.run([str(uv), "pip", "sync", "--quiet", "--python", str(interpreter), str(env.pins)], check=True)
    purelib = subprocess.run([str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # looplab's source, and the take-home tools' (looplab-tools/src: the loop guard the demos import)
    (Path(purelib) / "looplab-source.pth").write_text(f"{ROOT}\n{ROOT / 'looplab-tools' / 'src'}\n")
    if env.python_wanted and not wanted.startswith(env.python_wanted + "."):
        say(f"{env.folder.name}/: no Python {env.python_wanted} on this machine, built on Python {wanted} "
            "(the packages' frames are the same; an exception group prints without 'exceptiongroup.')")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m looplab.real.envs",
                                     description="Build the client environments of the incident's era.")
    parser.add_argument("--uv", type=Path, required=True, help="the uv executable to build them with")
    args = parser.parse_args(argv)
    for env in CLIENT_ENVS.values():
        print(f"==> syncing {env.folder.name}/ with {env.pins.relative_to(ROOT)} ({env.what})", flush=True)
        try:
            version = build(env, args.uv, say=lambda m: print(f"==> {m}", flush=True))
        except subprocess.CalledProcessError as exc:
            print(f"looplab: building {env.folder.name}/ failed ({exc})", file=sys.stderr)
            return 1
        print(f"==>     {env.folder.name}/ on Python {version}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
