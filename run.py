#!/usr/bin/env python3
"""Set up looplab and run it. Needs only Python 3.10+ and pip; everything else comes from uv.lock.

    python3 run.py workshop   # set up, then JupyterLab on the notebooks (Ctrl-C stops it)
    python3 run.py test       # set up, then the whole test suite (extra arguments go to pytest)
    python3 run.py site       # set up, run the notebooks once, build the website and serve it
    python3 run.py room       # set up, then a shared JupyterHub for a team session (Linux, root; Ctrl-C stops it)
    python3 run.py setup      # only set up
    python3 run.py wheelhouse DIR   # download everything `workshop` installs into DIR, for a room without internet

Set-up is idempotent: a pinned ``uv`` in ``.tools/``, then ``.venv/`` synced exactly to ``uv.lock``.
``python3 run.py workshop --wheelhouse DIR`` installs from DIR only, with no network (DIR holds no vLLM
or Chromium, which `setup`, `test` and `site` install too).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.8"
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
BIN = "Scripts" if os.name == "nt" else "bin"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*cmd: str | Path, **kwargs) -> None:
    completed = subprocess.run([str(c) for c in cmd], **kwargs)  # noqa: S603
    if completed.returncode:
        sys.exit(f"run.py: command failed ({completed.returncode}): {' '.join(map(str, cmd))}")


def wheelhouse() -> Path | None:
    """The folder of packages to install from instead of the internet (``--wheelhouse DIR``), if any."""
    folder = os.environ.get("LOOPLAB_WHEELHOUSE")
    return Path(folder).resolve() if folder else None


def ensure_uv() -> Path:
    uv = TOOLS / BIN / "uv"
    if uv.exists():
        version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split()
        if len(version) >= 2 and version[1] == UV_VERSION:
            return uv
    say(f"installing uv {UV_VERSION} into .tools/")
    try:
        import ensurepip  # noqa: F401  (venv needs it to give .tools/ a pip)
    except ImportError:
        sys.exit("run.py: this Python cannot create virtual environments with pip (no ensurepip). On Debian "
                 "or Ubuntu: `sudo apt-get install python3-venv`, then run this command again.")
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    offline = ["--no-index", "--find-links", str(wheelhouse())] if wheelhouse() else []
    run(TOOLS / BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *offline,
        f"uv=={UV_VERSION}")
    return uv


def setup(full: bool = True) -> None:
    """Everything, for `setup`, `test` and `site` (``full``); for `workshop` and `room`, all but the real
    vLLM and Chromium, with the optional parts (the real releases, the website's mermaid) only warning
    when they fail. docs/data/setup-installs.yml says what each part is, weighs and takes."""
    uv = ensure_uv()
    if wheelhouse():
        sync_through_mirror(uv, f"folder {wheelhouse()}")
    elif package_mirror():
        sync_through_mirror(uv, package_mirror())
    else:
        say("syncing .venv/ with uv.lock")
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)}
        run(uv, "sync", "--locked", "--quiet", "--python", sys.executable, cwd=ROOT, env=env)
    setup_client_envs(uv)
    for step in (setup_real_stack, setup_site_assets):
        try:
            step()
        except SystemExit as failed:
            if full:
                raise
            say(f"skipped, not needed to start: {failed} (notebook 08 and the website need it; "
                "`python3 run.py setup` retries)")
    if full:
        setup_real_vllm()
        setup_chromium()


def package_mirror() -> str | None:
    """The package index uv is told to use instead of PyPI (a mirror, e.g. in mainland China), if any:
    from uv's environment variables or its configuration files, as ``looplab doctor`` reports it."""
    from looplab.project import is_mirror, uv_index  # the standard library only: importable before set-up

    url, _source = uv_index()
    return url if is_mirror(url) else None


def sync_through_mirror(uv: Path, mirror: str, project: Path = ROOT, venv_dir: Path = VENV,
                        editable: bool = True) -> None:
    """``uv sync --locked`` refuses a lock made against PyPI once another index is configured (uv
    0.13.8: "The lockfile at `uv.lock` needs to be updated"). So: the lock's exact versions and
    sha256 hashes, exported, are installed from the mirror with ``--require-hashes``: the mirror
    provides the bytes, uv.lock decides what they must be, and a file that differs by one byte is
    refused. Only the project itself (looplab and its workspace member looplab-tools, from this
    checkout) is installed without a hash.
    tests/test_mirror_facts.py runs this function against local mirrors, an honest and a lying one."""
    from looplab.project import redacted

    say(f"syncing {venv_dir.name}/ with uv.lock from the {'wheel ' if mirror.startswith('folder ') else 'package mirror '}"
        f"{redacted(mirror)} (versions and hashes from uv.lock)")
    locked = project / ".cache" / "uv-lock-requirements.txt"
    locked.parent.mkdir(parents=True, exist_ok=True)
    run(uv, "export", "--frozen", "--no-emit-workspace", "--format", "requirements-txt", "--quiet",
        "--output-file", locked, cwd=project)
    if not (venv_dir / BIN / "python").exists():
        run(uv, "venv", "--quiet", "--python", sys.executable, venv_dir, cwd=project)
    run(uv, "pip", "sync", "--quiet", "--require-hashes", "--python", venv_dir / BIN / "python", locked, cwd=project)
    if editable:  # the workspace's own packages: the take-home tools (looplab-tools/), then looplab
        members = [arg for member in (project / "looplab-tools",) if member.is_dir() for arg in ("--editable", member)]
        run(uv, "pip", "install", "--quiet", "--no-deps", "--python", venv_dir / BIN / "python", *members,
            "--editable", project, cwd=project)


def setup_client_envs(uv: Path) -> None:
    """The isolated environments with the clients of the incident's era (openai 1.73; the reporter's
    httpx 0.27.0 + httpcore 1.0.2, on Python 3.10 where the machine has it): looplab.real.envs."""
    run(python(), "-m", "looplab.real.envs", "--uv", uv, cwd=ROOT)


def setup_real_stack() -> None:
    """The released llama-stack 0.2.2 and 0.2.3 on .venv-incident/, and 0.2.2 on .venv-exact/ (cached)."""
    say("installing llama-stack 0.2.2 and 0.2.3 on top of .venv-incident/, 0.2.2 on .venv-exact/ (envs/llama-stack-*.txt)")
    run(python(), "-m", "looplab", "real-stack", "install", cwd=ROOT)


def setup_real_vllm() -> None:
    """A real vLLM (CPU build, .venv-vllm/) and its tiny local model, where vLLM can run (Linux x86_64)."""
    say("checking .venv-vllm/ (a real vLLM, CPU build) and its tiny model")
    run(python(), "-m", "looplab", "real-vllm", "setup", cwd=ROOT)


MERMAID_VERSION = "11.17.2"
MERMAID = ROOT / "docs" / "assets" / "vendor" / "mermaid.min.js"
IFRAME_WORKER_VERSION = "1.0.4"
IFRAME_WORKER = ROOT / "docs" / "assets" / "vendor" / "iframe-worker-shim.js"
#: What the website vendors from the npm registry: (package, version, file in its tarball, where it goes).
#: mermaid draws the diagrams; iframe-worker's shim lets the search run in a page opened from disk
#: (file://), where a browser refuses to start the search's web worker (Material's offline plugin).
SITE_ASSETS = (("mermaid", MERMAID_VERSION, "package/dist/mermaid.min.js", MERMAID),
               ("iframe-worker", IFRAME_WORKER_VERSION, "package/shim/index.js", IFRAME_WORKER))


def setup_site_assets() -> None:
    """Vendor mermaid and iframe-worker from the npm registry, so the site works with no internet (and
    from disk)."""
    wanted = [(name, version, member, target) for name, version, member, target in SITE_ASSETS
              if not (target.exists() and target.with_suffix(".version").exists()
                      and target.with_suffix(".version").read_text().strip() == version)]
    if not wanted:
        return
    import tarfile
    import tempfile

    for name, version, member_name, target in wanted:
        with tempfile.TemporaryDirectory(dir=ROOT / ".tools") as tmp:
            packed = wheelhouse() / f"{name}-{version}.tgz" if wheelhouse() else None
            if packed is not None and packed.exists():
                say(f"vendoring {name} {version} for the website (from {packed.parent.name}/)")
                tarball = packed
            else:
                npm = shutil.which("npm")
                if npm is None:
                    sys.exit(f"run.py: npm is needed once, to vendor {name} for the website: install it "
                             "(e.g. `apt-get install npm`) and run this command again.")
                say(f"vendoring {name} {version} for the website (npm registry)")
                run(npm, "pack", f"{name}@{version}", "--silent", "--pack-destination", tmp, cwd=tmp,
                    stdout=subprocess.DEVNULL)
                (tarball,) = Path(tmp).glob(f"{name}-*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(member_name)
                if member is None:
                    sys.exit(f"run.py: the {name} package has no {member_name.removeprefix('package/')}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
        target.with_suffix(".version").write_text(version + "\n")


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian's fonts-wqy-microhei


def setup_chromium() -> None:
    """Debian's Chromium, for the website's browser tests (Playwright drives it; it downloads nothing), and
    a Chinese font, so that the Chinese pages are laid out (and screenshot) with real glyphs, not boxes."""
    missing = []
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing.append("chromium")
    if sys.platform.startswith("linux") and not CJK_FONT.exists():
        missing.append("fonts-wqy-microhei")
    if not missing:
        return
    if sys.platform.startswith("linux") and shutil.which("apt-get") and os.geteuid() == 0:
        say(f"installing {' and '.join(missing)} (Debian packages) for the website's browser tests")
        run("apt-get", "update", "-qq", stdout=subprocess.DEVNULL)
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    elif "chromium" in missing:
        say("Chromium is not installed: the browser tests will skip (install your OS's chromium package)")


def python() -> str:
    return str(VENV / BIN / "python")


#: What the exact client environment's files are installed on where the machine has it (looplab.real.envs).
EXACT_PYTHON = "3.10"
#: What builds looplab and looplab-tools (editable: hatchling asks for editables) and jieba (an sdist only).
BUILD_TOOLS = ("hatchling==1.27.0", "editables==0.5", "setuptools==80.9.0", "wheel==0.45.1")
WHEELHOUSE_FORMAT = 2  # raise it when prepare_wheelhouse() downloads differently: wheelhouses made before are remade


def _fingerprint_of_wanted() -> str:
    import hashlib

    files = [ROOT / "uv.lock", *sorted((ROOT / "envs").glob("*.txt"))]
    machine = os.uname().machine if hasattr(os, "uname") else ""
    digest = hashlib.sha256(f"{WHEELHOUSE_FORMAT} {sys.version_info[:2]} {sys.platform} {machine} {BUILD_TOOLS} {UV_VERSION} {[a[:2] for a in SITE_ASSETS]}".encode())
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def prepare_wheelhouse(folder: Path) -> int:
    """Download into ``folder`` every package ``workshop`` installs, for this machine's platform and Python
    (and Python 3.10 for the reporter's environment): uv, uv.lock's packages (as the lock's hashes pin
    them), each client environment and release on its own (envs/*.txt: 0.2.2 and 0.2.3 cannot be
    resolved together), the build tools, and mermaid for the website. Learners then install with
    ``--wheelhouse DIR`` and no network. Writes ``wheelhouse.json`` (files and sizes); a folder already
    made from the same lock, pins and Python is left as it is."""
    import json
    import time

    if folder.exists() and not folder.is_dir():
        sys.exit(f"run.py: {folder} is a file: name a folder to fill, e.g. `python3 run.py wheelhouse wheelhouse/`")
    npm = shutil.which("npm")
    if npm is None:  # before anything is downloaded
        sys.exit("run.py: npm is needed to add the website's mermaid and iframe-worker to the wheelhouse: install it "
                 "(e.g. `apt-get install npm`) and run this command again.")
    manifest_file = folder / "wheelhouse.json"
    wanted = _fingerprint_of_wanted()
    try:
        ready = manifest_file.exists() and json.loads(manifest_file.read_text()).get("fingerprint") == wanted
    except (OSError, ValueError):
        ready = False  # an unreadable manifest: the folder is filled again
    if ready:
        say(f"{folder} is ready (made from the same uv.lock, envs/ and Python)")
        return 0
    started = time.monotonic()
    uv = ensure_uv()
    folder.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[str]] = {}

    def download(part: str, *args: str | Path) -> None:
        """Each part into a folder of its own first, so that its list (and size) is complete."""
        say(f"downloading {part}")
        staging = folder / ".part"
        shutil.rmtree(staging, ignore_errors=True)
        run(TOOLS / BIN / "python", "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", staging, *args, cwd=ROOT)
        parts[part] = sorted(p.name for p in staging.iterdir())
        for file in staging.iterdir():
            file.replace(folder / file.name)
        staging.rmdir()

    download("uv and the build tools", f"uv=={UV_VERSION}", *BUILD_TOOLS)
    locked = folder / "uv-lock-requirements.txt"
    run(uv, "export", "--frozen", "--no-emit-workspace", "--format", "requirements-txt", "--quiet",
        "--output-file", locked, cwd=ROOT)
    download(".venv (uv.lock)", "--no-deps", "--require-hashes", "-r", locked)
    for pins in sorted((ROOT / "envs").glob("*.txt")):
        if pins.name.startswith("vllm"):
            continue  # the real vLLM is for the test suite, not the room
        download(f"envs/{pins.name}", "--no-deps", "-r", pins)
        if "exact" in pins.name:  # built on Python 3.10 where the learner's machine has one
            # pip judges environment markers by the Python it runs on, not --python-version: without them,
            # 3.10's own packages (exceptiongroup) are fetched too (and colorama, which Windows only needs).
            unmarked = folder / f".{pins.stem}-py{EXACT_PYTHON}.txt"
            unmarked.write_text("".join(line.split(";")[0].rstrip() + "\n" for line in pins.read_text().splitlines()
                                        if line.strip() and not line.lstrip().startswith("#")))
            download(f"envs/{pins.name} (Python {EXACT_PYTHON})", "--no-deps", "--python-version", EXACT_PYTHON,
                     "-r", unmarked)
            unmarked.unlink()
    for name, version, _, _ in SITE_ASSETS:
        say(f"downloading {name} {version} (for the website)")
        run(npm, "pack", f"{name}@{version}", "--silent", "--pack-destination", folder, cwd=folder,
            stdout=subprocess.DEVNULL)
        parts[name] = [f"{name}-{version}.tgz"]
    needed = {name for names in parts.values() for name in names}  # not files left from an older lock
    sizes = {name: (folder / name).stat().st_size for name in needed}
    manifest = {"fingerprint": wanted, "python": sys.version.split()[0], "platform": sys.platform,
                "seconds": round(time.monotonic() - started), "bytes": sum(sizes.values()),
                "parts": {part: {"files": names, "bytes": sum(sizes.get(n, 0) for n in names)}
                          for part, names in parts.items()}}
    manifest_file.write_text(json.dumps(manifest, indent=1) + "\n")
    say(f"{folder}: {len(sizes)} files, {manifest['bytes'] / 1e6:.0f} MB. On each machine, with no internet: "
        f"`python3 run.py workshop --wheelhouse {folder}`")
    return 0


def use_wheelhouse(folder: Path) -> None:
    """Install from ``folder`` only: pip and uv (here and in every uv the set-up starts) neither look at
    an index nor go on the network, and read their packages from the folder."""
    if not (folder / "wheelhouse.json").is_file():
        sys.exit(f"run.py: {folder} is not a wheelhouse (no wheelhouse.json): make one on a connected machine "
                 "with `python3 run.py wheelhouse DIR`, then copy DIR here.")
    os.environ.update(LOOPLAB_WHEELHOUSE=str(folder), UV_OFFLINE="1", UV_NO_INDEX="1", UV_FIND_LINKS=str(folder),
                      PIP_NO_INDEX="1", PIP_FIND_LINKS=str(folder))


def _pytest(args: list[str], env: dict[str, str] | None = None) -> int:
    code = subprocess.call([python(), "-m", "pytest", *args], cwd=ROOT, env={**os.environ, **(env or {})})  # noqa: S603
    if code == 5:
        print("run.py: pytest collected no tests; that is a failure, not a pass.", file=sys.stderr)
        return 1
    return code


def other_python(version: str) -> Path:
    """A virtual environment like .venv/, on another Python (found on the PATH or through pyenv)."""
    found = subprocess.run([python(), "-c", f"from looplab.real.envs import find_python; print(find_python({version!r}) or '')"],
                           capture_output=True, text=True, cwd=ROOT).stdout.strip()
    if not found:
        sys.exit(f"run.py: no Python {version} on this machine (looked on the PATH and in pyenv): install it, "
                 "e.g. `pyenv install {version}`, and run this command again.")
    folder = ROOT / f".venv-py{version}"
    say(f"syncing {folder.name}/ with uv.lock on Python {version} ({found})")
    run(ensure_uv(), "sync", "--locked", "--quiet", "--python", found, cwd=ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(folder)})
    return folder / BIN / "python"


def test_on(version: str) -> int:
    """The package tests and one notebook on another Python (``run.py test --python 3.10``): proof that
    the versions pyproject.toml accepts work. Not part of CI's run (it would double its time)."""
    import datetime
    import json

    interpreter = other_python(version)
    exact = subprocess.run([str(interpreter), "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True).stdout.strip()
    say(f"running the package tests and notebook 01 on Python {exact}")
    proc = subprocess.Popen([str(interpreter), "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p",  # noqa: S603
                             "no:cacheprovider", "tests", "notebooks/01-event-loops.ipynb"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    summary = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        if " passed" in line or " failed" in line:
            summary = line.strip(" =\n")
    code = proc.wait()
    record = ROOT / "docs" / "data" / "python-versions.json"  # the setup page shows the last result of each
    results = json.loads(record.read_text()) if record.exists() else {}
    results[version] = {"python": exact, "date": datetime.date.today().isoformat(), "exit": code, "summary": summary}
    record.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return 1 if code == 5 else code


def test(args: list[str]) -> int:
    """The whole suite. Without arguments, in two phases: the package tests, every notebook and lab
    solution, on three workers (a module's tests stay on one worker, except those conftest.py spreads);
    then, side by side, every notebook a second time (restart safety) and the website, built from the
    notebooks the first phase executed. With arguments, one plain pytest run; with ``--python X.Y``,
    the package tests and one notebook on that Python."""
    say("running the test suite" + (" (CI: a skipped test fails the run)" if os.environ.get("CI") == "true" else ""))
    if "--python" in args:
        at = args.index("--python")
        if at + 1 >= len(args):
            sys.exit("run.py: --python needs a version, e.g. --python 3.10")
        return test_on(args[at + 1])
    if args:
        return _pytest(args)
    # Three workers on two cores: with two, a quarter of the cores' time went idle (tests waiting on a network
    # delay, a keep-alive, a server starting); three keep both busy. conftest.py orders the tests, longest first.
    first = _pytest(["-n", "3", "--dist", "loadscope", "--no-loadscope-reorder", "tests", "build/executed/notebooks", "build/executed/solutions"])
    say("restart-safety: every notebook and solution again, in the folder its first run left behind; beside it, "
        "the website is built from the notebooks just executed and checked (its output follows)")
    # The notebooks only: files their first run wrote there (notebook 07's test file) are not tests.
    copies = sorted(str(p.relative_to(ROOT)) for d in ("notebooks", "solutions") for p in (ROOT / "build" / "executed" / d).glob("*.ipynb"))
    if not copies:
        print("run.py: no executed notebook in build/executed/: the first phase ran none; that is a failure.",
              file=sys.stderr)
        return 1
    site_log = ROOT / "build" / "site-tests.log"  # the second pass writes no notebook, so the site can read them
    with open(site_log, "w") as log:
        site = subprocess.Popen([python(), "-m", "pytest", "-p", "no:cacheprovider", "tests_site"], cwd=ROOT,  # noqa: S603
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            # Three workers here too: with two, the cores were 10 % idle (kernels starting, a notebook's network
            # waits) and the pass took 190 s beside the website's tests; with three, 5 % and 178 s (2026-12-07).
            again = _pytest(["-n", "3", *copies], env={"LOOPLAB_RERUN": "1"})
        except BaseException:  # Ctrl-C (or a signal to run.py alone): the website's run stops too
            site.send_signal(signal.SIGINT)
            try:
                site.wait(30)
            except subprocess.TimeoutExpired:
                site.kill()
                site.wait()
            print(site_log.read_text(), end="", flush=True)
            raise
        second = site.wait()
    print(site_log.read_text(), end="", flush=True)
    if second == 5:
        print("run.py: pytest collected no website tests; that is a failure, not a pass.", file=sys.stderr)
        second = 1
    return first or again or second


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_this_process():
    """JupyterLab runs in its own process group (so Ctrl-C reaches only us and we stop it in order),
    but it must not outlive us if we are killed: on Linux, ask the kernel to SIGTERM it then."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    def preexec() -> None:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """JupyterLab logs its URL a moment before it accepts connections: wait for the socket."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)


def _serve_site() -> tuple[subprocess.Popen, str] | None:
    """Serve the built website (site/) on a free loopback port; None if it is not built."""
    if not (ROOT / "site" / "index.html").exists():
        return None
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [python(), "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(ROOT / "site")],
        cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_this_process())
    _wait_for_port(port, server)
    return server, f"http://127.0.0.1:{port}/index.html"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _interruptible() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt from here on (even when started with SIGINT ignored), so
    a command stops what it started cleanly whenever the user interrupts it, during start-up too."""
    def on_signal(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)


def _until_interrupted(process: subprocess.Popen | None = None) -> None:
    """Block until Ctrl-C or SIGTERM (or until ``process`` ends); the caller has called _interruptible()."""
    if process is not None and process.stderr is not None:
        for _ in process.stderr:  # drain the log so the child never blocks on a full pipe
            pass
        process.wait()
    else:
        signal.pause()


def workshop(args: list[str]) -> int:
    _interruptible()
    port, token = _free_port(), secrets.token_hex(16)
    session = f"workshop-{secrets.token_hex(8)}"  # tags every server the notebooks start, so cleanup
    env = {**os.environ, "LOOPLAB_SESSION": session}  # stops ours and nobody else's
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers, CI
    lab: subprocess.Popen | None = None
    site: tuple[subprocess.Popen, str] | None = None
    try:  # from here on, Ctrl-C (even before the banner) stops what has started, and exits 0
        lab = subprocess.Popen(  # noqa: S603
            [python(), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}", *as_root, *args],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            preexec_fn=_die_with_this_process())
        url = f"http://127.0.0.1:{port}/lab/tree/notebooks?token={token}"
        assert lab.stderr is not None
        startup = []
        for line in lab.stderr:  # wait until JupyterLab says it is serving
            startup.append(line)
            if "is running at" in line:
                break
        else:
            lab.wait()
            print("".join(startup[-20:]), file=sys.stderr)
            print(f"run.py: JupyterLab did not start (exit code {lab.returncode}).", file=sys.stderr)
            return lab.returncode or 1
        _wait_for_port(port, lab)
        site = _serve_site()
        website = (f"  Website:    {site[1]}" if site else
                   "  Website:    not built yet: `python3 run.py site` builds and serves it")
        chinese = url.replace("/lab/tree/notebooks", "/lab/tree/zh/notebooks")
        print(f"\n  looplab workshop is running.\n  JupyterLab: {url}\n  简体中文:   {chinese}\n{website}\n"
              "  Press Ctrl-C to stop.\n", flush=True)
        _until_interrupted(lab)
    except KeyboardInterrupt:
        pass
    finally:
        if lab is not None and lab.poll() is None:
            say("stopping JupyterLab" + (" and the website" if site else ""))
        if lab is not None:
            _stop(lab)
        if site:
            _stop(site[0])
        subprocess.call([python(), "-m", "looplab", "cleanup", "--session", session], cwd=ROOT,  # noqa: S603
                        stdout=subprocess.DEVNULL)
    say("stopped")
    return 0


ROOM_ACTIONS = ("run", "install", "publish", "export", "learner", "capacity")


def room_prerequisites() -> None:
    """The room is a Linux server's job, as root (it makes an OS user per learner); it needs the OS's
    Python (learners' users cannot run root's), git (content) and npm (JupyterHub's proxy)."""
    if not sys.platform.startswith("linux"):
        sys.exit("run.py: the room runs on a Linux server, and learners join it from any browser (macOS and Windows "
                 "too); on this machine, take part with `python3 run.py workshop`.")
    if os.geteuid() != 0:
        sys.exit("run.py: the room makes an OS user for each learner, so it runs as root: `sudo python3 run.py room`.")
    shared = any(Path(p).exists() for p in ("/usr/bin/python3", "/usr/local/bin/python3"))
    missing = [pkg for pkg, present in (("python3", shared), ("git", shutil.which("git")),
                                        ("nodejs npm", shutil.which("npm"))) if not present]
    if not missing:
        return
    if not shutil.which("apt-get"):
        sys.exit(f"run.py: the room needs {', '.join(missing)}: install them with your OS's package manager, then run "
                 "this command again.")
    say(f"installing {' '.join(missing)} (Debian packages) for the room")
    run("apt-get", "update", "-qq", stdout=subprocess.DEVNULL)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *" ".join(missing).split(),
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)


def room(args: list[str]) -> int:
    """The room's JupyterHub for a team session (``looplab room``): install, then run until Ctrl-C."""
    action = args if args and args[0] in ROOM_ACTIONS else ["run", *args]
    os.execv(python(), [python(), "-m", "looplab", "room", *action])  # noqa: S606 (Ctrl-C goes straight to it)
    return 0


def site(args: list[str]) -> int:
    """Execute the notebooks once, build the website from them, and serve it until Ctrl-C."""
    _interruptible()
    say("executing the notebooks and building the website (a few minutes)")
    code = subprocess.call([python(), "-m", "pytest", "-q", "build/executed/notebooks", "build/executed/solutions",
                            "tests_site/test_site_build.py", *args], cwd=ROOT)  # noqa: S603
    if code != 0:
        print("run.py: the website was not built: see the failures above.", file=sys.stderr)
        return code
    served: tuple[subprocess.Popen, str] | None = None
    try:  # Ctrl-C at any moment from here stops the server and exits 0
        served = _serve_site()
        assert served is not None
        print(f"\n  Website: {served[1]}\n  (also readable without a server: open site/index.html)\n"
              "  Press Ctrl-C to stop.\n", flush=True)
        _until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        if served is not None:
            _stop(served[0])
    say("stopped")
    return 0


def check_python() -> None:
    """One line, no traceback, on a Python looplab does not run on (a Mac's system Python is 3.9)."""
    if not (3, 10) <= sys.version_info[:2] <= (3, 13):
        sys.exit(f"run.py: looplab needs Python 3.10 to 3.13 (3.11 recommended); this is {sys.version.split()[0]} at "
                 f"{sys.executable}. Install Python 3.11 (macOS: `brew install python@3.11` or the installer from "
                 "python.org; Debian/Ubuntu: `apt-get install python3.11`), then run `python3.11 run.py ...` again.")


def main(argv: list[str]) -> int:
    check_python()
    commands = {"setup", "test", "workshop", "site", "room", "wheelhouse"}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "wheelhouse":
        if len(rest) != 1 or rest[0].startswith("-"):
            sys.exit("run.py: name the folder to fill: `python3 run.py wheelhouse DIR`")
        return prepare_wheelhouse(Path(rest[0]).resolve())
    if "--wheelhouse" in rest:
        if command not in ("workshop", "room"):  # setup/test/site also install vLLM and Chromium, not in a wheelhouse
            sys.exit("run.py: --wheelhouse is for `workshop` and `room` (a wheelhouse holds no vLLM or Chromium)")
        at = rest.index("--wheelhouse")
        if at + 1 >= len(rest):
            sys.exit("run.py: --wheelhouse needs the folder `python3 run.py wheelhouse DIR` filled")
        use_wheelhouse(Path(rest[at + 1]).resolve())
        del rest[at:at + 2]
    if command == "room":
        room_prerequisites()
    if "--no-setup" in rest:
        rest.remove("--no-setup")
    else:
        setup(full=command not in ("workshop", "room"))
    if command == "test":
        return test(rest)
    if command == "workshop":
        return workshop(rest)
    if command == "site":
        return site(rest)
    if command == "room":
        return room(rest)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C during set-up: one line, no traceback
        print("\nrun.py: interrupted; run the same command again to go on.", file=sys.stderr)
        sys.exit(130)
