"""``looplab room``: start a team session's JupyterHub, print where to go, and stop it all on Ctrl-C.

The launcher checks what a facilitator can get wrong before anything starts (a busy port, a
missing certificate, serving beyond this machine without TLS, a missing proxy), each as one line
with the fix; writes the room's settings; publishes the content; starts the hub (in its own
process group, dying with the launcher) and waits until it answers. On Ctrl-C it stops the hub,
which stops every learner's server; then it kills whatever a learner left in their group and checks
that nothing of the room is left running. Learners' homes, the hub's database and the progress
database stay on disk: start the room again with the same ``--home`` and everyone finds their work.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import pwd
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..project import ROOT
from ..servers import die_with_parent, free_port
from . import content
from .install import InstallError, proxy_of
from .limits import LearnerGroup, Limits, cgroup_mode
from .settings import CODE_PATTERN, FACILITATOR, SERVICE, SETTINGS_ENV, USER_PREFIX, RoomSettings, new_session_code

CONFIG = Path(__file__).with_name("jupyterhub_config.py")


class RoomError(RuntimeError):
    """A facilitator's mistake or a machine that cannot host the room: one line with the fix."""


@dataclass
class Options:
    home: Path
    install: Path
    ip: str = "127.0.0.1"
    port: int = 8000
    cert: Path | None = None
    key: Path | None = None
    insecure_reason: str = ""
    code: str = ""
    new_code: bool = False
    content_repo: str = ""
    content_branch: str = "main"
    memory_gib: float = 2.0
    tasks: int = 512
    idle_minutes: int = 60


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def check_machine() -> None:
    if not sys.platform.startswith("linux"):
        raise RoomError("the room runs on a Linux server (learners join from any browser, macOS and Windows included); "
                        "on this machine use `python3 run.py workshop`")
    if os.geteuid() != 0:
        raise RoomError("the room makes an OS user for each learner, so it runs as root: `sudo python3 run.py room`")


def check_port(ip: str, port: int) -> int:
    """The port learners will use, bound for a moment to prove it is free (0: any free port)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family) as sock:
        try:
            sock.bind((ip, port))
        except OSError as exc:
            if port and exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
                raise RoomError(f"port {port} on {ip} is busy: choose another with --port N (--port 0 picks a free one), "
                                "or stop what uses it") from None
            raise RoomError(f"cannot listen on {ip}:{port} ({exc.strerror}): is {ip} an address of this machine?") from None
        return sock.getsockname()[1]


def check_tls(options: Options) -> None:
    if bool(options.cert) != bool(options.key):
        raise RoomError("give both --cert and --key (the certificate and its private key, PEM files)")
    if options.cert and options.key:
        for what, path in (("certificate", options.cert), ("private key", options.key)):
            if not path.is_file():
                raise RoomError(f"the {what} {path} does not exist: give the PEM file's path (--cert/--key)")
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(options.cert, options.key)
        except (ssl.SSLError, OSError) as exc:
            raise RoomError(f"the certificate and key do not load together ({exc}): give the key that matches "
                            "the certificate") from None
        return
    if not is_loopback(options.ip) and not options.insecure_reason:
        raise RoomError(f"serving beyond this machine ({options.ip}) needs TLS, or learners' session code travels in clear "
                        "text: give --cert FILE --key FILE, or --insecure-http 'REASON' (e.g. 'closed classroom network')")


def settings_for(options: Options) -> RoomSettings:
    """This run's settings; the session codes of an earlier run of the same room are kept."""
    previous = None
    if (options.home / "room.json").exists():
        try:
            previous = RoomSettings.load(options.home / "room.json")
        except (ValueError, TypeError):
            previous = None
    code = options.code or (previous.learner_code if previous and not options.new_code else new_session_code())
    import re

    if not re.fullmatch(CODE_PATTERN, code):
        raise RoomError(f"the session code {code!r} is not usable: 8 to 64 letters, digits or '-' (or leave --code out "
                        "and the room makes one)")
    facilitator_code = previous.facilitator_code if previous and not options.new_code else secrets.token_urlsafe(24)
    if code == facilitator_code:
        raise RoomError("the session code must differ from the facilitator's code")
    proxy = proxy_of(options.install)
    if not proxy.exists():
        raise RoomError(f"the room's proxy (configurable-http-proxy, from npm) is missing in {options.install}: run "
                        "`python3 run.py room` (it installs it), or `looplab room install`")
    return RoomSettings(
        home=str(options.home), install=str(options.install), proxy=str(proxy), learner_code=code,
        facilitator_code=facilitator_code, content_repo=options.content_repo, content_branch=options.content_branch,
        ip=options.ip, port=options.port, hub_port=free_port(), proxy_api_port=free_port(), service_port=free_port(),
        cert=str(options.cert or ""), key=str(options.key or ""), insecure_reason=options.insecure_reason,
        memory_bytes=int(options.memory_gib * 2**30), tasks=options.tasks, idle_timeout=options.idle_minutes * 60)


