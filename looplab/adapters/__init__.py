"""Reference adapter strategies, all behind one protocol (:class:`InferenceAdapter`).

========================  =====================================================================
``broken``                client built in ``initialize()`` on the start-up loop (the incident)
``per_call``              a client per call, always closed (the source article's fix)
``lazy_once``             created on first use, cached (what 0.2.3 shipped, PR #1969), weaknesses kept
``per_loop``              one client per running loop, closed with its loop
``lifespan``              one client owned by the server's lifespan, on uvicorn's loop
``per_call_shared_ssl``   per-call clients sharing one SSL context (upstream #4486)
========================  =====================================================================
"""

from __future__ import annotations

import importlib

from .base import InferenceAdapter, ModelNotServed, VLLMAdapterBase, VLLMConfig

STRATEGIES = {
    "broken": "looplab.adapters.broken:BrokenAdapter",
    "per_call": "looplab.adapters.per_call:PerCallAdapter",
    "lazy_once": "looplab.adapters.lazy_once:LazyOnceAdapter",
    "per_loop": "looplab.adapters.per_loop:PerLoopAdapter",
    "lifespan": "looplab.adapters.lifespan:LifespanAdapter",
    "per_call_shared_ssl": "looplab.adapters.per_call_shared_ssl:PerCallSharedSSLAdapter",
}
#: Deliberately wrong variants (see :mod:`looplab.adapters.wrong`), by what they get wrong.
WRONG = {
    "never_closed": "looplab.adapters.wrong:NeverClosedPerCall",
    "closed_before_stream": "looplab.adapters.wrong:ClosedBeforeStreamPerCall",
    "lazy_touched_at_startup": "looplab.adapters.wrong:LazyTouchedAtStartup",
}
#: The strategies that are correct and leak-free (``lazy_once`` is correct only until start-up touches it).
FIXED = ("per_call", "per_loop", "lifespan", "per_call_shared_ssl")


def resolve(name_or_path: str) -> type:
    """A strategy name (``per_call``) or an import path (``package.module:Class``) -> the adapter class."""
    path = STRATEGIES.get(name_or_path, name_or_path)
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"unknown adapter {name_or_path!r}: use a strategy ({', '.join(STRATEGIES)}) "
                         "or an import path 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"adapter {name_or_path!r}: cannot import {module_name!r} ({exc})") from exc
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"adapter {name_or_path!r}: module {module_name!r} has no {class_name!r}") from None


__all__ = ["FIXED", "STRATEGIES", "WRONG", "InferenceAdapter", "ModelNotServed", "VLLMAdapterBase", "VLLMConfig", "resolve"]
