"""One pass over a file's tree: the facts the rules need, gathered in a single walk.

Nothing here decides whether a call makes a client (that needs every file's factories and
subclasses, see :mod:`.rules`): the walk records calls by their dotted names, which names and
``self`` attributes each value, return and ``asyncio.run`` argument reads, and where. Facts are
plain data, so a worker process can send them back (``--jobs``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from .catalogue import CACHE_METHODS, CLOSERS, RUNNERS
from .facts import Collector, FileFacts, Fn, Run, Store, Value, _direct, dotted

LOWER_CONSTRUCTORS = ("create_async_engine", "from_url", "insecure_channel", "secure_channel", "create_pool")
SERVER_CALLS = frozenset({"run", "run_app", "serve_forever", "serve", "Granian"})


class Scanner:
    """The walk. Handlers for the nodes that matter; every other node's children are walked as they come."""

    def __init__(self, path: str, module: str) -> None:
        self.facts = FileFacts(path, module)
        self.fn = Fn("<module>", None, 0, 0)
        self.index = 0
        self.facts.functions.append(self.fn)
        self.cls: str | None = None
        self.in_class_body = False
        self.collectors: list[Collector] = []
        self.in_run = 0
        self.in_loop = 0
        self.in_raises = 0
        self.quiet = 0  # inside a None test: reads are not uses

    def scan(self, tree: ast.Module) -> FileFacts:
        self.visit(tree)
        return self.facts

    def visit(self, node: ast.AST) -> None:
        handler = getattr(self, "on_" + type(node).__name__, None)
        if handler is not None:
            handler(node)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit(child)

    def visit_all(self, nodes) -> None:  # noqa: ANN001
        for node in nodes:
            if node is not None:
                self.visit(node)

    def collect(self, node: ast.AST | None, collector: Collector | None = None) -> Collector:
        collector = collector or Collector()
        if node is not None:
            self.collectors.append(collector)
            self.visit(node)
            self.collectors.pop()
        return collector

    def value(self, node: ast.AST | None) -> Value:
        direct, given, borrowed, awaited = _direct(node)
        seen = self.collect(node)
        inner = tuple(c for c in seen.calls if c[c.rfind(".") + 1:][:1].isupper() or c.endswith(LOWER_CONSTRUCTORS))
        return Value(direct, inner, frozenset(seen.names), frozenset(seen.attrs), given, borrowed, awaited,
                     seen.stream, seen.loop)

    # -- imports and definitions ----------------------------------------------------------------
    def on_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.facts.imports[alias.asname] = alias.name
            else:
                self.facts.imports[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def on_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: from the file's own package
            package = self.facts.module.split(".")
            keep = len(package) - node.level + (1 if self.facts.path.endswith("__init__.py") else 0)
            base = ".".join([*package[:max(keep, 0)], *([base] if base else [])])
        for alias in node.names:
            self.facts.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def on_ClassDef(self, node: ast.ClassDef) -> None:
        self.facts.classes[node.name] = (tuple(dotted(b) for b in node.bases), node.lineno)
        self.visit_all(node.bases)
        outer, outer_body = self.cls, self.in_class_body
        self.cls, self.in_class_body = node.name, True
        self.visit_all(node.body)
        self.cls, self.in_class_body = outer, outer_body

    def on_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            self.visit_all(node.decorator_list)
        outer, outer_index, outer_body, outer_run = self.fn, self.index, self.in_class_body, self.in_run
        name = getattr(node, "name", "<lambda>")
        fn = Fn(name, self.cls if self.in_class_body else outer.cls, node.lineno, node.col_offset,
                isinstance(node, ast.AsyncFunctionDef), outer_index if outer_index else -1,
                tuple(dotted(d).rpartition(".")[2] for d in getattr(node, "decorator_list", ())))
        returns = getattr(node, "returns", None)  # annotations are read here only, never walked again
        fn.streams = returns is not None and any(
            any(word in (getattr(n, "id", "") or getattr(n, "attr", "")) for word in ("Iterator", "Stream", "Generator"))
            for n in ast.walk(returns)) or any(a.arg == "stream" for a in node.args.args + node.args.kwonlyargs)
        self.index = len(self.facts.functions)
        self.facts.functions.append(fn)
        self.fn, self.in_class_body, self.in_run = fn, False, 0
        self.visit_all(node.body if isinstance(node.body, list) else [node.body])
        self.fn, self.index, self.in_class_body, self.in_run = outer, outer_index, outer_body, outer_run

    on_AsyncFunctionDef = on_Lambda = on_FunctionDef

    def on_Global(self, node: ast.Global) -> None:
        self.fn.globals.update(node.names)

    on_Nonlocal = on_Global

    # -- reads ----------------------------------------------------------------------------------
    def on_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.fn.names.add(node.id)
            for c in self.collectors:
                c.names.add(node.id)
                c.loop = c.loop or "loop" in node.id.lower()
        if "loop" in node.id.lower():
            self.fn.loop = True

    def on_Constant(self, node: ast.Constant) -> None:
        text = node.value
        if isinstance(text, str) and 2 < len(text) < 60:
            if ":" in text and " " not in text:  # "pkg.app:create_app"
                self.fn.names.update(text.replace(":", ".").split("."))
            elif "_" in text.strip("_") and text.isidentifier() and text.islower():
                self.facts.strings.add(text)

    def on_Attribute(self, node: ast.Attribute) -> None:
        if "loop" in node.attr.lower():
            self.fn.loop = True
            for c in self.collectors:
                c.loop = True
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls") and isinstance(node.ctx, ast.Load):
            if self.quiet:
                self.fn.none_tested.add(node.attr)
            else:
                self.fn.uses.add(node.attr)
                if self.in_run:
                    self.fn.run_uses.add(node.attr)
            for c in self.collectors:
                c.attrs.add(node.attr)
            return
        self.visit(base)

    def on_Compare(self, node: ast.Compare) -> None:
        tests_none = any(isinstance(c, ast.Constant) and c.value is None for c in node.comparators)
        if tests_none:
            self.fn.none_tested.add(dotted(node.left))
            self.quiet += 1
        self.visit(node.left)
        self.quiet -= tests_none
        self.visit_all(node.comparators)

    def on_UnaryOp(self, node: ast.UnaryOp) -> None:
        is_not = isinstance(node.op, ast.Not) and isinstance(node.operand, (ast.Name, ast.Attribute))
        if is_not:
            self.fn.none_tested.add(dotted(node.operand))
        self.quiet += is_not
        self.visit(node.operand)
        self.quiet -= is_not

    def on_Await(self, node: ast.Await) -> None:
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and dotted(call.func.value) not in ("self", "cls"):
            self.fn.awaited.add(call.func.attr)
        self.visit(call)

    # -- calls ----------------------------------------------------------------------------------
    def on_Call(self, node: ast.Call) -> None:
        func = node.func
        name = dotted(func)
        for c in self.collectors:
            c.calls.append(name)
            if isinstance(func, ast.Attribute) and func.attr == "stream" or any(
                    k.arg == "stream" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords):
                c.stream = True
        last = name.rpartition(".")[2]
        base = func
        while isinstance(base, ast.Attribute):  # Make().models.list(): a client made, called once, dropped
            base = base.value
        if base is not func and isinstance(base, ast.Call) and last not in CLOSERS and (made := dotted(base.func)):
            self.fn.one_shots.append((made, last, base.lineno, base.col_offset))
        if isinstance(func, ast.Attribute) and last in CLOSERS and not node.args:
            receiver = func.value
            if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and receiver.value.id in ("self", "cls"):
                self.fn.closes.add(receiver.attr)
                return
            if isinstance(receiver, ast.Name):
                self.fn.owned.add(receiver.id)
        if isinstance(func, ast.Name):
            self.fn.calls.add(func.id)
            if func.id == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                self.fn.dynamic = True
        for arg in (*node.args, *(k.value for k in node.keywords)):
            if isinstance(arg, ast.Name):
                self.fn.owned.add(arg.id)  # handed on: somebody else owns it now
        run = self._run(node, name, last)
        if run is not None:
            return
        if last in SERVER_CALLS:
            self.fn.servers.append((name, node.lineno))
        if isinstance(func, ast.Attribute) and (node.args or node.keywords) and (last in CACHE_METHODS or "cache" in last.lower()):
            receiver = dotted(func.value)
            if receiver and receiver not in ("self", "cls"):
                self.visit(func)
                value = self.value(ast.Tuple(elts=[*node.args, *(k.value for k in node.keywords)], ctx=ast.Load()))
                self.fn.cache_calls.append((f"{receiver}.{last}", value, node.lineno, node.col_offset))
                return
        self.visit(func)
        self.visit_all(node.args)
        self.visit_all(k.value for k in node.keywords)

    def _run(self, node: ast.Call, name: str, last: str) -> Run | None:
        """A call that runs a coroutine on a new loop (or on a loop it names): record it, walk its argument."""
        args, kind = list(node.args), ""
        keywords = {k.arg: k.value for k in node.keywords}
        head, _, rest = name.partition(".")
        full = self.facts.imports.get(head, head) + ("." + rest if rest else "")
        if full in RUNNERS:
            kind = f"{full}(...)"
        elif last == "run_until_complete":
            kind = "loop.run_until_complete(...)"
        elif last in ("submit", "run_in_executor") and any(dotted(a) == "asyncio.run" for a in args):
            kind, args = f"executor.{last}(asyncio.run, ...)", args[[dotted(a) for a in args].index("asyncio.run") + 1:]
        elif last == "Thread" and dotted(keywords.get("target", ast.Pass())) in ("asyncio.run",):
            kind = "Thread(target=asyncio.run, ...)"
            given = keywords.get("args")
            args = list(given.elts) if isinstance(given, (ast.Tuple, ast.List)) else []
        if not kind:
            return None
        self.visit(node.func)
        argument = args[0] if args else None
        closes = ""
        if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute) and argument.func.attr in CLOSERS:
            closes = dotted(argument.func.value)
        self.in_run += 1
        value = self.value(argument)
        self.visit_all(args[1:])
        self.visit_all(k.value for k in node.keywords if k.arg != "target")
        self.in_run -= 1
        run = Run(kind, node.lineno, node.col_offset, bool(self.in_loop), value, closes)
        self.fn.runs.append(run)
        return run

    # -- statements -----------------------------------------------------------------------------
    def on_Assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = self.value(node.value) if node.value is not None else None
        for target in targets:
            self._store(target, value)

    on_AnnAssign = on_AugAssign = on_Assign

    def _store(self, target: ast.AST, value: Value | None) -> None:
        fn = self.fn
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
            if value is not None and not value.direct and not value.names and not value.inner and not value.attrs:
                fn.resets.add(target.attr)  # self.x = None (or another constant)
            kind, name, key_loop = "self", target.attr, False
        elif isinstance(target, ast.Name):
            kind = "classattr" if self.in_class_body else "module" if fn.line == 0 else \
                "global" if target.id in fn.globals else "local"
            name, key_loop = target.id, False
        elif isinstance(target, ast.Subscript):
            key = self.collect(target.slice)
            self.visit(target.value)
            kind, name, key_loop = "subscript", dotted(target.value), key.loop
            if value is not None:
                fn.owned.update(value.names)
        else:
            self.visit(target)
            if value is not None:
                fn.owned.update(value.names)
            return
        if kind not in ("local", "module", "classattr") and value is not None:
            fn.owned.update(value.names)
        if value is not None and not self.in_raises:
            fn.stores.append(Store(kind, name, value, target.lineno, target.col_offset, key_loop))

    def on_Return(self, node: ast.Return | ast.Yield | ast.YieldFrom) -> None:
        given = node.value
        value = self.value(given)
        if given is not None:
            elements = given.elts if isinstance(given, (ast.Tuple, ast.List)) else [given]
            self.fn.owned.update(e.id for e in elements if isinstance(e, ast.Name))
            self.fn.returns.append(value)

    on_Yield = on_YieldFrom = on_Return

    def on_With(self, node: ast.With | ast.AsyncWith) -> None:
        raises = any(dotted(i.context_expr).rpartition(".")[2] == "raises" for i in node.items)
        for item in node.items:
            if isinstance(item.context_expr, ast.Name):
                self.fn.owned.add(item.context_expr.id)
            self.visit(item.context_expr)
            if isinstance(item.optional_vars, ast.Name):
                self.fn.entered.add(item.optional_vars.id)
            elif item.optional_vars is not None:
                self._store(item.optional_vars, None)
        self.in_raises += raises
        self.visit_all(node.body)
        self.in_raises -= raises

    on_AsyncWith = on_With

    def on_For(self, node: ast.For | ast.While | ast.AsyncFor) -> None:
        self.in_loop += 1
        for child in ast.iter_child_nodes(node):
            self.visit(child)
        self.in_loop -= 1

    on_While = on_AsyncFor = on_For


def scan_source(source: str, path: str = "<string>", module: str = "") -> FileFacts:
    tree = ast.parse(source, filename=path)
    facts = Scanner(path, module or Path(path).stem).scan(tree)
    if "noqa" in source:
        facts.lines = {n: line for n, line in enumerate(source.splitlines(), 1) if "noqa" in line}
    return facts
