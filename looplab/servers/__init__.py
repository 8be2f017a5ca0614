"""Process handling: start and stop servers as real processes, and never leave one behind.

========================  ======================================================================
:mod:`.process`           any server: start on a free port, health wait, stop with its whole
                          group, tags, leftovers found by scanning (``looplab cleanup``)
:mod:`.ports`             a free port for a server told its own, and whether it listens there
:mod:`.launch`            looplab's own servers: the mock (:func:`start_mock`), the mini stack
                          (:func:`start_stack`)
:mod:`.serve`             the server side: bind, announce the URL, serve, die with the parent
:mod:`.options`           settings dataclasses as command-line options and argv, declared once
:mod:`.workdirs`          folders a process owns, and the one sweeper for those left behind
:mod:`.tls`               HTTPS: a certificate made at start-up, the CA clients trust
:mod:`.latency_proxy`     a network between two processes: a TCP proxy adding a round-trip time
========================  ======================================================================

May import the studied system (its settings), nothing else of looplab.

The names below are imported on first use: code that needs only the server side
(``looplab.servers.serve``, inside a released Llama Stack's interpreter) must not import the
launcher, which imports the studied system and so ``openai``, before the release sets up its logging.
"""

import importlib
from typing import Any

_NAMES = {
    "launch": ["MockServer", "StackServer", "mock_argv", "stack_argv", "start_latency_proxy", "start_mock",
               "start_stack"],
    "process": ["SESSION_ENV", "TAG_ENV", "Server", "ServerError", "cleanup", "die_with_parent", "find_tagged", "http_get",
                "PortTaken", "process_group", "running", "start", "start_on_a_free_port"],
    "ports": ["free_port", "listens", "port_clash"],
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
