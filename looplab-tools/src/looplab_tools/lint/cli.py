"""The command: ``looplab-lint PATH...`` (also ``looplab lint``, ``python -m looplab_tools.lint``).

Exit codes: 0 no finding, 1 findings, 2 a user's mistake (a missing path, an unknown rule, a bad
``[tool.looplab-lint]`` table), said in one line that names the fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import __version__
from . import check_paths, report
from .config import ConfigError, find_pyproject, load, rules


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, help="Python files, or folders of them (scanned together, as one package)")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="how to print the findings")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="the same as --format json")
    p.add_argument("--select", help="only these rules (comma-separated codes or prefixes, e.g. LL001,LL003)")
    p.add_argument("--ignore", help="not these rules")
    p.add_argument("--config", type=Path, help="the pyproject.toml to read [tool.looplab-lint] from "
                   "(default: the nearest one above the first path)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="scan files in N processes (0: one per core)")
    p.add_argument("--output", "-o", type=Path, help="write the report to this file instead of standard output")


def _fail(message: str) -> int:
    print(f"looplab-lint: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        return _fail(f"no such file or folder: {', '.join(missing)}")
    if args.jobs < 0:
        return _fail(f"--jobs {args.jobs}: give 0 (one per core) or a positive number")
    if args.config is not None and not args.config.is_file():
        return _fail(f"--config {args.config}: no such file; give the path of a pyproject.toml")
    try:
        config = load(args.config or find_pyproject(args.paths[0]))
        if args.select:
            config.select = rules(args.select, "--select")
        if args.ignore:
            config.ignore = config.ignore | rules(args.ignore, "--ignore")
    except ConfigError as exc:
        return _fail(str(exc))
    findings, skipped = check_paths(args.paths, config, args.jobs)
    out = {"json": report.as_json, "sarif": lambda f: report.sarif(f, __version__)}.get(args.format, report.text)(findings)
    if args.output:
        args.output.write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    if args.format == "text":
        print(f"{len(findings)} finding(s)" + (f"; {len(skipped)} file(s) not parsed" if skipped else ""), file=sys.stderr)
    for line in skipped:
        print(f"looplab-lint: skipped {line}", file=sys.stderr)
    return 1 if findings else 0


def main(argv: list[str] | None = None, prog: str = "looplab-lint") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Find the two-loop bug (an async client outliving its "
                                     "event loop) in Python source, statically.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
