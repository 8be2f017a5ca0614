"""The real Llama Stack releases, crashing (0.2.2) and fixed (0.2.3), against looplab's own backend.

Both releases are installed from the package index, never copied into the repository, with the
dependency set of their time (April 2025), pinned in ``envs/llama-stack-<version>.txt``.

Environment design: one old-client environment. ``.venv-incident/`` (``openai`` 1.73 on ``httpx``,
FastAPI, uvicorn, pydantic, pinned in ``envs/incident-era.txt``) is the interpreter and the base of
both releases. Each release is an *overlay*: ``llama-stack`` and only the packages it needs beyond
that environment, installed with ``uv pip install --target`` into ``.cache/real-stack/llama-stack-<v>/``
and put in front of the base with ``PYTHONPATH``. Each release's pins were compiled with
``envs/incident-era.txt`` as constraints, so every package the two share has the same version, and
:func:`overlay_requirements` checks that again before installing. So the client that crashes in
0.2.2 and the one that does not in 0.2.3 are the very same installed ``openai`` 1.73 that
``looplab stack --python .venv-incident/bin/python`` uses: the only thing that differs is the release.

A server is started with :func:`start_release`, through :mod:`looplab.real.inside.release_wrapper`
(which binds it to 127.0.0.1 and changes nothing else unless the diagnostic switch is given) and
:func:`looplab.servers.start` (tagged, its own process group, dies with its parent). Everything it
writes (run config, its registry and trace databases, temporary files, caches) goes to a folder it
owns under ``.cache/real-stack/run/``, removed when it stops.

>>> ensure_release("0.2.2")                                         # doctest: +SKIP
>>> with start_mock(keepalive_s=60) as mock, start_release("0.2.2", mock.base_url) as stack:
...     chat(stack, "tiny-llama", "hello")                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..project import CACHE as PROJECT_CACHE
from ..project import ENVS, ROOT
from ..servers import Server, start, start_on_a_free_port
from ..servers.workdirs import owned_dir, sweep
from .envs import CLIENT_ENVS, INCIDENT, ClientEnv
from .inside.release_wrapper import DIAGNOSTIC_NO_RETRIES_ENV
from .install import CachedInstall

RELEASES = {
    "0.2.2": "builds AsyncOpenAI in initialize(), under asyncio.run(construct_stack(...)): crashes",
    "0.2.3": "creates the client lazily on first use (PR #1969): does not crash",
}
#: Every (release, client environment) looplab installs: both releases on the incident-era client, and
#: 0.2.2 on the reporter's HTTP stack too (httpcore 1.0.2: the reporter's symptom).
BUILDS = [("0.2.2", INCIDENT), ("0.2.3", INCIDENT), ("0.2.2", CLIENT_ENVS["exact"])]
CACHE = PROJECT_CACHE / "real-stack"
RUNS = CACHE / "run"
DEFAULT_MODEL = "tiny-llama"
HEALTH_PATH = "/v1/health"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


class ReleaseError(RuntimeError):
    """A release could not be installed (no network, no uv, a pin conflict)."""


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def check_version(version: str) -> str:
    if version not in RELEASES:
        raise ValueError(f"unknown llama-stack release {version!r}; looplab knows {', '.join(RELEASES)}")
    return version


# --- installing ----------------------------------------------------------------------------------

def client_env(name: str) -> ClientEnv:
    if name not in CLIENT_ENVS:
        raise ValueError(f"unknown client environment {name!r}; looplab has {', '.join(CLIENT_ENVS)}")
    return CLIENT_ENVS[name]


def _suffix(base: ClientEnv) -> str:
    return "" if base is INCIDENT else f"-{base.name}"


def pins_file(version: str, base: ClientEnv = INCIDENT) -> Path:
    """The committed pins of a release on a client environment (compiled from ``envs/llama-stack-<version>.in``
    with that environment's pins as constraints)."""
    return ENVS / f"llama-stack-{check_version(version)}{_suffix(base)}.txt"


def overlay_dir(version: str, base: ClientEnv = INCIDENT) -> Path:
    """Where a release is installed (a ``--target`` folder put in front of the client environment)."""
    return CACHE / f"llama-stack-{check_version(version)}{_suffix(base)}"


def _read_pins(path: Path) -> dict[str, str]:
    """``{normalised name: requirement line}`` of a compiled requirements file."""
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise ReleaseError(f"{path.name}: not an exact pin: {raw!r}")
        pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = line
    return pins


def overlay_requirements(version: str, base: ClientEnv = INCIDENT) -> list[str]:
    """The release's pins less those the client environment already provides.

    Raises :class:`ReleaseError` if the two files pin a shared package differently (the release
    would then not run on that client environment)."""
    pins, base_pins = pins_file(version, base), base_pins_file(base)
    release, provided = _read_pins(pins), _read_pins(base_pins)
    clashes = [f"{release[name]} vs {provided[name]}" for name in release.keys() & provided.keys()
               if _PIN.match(release[name])[2] != _PIN.match(provided[name])[2]]  # type: ignore[index]
    if clashes:
        raise ReleaseError(f"{pins.name} and {base_pins.name} disagree: {'; '.join(clashes)}. "
                           f"Recompile it with -c envs/{base_pins.name} (see its .in file).")
    return [line for name, line in sorted(release.items()) if name not in provided]


def base_pins_file(base: ClientEnv) -> Path:
    """The pins of a client environment (a module attribute for incident-era, so a test can swap it)."""
    return INCIDENT_PINS if base is INCIDENT else base.pins


INCIDENT_PINS = INCIDENT.pins


def _uv() -> Path:
    for candidate in (ROOT / ".tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise ReleaseError("uv is missing: run `python3 run.py setup` (it installs uv into .tools/)")


def _fingerprint(version: str, base: ClientEnv) -> dict[str, str]:
    """What an installed overlay is built from: if any of it changes, the overlay is rebuilt."""
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    interpreter = subprocess.run([str(base.python), "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    return {"release": version, "pins": digest(pins_file(version, base)), "base_pins": digest(base_pins_file(base)),
            "python": interpreter, "environment": str(base.folder)}


def _install(version: str, base: ClientEnv) -> CachedInstall:
    return CachedInstall(overlay_dir(version, base), lambda: _fingerprint(version, base),
                         lock=CACHE / ".install.lock")


def is_installed(version: str, base: ClientEnv = INCIDENT) -> bool:
    """Is the release installed, from the current pins, on the current client environment?"""
    try:
        return _install(version, base).current()
    except (FileNotFoundError, subprocess.CalledProcessError):
        return False


def release_env(version: str, base: ClientEnv = INCIDENT) -> dict[str, str]:
    """The environment variables that put a release's overlay in front of its client environment."""
    return {"PYTHONPATH": str(overlay_dir(version, base)), "PYTHONNOUSERSITE": "1"}


_SMOKE = """
import json, sys
import openai, httpx, fastapi, uvicorn
from importlib import metadata
import llama_stack.distribution.server.server
import llama_stack.providers.remote.inference.vllm.vllm
print(json.dumps({"llama_stack": metadata.version("llama-stack"), "openai": openai.__version__,
                  "openai_file": openai.__file__, "httpx": httpx.__version__}))
"""


def _smoke_test(version: str, target: Path, base: ClientEnv) -> dict[str, str]:
    """Import the release's server and vLLM adapter from ``target`` on the client environment's interpreter."""
    python = base.python
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([str(python), "-c", _SMOKE], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode:
        raise ReleaseError(f"llama-stack {version} does not import on {python}:\n{out.stderr[-3000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    if found["llama_stack"] != version or not Path(found["openai_file"]).is_relative_to(base.folder):
        raise ReleaseError(f"llama-stack {version}: unexpected imports {found}")
    return found


def ensure_release(version: str, *, quiet: bool = False, base: ClientEnv = INCIDENT) -> Path:
    """Install a release (once; later calls return at once) and return its overlay folder.

    Idempotent and safe to run concurrently (:class:`~looplab.real.install.CachedInstall`): the
    overlay is built aside, checked (the release's server and vLLM adapter import, with ``openai``
    from the client environment) and only then moved into place."""
    check_version(version)
    python = base.python
    say = (lambda _m: None) if quiet else _say
    target = overlay_dir(version, base)
    name = f"llama-stack {version}" + ("" if base is INCIDENT else f" on {base.folder.name}/")
    started = time.monotonic()
    found: dict[str, str] = {}

    def build(partial: Path) -> None:
        requirements = overlay_requirements(version, base)
        say(f"{name}: installing {len(requirements)} packages from {pins_file(version, base).name} "
            f"into {target.relative_to(ROOT)}/ (an overlay on {base.folder.name}/, openai from there)")
        requirements_file = partial / ".requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        # Compiled once here, so that the release's server starts fast; not for the offline set-up tests
        # (LOOPLAB_NO_COMPILE_BYTECODE=1: their copies are thrown away, and compiling was half their CPU).
        compile_bytecode = [] if os.environ.get("LOOPLAB_NO_COMPILE_BYTECODE") == "1" else ["--compile-bytecode"]
        command = [str(_uv()), "pip", "install", "--python", str(python), "--target", str(partial), "--no-deps",
                   *compile_bytecode, "-r", str(requirements_file)]
        if quiet:
            command.insert(3, "--quiet")
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=quiet, text=True)
        if completed.returncode:
            detail = f":\n{completed.stderr[-3000:]}" if quiet else " (see uv's output above)"
            raise ReleaseError(f"installing {name} failed{detail}")
        say(f"{name}: checking that its server imports on {base.folder.name}/")
        found.update(_smoke_test(version, partial, base))

    if _install(version, base).ensure(build):
        say(f"{name}: installed in {time.monotonic() - started:.1f} s "
            f"(openai {found['openai']}, httpx {found['httpx']})")
    else:
        say(f"{name}: cached in {target.relative_to(ROOT)}/")
    return target


# --- running -------------------------------------------------------------------------------------

def write_run_config(version: str, vllm_url: str, api_token: str, path: str | Path, *,
                     model: str = DEFAULT_MODEL, max_tokens: int = 64, state_dir: str | Path | None = None,
                     port: int = 8321) -> Path:
    """Write a run config (``run.yaml``) for a release: the ``remote::vllm`` inference provider only,
    plus the ``inline::meta-reference`` telemetry provider, and one model.

    Telemetry is there because 0.2.2 fails every chat call without it (``'InferenceRouter' object
    has no attribute 'formatter'``, an unrelated bug); 0.2.3 gets the same config so that the
    release is the only difference. Its registry and trace databases go to ``state_dir`` (default:
    the folder of ``path``). ``max_tokens`` must fit the backend's context (the mock's is 512)."""
    import yaml

    check_version(version)
    path = Path(path)
    state = Path(state_dir) if state_dir is not None else path.parent
    config = {
        "version": "2",
        "image_name": f"looplab-llama-stack-{version}",
        "apis": ["inference", "telemetry"],
        "providers": {
            "inference": [{"provider_id": "vllm", "provider_type": "remote::vllm",
                           "config": {"url": vllm_url, "max_tokens": max_tokens, "api_token": api_token,
                                      "tls_verify": True}}],
            "telemetry": [{"provider_id": "meta-reference", "provider_type": "inline::meta-reference",
                           "config": {"service_name": "looplab", "sinks": "sqlite",
                                      "sqlite_db_path": str(state / "trace_store.db")}}],
        },
        "metadata_store": {"type": "sqlite", "db_path": str(state / "registry.db")},
        "models": [{"model_id": model, "provider_id": "vllm", "provider_model_id": model, "model_type": "llm",
                    "metadata": {}}],
        "server": {"port": port},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# looplab: llama-stack {version} against {vllm_url} (written by looplab.real_stack)\n"
                    + yaml.safe_dump(config, sort_keys=False))
    return path


class RealStackServer(Server):
    """A released Llama Stack server. The run folder it owns (config, databases, temp files) goes when it stops."""

    def __init__(self, *args: Any, version: str, retries: bool, base: ClientEnv, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version, self.retries, self.base = version, retries, base

    @property
    def run_dir(self) -> Path:
        return self.owned[0]

    @property
    def config_path(self) -> Path:
        return self.run_dir / "run.yaml"


def release_argv(config: Path, port: int, base: ClientEnv = INCIDENT) -> list[str]:
    """The command line: the client environment's interpreter, the wrapper, the release server's own arguments."""
    return [str(base.python), "-m", "looplab.real.inside.release_wrapper", "--config", str(config), "--port", str(port)]


def run_env(version: str, run_dir: Path, *, retries: bool = True, base: ClientEnv = INCIDENT) -> dict[str, str]:
    """The server's environment: the overlay on its path, and every place it could write inside ``run_dir``."""
    places = {"HOME": "home", "TMPDIR": "tmp", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config",
              "XDG_DATA_HOME": "data", "XDG_STATE_HOME": "state", "HF_HOME": "cache/huggingface",
              "LLAMA_STACK_CONFIG_DIR": "llama"}
    env = {**release_env(version, base), "LOOPLAB_REAL_STACK": version}
    for variable, sub in places.items():
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
        env[variable] = str(run_dir / sub)
    env[DIAGNOSTIC_NO_RETRIES_ENV] = "0" if retries else "1"
    return env


def start_release(version: str, vllm_url: str, *, retries: bool = True, api_token: str = "fake",
                  model: str = DEFAULT_MODEL, max_tokens: int = 64, timeout: float = 120.0,
                  port: int | None = None, base: ClientEnv = INCIDENT) -> RealStackServer:
    """Start a release against ``vllm_url`` (an OpenAI base URL, ``.../v1``) on a loopback port
    (a free one unless ``port`` is given).

    ``retries=False`` is the wrapper's DIAGNOSTIC switch (``AsyncOpenAI`` defaults to
    ``max_retries=0``), not the release's behaviour. The release must be installed
    (:func:`ensure_release`, or ``looplab real-stack install``): starting never installs. ``base`` is the
    client environment it runs on (the incident-era one, or the reporter's: ``CLIENT_ENVS["exact"]``)."""
    check_version(version)
    if not is_installed(version, base):
        raise ReleaseError(f"llama-stack {version} is not installed on {base.folder.name}/: run "
                           f"`looplab real-stack install` (python3 run.py setup does)")
    sweep(RUNS, "llama-stack")

    def launch(chosen: int) -> RealStackServer:
        run_dir = owned_dir(RUNS, f"llama-stack-{version}")
        try:
            config = write_run_config(version, vllm_url, api_token, run_dir / "run.yaml", model=model,
                                      max_tokens=max_tokens, state_dir=run_dir / "llama", port=chosen)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return start(release_argv(config, chosen, base), name=f"llama-stack-{version}", health_path=HEALTH_PATH,
                     timeout=timeout, env=run_env(version, run_dir, retries=retries, base=base),
                     url=f"http://127.0.0.1:{chosen}", cls=RealStackServer, owned=[run_dir], version=version,
                     retries=retries, base=base)

    return start_on_a_free_port(launch, port)


@dataclass
class ChatReply:
    """A release's answer to ``POST /v1/inference/chat-completion``."""

    status: int
    body: Any  # the JSON body (or the text, if it was not JSON)

    @property
    def content(self) -> str | None:
        if self.status == 200 and isinstance(self.body, dict):
            return (self.body.get("completion_message") or {}).get("content")
        return None


def chat(server: Server, model: str, text: str, *, max_tokens: int | None = None, timeout: float = 60.0) -> ChatReply:
    """One non-streaming chat request on the release's own route, ``POST /v1/inference/chat-completion``.

    A request that gets no answer within ``timeout`` comes back with status 0 (body ``"timeout"``)."""
    body: dict[str, Any] = {"model_id": model, "messages": [{"role": "user", "content": text}], "stream": False}
    if max_tokens is not None:
        body["sampling_params"] = {"max_tokens": max_tokens}
    request = urllib.request.Request(f"{server.url}/v1/inference/chat-completion", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (TimeoutError, urllib.error.URLError) as exc:
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            return ChatReply(0, "timeout")
        raise
    try:
        return ChatReply(status, json.loads(raw))
    except ValueError:
        return ChatReply(status, raw.decode(errors="replace"))