def prepare(options: Options, checkout: Path = ROOT) -> RoomSettings:
    """Everything before the hub starts; raises :class:`RoomError` with one line on a mistake."""
    check_machine()
    check_tls(options)
    if not (options.install / ".venv" / "bin" / "jupyterhub").exists():
        raise RoomError(f"no room install at {options.install}: run `python3 run.py room` (it installs), "
                        "or `looplab room install`")
    options.port = check_port(options.ip, options.port)
    options.home.mkdir(parents=True, exist_ok=True)
    options.home.chmod(0o711)  # learners pass through to their own home, and list nothing
    (options.home / "homes").mkdir(exist_ok=True)
    (options.home / "homes").chmod(0o711)
    bare = options.home / "content.git"
    serve_checkout = not options.content_repo
    if serve_checkout:
        options.content_repo = f"file://{bare}"
    room = settings_for(options)  # every mistake is found before anything is written
    if serve_checkout:
        try:
            content.publish(checkout, bare, options.content_branch)
        except content.ContentError as exc:
            raise RoomError(str(exc)) from None
    content.write_git_config(room.git_config, room.content_repo)
    token = options.home / "proxy_token"
    if not token.exists():
        token.touch(0o600)
        token.write_text(secrets.token_hex(32))
    room.save()
    return room


def room_users() -> list[str]:
    return [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(USER_PREFIX) and "looplab room" in p.pw_gecos]


def forget_learner(user: str, limits: Limits | None = None) -> None:
    """Remove a learner's OS user and control group (after the room stopped); their home stays."""
    group = LearnerGroup(user, limits or Limits(0, 0))
    group.kill_all()
    group.remove()
    subprocess.run(["userdel", user], capture_output=True, timeout=60, check=False)
    subprocess.run(["groupdel", user], capture_output=True, timeout=60, check=False)


def leftovers(room: RoomSettings) -> list[int]:
    """Processes of the room still running: the hub's, and any learner's."""
    limits = Limits(room.memory_bytes, room.tasks)
    found = set()
    for user in room_users():
        found |= LearnerGroup(user, limits).pids()
    hub_pid = room.home_path / "jupyterhub.pid"
    for line in _matching(str(room.home_path / "room.json")):
        found.add(line)
    if hub_pid.exists():
        try:
            pid = int(hub_pid.read_text())
            os.kill(pid, 0)
            found.add(pid)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
    return sorted(found)


def _matching(text: str) -> set[int]:
    """Processes whose environment names this room's settings (the hub, its services)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if f"{SETTINGS_ENV}={text}".encode() in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def wait_until_up(room: RoomSettings, hub: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the hub answers through its proxy (``/hub/api``), or it exits, or ``timeout``."""
    url = f"{room.scheme}://127.0.0.1:{room.port}/hub/api" if room.ip in ("0.0.0.0", "::") else room.public_url() + "hub/api"
    context = ssl._create_unverified_context() if room.cert else None  # noqa: S323 (our own hub, any certificate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise RoomError(f"the hub stopped at start-up (exit {hub.returncode}): see {room.home_path / 'hub.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)  # polling an HTTP endpoint until it answers (the hub has no readiness signal)
    raise RoomError(f"the hub did not answer within {timeout:.0f} s: see {room.home_path / 'hub.log'}")


