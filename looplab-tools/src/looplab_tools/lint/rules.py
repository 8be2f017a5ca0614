"""The five rules, read off the facts of every file scanned together (:class:`.package.Package`).

Each rule reports the bug, not the shape: a client made in start-up code is reported when start-up
also uses it (or it takes the loop when it is made), a lazily made client when nothing closes and
resets it, a run that crosses loops when it can happen again (not a one-time teardown).
"""

from __future__ import annotations

from collections.abc import Iterator

from . import catalogue
from .catalogue import RULES, Finding
from .package import Package, store_label
from .facts import FileFacts, Fn


def _finding(rule: str, f: FileFacts, line: int, col: int, message: str, fix: str = "") -> Finding:
    name, default_fix = RULES[rule]
    return Finding(rule, name, f.path, line, col, message, fix or default_fix)


def findings(package: Package) -> Iterator[Finding]:
    servers = package.servers()
    for i, f in enumerate(package.files):
        for j, fn in enumerate(f.functions):
            yield from _startup_clients(package, i, j, f, fn)
            yield from _caches(package, i, j, f, fn)
            yield from _unclosed(package, i, j, f, fn)
            yield from _crossing_runs(package, i, j, f, fn)
            yield from _run_then_serve(package, i, j, f, fn, servers)


def _startup_clients(p: Package, i: int, j: int, f: FileFacts, fn: Fn) -> Iterator[Finding]:
    """LL001: made in start-up code and kept, and used by start-up code (or bound when made)."""
    at_startup = p.startup_fn(i, j)
    for store in fn.stores:
        if store.kind not in ("self", "global", "module", "classattr") or (store.kind in ("self", "global") and not at_startup):
            continue
        made = p.value_makes(i, fn, store.value)
        if not made and not (store.kind == "self" and at_startup and p.holds(i, j, store.value)):
            continue
        binds = catalogue.binds_at_construction(made, p.config.binds_at_construction)
        where = "at import time" if store.kind in ("module", "classattr") else f"in {fn.name}()"
        used = p.used_at_startup.get((i, fn.cls or "", store.name)) if store.kind == "self" else None
        if store.kind in ("module", "classattr"):
            used = next((f"asyncio.run(...) at line {r.line}" for r in fn.runs if store.name in r.value.names), None)
        if binds:
            yield _finding("LL001", f, store.line, store.col,
                           f"{made.rpartition('.')[2]} made {where} and kept as {store_label(store)}: it takes the running "
                           "loop when it is made, so it belongs to whatever loop start-up runs on")
        elif used:
            yield _finding("LL001", f, store.line, store.col,
                           f"an async client made {where} and kept as {store_label(store)} is also used in start-up code "
                           f"({used}): its pooled connections belong to the start-up loop, and serving on another "
                           "loop trips on them")


def _caches(p: Package, i: int, j: int, f: FileFacts, fn: Fn) -> Iterator[Finding]:
    """LL003: one client kept for every loop that asks: a cached factory, a lazy attribute or global, a dict."""
    if fn.loop:
        return
    cached = set(fn.decorators) & catalogue.CACHE_DECORATORS
    key = f"{f.module}.{fn.cls}.{fn.name}" if fn.cls and fn.parent == -1 else f"{f.module}.{fn.name}"
    if cached and key in p.factories:
        yield _finding("LL003", f, fn.line, fn.col, f"{fn.name}() is cached (@{sorted(cached)[0]}) and returns an async "
                       "client: one client for every loop that calls it")
    at_startup = p.startup_fn(i, j) and fn.name in p.startup_names
    for store in fn.stores:
        if not p.client(i, fn, store.value) or store.value.loop:
            continue
        guarded = store.name in fn.none_tested or f"self.{store.name}" in fn.none_tested
        if store.kind in ("self", "global") and guarded and not at_startup and not (
                p.startup_fn(i, j) and (i, fn.cls or "", store.name) in p.used_at_startup):  # LL001 says it
            if store.kind == "self" and p.lifespan_pair(i, fn.cls, store.name):
                continue  # made when serving starts and closed and reset when it stops: lifespan-owned
            yield _finding("LL003", f, store.line, store.col, f"{store_label(store)} is made once, lazily, and then reused "
                           "by every loop: correct only while a single loop ever uses it")
        elif store.kind == "subscript" and not store.key_loop and _long_lived(f, fn, store.name):
            yield _finding("LL003", f, store.line, store.col, f"clients cached in {store.name}[...] under a key without "
                           "the event loop: a second loop gets the first loop's client back")
    tainted = p.tainted(i, j)
    for receiver, value, line, col in fn.cache_calls:
        if value.loop or not (value.names & tainted or any(p.constructor(i, c) for c in value.direct)):
            continue
        yield _finding("LL003", f, line, col, f"an async client put into a cache ({receiver}(...)) under a key without the "
                       "event loop: a later loop gets this loop's client back")


def _long_lived(f: FileFacts, fn: Fn, container: str) -> bool:
    """A container that outlives the call (an attribute of self or cls, or a module global), not a
    local dict of keyword arguments being put together."""
    head, _, rest = container.partition(".")
    if head in ("self", "cls"):
        return bool(rest)
    module_globals = {s.name for s in f.functions[0].stores if s.kind == "module"}
    return not rest and (container in module_globals or container in fn.globals)


