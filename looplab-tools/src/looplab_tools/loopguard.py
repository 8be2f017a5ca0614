"""A runtime guard for a team's own test suite: a client used on another loop fails loudly, at once.

The two-loop bug is silent until a pooled connection's transport calls into a dead loop, deep in
the pool, often after the request was sent. The guard moves the failure to the start of the
request, with a message that says where the client was made and on which loop it was first used:

    with guard():                       # or: pytest --loop-guard (this module is a pytest11 plugin)
        ...                             # every async client of httpx, httpx2, openai, anthropic, aiohttp

A client is bound to the running loop at its first request (making a client outside any loop,
at import time, is fine; using it on two loops is not). A request from another loop raises
:class:`LoopAffinityError`, before any I/O. openai's clients are checked before openai's retry
logic, so the error is not turned into "Connection error.".

A client the guard cannot track (an object without weak references, such as a class with
``__slots__`` and no ``__weakref__``, like aiohttp 4's ``ClientSession``) is let through untouched;
the guard says so once per class (a :class:`LoopGuardWarning`, and a line in pytest's summary).
It sees asyncio loops only (nothing under trio), and one process: a client shared by tests that
pytest-xdist sends to different workers is two clients. Standard library only (pytest for the plugin).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
import sys
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: module -> (class, the async method every request goes through)
TARGETS = [("httpx", "AsyncClient", "send"), ("httpx2", "AsyncClient", "send"),
           ("aiohttp", "ClientSession", "_request"), ("openai._base_client", "AsyncAPIClient", "request"),
           ("anthropic._base_client", "AsyncAPIClient", "request")]
_LIBRARIES = ("httpx", "httpx2", "httpcore", "httpcore2", "aiohttp", "openai", "anthropic", "anyio")


class LoopAffinityError(RuntimeError):
    """An async client was used on an event loop other than the one it was first used on."""


class LoopGuardWarning(UserWarning):
    """The guard could not track a client (it is let through unchecked)."""


@dataclass
class _Binding:
    made_at: str  # "file:line in function", the first frame outside the client libraries
    loop: Any  # a weak reference to the loop of the first request
    loop_id: int


def _caller() -> str:
    frame = sys._getframe(2)
    here = os.path.dirname(__file__)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.split(".")[0] in _LIBRARIES and not frame.f_code.co_filename.startswith(here):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "an unknown place"


class Guard:
    """The patched classes and what each client is bound to; :func:`guard` makes and undoes one."""

    def __init__(self) -> None:
        self.bindings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.made_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.patched: list[tuple[type, str, Any]] = []
        self.untracked: dict[str, int] = {}  # "module.Class" -> requests let through unchecked

    def _untracked(self, client: Any) -> None:
        name = f"{type(client).__module__}.{type(client).__qualname__}"
        if name not in self.untracked:
            warnings.warn(f"loop guard: {name} objects cannot be weakly referenced (__slots__ without __weakref__?), so "
                          "the guard cannot track them: their requests are let through unchecked", LoopGuardWarning,
                          stacklevel=4)
        self.untracked[name] = self.untracked.get(name, 0) + 1

    def check(self, client: Any, shown_as: str | None = None) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on a loop: the library will say so itself
        try:
            binding = self.bindings.get(client)
            if binding is None:
                self.bindings[client] = _Binding(self.made_at.get(client, "an unknown place"), weakref.ref(running),
                                                 id(running))
                return
        except TypeError:  # no weak reference to it: never break what cannot be tracked
            self._untracked(client)
            return
        first = binding.loop()
        if first is running:
            return
        state = "gone" if first is None else "closed" if first.is_closed() else \
            "still running, in another thread" if first.is_running() else "open but not running"
        raise LoopAffinityError(
            f"{shown_as or type(client).__name__} made at {binding.made_at} was first used on event loop {binding.loop_id:#x} "
            f"(now {state}) and is now used on loop {id(running):#x}. Its pooled connections belong to the first "
            "loop: make the client on the loop that uses it (owned by the server's lifespan, one per loop, "
            "or one per call) instead of sharing it across asyncio.run calls, threads or processes.")

    def _patch(self, cls: type, method: str) -> None:
        original_init, original = cls.__init__, getattr(cls, method)
        guard = self

        @functools.wraps(original_init)
        def __init__(client: Any, *args: Any, **kwargs: Any) -> None:
            original_init(client, *args, **kwargs)
            with contextlib.suppress(TypeError):  # an object that cannot be weakly referenced: not tracked
                guard.made_at.setdefault(client, _caller())

        @functools.wraps(original)
        async def checked(client: Any, *args: Any, **kwargs: Any) -> Any:
            target = getattr(client, "_client", client) if method == "request" else client  # openai: its http client
            with contextlib.suppress(TypeError):  # not weakly referenceable: check() lets it through, once said
                guard.made_at.setdefault(target, guard.made_at.get(client, "an unknown place"))
            guard.check(target, type(client).__name__)
            return await original(client, *args, **kwargs)

        self.patched += [(cls, "__init__", cls.__dict__.get("__init__")), (cls, method, cls.__dict__.get(method))]
        cls.__init__ = __init__
        setattr(cls, method, checked)

    def install(self) -> list[str]:
        done = []
        for module_name, class_name, method in TARGETS:
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                continue
            self._patch(cls, method)
            done.append(f"{module_name}.{class_name}")
        return done

    def uninstall(self) -> None:
        for cls, name, original in reversed(self.patched):
            if original is None:  # it was inherited: take ours away and the parent's shows again
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        self.patched.clear()


@contextlib.contextmanager
def guard() -> Iterator[Guard]:
    """Guard every async client of the libraries installed here, until the block ends."""
    active = Guard()
    active.install()
    try:
        yield active
    finally:
        active.uninstall()


# -- the pytest plugin (entry point pytest11 "loopguard"): pytest --loop-guard -------------------------

def pytest_addoption(parser: Any) -> None:
    parser.addoption("--loop-guard", action="store_true", default=False,
                     help="fail a test that uses an async client (httpx, httpx2, openai, aiohttp) on another "
                          "event loop than its first request's, naming where the client was made")


def pytest_configure(config: Any) -> None:
    if config.getoption("--loop-guard", default=False):
        active = Guard()
        config._looplab_loop_guard = (active, active.install())


def pytest_report_header(config: Any) -> str | None:
    installed = getattr(config, "_looplab_loop_guard", None)
    return f"loop guard: on for {', '.join(installed[1]) or 'nothing (no client library installed)'}" if installed else None


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    installed = getattr(config, "_looplab_loop_guard", None)
    if installed and installed[0].untracked:
        for name, count in sorted(installed[0].untracked.items()):
            terminalreporter.write_line(f"loop guard: {name} cannot be weakly referenced: {count} request(s) let "
                                        "through unchecked")


def pytest_unconfigure(config: Any) -> None:
    installed = getattr(config, "_looplab_loop_guard", None)
    if installed:
        installed[0].uninstall()
