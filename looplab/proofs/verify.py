"""Proofs that a stack serves correctly: bursts of requests, the mock's log, the stack's sockets.

Shared by the tests, the notebooks and the lab checks, so each proves the same thing the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2

MODEL = "tiny-llama"


@dataclass
class Outcome:
    marker: str
    stream: bool
    status: int
    ok: bool
    detail: str = ""


@dataclass
class BurstResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def markers(self) -> list[str]:
        return [o.marker for o in self.outcomes]

    def summary(self) -> str:
        streams = sum(o.stream for o in self.outcomes)
        first = f"; first: {self.errors[0].status} {self.errors[0].detail[:160]}" if self.errors else ""
        return (f"{len(self.outcomes)} requests ({streams} streamed, {len(self.outcomes) - streams} plain): "
                f"{len(self.errors)} failed{first}")


async def chat(client: httpx2.AsyncClient, *, stream: bool, marker: str, words: int = 4,
               model: str = MODEL) -> Outcome:
    """One chat request to an OpenAI-compatible server; checks the answer is complete."""
    prompt = " ".join(f"w{i}" for i in range(words))
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream, "user": marker}
    try:
        if not stream:
            response = await client.post("/v1/chat/completions", json=body)
            if response.status_code != 200:
                return Outcome(marker, stream, response.status_code, False, response.text)
            content = response.json()["choices"][0]["message"]["content"]
            return Outcome(marker, stream, 200, bool(content), "" if content else "empty answer")
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code != 200:
                return Outcome(marker, stream, response.status_code, False, (await response.aread()).decode())
            frames = [line.removeprefix("data: ") async for line in response.aiter_lines() if line.startswith("data: ")]
        errors = [f for f in frames if f != "[DONE]" and "error" in json.loads(f)]
        if errors:
            return Outcome(marker, stream, 200, False, f"error in stream: {errors[0]}")
        if not frames or frames[-1] != "[DONE]":
            return Outcome(marker, stream, 200, False, "stream ended without [DONE]")
        return Outcome(marker, stream, 200, True)
    except httpx2.HTTPError as exc:
        return Outcome(marker, stream, 0, False, f"{type(exc).__name__}: {exc}")


async def burst(url: str, n: int, *, concurrent: bool, stream_every: int = 2, label: str = "burst",
                timeout: float = 60) -> BurstResult:
    """``n`` chat requests to ``url``, one after another or all at once; every ``stream_every``-th streams."""
    limits = httpx2.Limits(max_connections=max(n, 1), max_keepalive_connections=max(n, 1))
    run_id = uuid.uuid4().hex[:8]
    async with httpx2.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        calls = [chat(client, stream=stream_every > 0 and i % stream_every == 0, marker=f"{label}-{run_id}-{i}")
                 for i in range(n)]
        if concurrent:
            outcomes = await asyncio.gather(*calls)
        else:
            outcomes = [await call for call in calls]
    return BurstResult(list(outcomes))


def run_burst(url: str, n: int, **kwargs: Any) -> BurstResult:
    """:func:`burst` from synchronous code. Where a loop is already running in this thread (a
    Jupyter cell, a lab check), it runs on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(burst(url, n, **kwargs))
    return in_a_thread(lambda: asyncio.run(burst(url, n, **kwargs)))


def in_a_thread(fn: Any) -> Any:
    """Run ``fn()`` in a fresh thread, where no event loop runs (so ``asyncio.run`` works there), and
    return its result (or raise its exception). Jupyter's own loop forbids ``asyncio.run`` in a cell."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def delivery_counts(records: list[dict[str, Any]], markers: list[str]) -> dict[str, int]:
    """How many times the backend received each marked request; only the ones not received exactly once."""
    seen = Counter(r.get("user") for r in records if r.get("path", "").endswith("completions"))
    return {m: seen.get(m, 0) for m in markers if seen.get(m, 0) != 1}


def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` passes (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
