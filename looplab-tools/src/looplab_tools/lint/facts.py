"""The facts one walk of a file gathers (:mod:`.scan`), as plain data: what each function makes,
reads, calls, runs and closes. Picklable, so a worker process can send them back (``--jobs``)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain (a call's own name for ``a.b()``), else ``""``."""
    parts = []
    while isinstance(node, (ast.Attribute, ast.Call)):
        if isinstance(node, ast.Call):
            node = node.func
            continue
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _direct(value: ast.AST | None) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
    """The calls whose result *is* the value (both arms of ``a if c else b``, each of ``a or b``,
    ``await f()``); the names that are arms (``x or f()``); whether some arm is not a call (a client
    borrowed from elsewhere); whether it awaits."""
    if value is None:
        return (), (), False, False
    arms, out, given, borrowed, awaited = [value], [], [], False, False
    while arms:
        node = arms.pop()
        if isinstance(node, ast.Await):
            node, awaited = node.value, True
        if isinstance(node, ast.IfExp):
            arms += [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            arms += node.values
        elif isinstance(node, ast.Call) and (name := dotted(node.func)):
            out.append(name)
        elif not (isinstance(node, ast.Constant) and node.value is None):
            borrowed = True
            if isinstance(node, ast.Name):
                given.append(node.id)
    return tuple(out), tuple(given), borrowed, awaited


class Collector:
    """What one expression reads, filled in as the single walk passes through it."""

    __slots__ = ("names", "calls", "attrs", "loop", "stream")

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.calls: list[str] = []  # every call inside, by dotted name
        self.attrs: set[str] = set()  # self.X read inside
        self.loop = False  # mentions an event loop
        self.stream = False  # asks for a stream (stream=True, .stream(...))


@dataclass
class Value:
    direct: tuple[str, ...]
    inner: tuple[str, ...]
    names: frozenset[str]
    attrs: frozenset[str]
    given: tuple[str, ...] = ()  # names that are the value itself (`return client`, `x or make()`)
    borrowed: bool = False
    awaited: bool = False
    stream: bool = False
    loop: bool = False


@dataclass
class Store:
    kind: str  # self | global | local | module | classattr | subscript
    name: str
    value: Value
    line: int
    col: int
    key_loop: bool = False  # a subscript's key mentions the loop


@dataclass
class Run:
    """A coroutine run on a loop of its own: asyncio.run, anyio.run, executor.submit(asyncio.run, ...),
    loop.run_until_complete, Thread(target=asyncio.run, ...)."""

    kind: str
    line: int
    col: int
    in_loop: bool
    value: Value
    closes: str = ""  # the argument is `X.close()`: X


@dataclass
class Fn:
    name: str
    cls: str | None
    line: int
    col: int
    is_async: bool = False
    parent: int = -1  # index of the enclosing function in FileFacts.functions (-1: module scope)
    decorators: tuple[str, ...] = ()
    stores: list[Store] = field(default_factory=list)
    returns: list[Value] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)  # self.X read (not a None test, not a close)
    run_uses: set[str] = field(default_factory=set)  # self.X read inside a run's argument
    awaited: set[str] = field(default_factory=set)  # `await x.name(...)`: names of methods of other objects
    calls: set[str] = field(default_factory=set)  # plain function calls, by dotted name
    closes: set[str] = field(default_factory=set)  # self.X closed
    resets: set[str] = field(default_factory=set)  # self.X = None
    none_tested: set[str] = field(default_factory=set)  # `X is None`, `not X`
    owned: set[str] = field(default_factory=set)  # local names closed, entered, returned, handed on, stored
    entered: set[str] = field(default_factory=set)  # names bound by `with ... as name` (closed by the block)
    globals: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # every name read, and 'module:attr' strings
    runs: list[Run] = field(default_factory=list)
    servers: list[tuple[str, int]] = field(default_factory=list)
    cache_calls: list[tuple[str, Value, int, int]] = field(default_factory=list)  # receiver.method(..., client)
    one_shots: list[tuple[str, str, int, int]] = field(default_factory=list)  # Make().attr
    loop: bool = False
    dynamic: bool = False  # calls getattr(obj, name) with a computed name: methods called by their names
    streams: bool = False  # may return a stream (annotated AsyncIterator/...Stream, or takes `stream`)


@dataclass
class FileFacts:
    path: str
    module: str
    imports: dict[str, str] = field(default_factory=dict)
    classes: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)  # name -> (bases, line)
    functions: list[Fn] = field(default_factory=list)  # [0] is the module scope
    lines: dict[int, str] = field(default_factory=dict)  # line number -> its text, for the lines with "noqa"
    strings: set[str] = field(default_factory=set)  # string constants that could name a method ("register_model")


def module_name(path: Path) -> str:
    """``pkg.sub.mod`` for a file inside packages (folders with ``__init__.py``), else its stem."""
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while (folder / "__init__.py").exists() and folder != folder.parent:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.stem
