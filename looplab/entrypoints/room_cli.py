"""``looplab room``: a team session on one shared JupyterHub.

    looplab room run [--ip ADDR] [--port N] [--cert F --key F | --insecure-http REASON] ...
    looplab room install          the shared read-only install (run.py room does it first)
    looplab room publish          push this checkout's HEAD to the learners (a fix, mid-session)
    looplab room export [--out F] the live view as CSV (also on its page)
    looplab room learner NAME     one learner: their row, their folder, the address to open their lab
    looplab room capacity         simulated learners through a real hub: the planning table's numbers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..room.settings import DEFAULT_HOME, DEFAULT_INSTALLS

ACTIONS = ("run", "install", "publish", "export", "learner", "capacity")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="start the room's JupyterHub; Ctrl-C stops it all")
    _home(run)
    run.add_argument("--ip", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    run.add_argument("--port", type=int, default=8000, help="port learners open (default 8000; 0 picks a free one)")
    run.add_argument("--cert", type=Path, help="TLS certificate (PEM), needed to serve beyond this machine")
    run.add_argument("--key", type=Path, help="the certificate's private key (PEM)")
    run.add_argument("--insecure-http", metavar="REASON", default="",
                     help="serve plain HTTP beyond this machine anyway, and say why (shown when the room starts)")
    run.add_argument("--code", default="", help="the session code learners type (default: kept from the last run, or made)")
    run.add_argument("--new-code", action="store_true", help="make new session and facilitator codes")
    run.add_argument("--content", default="", metavar="URL",
                     help="git repository learners pull (default: this checkout's HEAD, served by the room)")
    run.add_argument("--branch", default="main", help="the content's branch (default main)")
    run.add_argument("--memory-gib", type=float, default=2.0, help="memory per learner (default 2 GiB)")
    run.add_argument("--tasks", type=int, default=512, help="processes and threads per learner (default 512)")
    run.add_argument("--idle-minutes", type=int, default=60, help="stop a learner's server after this long idle")
    run.add_argument("--install-root", type=Path, default=DEFAULT_INSTALLS, help=argparse.SUPPRESS)
    sub.add_parser("install", help="install the room's shared, read-only looplab (idempotent)").add_argument(
        "--install-root", type=Path, default=DEFAULT_INSTALLS, help=f"where (default {DEFAULT_INSTALLS})")
    _home(sub.add_parser("publish", help="push this checkout's committed HEAD to the learners' content"))
    export = sub.add_parser("export", help="the live view's board as CSV")
    _home(export)
    export.add_argument("--out", type=Path, help="write here (default: standard output)")
    learner = sub.add_parser("learner", help="one learner's row, folder and lab address")
    _home(learner)
    learner.add_argument("name")
    capacity = sub.add_parser("capacity", help="simulated learners through a real hub, N at a time")
    capacity.add_argument("--learners", default="1,4,8,12", help="comma-separated N (default 1,4,8,12)")
    capacity.add_argument("--json", type=Path, help="also write the results here")
    capacity.add_argument("--install-root", type=Path, default=DEFAULT_INSTALLS, help=argparse.SUPPRESS)


def _home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", type=Path, default=DEFAULT_HOME,
                   help=f"the room's state: learners' homes, the hub's and the progress database (default {DEFAULT_HOME})")


def run(args: argparse.Namespace) -> int:
    from ..room.install import InstallError
    from ..room.launch import RoomError

    try:
        return _ACTIONS[args.action](args)
    except (RoomError, InstallError) as exc:
        print(f"looplab room: {exc}", file=sys.stderr)
        return 2


def _install(args: argparse.Namespace) -> Path:
    from ..room.install import install

    return install(root=args.install_root)


def _run(args: argparse.Namespace) -> int:
    from ..room.launch import Options, check_machine
    from ..room.launch import run as run_room

    check_machine()
    options = Options(home=args.home.resolve(), install=_install(args), ip=args.ip, port=args.port, cert=args.cert,
                      key=args.key, insecure_reason=args.insecure_http, code=args.code, new_code=args.new_code,
                      content_repo=args.content, content_branch=args.branch, memory_gib=args.memory_gib,
                      tasks=args.tasks, idle_minutes=args.idle_minutes)
    return run_room(options)


def _install_only(args: argparse.Namespace) -> int:
    print(f"room install: {_install(args)}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from ..project import ROOT
    from ..room import content
    from ..room.launch import RoomError

    bare = args.home / "content.git"
    if not bare.exists():
        raise RoomError(f"no room at {args.home} (no content.git): start it with `python3 run.py room` first")
    try:
        commit = content.publish(ROOT, bare)
    except content.ContentError as exc:
        raise RoomError(str(exc)) from None
    note = " (uncommitted changes are not included: commit them first)" if content.dirty(ROOT) else ""
    print(f"published {commit[:12]} to {bare}{note}. Learners get it the next time they open the room's address "
          "(or File > Open from the hub's home); their own edits stay.")
    return 0


def _board(home: Path):  # noqa: ANN202
    from ..course.checks import columns
    from ..room.launch import RoomError
    from ..room.progress import Progress

    database = home / "progress.sqlite"
    if not database.exists():
        raise RoomError(f"no room at {home} (no progress.sqlite): give the room's --home")
    progress = Progress(str(database))
    try:
        return progress.board(columns())
    finally:
        progress.close()


def _export(args: argparse.Namespace) -> int:
    from ..room.progress import to_csv

    text = to_csv(_board(args.home))
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _learner(args: argparse.Namespace) -> int:
    from ..room.launch import RoomError, room_users
    from ..room.settings import RoomSettings

    board = _board(args.home)
    names = sorted({row.learner for row in board.rows} | {u.removeprefix("looplab-") for u in room_users()})
    row = next((r for r in board.rows if r.learner == args.name), None)
    if args.name not in names:
        raise RoomError(f"no learner named {args.name!r} in this room (learners: {', '.join(names) or 'none yet'})")
    room = RoomSettings.load(args.home / "room.json")
    print(f"{args.name}: folder {room.homes / room.os_user(args.name)}/looplab")
    print(f"  their JupyterLab (as the facilitator): {room.public_url()}user/{args.name}/lab")
    if row is None:
        print("  no check run yet")
        return 0
    for (lab, check), cell in sorted(row.cells.items()):
        print(f"  {cell.mark} {lab}.{check}" + (f": {cell.hint[:200]}" if cell.verdict in ("failed", "error") else ""))
    return 0


def _capacity(args: argparse.Namespace) -> int:
    from ..room.capacity import main as capacity_main

    return capacity_main([int(n) for n in args.learners.split(",")], _install(args), args.json)


_ACTIONS = {"run": _run, "install": _install_only, "publish": _publish, "export": _export, "learner": _learner,
            "capacity": _capacity}
