"""Run a released Llama Stack server, as released, on 127.0.0.1 only.

Llama Stack 0.2.x hard-codes its bind address to every interface (``["::", "0.0.0.0"]``). This
wrapper replaces only ``uvicorn.run``'s ``host`` (to ``127.0.0.1``) and then calls the release's own
``llama_stack.distribution.server.server.main``, so the code path under study, from
``asyncio.run(construct_stack(config))`` to ``uvicorn.run(app)``, is the release's, untouched.
Arguments are the release server's own (``--config run.yaml --port N``).

It runs on the incident-era interpreter with the release's overlay on ``PYTHONPATH`` (see
:mod:`looplab.real.releases`), and watches the process that started it, like looplab's own servers.
Code inside another interpreter: it imports the standard library, what that interpreter has
(``uvicorn``, ``openai``, the release) and the server side of :mod:`looplab.servers`, nothing else.

DIAGNOSTIC SWITCH, not the release's behaviour: with ``LOOPLAB_DIAGNOSTIC_NO_RETRIES=1``,
``openai.AsyncOpenAI`` defaults to ``max_retries=0`` instead of 2 (an explicit ``max_retries``
still wins). The released adapter never sets it, so its client silently retried the crashed request;
turning retries off shows the ``RuntimeError: Event loop is closed`` that the retry hid.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

LOOPBACK = "127.0.0.1"
DIAGNOSTIC_NO_RETRIES_ENV = "LOOPLAB_DIAGNOSTIC_NO_RETRIES"


def _say(message: str) -> None:
    print(f"looplab real-stack wrapper: {message}", file=sys.stderr, flush=True)


def bind_to_loopback() -> None:
    """Make ``uvicorn.run`` bind 127.0.0.1, whatever host the release asks for."""
    import uvicorn

    released_run = uvicorn.run

    @functools.wraps(released_run)
    def run_on_loopback(*args: Any, **kwargs: Any) -> Any:
        _say(f"binding {LOOPBACK} instead of the release's host {kwargs.get('host')!r}")
        kwargs["host"] = LOOPBACK
        return released_run(*args, **kwargs)

    uvicorn.run = run_on_loopback


def diagnostic_no_retries() -> None:
    """DIAGNOSTIC: ``AsyncOpenAI(...)`` without ``max_retries`` gets 0 instead of the client's default 2."""
    import openai

    released_init = openai.AsyncOpenAI.__init__

    @functools.wraps(released_init)
    def init_without_retries(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_retries", 0)
        released_init(self, *args, **kwargs)

    openai.AsyncOpenAI.__init__ = init_without_retries  # type: ignore[method-assign]
    _say(f"DIAGNOSTIC {DIAGNOSTIC_NO_RETRIES_ENV}=1: openai.AsyncOpenAI defaults to max_retries=0 "
         f"(the release ran with the client's default, 2)")


def main(argv: Sequence[str] | None = None) -> None:
    from looplab.servers.serve import watch_parent  # the portable twin of PR_SET_PDEATHSIG

    args = list(sys.argv[1:] if argv is None else argv)
    watch_parent()
    bind_to_loopback()
    if os.environ.get(DIAGNOSTIC_NO_RETRIES_ENV) == "1":
        diagnostic_no_retries()
    from llama_stack.distribution.server.server import main as release_main

    sys.argv = ["llama_stack.distribution.server.server", *args]  # the release parses sys.argv itself
    release_main()


if __name__ == "__main__":
    main()
