"""``looplab lint PATH...``: find the shapes of the two-loop bug in Python source, statically.

Four rules, each a shape the workshop's cases and upstream's history show (the fix patterns are
those of episode 09, "the same bug elsewhere"):

========  =========================  ==============================================================
LL001     client-made-at-startup     an async client made in start-up code (module scope,
                                     ``__init__``, ``initialize``, ``setup``...) and kept for later
LL002     run-then-serve             ``asyncio.run(...)`` and then a server run, in one entry point
LL003     loop-blind-cache           clients cached under a key without the loop (a dict, a lazy
                                     ``if self.client is None``, ``functools.cache``)
LL004     unclosed-client            a client made for one call and never closed
LL005     client-crosses-runs        a client made outside ``asyncio.run(...)`` and used inside it,
                                     where the run may happen again (a handler, a task, a loop), or
                                     a client returned out of ``asyncio.run`` (its loop just closed)
========  =========================  ==============================================================

An "async client" is a call to a known constructor (openai's ``AsyncOpenAI``/``AsyncAzureOpenAI``,
``anthropic.AsyncAnthropic``, ``httpx``/``httpx2.AsyncClient``, ``aiohttp.ClientSession``,
SQLAlchemy's ``create_async_engine``), or to a function of the same file that returns one (a
factory such as ``self._create_client()``). The check is syntactic: it cannot know which loop runs
what, so a finding is a question for a reviewer ("does this run on the loop that serves?"), and
``# noqa: LL001`` on the line answers it. Standard library only, so it runs in any interpreter
(``python -m looplab.tools.lint``); also a flake8 plugin (:class:`Flake8Checker`).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

RULES = {
    "LL001": ("client-made-at-startup", "lifespan-owned (make it when serving starts, on the serving loop), or per-loop"),
    "LL002": ("run-then-serve", "one loop: run start-up inside the server's lifespan instead of a separate asyncio.run"),
    "LL003": ("loop-blind-cache", "per-loop: key the cache by the running loop (weakly), and close a loop's clients before it ends"),
    "LL004": ("unclosed-client", "per-call done right: `async with` the client, or close it in a `finally`"),
    "LL005": ("client-crosses-runs", "one loop for every run (loop.run_until_complete), or make the client inside each run"),
}
CONSTRUCTORS = {  # module -> names that make an async client (or pool) bound to the loop of its first use
    "openai": {"AsyncOpenAI", "AsyncAzureOpenAI", "DefaultAsyncHttpxClient", "DefaultAioHttpClient"},
    "anthropic": {"AsyncAnthropic", "AsyncAnthropicBedrock", "AsyncAnthropicVertex"},
    "httpx": {"AsyncClient"}, "httpx2": {"AsyncClient"},
    "aiohttp": {"ClientSession", "TCPConnector"},
    "sqlalchemy.ext.asyncio": {"create_async_engine"},
}
# Start-up code that may run on a loop of its own. Not the serving loop's own hooks (a lifespan, an
# on_startup handler): making the client there is the lifespan-owned fix.
STARTUP = {"__init__", "__post_init__", "initialize", "init", "setup", "boot"}
SERVERS = {"uvicorn.run", "web.run_app", "aiohttp.web.run_app", "serve_forever", "hypercorn.run", "gunicorn.run"}
CLOSERS = {"close", "aclose", "dispose"}
CACHE_DECORATORS = {"cache", "lru_cache", "cached", "cache_resource", "alru_cache"}
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9, ]+))?", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    path: str
    line: int
    col: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}: {self.rule} {self.name}: {self.message} (fix: {self.fix})"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


class _Module:
    """What a file imports and which of its functions are client factories."""

    def __init__(self, tree: ast.Module) -> None:
        self.names: dict[str, str] = {}  # local name -> "module.Name" it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        self.globals = {t.id for node in tree.body for t in _targets(node) if isinstance(t, ast.Name)}
        self.factories: set[str] = set()  # functions of this file that return a new client
        for _ in range(2):  # a factory may call a factory
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and self._returns_client(node):
                    self.factories.add(node.name)

    def _returns_client(self, fn: ast.AST) -> bool:
        made = {t.id for n in local_nodes(fn) for t in _targets(n)
                if isinstance(t, ast.Name) and getattr(n, "value", None) is not None and self.makes_client(n.value)}
        return any(isinstance(r, ast.Return) and r.value is not None
                   and (self.makes_client(r.value) or (isinstance(r.value, ast.Name) and r.value.id in made))
                   for r in local_nodes(fn))

    def resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        full = self.names.get(head, head)
        return f"{full}.{rest}" if rest else full

    def makes_client(self, node: ast.AST) -> bool:
        """A call that returns a new async client: a known constructor, or a factory of this file."""
        if isinstance(node, ast.IfExp):
            return self.makes_client(node.body) or self.makes_client(node.orelse)
        if not isinstance(node, ast.Call):
            return False
        dotted = _dotted(node.func)
        full = self.resolve(dotted)
        module, _, name = full.rpartition(".")
        if name in CONSTRUCTORS.get(module, ()) or any(full.startswith(f"{m}.") and name in n for m, n in CONSTRUCTORS.items()):
            return True
        last = dotted.rpartition(".")[2]
        return last in self.factories and (dotted == last or dotted.startswith(("self.", "cls.")))


def local_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of a function's (or module's) own body, not of the functions and classes inside it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _mentions_loop(node: ast.AST) -> bool:
    return any((isinstance(n, ast.Name) and "loop" in n.id.lower()) or (isinstance(n, ast.Attribute) and "loop" in n.attr.lower())
               for n in ast.walk(node))


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    return []


class _Checker:
    def __init__(self, tree: ast.Module, path: str) -> None:
        self.tree, self.path, self.module = tree, path, _Module(tree)
        self.found: list[Finding] = []

    def add(self, rule: str, node: ast.AST, message: str) -> None:
        name, fix = RULES[rule]
        self.found.append(Finding(rule, name, self.path, node.lineno, node.col_offset, message, fix))

    def run(self) -> list[Finding]:
        self._module_scope()
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node)
        self._run_then_serve(self.tree)
        self._crosses_runs(self.tree, [])
        return sorted(set(self.found), key=lambda f: (f.line, f.rule))

    def _module_scope(self) -> None:
        for statement in self.tree.body:
            value = getattr(statement, "value", None)
            if _targets(statement) and value is not None and self.module.makes_client(value):
                self.add("LL001", statement, "an async client made at import time and kept in a module global: it binds to "
                         "the loop of its first request, and every later loop (asyncio.run, a worker, a test) trips on it")

    def _function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        loop_aware = _mentions_loop(fn)
        is_factory = fn.name in self.module.factories
        decorators = {_dotted(d).rpartition(".")[2] for d in fn.decorator_list}
        if decorators & CACHE_DECORATORS and is_factory and not loop_aware:
            self.add("LL003", fn, f"{fn.name}() is cached (@{sorted(decorators & CACHE_DECORATORS)[0]}) and returns an "
                     "async client: one client for every loop that calls it")
        made: dict[str, ast.AST] = {}  # local name -> the statement that made it
        declared_global = {n for g in local_nodes(fn) if isinstance(g, (ast.Global, ast.Nonlocal)) for n in g.names}
        for node in ast.walk(fn):
            value = getattr(node, "value", None)
            for target in _targets(node):
                if value is None or not self.module.makes_client(value):
                    continue
                if isinstance(target, ast.Attribute) and _dotted(target.value) in ("self", "cls"):
                    if fn.name in STARTUP:
                        self.add("LL001", node, f"an async client made in {fn.name}() and kept as {_dotted(target)}: "
                                 "if start-up runs on another loop than serving, its connections belong to a closed loop")
                    elif self._guarded_by_none(fn, target) and not loop_aware:
                        self.add("LL003", node, f"{_dotted(target)} is made once, lazily, and then reused by every loop: "
                                 "correct only while a single loop ever uses it")
                elif isinstance(target, ast.Subscript) and self._long_lived(target.value) and not loop_aware \
                        and not _mentions_loop(target.slice):
                    self.add("LL003", node, f"clients cached in {_dotted(target.value)}[...] under a key without the event "
                             "loop: a second loop gets the first loop's client back")
                elif isinstance(target, ast.Name) and target.id in declared_global:  # stored for later calls
                    if self._guarded_by_none(fn, target) and not loop_aware:
                        self.add("LL003", node, f"{target.id} is made once, lazily, and then reused by every loop: "
                                 "correct only while a single loop ever uses it")
                elif isinstance(target, ast.Name) and not is_factory:
                    made[target.id] = node
        for name, node in made.items():
            if not self._owned_elsewhere(fn, name):
                self.add("LL004", node, f"{name} is an async client made for this call and never closed: its pooled "
                         "connections stay open until garbage collection, often after the loop has closed")
        for node in ast.walk(fn):  # a client made and used in one expression: AsyncOpenAI(...).models.list()
            if isinstance(node, ast.Attribute) and self.module.makes_client(node.value) and node.attr not in CLOSERS:
                self.add("LL004", node, "an async client made, used once in one expression, and never closed")
        self._run_then_serve(fn)

    def _long_lived(self, container: ast.AST) -> bool:
        """A container that outlives the call (an attribute of self or cls, or a module global): a cache,
        where a local dict (keyword arguments being put together) is not."""
        if isinstance(container, ast.Attribute):
            return _dotted(container.value) in ("self", "cls")
        return isinstance(container, ast.Name) and container.id in self.module.globals

    @staticmethod
    def _guarded_by_none(fn: ast.AST, target: ast.Attribute | ast.Name) -> bool:
        attr = _dotted(target)
        return any(isinstance(n, ast.Compare) and _dotted(n.left) == attr and any(isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) for op in n.ops)
                   for n in ast.walk(fn)) or any(isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not)
                                                 and _dotted(n.operand) == attr for n in ast.walk(fn))
        # `if self.client is None: self.client = make()` or `if self.client is not None: return self.client`

    @staticmethod
    def _owned_elsewhere(fn: ast.AST, name: str) -> bool:
        """Closed, entered, returned, yielded, stored or handed on: somebody owns it."""
        for node in ast.walk(fn):
            if isinstance(node, (ast.With, ast.AsyncWith)) and any(_dotted(i.context_expr) == name for i in node.items):
                return True
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and _dotted(func.value) == name and func.attr in CLOSERS:
                    return True
                if any(isinstance(a, ast.Name) and a.id == name for a in [*node.args, *(k.value for k in node.keywords)]):
                    return True
            if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
                given = node.value.elts if isinstance(node.value, (ast.Tuple, ast.List)) else [node.value]
                if any(isinstance(n, ast.Name) and n.id == name for n in given):  # handed to the caller
                    return True
            for target in _targets(node):
                if not isinstance(target, ast.Name) and any(isinstance(n, ast.Name) and n.id == name
                                                            for n in ast.walk(getattr(node, "value", None) or ast.Pass())):
                    return True
        return False

    def _is_run(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and self.module.resolve(_dotted(node.func)) == "asyncio.run"

    def _run_then_serve(self, scope: ast.AST) -> None:
        runs = [n for n in local_nodes(scope) if self._is_run(n)]
        if not runs:
            return
        first = min(runs, key=lambda n: n.lineno)
        for n in sorted((n for n in local_nodes(scope) if isinstance(n, ast.Call)), key=lambda n: n.lineno):
            called = self.module.resolve(_dotted(n.func))
            if n.lineno > first.lineno and (called in SERVERS or any(called.endswith("." + s) for s in SERVERS)):
                where = f"{scope.name}()" if hasattr(scope, "name") else "module scope"
                self.add("LL002", first, f"asyncio.run(...) at line {first.lineno}, then {called}() at line "
                         f"{n.lineno}, in {where}: whatever start-up made on the first loop is served on a second")
                return

    def _crosses_runs(self, scope: ast.AST, outer: list[set[str]]) -> None:
        """LL005, scope by scope: the names bound to clients here and in the enclosing functions."""
        here = {t.id for n in local_nodes(scope) for t in _targets(n)
                if isinstance(t, ast.Name) and getattr(n, "value", None) is not None and self.module.makes_client(n.value)}
        visible = set().union(here, *outer)
        in_function = isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in local_nodes(scope):
            if not self._is_run(node) or not node.args:
                continue
            repeated = in_function or any(isinstance(a, (ast.For, ast.While, ast.AsyncFor)) and a.lineno <= node.lineno
                                          <= (a.end_lineno or a.lineno) for a in local_nodes(scope))
            used = sorted({n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name) and n.id in visible})
            if used and repeated:
                self.add("LL005", node, f"{used[0]} is made outside asyncio.run(...) and used inside it, and this run can "
                         "happen again: the next run's loop finds the last run's pooled connection")
            argument = node.args[0]
            if isinstance(argument, ast.Call) and _dotted(argument.func).rpartition(".")[2] in self.module.factories:
                self.add("LL005", node, f"asyncio.run({_dotted(argument.func)}()) returns a client made on a loop that "
                         "closes as the run returns: its first connection belongs to that closed loop")
        for node in local_nodes(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._crosses_runs(node, [*outer, here] if in_function else [here])
            elif isinstance(node, ast.ClassDef):
                for child in node.body:
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._crosses_runs(child, [])


def _suppressed(finding: Finding, lines: list[str]) -> bool:
    line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
    match = NOQA.search(line)
    return bool(match) and (match["codes"] is None or finding.rule in {c.strip().upper() for c in match["codes"].split(",")})


def check_source(source: str, path: str = "<string>") -> list[Finding]:
    """The findings in one file's source, minus those its ``# noqa`` comments answer."""
    tree = ast.parse(source, filename=path)
    lines = source.splitlines()
    return [f for f in _Checker(tree, path).run() if not _suppressed(f, lines)]


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py")  # hidden folders below the one given are skipped
                              if not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            yield path