def start_hub(room: RoomSettings) -> subprocess.Popen:
    log = open(room.home_path / "hub.log", "ab")  # noqa: SIM115 (the hub's log for the whole session)
    env = {**os.environ, SETTINGS_ENV: str(room.home_path / "room.json"),
           "PATH": f"{room.bin}:{os.path.dirname(room.proxy)}:/usr/local/bin:/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.Popen([str(room.bin / "jupyterhub"), "-f", str(Path(room.install) / "looplab" / "room" / CONFIG.name)],  # noqa: S603
                            cwd=room.home_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, preexec_fn=die_with_parent())


def become_subreaper() -> None:
    """Learners' processes orphaned by a dying kernel are adopted by the launcher, not by PID 1 (which,
    in a container, may never reap them): the launcher collects them (:func:`reap`)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap(hub: subprocess.Popen) -> None:
    """Collect every adopted child that has exited (the hub's exit status is kept for ``hub``)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == hub.pid:
            hub.returncode = os.waitstatus_to_exitcode(status)


def wait_for_exit(hub: subprocess.Popen, timeout: float | None = None) -> bool:
    """Until the hub exits (True) or ``timeout`` passes (False), collecting adopted orphans meanwhile."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while hub.returncode is None and hub.poll() is None:
        reap(hub)
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(0.5)  # the launcher's idle loop: it has nothing else to do but collect orphans
    return True


def stop(room: RoomSettings, hub: subprocess.Popen, timeout: float = 90.0) -> list[int]:
    """Stop the hub (which stops every learner's server), then anything left; returns what had to be killed."""
    if hub.returncode is None and hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        if not wait_for_exit(hub, timeout):
            os.killpg(hub.pid, signal.SIGKILL)
            wait_for_exit(hub)
    killed = []
    for attempt in range(50):
        left = leftovers(room)
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.1 * (attempt + 1) / 10)  # killed processes take a moment to leave /proc
        reap(hub)
    reap(hub)
    return sorted(set(killed))


def banner(room: RoomSettings) -> str:
    where = room.public_url()
    host = socket.gethostname() if not is_loopback(room.ip) else None
    shown = room.public_url(host) if host else where
    lines = [
        "", "  looplab room is running.",
        f"  Learners open:     {shown}   (a name of their choice + session code: {room.learner_code})",
        f"  Facilitator:       {shown}services/{SERVICE}/   (log in as '{FACILITATOR}', code: {room.facilitator_code})",
        f"  Per learner:       {Limits(room.memory_bytes, room.tasks).describe()} ("
        + (f"control groups {cgroup_mode()}" if cgroup_mode() else "no control groups here: per-process limits only") + ")",
        f"  Learners' work:    {room.homes}/   (kept when the room stops)",
        f"  Hub log:           {room.home_path / 'hub.log'}",
    ]
    if room.insecure_reason:
        lines.append(f"  Plain HTTP beyond this machine, because: {room.insecure_reason}")
    lines += ["  Press Ctrl-C to stop the room (every learner's server, kernel and mock server stops).", ""]
    return "\n".join(lines)


def run(options: Options) -> int:
    room = prepare(options)
    def on_term(signum, frame):  # noqa: ANN001, ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)  # a plain kill, even during start-up, stops the room as Ctrl-C does
    become_subreaper()
    hub = start_hub(room)
    try:
        wait_until_up(room, hub)
        print(banner(room), flush=True)
        wait_for_exit(hub)
        print(f"looplab room: the hub stopped by itself (exit {hub.returncode}): see {room.home_path / 'hub.log'}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("==> stopping the room: the hub, every learner's server, kernel and mock server", flush=True)
        killed = stop(room, hub)
        left = leftovers(room)
        print(f"==> stopped{f' ({len(killed)} leftover process(es) killed)' if killed else ''}"
              f"{f'; STILL RUNNING: {left}' if left else ''}. Learners' work is in {room.homes}/", flush=True)


__all__ = ["InstallError", "Options", "RoomError", "prepare", "run"]
