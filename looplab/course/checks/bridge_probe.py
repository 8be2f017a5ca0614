"""Drive a learner's sync bridge as a threaded web server would, and report what happened.

``python -m looplab.course.checks.bridge_probe PATH BASE_URL WAIT_S`` imports the module at ``PATH``,
calls its ``ask(base_url, text)`` from 4 threads, twice each (8 calls, as 4 request handlers of a
sync framework would), then once from the main thread when they are done (a health check: with a
shared client, this call surely finds a connection of a finished loop), then ``close()``, then collects garbage. It prints one JSON object: the
answers, the errors (root first), and the ``ResourceWarning``\\ s raised. Threads still busy after
``WAIT_S`` seconds count as hung. Lab 08's check runs it in a subprocess, so each run imports the
learner's file afresh.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
import threading
import time
import warnings
from typing import Any

THREADS, CALLS = 4, 2
TOTAL = THREADS * CALLS + 1  # and the health check


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"[:300]


def main() -> None:
    path, base_url, wait_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    report: dict[str, Any] = {"answers": 0, "errors": [], "hung": 0, "resource_warnings": []}
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
                        report["answers"] += isinstance(answer, str)
                except NotImplementedError:
                    raise
                except Exception as exc:  # noqa: BLE001 (reported to the check)
                    with lock:
                        report["errors"].append(_root(exc))

        threads = [threading.Thread(target=handler, args=(n,), daemon=True) for n in range(THREADS)]
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
            module.close()
        del module
        gc.collect()
    report["resource_warnings"] = [str(w.message)[:200] for w in caught if issubclass(w.category, ResourceWarning)]
    print(json.dumps(report))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
