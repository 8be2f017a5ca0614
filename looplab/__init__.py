"""looplab: a hands-on workshop about one real production bug (``RuntimeError: Event loop is closed``
in Llama Stack's remote vLLM adapter) and the async-lifecycle discipline behind it.

The house, in layers (``looplab/README.md`` has the import rules)::

    mock_vllm/ stack/ adapters/   the studied system: a mock vLLM, a mini Llama Stack, the adapters
    servers/                      process handling: servers as real processes, never left behind
    proofs/                       proofs and measurements: verify, conformance, bench/
    real/                         the real systems: a real vLLM, the released Llama Stacks
    course/                       notebook helpers, lab checks, labs, episodes, the guard, demos/
    entrypoints/                  the looplab command, doctor, the pytest plugin
    tools/                        what a team takes home: looplab lint, the loop guard

Notebooks and labs use the small, stable API below, imported from ``looplab`` itself (as httpx's
users write ``httpx.AsyncClient``): the modules behind it may move, these names do not. Each name
is imported on first use, so ``import looplab`` costs nothing (it also runs inside the incident-era
and vLLM interpreters).
"""

from __future__ import annotations

import importlib
import os as _os
from typing import Any

if _os.environ.get("LOOPLAB_SSL_PLATFORM"):  # a test hook: the macOS/Windows SSL path, exercised on Linux
    from .proofs.construction import force_branch_from_environment

    force_branch_from_environment()

#: name -> the module that defines it.
_API = {
    # the backend and the servers
    "backend": "looplab.course.helpers", "start_mock": "looplab.servers", "start_stack": "looplab.servers",
    # small requests and readable output
    "chat": "looplab.course.helpers", "error_of": "looplab.course.helpers", "Table": "looplab.course.helpers",
    "request_log": "looplab.course.helpers", "lines_with": "looplab.course.helpers", "served": "looplab.course.helpers",
    # proofs
    "burst": "looplab.proofs.verify", "run_burst": "looplab.proofs.verify",
    "delivery_counts": "looplab.proofs.verify", "wait_until": "looplab.proofs.verify",
    "in_a_thread": "looplab.proofs.verify",
    # demonstrations, the guard, the incident-era client
    "run_demo": "looplab.course.demos", "loop_bound": "looplab.course.guard",
    "LoopAffinityError": "looplab.course.guard", "incident_python": "looplab.real.envs",
    "exact_python": "looplab.real.envs",
    # measurements a notebook shows
    "construction_costs": "looplab.proofs.construction", "construction_work": "looplab.proofs.construction",
}
#: Modules notebooks use as a whole: ``from looplab import checks``.
_MODULES = {"checks": "looplab.course.checks", "exercises": "looplab.course.exercises", "expect": "looplab.course.expect",
            "measure": "looplab.course.measure", "releases": "looplab.real.releases",
            "verify": "looplab.proofs.verify", "cases": "looplab.course.demos.cases", "lint": "looplab.tools.lint",
            "loopguard": "looplab.tools.loopguard"}

__all__ = sorted([*_API, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    raise AttributeError(f"module 'looplab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