def check_paths(paths: Iterable[Path]) -> tuple[list[Finding], list[str]]:
    """Every finding under ``paths``; and the files that could not be read or parsed, with why."""
    findings, skipped = [], []
    for path in python_files(paths):
        try:
            findings += check_source(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            skipped.append(f"{path}: {type(exc).__name__}: {exc}")
    return findings, skipped


class Flake8Checker:
    """The same rules as a flake8 plugin (``flake8 --select LL``)."""

    name = "looplab-lint"
    version = "1"

    def __init__(self, tree: ast.Module, filename: str = "<string>") -> None:
        self.tree, self.filename = tree, filename

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        for f in _Checker(self.tree, self.filename).run():
            yield f.line, f.col, f"{f.rule} {f.name}: {f.message} (fix: {f.fix})", type(self)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, help="Python files, or folders of them")
    p.add_argument("--json", action="store_true", help="print the findings as one JSON list")


def run(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"looplab lint: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    findings, skipped = check_paths(args.paths)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=1))
    else:
        for finding in findings:
            print(finding)
        print(f"{len(findings)} finding(s)" + (f"; {len(skipped)} file(s) not parsed" if skipped else ""), file=sys.stderr)
    for line in skipped:
        print(f"looplab lint: skipped {line}", file=sys.stderr)
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="looplab lint", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
