"""``looplab doctor``: is this machine ready for the workshop? One line per check, with the fix."""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..project import LOCK_FILE, is_mirror, locked_versions, pip_index, redacted, uv_index
#: Packages whose exact version changes what learners see (the client above all).
KEY_PACKAGES = ("openai", "httpx2", "httpcore2", "fastapi", "starlette", "uvicorn", "anyio", "jupyterlab", "ipykernel")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = (3, 10) <= sys.version_info[:2] <= (3, 13)
    return Check("python", ok, f"{version} at {sys.executable}",
                 "install Python 3.11 (3.10 to 3.13 work) and run `python3 run.py setup` again")


def platform_kind() -> str:
    """linux | wsl2 | macos | windows | other: the platform as the workshop cares about it."""
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform.startswith("linux"):
        try:
            release = Path("/proc/version").read_text().lower()
        except OSError:
            release = ""
        return "wsl2" if "microsoft" in release else "linux"
    return "other"


def check_platform() -> Check:
    kind = platform_kind()
    notes = {
        "linux": "Linux: everything works, servers die with their parent (PR_SET_PDEATHSIG)",
        "wsl2": "Windows through WSL2: works as Linux",
        "macos": "macOS: works; servers watch their parent instead of PR_SET_PDEATHSIG",
        "windows": "native Windows: a different event loop (proactor) and no process groups",
        "other": f"{sys.platform}: untested",
    }
    return Check("platform", kind in ("linux", "wsl2", "macos"), f"{notes[kind]} ({platform.machine()})",
                 "use WSL2 (Ubuntu) and run the workshop inside it")


def check_packages() -> Check:
    if not LOCK_FILE.exists():
        return Check("packages", True, "no uv.lock next to looplab (installed elsewhere): not compared")
    locked = locked_versions(LOCK_FILE)
    wrong = []
    for name in KEY_PACKAGES:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if name in locked and installed not in locked[name]:
            wrong.append(f"{name} {installed} (locked: {', '.join(sorted(locked[name]))})")
    if wrong:
        return Check("packages", False, "; ".join(wrong), "run `python3 run.py setup` to sync .venv with uv.lock")
    return Check("packages", True, ", ".join(f"{n} {metadata.version(n)}" for n in KEY_PACKAGES[:3]) + ", ... as locked")


def check_free_port() -> Check:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    except OSError as exc:
        return Check("loopback port", False, str(exc), "allow binding to 127.0.0.1 (firewall or sandbox settings)")
    return Check("loopback port", True, f"127.0.0.1:{port} can be bound")


def check_mock() -> Check:
    import openai

    from ..servers import ServerError, start_mock

    began = time.monotonic()
    try:
        with start_mock(timeout=20) as mock, openai.OpenAI(base_url=mock.base_url, api_key="x", max_retries=0,
                                                           timeout=10) as client:
            reply = client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "ping"}])
            text = reply.choices[0].message.content
    except (ServerError, openai.OpenAIError, OSError) as exc:
        return Check("mock vLLM", False, f"{type(exc).__name__}: {str(exc)[:300]}",
                     "run `looplab mock-vllm --port 0` to see its error; `looplab cleanup` stops leftovers")
    return Check("mock vLLM", text == " ping", f"started, answered a chat request in {time.monotonic() - began:.1f} s",
                 "the mock answered unexpectedly: reinstall with `python3 run.py setup`")


def check_jupyter() -> Check:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        import jupyterlab  # noqa: F401
    except ImportError as exc:
        return Check("jupyter", False, str(exc), "run `python3 run.py setup`")
    specs = KernelSpecManager().find_kernel_specs()
    if "python3" not in specs:
        return Check("jupyter", False, f"no python3 kernel (found: {', '.join(specs) or 'none'})",
                     "run `python -m ipykernel install --sys-prefix` inside .venv")
    return Check("jupyter", True, f"JupyterLab {metadata.version('jupyterlab')}, python3 kernel present")


def check_offline() -> Check:
    """Can the workshop run with no internet? Everything it loads at run time must be local."""
    root = LOCK_FILE.parent
    needed = {
        "the incident-era client (.venv-incident/)": (root / ".venv-incident").is_dir(),
        "the released llama-stack 0.2.2/0.2.3 (.cache/real-stack/)": all(
            (root / ".cache" / "real-stack" / f"llama-stack-{v}").is_dir() for v in ("0.2.2", "0.2.3")),
        "the website's vendored mermaid (docs/assets/vendor/)": (root / "docs/assets/vendor/mermaid.min.js").exists(),
        "the website's vendored iframe-worker shim, its search from disk (docs/assets/vendor/)":
            (root / "docs/assets/vendor/iframe-worker-shim.js").exists(),
    }
    missing = [what for what, present in needed.items() if not present]
    if missing:
        return Check("offline ready", False, "missing: " + "; ".join(missing),
                     "run `python3 run.py setup` while online (or from a wheelhouse: see the facilitator guide)")
    built = (root / "site" / "index.html").exists()
    return Check("offline ready", True, "everything the notebooks and labs load is installed locally"
                 + ("; the website is built (site/)" if built else "; build the website with `python3 run.py site`"))


