"""Process handling: start and stop servers as real processes, and never leave one behind.

========================  ======================================================================
:mod:`.process`           any server: start on a free port, health wait, stop with its whole
                          group, tags, leftovers found by scanning (``looplab cleanup``)
:mod:`.launch`            looplab's own servers: the mock (:func:`start_mock`), the mini stack
                          (:func:`start_stack`)
:mod:`.serve`             the server side: bind, announce the URL, serve, die with the parent
:mod:`.options`           settings dataclasses as command-line options and argv, declared once
:mod:`.workdirs`          folders a process owns, and the one sweeper for those left behind
========================  ======================================================================

May import the studied system (its settings), nothing else of looplab.
"""

from .launch import MockServer, StackServer, mock_argv, stack_argv, start_mock, start_stack
from .process import (SESSION_ENV, TAG_ENV, Server, ServerError, cleanup, find_tagged, free_port, http_get,
                      process_group, running, start)

__all__ = ["SESSION_ENV", "TAG_ENV", "MockServer", "Server", "ServerError", "StackServer", "cleanup", "find_tagged",
           "free_port", "http_get", "mock_argv", "process_group", "running", "stack_argv", "start", "start_mock",
           "start_stack"]
