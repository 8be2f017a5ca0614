"""Drive a learner's sync bridge as a threaded web server would, and report what happened.

``python -m looplab.course.checks.bridge_probe PATH BASE_URL WAIT_S`` imports the module at ``PATH``,
calls its ``ask(base_url, text)`` from 4 threads, twice each (8 calls, as 4 request handlers of a
sync framework would), then once from the main thread when they are done (a health check: with a
shared client, this call surely finds a connection of a finished loop), then ``close()``. It prints
one JSON object: the answers (and what an answer that is not text was), the errors (root first),
the connections each thread opened to the backend, and what ``close()`` left behind: threads the
module started still alive, event loops it made and never closed, connections still open, and the
``ResourceWarning``\\ s raised (after a garbage collection). Threads still busy after ``WAIT_S``
seconds count as hung. Lab 08's check runs it in a subprocess, so each run imports the learner's
file afresh.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
import threading
import time
import warnings
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from .probing import CALLS, MAIN, THREADS, loops_unclosed, open_to, threads_left, worker


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"[:300]


def _count_connections(port: int, opened: Counter) -> None:
    """Count each socket connect to ``port`` under the name of the thread that made it."""
    lock = threading.Lock()

    def hook(event: str, args: tuple) -> None:
        if event == "socket.connect" and isinstance(args[1], tuple) and len(args[1]) >= 2 and args[1][1] == port:
            thread = threading.current_thread()
            name = MAIN if thread is threading.main_thread() else thread.name
            with lock:
                opened[name] += 1

    sys.addaudithook(hook)  # for the rest of this process: it exists for this one run


def main() -> None:
    path, base_url, wait_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    report: dict[str, Any] = {"answers": 0, "not_text": None, "errors": [], "hung": 0, "resource_warnings": []}
    opened: Counter = Counter()
    _count_connections(urlsplit(base_url).port or 80, opened)
    ours = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        spec = importlib.util.spec_from_file_location("learner_bridge", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        lock = threading.Lock()

        def handler(n: int, calls: int = CALLS) -> None:
            for k in range(calls):
                try:
                    answer = module.ask(base_url, f"request {n}-{k}")
                    with lock:
                        if isinstance(answer, str):
                            report["answers"] += 1
                        elif report["not_text"] is None:
                            report["not_text"] = type(answer).__name__
                except NotImplementedError:
                    raise
                except Exception as exc:  # noqa: BLE001 (reported to the check)
                    with lock:
                        report["errors"].append(_root(exc))

        if not callable(getattr(module, "ask", None)):
            report["no_ask"] = True
            print(json.dumps(report))
            return
        threads = [threading.Thread(target=handler, args=(n,), name=worker(n), daemon=True) for n in range(THREADS)]
        ours.update(threads)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + wait_s  # one deadline for all: a hung bridge costs wait_s, not 4x
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        report["hung"] = sum(thread.is_alive() for thread in threads)
        if not report["hung"]:  # and one more, from the main thread, once every handler is idle: a health check
            handler(THREADS, 1)
        if not hasattr(module, "close"):
            report["no_close"] = True
        elif not report["hung"]:
            try:
                module.close()
            except Exception as exc:  # noqa: BLE001 (reported to the check)
                report["close_error"] = _root(exc)
            report.update(_left_behind(ours, urlsplit(base_url).port or 80, caught))
        del module
        gc.collect()
    report["connections_by_thread"] = dict(opened)
    report["resource_warnings"] = [str(w.message)[:200] for w in caught if issubclass(w.category, ResourceWarning)]
    print(json.dumps(report))
    sys.stdout.flush()


def _left_behind(ours: set[threading.Thread], port: int, caught: list[warnings.WarningMessage]) -> dict[str, Any]:
    """After close(): the module's threads still alive, its loops not closed, the connections still open (before
    any garbage collection: what the module still holds)."""
    return {"threads_alive": threads_left(ours), "loops_unclosed": loops_unclosed(caught),
            "open_after_close": open_to(port)}


if __name__ == "__main__":
    main()
