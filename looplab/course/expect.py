"""What a guided notebook expects to see, and what to make of it when it sees something else.

A bare ``assert`` tells a learner nothing when it fails on another machine or against a real
vLLM; each function here checks one outcome a notebook relies on, prints one line when it holds,
and otherwise raises :class:`Unexpected` whose message says what was expected, what came instead,
and what usually causes the difference.
"""

from __future__ import annotations

from typing import Any


class Unexpected(AssertionError):
    """The notebook saw something other than what it teaches; the message says what, and why it may be."""

    def _render_traceback_(self) -> list[str]:  # IPython shows the explanation, not a traceback
        return [f"\033[31m✘ unexpected:\033[0m {self}"]


def _seen(what: str) -> None:
    print(f"✔ as expected: {what}")


def same(actual: Any, expected: Any, what: str, *, otherwise: str) -> None:
    """``actual == expected``: print ``what`` (and the value); else say what came instead and ``otherwise``
    (what usually causes the difference)."""
    if actual != expected:
        raise Unexpected(f"{what}: expected {expected!r}, got {actual!r}. {otherwise}")
    _seen(f"{what}: {actual!r}")


def true(condition: Any, what: str, *, otherwise: str) -> None:
    """``condition`` holds: print ``what``; else raise with ``otherwise`` (what it means, and what to try)."""
    if not condition:
        raise Unexpected(f"{what}: not so. {otherwise}")
    _seen(what)


def contains(text: str, needle: str, what: str, *, otherwise: str) -> None:
    """``needle`` is in ``text``; else show the end of ``text`` with ``otherwise``."""
    if needle not in text:
        tail = text.strip()[-300:] or "(nothing)"
        raise Unexpected(f"{what}: {needle!r} not found; the end of it reads: {tail!r}. {otherwise}")
    _seen(what)


def costs_are_counted(report: dict[str, Any]) -> None:
    """A strategies benchmark: no errors, a connection per request for ``per_call``, a pool's worth for the rest."""
    rows = {r["strategy"]: r for r in report["strategies"]}
    failed = {name: r["errors"] for name, r in rows.items() if r["errors"]}
    if failed:
        raise Unexpected(f"requests failed during the benchmark: {failed}. Is the machine short of memory or file "
                         "handles? `looplab doctor` checks the set-up.")
    per_call = rows["per_call"]
    if per_call["connections"] != per_call["requests_logged"]:
        raise Unexpected(f"per_call opened {per_call['connections']} connections for {per_call['requests_logged']} "
                         "requests; a client that lives for one call opens one each. Was the strategy changed?")
    pooled = {name: rows[name]["connections"] for name in ("per_loop", "lifespan") if name in rows}
    if any(n >= per_call["requests_logged"] / 2 for n in pooled.values()):
        raise Unexpected(f"{pooled} connections for {per_call['requests_logged']} requests each: a reused client "
                         "keeps a pool (refilled only when the client's 5 s keep-alive expiry empties it), not a "
                         "connection per request.")
    _seen(f"per_call: one connection per request ({per_call['connections']}); per_loop and lifespan reuse "
          f"their pool ({', '.join(f'{k} {v}' for k, v in pooled.items())})")
