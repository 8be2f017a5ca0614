"""``looplab-lint PATH...``: find the two-loop bug in Python source, statically.

Five rules, each the bug in a shape upstream's history and public reports show:

========  =========================  ==============================================================
LL001     client-made-at-startup     an async client made in start-up code (``__init__``,
                                     ``initialize``, ``setup``..., and what they call) and kept,
                                     which start-up also uses, or which takes the loop when made
LL002     run-then-serve             start-up on a loop of its own (``asyncio.run``, ``anyio.run``,
                                     ``executor.submit(asyncio.run, ...)``, ``run_until_complete``)
                                     and then a server, in the same function or elsewhere in the package
LL003     loop-blind-cache           clients cached under a key without the loop (a dict, a cache
                                     object, a lazy ``if self.client is None``, ``functools.cache``)
LL004     unclosed-client            a client made for one call and never closed
LL005     client-crosses-runs        a client made outside ``asyncio.run(...)`` and used inside it,
                                     where the run may happen again, or returned out of it
========  =========================  ==============================================================

An "async client" is a call to a known constructor (openai, anthropic, google-genai, xai and other
SDKs' ``Async...Client`` classes, gRPC ``...AsyncClient``, httpx/httpx2, aiohttp, redis.asyncio,
motor and pymongo's async clients, SQLAlchemy's async engine...), to a subclass or a client-holding
wrapper of one defined in the scanned code, to a function of the scanned code that returns one,
or to a constructor named in ``[tool.looplab-lint] extra-constructors``. The check is syntactic:
each finding is a question for a reviewer, and ``# noqa: LL001`` on its line answers it.
Standard library only.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .catalogue import CONSTRUCTORS, RULES, Finding, is_constructor
from .config import Config, ConfigError
from .package import Package
from .noqa import suppressed
from .rules import findings as _findings
from .facts import FileFacts, module_name
from .scan import scan_source


__all__ = ["CONSTRUCTORS", "RULES", "Config", "ConfigError", "Finding", "Flake8Checker", "check_paths", "check_source",
           "is_constructor", "main", "python_files"]


def analyse(facts: list[FileFacts], config: Config | None = None) -> list[Finding]:
    """The findings over files scanned together, minus those their ``# noqa`` comments answer."""
    config = config or Config()
    by_path = {f.path: f for f in facts}
    found = {f for f in _findings(Package(facts, config)) if config.wants(f.rule, f.path)
             and not suppressed(f, by_path[f.path].lines)}
    return sorted(found, key=lambda f: (f.path, f.line, f.rule, f.col))


def check_source(source: str, path: str = "<string>", config: Config | None = None) -> list[Finding]:
    """The findings in one file's source."""
    return analyse([scan_source(source, path)], config)


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py")  # hidden folders below the one given are skipped
                              if not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            yield path


def _scan_file(path: Path) -> FileFacts | str:
    try:
        return scan_source(path.read_text(encoding="utf-8"), str(path), module_name(path))
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"{path}: {type(exc).__name__}: {exc}"


def scan_paths(paths: Iterable[Path], jobs: int = 1) -> tuple[list[FileFacts], list[str]]:
    """Every file's facts (in ``jobs`` processes); and the files that could not be read or parsed, with why."""
    files = list(python_files(paths))
    if jobs == 0:
        jobs = os.cpu_count() or 1
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_scan_file, files, chunksize=max(1, len(files) // (jobs * 8))))
    else:
        results = [_scan_file(p) for p in files]
    return [r for r in results if not isinstance(r, str)], [r for r in results if isinstance(r, str)]


def check_paths(paths: Iterable[Path], config: Config | None = None, jobs: int = 1) -> tuple[list[Finding], list[str]]:
    """Every finding under ``paths``, analysed together (one package); and the files not parsed, with why."""
    facts, skipped = scan_paths(paths, jobs)
    return analyse(facts, config), skipped


class Flake8Checker:
    """The same rules as a flake8 plugin (``flake8 --select LL``), file by file: what a rule needs
    from other files (a factory elsewhere, a server in another module) is seen by ``looplab-lint``."""

    name = "looplab-lint"
    version = "2"
    _config: Config | None = None

    def __init__(self, tree: ast.Module, filename: str = "<string>", lines: list[str] | None = None) -> None:
        self.tree, self.filename, self.lines = tree, filename, lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from .config import find_pyproject, load
        from .scan import Scanner

        if Flake8Checker._config is None:
            try:
                Flake8Checker._config = load(find_pyproject(Path.cwd()))
            except ConfigError:
                Flake8Checker._config = Config()
        facts = Scanner(self.filename, Path(self.filename).stem).scan(self.tree)
        for f in _findings(Package([facts], Flake8Checker._config)):  # flake8 applies noqa and --select itself
            yield f.line, f.col, f"{f.rule} {f.name}: {f.message} (fix: {f.fix})", type(self)


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(argv)
