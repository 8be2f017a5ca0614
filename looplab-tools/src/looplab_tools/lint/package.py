"""What the files scanned together say about each other: which calls make clients (constructors,
subclasses and wrappers defined in the scanned code, factories in any module), which code runs at
start-up, and where servers start. Built from every file's facts, without another walk of any tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import catalogue
from .config import Config
from .facts import FileFacts, Fn, Store, Value


@dataclass
class Package:
    files: list[FileFacts]
    config: Config = field(default_factory=Config)

    def __post_init__(self) -> None:
        self.defs: dict[str, tuple[int, int]] = {}  # "mod.func" / "mod.Class.method" -> (file, function)
        self.classes: dict[str, tuple[int, str]] = {}  # "mod.Class" -> (file, class name)
        for i, f in enumerate(self.files):
            for j, fn in enumerate(f.functions):
                if j and fn.parent == -1:
                    self.defs[f"{f.module}.{fn.cls}.{fn.name}" if fn.cls else f"{f.module}.{fn.name}"] = (i, j)
            for name in f.classes:
                self.classes[f"{f.module}.{name}"] = (i, name)
        self.constructors: set[str] = set(self.config.extra_constructors) | set(self.config.binds_at_construction)
        self.factories: set[str] = set()  # functions that return a new client
        self.holders: set[str] = set()  # ...that return an object carrying one (options, a dict of transports)
        self.shared: set[str] = set()  # factories that return a shared client on some paths (`return self._default`)
        self._tainted: dict[tuple[int, int, bool], set[str]] = {}
        for _ in range(4):  # subclasses of subclasses, factories calling factories, wrappers of both
            before = (len(self.constructors), len(self.factories))
            self._grow()
            if before == (len(self.constructors), len(self.factories)):
                break
        self.startup_names = set(catalogue.STARTUP) | set(self.config.startup_methods)
        self.on_loop: set[tuple[int, int]] = set()
        self.off_loop: set[tuple[int, int]] = set()
        self.used_at_startup: dict[tuple[int, str, str], str] = {}  # (file, class, attr) -> where
        self._startup()

    # -- names ----------------------------------------------------------------------------------
    def resolve(self, i: int, name: str) -> str:
        f = self.files[i]
        head, _, rest = name.partition(".")
        if head in f.imports:
            full = f.imports[head]
        elif head in f.classes or any(fn.name == head and fn.parent == -1 and not fn.cls for fn in f.functions[1:]):
            full = f"{f.module}.{head}"
        else:
            full = head
        return f"{full}.{rest}" if rest else full

    def constructor(self, i: int, name: str) -> str:
        """The constructor ``name`` calls in file ``i`` (resolved), or ``""``."""
        full = self.resolve(i, name)
        if catalogue.is_constructor(full) or full in self.constructors:
            return full
        owner, _, last = full.rpartition(".")
        return full if last in catalogue.ALTERNATE and owner in self.constructors else ""

    def makes(self, i: int, fn: Fn, name: str) -> str:
        """What ``name(...)`` called in ``fn`` makes: a constructor's name, ``factory:NAME``, or ``""``."""
        if not name:
            return ""
        made = self.constructor(i, name)
        if made:
            return made
        head, _, method = name.partition(".")
        module = self.files[i].module
        if head in ("self", "cls") and method and "." not in method and fn.cls:
            key = f"{module}.{fn.cls}.{method}"
            return f"factory:{name}" if key in self.factories else f"holder:{name}" if key in self.holders else ""
        full = self.resolve(i, name)
        for kind, known in (("factory", self.factories), ("holder", self.holders)):
            if full in known or "." not in name and f"{module}.{name}" in known:  # (a nested function of this file)
                return f"{kind}:{name}"
        return ""

    def value_makes(self, i: int, fn: Fn, value: Value) -> str:
        for name in value.direct:
            made = self.makes(i, fn, name)
            if made:
                return made
        return ""

    def client(self, i: int, fn: Fn, value: Value) -> str:
        """What makes the value a new client (a constructor, ``factory:NAME``), or ``""``; not a holder."""
        made = self.value_makes(i, fn, value)
        return "" if made.startswith("holder:") else made

    def shares(self, i: int, fn: Fn, value: Value) -> bool:
        """The value may be a client somebody else owns: ``given or Client()``, or a factory that
        returns a shared client on some paths."""
        if value.borrowed:
            return True
        module = self.files[i].module
        for name in value.direct:
            head, _, method = name.partition(".")
            key = f"{module}.{fn.cls}.{method}" if head in ("self", "cls") else self.resolve(i, name)
            if key in self.shared:
                return True
        return False

    def returns_client(self, i: int, j: int, value: Value) -> bool:
        fn = self.files[i].functions[j]
        return bool(self.client(i, fn, value)) or bool(set(value.given) & self.tainted(i, j, clients_only=True))

    def holds(self, i: int, j: int, value: Value) -> bool:
        """A value that is, or carries, a client: made here, a local that holds one, or an object built around one."""
        fn = self.files[i].functions[j]
        if self.value_makes(i, fn, value) or set(value.given) & self.tainted(i, j):
            return True
        builds = [d for d in value.direct if d.rpartition(".")[2][:1].isupper() or d == "dict"]
        return bool(builds) and (any(self.constructor(i, c) for c in value.inner)
                                 or bool(value.names & self.tainted(i, j)))

    def tainted(self, i: int, j: int, clients_only: bool = False) -> set[str]:
        """Local names of function ``j`` that hold a client (with ``clients_only``, that are one; else a
        dict a client was put into, or an object carrying one, too)."""
        key = (i, j, clients_only)
        if key not in self._tainted:
            fn = self.files[i].functions[j]
            names: set[str] = set()
            self._tainted[key] = names
            for store in fn.stores:
                if store.kind in ("local", "module", "global") + (() if clients_only else ("subscript",)) and (
                        (self.client if clients_only else self.value_makes)(i, fn, store.value)
                        or set(store.value.given) & names):
                    names.add(store.name)
        return self._tainted[key]

    def _grow(self) -> None:
        self._tainted.clear()
        for i, f in enumerate(self.files):
            for name, (bases, _line) in f.classes.items():
                if any(self.constructor(i, b) for b in bases):
                    self.constructors.add(f"{f.module}.{name}")
            for j, fn in enumerate(f.functions):
                if not j:
                    continue
                key = f"{f.module}.{fn.cls}.{fn.name}" if fn.cls and fn.parent == -1 else f"{f.module}.{fn.name}"
                if any(self.returns_client(i, j, r) for r in fn.returns):
                    self.factories.add(key)
                    if not all(self.returns_client(i, j, r) for r in fn.returns):
                        self.shared.add(key)
                elif any(self.holds(i, j, r) for r in fn.returns):
                    self.holders.add(key)
                if fn.name == "__init__" and fn.cls and catalogue.WRAPPER_NAME.search(fn.cls) and any(
                        s.kind == "self" and not s.value.borrowed and self.client(i, fn, s.value) for s in fn.stores):
                    self.constructors.add(f"{f.module}.{fn.cls}")

    # -- start-up -------------------------------------------------------------------------------
    def methods(self, i: int, cls: str) -> dict[str, int]:
        return {fn.name: j for j, fn in enumerate(self.files[i].functions) if j and fn.cls == cls and fn.parent == -1}

    def _startup(self) -> None:
        """Which functions run in start-up code, on its loop (``on_loop``) or before it (``off_loop``),
        and which client attributes they use. Seeds: methods named as start-up; then what they call."""
        todo: list[tuple[int, int, bool]] = []
        seeded: set[str] = set()

        def seed(names: set[str]) -> None:
            for i, f in enumerate(self.files):
                todo.extend((i, j, fn.is_async) for j, fn in enumerate(f.functions)
                            if j and fn.parent == -1 and fn.name in names)
            seeded.update(names)

        seed(self.startup_names)
        for i, j, _name, line in self.servers():  # asyncio.run(construct_stack()) then uvicorn.run(): start-up
            for run in self.files[i].functions[j].runs:
                for name in run.value.direct if run.line < line else ():
                    target = self.defs.get(self.resolve(i, name))
                    if target:
                        todo.append((*target, True))
        while todo:
            i, j, on_loop = todo.pop()
            if (i, j) in (self.on_loop if on_loop else self.off_loop):
                continue
            (self.on_loop if on_loop else self.off_loop).add((i, j))
            f, fn = self.files[i], self.files[i].functions[j]
            where = f"{fn.name}()"
            methods = self.methods(i, fn.cls) if fn.cls else {}
            for attr in (fn.uses if on_loop else fn.run_uses):
                if attr in methods:
                    todo.append((i, methods[attr], True))
                elif fn.cls:
                    self.used_at_startup.setdefault((i, fn.cls, attr), where)
            for attr in fn.uses - fn.run_uses if not on_loop else ():
                if attr in methods:
                    todo.append((i, methods[attr], False))
            for call in fn.calls:
                target = self.defs.get(self.resolve(i, call))
                if target:
                    todo.append((*target, on_loop or self.files[target[0]].functions[target[1]].is_async))
            for run in fn.runs:  # asyncio.run(construct_stack(...)) in a sync function: that coroutine runs on a loop
                for name in run.value.direct:
                    target = self.defs.get(self.resolve(i, name))
                    if target:
                        todo.append((*target, True))
            called = fn.awaited | (f.strings if fn.dynamic else set())  # getattr(impl, "register_model")(...)
            new = {n for n in called if n not in seeded and n not in catalogue.GENERIC and "_" in n.strip("_")} if on_loop else set()
            if new:
                seed(new)

    def captured(self, i: int, j: int) -> set[str]:
        """Names read by the functions nested in function ``j`` (at any depth)."""
        functions, inside, names = self.files[i].functions, {j}, set()
        for k in range(j + 1, len(functions)):  # nested functions come after their parent, in order
            if functions[k].parent in inside:
                inside.add(k)
                names |= functions[k].names
        return names

    def startup_fn(self, i: int, j: int) -> bool:
        return (i, j) in self.on_loop or (i, j) in self.off_loop

    def lifespan_pair(self, i: int, cls: str | None, attr: str) -> bool:
        """The class closes ``attr`` and sets it back to None somewhere: it owns the client's life."""
        if not cls:
            return False
        fns = [self.files[i].functions[j] for j in self.methods(i, cls).values() if j]
        closing = [fn for fn in fns if attr in fn.closes]  # and the same method sets it back to None
        return any(attr in fn.resets for fn in closing)

    def servers(self) -> list[tuple[int, int, str, int]]:
        """Every call that starts a server with a loop of its own: (file, function, name, line)."""
        found = []
        for i, f in enumerate(self.files):
            for j, fn in enumerate(f.functions):
                for name, line in fn.servers:
                    full = self.resolve(i, name)
                    if full in catalogue.SERVERS or full.endswith(catalogue.SERVER_SUFFIXES) or (
                            full.startswith("uvicorn.") and full.endswith(".run")):
                        found.append((i, j, full, line))
        return found

    def app_class(self, i: int, cls: str | None) -> bool:
        if not cls or cls not in self.files[i].classes:
            return False
        seen, todo = set(), [(i, cls)]
        while todo:
            k, name = todo.pop()
            for base in self.files[k].classes.get(name, ((), 0))[0]:
                full = self.resolve(k, base)
                if full in catalogue.APP_CLASSES or full.rpartition(".")[2] in ("FastAPI", "Starlette"):
                    return True
                if full in self.classes and full not in seen:
                    seen.add(full)
                    todo.append(self.classes[full])
        return False


def store_label(store: Store) -> str:
    return {"self": f"self.{store.name}", "subscript": f"{store.name}[...]"}.get(store.kind, store.name)
