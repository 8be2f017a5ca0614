"""Backend failures -> clear, OpenAI-shaped errors; anything else -> a 500 that says what it was.

==========================================  ======  ==========================
what went wrong                             status  ``type``
==========================================  ======  ==========================
backend answered an error (5xx, 429)        502     ``backend_error``
backend rejected the request (4xx)          same    ``backend_error``
connection dropped / protocol broken        502     ``backend_connection_lost`` (a transport error in the chain)
backend unreachable (connection refused)    503     ``backend_unavailable``
backend too slow (client timeout)           504     ``backend_timeout``
an exception inside the adapter             500     the exception's class name
reading a stream whose client was closed    500     ``ClosedResourceError``
==========================================  ======  ==========================

A ``RuntimeError`` anywhere in the cause chain wins: openai 1.x wraps "Event loop is closed" in
an ``APIConnectionError``, but it is a bug in the adapter, not a broken backend.

The last row is how learners meet the crash: ``500 RuntimeError: Event loop is closed``.
Checks go by class *name* along the MRO, so they hold for ``httpx`` (openai 1.x) and ``httpx2``
(openai 3.x) alike.
"""

from __future__ import annotations

from typing import Any

import openai


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _is(exc: BaseException, *names: str) -> bool:
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, type, message) for an exception raised while serving a request."""
    bug = next((e for e in _chain(exc) if type(e) is RuntimeError), None)
    if bug is not None:  # e.g. "Event loop is closed", even when a client wrapped it as a connection error
        return 500, "RuntimeError", str(bug)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code if 400 <= exc.status_code < 500 and exc.status_code != 429 else 502
        return status, "backend_error", f"vLLM answered HTTP {exc.status_code}: {exc.message}"
    chain = _chain(exc)
    if any(isinstance(e, openai.APITimeoutError) or _is(e, "TimeoutException") for e in chain):
        return 504, "backend_timeout", f"vLLM did not answer in time ({type(exc).__name__})"
    if any(_is(e, "ConnectError", "ConnectionRefusedError") for e in chain):
        return 503, "backend_unavailable", "vLLM is unreachable (connection refused)"
    if any(_is(e, "ClosedResourceError") for e in chain):  # our side closed it: an adapter bug, not vLLM
        return 500, "ClosedResourceError", ("the adapter read from a connection this process had already closed "
                                            "(was the client closed before its stream was read?)")
    if any(_is(e, "TransportError") or isinstance(e, OSError) for e in chain):
        return 502, "backend_connection_lost", f"the connection to vLLM broke: {chain[-1]!r:.200}"
    # Anything else is the adapter's own failure, even when the client wrapped it (an APIConnectionError
    # around an IndexError from reading a closed client's stream): name the exception at the root.
    root = chain[-1]
    return 500, type(root).__name__, str(root)


def error_body(status: int, type_: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": status}}