def _unclosed(p: Package, i: int, j: int, f: FileFacts, fn: Fn) -> Iterator[Finding]:
    """LL004: a client made for one call and never closed."""
    key = f"{f.module}.{fn.cls}.{fn.name}" if fn.cls and fn.parent == -1 else f"{f.module}.{fn.name}"
    if not fn.is_async:  # a sync function cannot use an async client (or uses an SDK's sync side)
        return
    if key not in p.factories and key not in p.holders:
        streams = fn.streams or any(r.stream for r in fn.returns)
        owned = fn.owned | p.captured(i, j)  # a nested function that reads it has it now
        for store in fn.stores:
            if store.kind != "local" or store.name in owned or not p.client(i, fn, store.value) \
                    or store.value.names & fn.entered:  # built on a client an `async with` closes
                continue
            if p.shares(i, fn, store.value):
                fix = ("close only the client this call made, not the one it was given or shares: "
                       "`made = None if given else Client()` ... `finally: if made: await made.close()`")
            elif streams:
                fix = ("this function returns a stream read after it returns: close the client when the stream ends "
                       "(an async generator that closes it in its `finally`), not with `async with` around the return")
            else:
                fix = ""
            yield _finding("LL004", f, store.line, store.col, f"{store.name} is an async client made for this call and never "
                           "closed: its pooled connections stay open until garbage collection, often after the loop has "
                           "closed", fix)
    for name, attr, line, col in fn.one_shots:
        if p.constructor(i, name):
            yield _finding("LL004", f, line, col, "an async client made, used once in one expression, and never closed")


def _visible_clients(p: Package, i: int, j: int) -> set[str]:
    f = p.files[i]
    names, k = set(p.tainted(i, j)), f.functions[j].parent
    while k > 0:
        names |= p.tainted(i, k)
        k = f.functions[k].parent
    return names | p.tainted(i, 0)


def _crossing_runs(p: Package, i: int, j: int, f: FileFacts, fn: Fn) -> Iterator[Finding]:
    """LL005: a client made outside asyncio.run and used inside it, where the run happens again."""
    if not fn.runs:
        return
    visible = _visible_clients(p, i, j)
    for run in fn.runs:
        if run.closes and fn.name == "__del__":
            yield _finding("LL005", f, run.line, run.col, f"{run.closes} is closed by {run.kind} in __del__: a finalizer "
                           "runs whenever the object dies, on a new loop, after the loop its connections belong to",
                           "lifespan-owned: close it where it was used (`async with`, or an async close() the owner awaits)")
            continue
        if run.closes:
            continue  # one-time teardown: asyncio.run(client.aclose()) at the end
        used = sorted(run.value.names & visible)
        again = sum(not r.closes for r in fn.runs) > 1 or run.in_loop  # work() run twice, or in a loop: its globals cross
        for name in run.value.direct if again and not used else ():
            target = p.defs.get(p.resolve(i, name))
            if target and target[0] == i:
                used = sorted(f.functions[target[1]].names & p.tainted(i, 0))
        if used and (j or run.in_loop) and not run.kind.startswith("loop.run_until_complete"):
            yield _finding("LL005", f, run.line, run.col, f"{used[0]} is made outside {run.kind} and used inside it, "
                           "and this run can happen again: the next run's loop finds the last run's pooled connection")
        factory = next((d for d in run.value.direct if p.makes(i, fn, d).startswith("factory:")), None)
        if factory:
            yield _finding("LL005", f, run.line, run.col, f"{run.kind.replace('...', factory + '()')} returns a client made on a loop that "
                           "closes as the run returns: its first connection belongs to that closed loop")


def _run_then_serve(p: Package, i: int, j: int, f: FileFacts, fn: Fn, servers: list) -> Iterator[Finding]:
    """LL002: a start-up loop (asyncio.run, anyio.run, executor.submit(asyncio.run, ...),
    loop.run_until_complete) and then a server that runs its own loop."""
    if not fn.runs or not servers:
        return
    first = min(fn.runs, key=lambda r: r.line)
    here = [(name, line) for k, jj, name, line in servers if k == i and jj == j and line > first.line]
    where = f"{fn.name}()" if j else "module scope"
    if here:
        name, line = here[0]
        yield _finding("LL002", f, first.line, first.col, f"{first.kind} at line {first.line}, then {name}() at line "
                       f"{line}, in {where}: whatever start-up made on the first loop is served on a second")
        return
    if not j:
        return
    owner = fn.cls if fn.cls else fn.name
    linked = p.app_class(i, fn.cls) and fn.name == "__init__"
    for k, jj, name, line in servers:
        mentions = p.files[k].functions[jj].names
        if linked or owner in mentions or fn.name in mentions and fn.name not in catalogue.STARTUP:
            yield _finding("LL002", f, first.line, first.col, f"{first.kind} in {owner}"
                           f"{'.' + fn.name if fn.cls else ''}() runs start-up on a loop of its own, and "
                           f"{name}() at {p.files[k].path}:{line} then serves on another: whatever start-up made "
                           "on the first loop is served on the second")
            return
