"""``looplab labs`` and ``looplab episodes``: build and check the course's notebooks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class LabsCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        actions = p.add_subparsers(dest="labs_command", required=True, metavar="ACTION")
        build = actions.add_parser("build", help="write labs/ from solutions/ (deterministic)")
        build.add_argument("--check", action="store_true", help="only report labs that differ; exit 1 if any")
        check = actions.add_parser("check", help="run lab notebooks in fresh kernels and report each check")
        check.add_argument("paths", nargs="+", type=Path, help="lab notebooks, or folders of them")
        check.add_argument("--timeout", type=float, default=180.0, metavar="SECONDS",
                           help="longest a notebook may run before it counts as hanging (default: 180)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..course import labs

        if args.labs_command == "check":
            return labs.check_command(args.paths, timeout=args.timeout)
        changed = labs.build(check=args.check)
        for path in changed:
            print(f"{'differs' if args.check else 'written'}: {path.relative_to(labs.ROOT)}")
        if args.check and changed:
            print("labs/ is generated: run `looplab labs build` and commit the result", file=sys.stderr)
            return 1
        return 0


class EpisodesCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("action", choices=["sync", "check"])

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..course import episodes

        manifest = episodes.load()
        stale = []
        for episode in manifest.episodes:
            shown = episode.notebook.relative_to(episodes.ROOT)
            if not episode.notebook.exists():
                print(f"missing: {shown} (episode {episode.number})", file=sys.stderr)
                stale.append(episode.notebook)
                continue
            if episodes.sync(episode.notebook, episode, check=args.action == "check"):
                stale.append(episode.notebook)
                print(f"{'out of date' if args.action == 'check' else 'updated'}: {shown}")
        if args.action == "check" and stale:
            print("run `looplab episodes sync` and commit the result", file=sys.stderr)
            return 1
        return 0