def check_index() -> Check:
    """Which package index (PyPI, or a mirror) uv and pip will install from: informational, and a hint
    when only one of them is pointed at a mirror (uv does not read pip's settings)."""
    (uv_url, uv_from), (pip_url, pip_from) = uv_index(), pip_index()
    detail = f"uv: {redacted(uv_url)} ({uv_from}); pip: {redacted(pip_url)} ({pip_from})"
    if is_mirror(uv_url):
        detail += "; run.py installs uv.lock's exact versions from the mirror and refuses a file whose hash differs"
    if is_mirror(uv_url) != is_mirror(pip_url):
        detail += ("; only one installer uses a mirror: set UV_DEFAULT_INDEX and PIP_INDEX_URL to the same one "
                   "(pip installs the real vLLM, uv everything else; see the setup page)")
    return Check("package index", True, detail)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip-jupyter", action="store_true", help="do not check the Jupyter kernel")
    p.add_argument("--line", action="store_true",
                   help="print one paste-able line (READY, or what failed and its fix) instead of the table")
    p.add_argument("--room-report", action="store_true",
                   help="on the room's JupyterHub: send the result to the facilitator's live view (its servers do)")


def run(args: argparse.Namespace) -> int:
    if args.room_report:
        return room_report()
    if args.line:
        results = results_of(checks_for(skip_jupyter=args.skip_jupyter))
        print(one_line(results))
        return 1 if any(not r.ok for r in results) else 0
    return report(skip_jupyter=args.skip_jupyter)


def checks_for(skip_jupyter: bool = False, room: bool = False) -> list[Callable[[], Check]]:
    """The checks, in order. In a room the install is the facilitator's: its offline readiness and
    package index are not the learner's concern."""
    checks: list[Callable[[], Check]] = [check_python, check_platform, check_packages]
    if not room:
        checks.append(check_index)
    checks += [check_free_port, check_mock]
    if not room:
        checks.append(check_offline)
    if not skip_jupyter:
        checks.append(check_jupyter)
    return checks


def results_of(checks: list[Callable[[], Check]]) -> list[Check]:
    return [make() for make in checks]


def one_line(results: list[Check]) -> str:
    """``looplab doctor: READY (8/8) · linux x86_64 · Python 3.11.7 · openai 3.51.0``, or what failed
    with each fix: one line a learner pastes into the room's chat."""
    from importlib import metadata as md

    try:
        client = f"openai {md.version('openai')}"
    except md.PackageNotFoundError:
        client = "openai missing"
    where = f"{platform_kind()} {platform.machine()} · Python {platform.python_version()} · {client}"
    failed = [r for r in results if not r.ok]
    if not failed:
        return f"looplab doctor: READY ({len(results)}/{len(results)}) · {where}"
    problems = "; ".join(f"{r.name}: {r.detail[:120]} (fix: {r.fix})" for r in failed)
    return f"looplab doctor: NOT READY ({len(results) - len(failed)}/{len(results)}) · {where} · {problems}"


def room_report() -> int:
    """Run the room's checks and send the one-line result to the live view (as this learner)."""
    from ..course.progress import send

    results = results_of(checks_for(room=True))
    ok = all(r.ok for r in results)
    send("api/doctor", {"ok": ok, "summary": one_line(results)}, timeout=10)
    return 0 if ok else 1


def report(skip_jupyter: bool = False, out: Callable[[str], None] = print) -> int:
    failed = 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for make in checks_for(skip_jupyter=skip_jupyter):
        result = make()
        mark = "PASS" if result.ok else "FAIL"
        if color:
            mark = f"\033[32m{mark}\033[0m" if result.ok else f"\033[31m{mark}\033[0m"
        out(f"{mark}  {result.name:<14} {result.detail}")
        if not result.ok:
            failed += 1
            out(f"      {'':<14} fix: {result.fix}")
    out("Ready for the workshop." if not failed else f"{failed} check(s) failed: see the fixes above. "
        "`looplab doctor --line` gives the same result as one line to paste.")
    return 1 if failed else 0
