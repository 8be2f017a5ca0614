"""What constructing an ``openai`` client costs: counted (what the tests assert) and timed (what is shown).

Most of ``AsyncOpenAI()``'s construction is its HTTP client's SSL context, built even for
``http://`` URLs. What that costs depends on the platform: on Linux, ``httpcore2`` builds a context
and loads OpenSSL's CA bundle into it (tens of milliseconds); on macOS and Windows it builds a
``truststore`` context that asks the OS to verify at handshake time (cheap to build). httpx 0.28
(the incident era's client) loads certifi's bundle everywhere.

:func:`construction_work` counts the SSL contexts built and CA bundles loaded while a client is
made; the counts do not depend on the machine's speed, so tests assert them. :func:`construction_costs`
times the same constructions, for notebooks and benchmarks to *show*. :func:`platform_branch` makes
``httpcore2`` take another platform's branch, so the macOS/Windows path is exercised on Linux.
(``SSL_CERT_FILE`` or ``SSL_CERT_DIR``, when set, win over the platform: httpcore2 then loads that
bundle on every platform, as ``ssl.create_default_context(cafile=...)``.)
"""

from __future__ import annotations

import contextlib
import os
import platform
import ssl
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

URL = "http://127.0.0.1:9/v1"  # never contacted: construction opens no connection


def new_client() -> Any:
    """``AsyncOpenAI()`` as an adapter builds it (the default HTTP client, its own SSL context)."""
    import openai

    return openai.AsyncOpenAI(base_url=URL, api_key="x")


def client_with(context: ssl.SSLContext) -> Any:
    """``AsyncOpenAI()`` whose HTTP client reuses ``context`` (the shared-SSL-context fix)."""
    import openai

    from ..adapters.per_call_shared_ssl import AsyncHttpClient

    return openai.AsyncOpenAI(base_url=URL, api_key="x", http_client=AsyncHttpClient(verify=context))


@contextlib.contextmanager
def counting_ssl() -> Iterator[Counter]:
    """Count ``ssl.SSLContext`` objects created (truststore's included) and CA bundles loaded."""
    counts: Counter = Counter()
    original_new, original_load = ssl.SSLContext.__new__, ssl.SSLContext.load_verify_locations

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        counts["ssl_contexts"] += 1
        return original_new(cls, *args, **kwargs)

    def load(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["ca_loads"] += 1
        return original_load(self, *args, **kwargs)

    ssl.SSLContext.__new__ = new  # type: ignore[method-assign]
    ssl.SSLContext.load_verify_locations = load  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        ssl.SSLContext.__new__ = original_new  # type: ignore[method-assign]
        ssl.SSLContext.load_verify_locations = original_load  # type: ignore[method-assign]


def construction_work(make: Callable[[], Any]) -> dict[str, int]:
    """``{"ssl_contexts": n, "ca_loads": m}`` for one call of ``make``."""
    with counting_ssl() as counts:
        make()
    return {"ssl_contexts": counts["ssl_contexts"], "ca_loads": counts["ca_loads"]}


CERT_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")


class _PlatformAs:
    """The ``platform`` module, except that ``system()`` answers ``system``."""

    def __init__(self, system: str) -> None:
        self._system = system

    def __getattr__(self, name: str) -> Any:
        return getattr(platform, name)

    def system(self) -> str:
        return self._system


@contextlib.contextmanager
def platform_branch(system: str) -> Iterator[None]:
    """Make ``httpcore2`` build its default SSL context as it does on ``system`` ("Darwin", "Windows",
    "Linux") with no ``SSL_CERT_*`` variable set."""
    import httpcore2._ssl as httpcore_ssl

    saved = {name: os.environ.pop(name) for name in CERT_ENV if name in os.environ}
    branches = _branches_on_platform(httpcore_ssl)
    original = httpcore_ssl.platform if branches else None
    if branches:
        httpcore_ssl.platform = _PlatformAs(system)  # type: ignore[assignment]
    try:
        yield
    finally:
        if branches:
            httpcore_ssl.platform = original
        os.environ.update(saved)


def loads_a_bundle_on_linux() -> bool:
    """Whether the installed httpcore2 has a Linux branch that loads a CA bundle per client (2.16 does)."""
    import httpcore2._ssl as httpcore_ssl

    return _branches_on_platform(httpcore_ssl)


def _branches_on_platform(httpcore_ssl: Any) -> bool:
    """httpcore2 2.16 (Python 3.11+) loads a CA bundle on Linux and truststore elsewhere; 2.14, which the
    lock gives Python 3.10, uses truststore on every platform, so there is no branch to force."""
    return hasattr(httpcore_ssl, "platform")


FORCE_ENV = "LOOPLAB_SSL_PLATFORM"


def force_branch_from_environment() -> None:
    """With ``LOOPLAB_SSL_PLATFORM=Darwin`` (or ``Windows``) set, this whole process builds its SSL
    contexts as on that platform, for good: how the test suite runs the cost notebook and lab on the
    macOS/Windows path. Does nothing without the variable, or where httpcore2 is not installed."""
    system = os.environ.get(FORCE_ENV)
    if not system:
        return
    try:
        import httpcore2._ssl as httpcore_ssl
    except ImportError:
        return
    for name in CERT_ENV:
        os.environ.pop(name, None)
    if _branches_on_platform(httpcore_ssl):
        httpcore_ssl.platform = _PlatformAs(system)  # type: ignore[assignment]


def this_platform_branch() -> str:
    """Which branch ``httpcore2`` takes here: "SSL_CERT_FILE"/"SSL_CERT_DIR" (a bundle named by the
    environment), "truststore" (macOS, Windows) or "ca-bundle" (Linux and the rest)."""
    named = next((name for name in CERT_ENV if os.environ.get(name)), None)
    if named:
        return named
    try:
        import httpcore2._ssl as httpcore_ssl
    except ImportError:
        httpcore_ssl = None
    if httpcore_ssl is not None and not _branches_on_platform(httpcore_ssl):
        return "truststore"
    system = os.environ.get(FORCE_ENV) or platform.system()
    return "truststore" if system in ("Darwin", "Windows") else "ca-bundle"


def construction_costs(n: int = 15) -> dict[str, float]:
    """Median milliseconds to build a client, with and without a shared SSL context (for showing, not asserting)."""
    def median_ms(make: Callable[[], Any]) -> float:
        samples = []
        for _ in range(n):
            began = time.perf_counter()
            make()
            samples.append(time.perf_counter() - began)
        return statistics.median(samples) * 1000

    context = ssl.create_default_context()
    return {
        "AsyncOpenAI()": median_ms(new_client),
        "ssl.create_default_context()": median_ms(ssl.create_default_context),
        "AsyncOpenAI() with a shared SSL context": median_ms(lambda: client_with(context)),
    }
