"""What the probes share (they run as ``python -m``; the checks import this module, never a probe itself,
so the package does not import a probe before ``-m`` runs it): the connections, threads and event
loops a learner's code left behind, and the shape of lab 08's bridge run."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings

import psutil

GRACE_S = 5.0  # how long a thread may take to end once shutdown (or close()) has returned
THREADS, CALLS = 4, 2  # the bridge probe: 4 threads call ask() twice each
TOTAL = THREADS * CALLS + 1  # and the health check
MAIN = "the main thread"


def worker(n: int) -> str:
    return f"worker {n + 1}"


def open_to(port: int) -> int:
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status != psutil.CONN_CLOSE_WAIT)


def threads_left(ours: set[threading.Thread]) -> list[str]:
    """The names of the threads not in ``ours`` (those that ran before) still alive once each was given until
    GRACE_S to end (joined, not slept)."""
    deadline = time.monotonic() + GRACE_S
    for thread in threading.enumerate():
        if thread not in ours:
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threading.enumerate() if t not in ours and t.is_alive()]


def loops_unclosed(caught: list[warnings.WarningMessage]) -> int:
    """Event loops never closed: those still alive, and those already collected (Python warned of each)."""
    # type(), not isinstance(): isinstance asks an object's __class__, and openai's module-level proxies
    # (openai.chat, openai.beta...) answer it by building a client and importing every resource (2 CPU-s).
    alive = sum(1 for o in gc.get_objects() if issubclass(type(o), asyncio.AbstractEventLoop) and not o.is_closed())
    return alive + sum("unclosed event loop" in str(w.message) for w in caught)
