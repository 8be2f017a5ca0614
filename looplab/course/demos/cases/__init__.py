"""The same bug elsewhere: eight small programs, each broken and fixed, each from a real report.

Every case is a script (``python -m looplab.course.demos.cases.NAME --variant broken|fixed
--base-url URL``) printing one JSON line (see :mod:`._case`). :func:`run` runs one against a
backend; ``looplab demos list`` prints this table; ``tests/test_demo_cases.py`` proves each broken
variant fails the way its report did and each fixed one passes, unclosed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PATTERNS = {
    "lifespan-owned": "the code that owns the serving loop makes the client when serving starts and closes it when it stops",
    "per-loop": "one client per running event loop, looked up by the loop itself, closed before that loop ends",
    "per-call": "each unit of work makes its own client, in an `async with`, and closes it",
    "one loop": "keep one event loop for the process's life and run every unit of work on it",
}


@dataclass(frozen=True)
class Case:
    number: int
    name: str  # the module
    title: str
    pattern: str  # a key of PATTERNS
    seen_in: tuple[str, ...]  # public reports, as owner/repo#N, checked in the threads
    broken_shows: str  # what the broken variant's failing step reports: "step" or "ignored" (a __del__)


CASES = [
    Case(1, "cli_reruns", "A cached client across sequential asyncio.run() calls (CLI commands, Streamlit reruns)",
         "per-call", ("encode/httpx#2473", "streamlit/streamlit#12076"), "step"),
    Case(2, "sync_init", "A client made and used in a sync `__init__`, then served on the server's loop",
         "lifespan-owned", ("fastapi/fastapi#3855", "ogx-ai/ogx#5130"), "step"),
    Case(3, "warm_start", "A serverless warm start: a global client, asyncio.run per invocation",
         "one loop", ("mongodb/motor#187", "Kludex/mangum#361"), "step"),
    Case(4, "task_worker", "A task worker running asyncio.run per task with a shared client",
         "one loop", ("jonra1993/fastapi-alembic-sqlmodel-async#94",), "step"),
    Case(5, "test_fixture", "A test fixture that makes the client on another loop than the test",
         "one loop", ("pytest-dev/pytest-asyncio#868",), "step"),
    Case(6, "preload_fork", "A server preloaded, then forked (gunicorn --preload)",
         "lifespan-owned", ("Kludex/uvicorn#85",), "step"),
    Case(7, "loop_blind_cache", "A client cache keyed without the loop, and the per-loop key",
         "per-loop", ("BerriAI/litellm#7667", "BerriAI/litellm#8861", "ogx-ai/ogx#1278"), "step"),
    Case(8, "late_finalizer", "A finalizer that closes the client after its loop is gone",
         "lifespan-owned", ("anthropics/anthropic-sdk-python#807", "openai/openai-python#1254"), "ignored"),
]
BY_NAME = {case.name: case for case in CASES}


def case(name: str) -> Case:
    if name not in BY_NAME:
        raise KeyError(f"no case {name!r}; the cases are: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def run(name: str, variant: str, base_url: str, *, guard: bool = False, **options: Any) -> dict[str, Any]:
    """Run one case's variant in a fresh interpreter against ``base_url``; its JSON, as a dict.
    ``guard``: under the loop guard (:mod:`looplab.tools.loopguard`); ``options`` go to ``run_demo``."""
    from .. import run_demo

    case(name)
    if variant not in ("broken", "fixed"):
        raise ValueError(f"variant {variant!r}: broken or fixed")
    return run_demo(f"cases.{name}", "--variant", variant, "--base-url", base_url, *(["--guard"] if guard else []),
                    **options)


def failures(result: dict[str, Any]) -> list[str]:
    """The root errors a run reported: failed steps, and exceptions Python could only ignore."""
    return [s["root"] for s in result["steps"] if s["outcome"] == "error"] + [i["root"] for i in result["ignored"]]


def url(reference: str) -> str:
    """``owner/repo#N`` as the address of its thread (GitHub sends a PR's number on to the PR)."""
    repo, number = reference.split("#")
    return f"https://github.com/{repo}/issues/{number}"
