"""Fault injection: which generation request fails, and how.

A rule reads ``KIND@SCHEDULE``:

* ``500@1,3``      the 1st and 3rd generation requests get an HTTP 500;
* ``429@2``        the 2nd gets an HTTP 429 (rate limited);
* ``drop@1``       the 1st has its connection dropped (mid-stream when streaming);
* ``stall@4``      the 4th hangs (for ``stall_s`` seconds) without producing a token;
* ``500@rate=0.2`` each request fails with probability 0.2, from a seeded generator, so a
  given ``--fault-seed`` always fails the same requests.

Only generation requests (``/v1/chat/completions`` and ``/v1/completions``) are counted, so
health checks and model listings never shift the schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_KINDS = ("500", "429", "drop", "stall")


@dataclass(frozen=True)
class FaultRule:
    kind: str
    requests: frozenset[int] = field(default_factory=frozenset)
    rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"a fault rate must lie between 0 and 1, got {self.rate}")
        if any(n < 1 for n in self.requests):
            raise ValueError("requests are counted from 1")

    def __str__(self) -> str:
        if self.requests:
            return f"{self.kind}@{','.join(str(n) for n in sorted(self.requests))}"
        return f"{self.kind}@rate={self.rate}"


def parse_fault(text: str) -> FaultRule:
    """Parse ``KIND@SCHEDULE`` (see the module docstring); raise ``ValueError`` with a hint."""
    kind, sep, schedule = text.strip().partition("@")
    if not sep or not schedule:
        raise ValueError(f"fault {text!r}: expected KIND@SCHEDULE, e.g. 500@1,3 or drop@rate=0.1")
    if schedule.startswith("rate="):
        try:
            rate = float(schedule.removeprefix("rate="))
        except ValueError:
            raise ValueError(f"fault {text!r}: the rate must be a number between 0 and 1") from None
        return FaultRule(kind=kind, rate=rate)
    try:
        numbers = frozenset(int(part) for part in schedule.split(","))
    except ValueError:
        raise ValueError(f"fault {text!r}: the schedule must list request numbers, e.g. 1,3") from None
    return FaultRule(kind=kind, requests=numbers)


class FaultPlan:
    """Decides, request by request, which fault (if any) applies."""

    def __init__(self, rules: list[FaultRule], seed: int = 0) -> None:
        self._rules = list(rules)
        self._random = random.Random(seed)
        self._count = 0

    def next_request(self) -> tuple[int, str | None]:
        """Count one generation request; return its number and the fault kind to inject."""
        self._count += 1
        chosen: str | None = None
        for rule in self._rules:
            # Draw for every rate rule on every request, so the sequence depends on the seed only.
            hit = self._count in rule.requests if rule.requests else self._random.random() < rule.rate
            if hit and chosen is None:
                chosen = rule.kind
        return self._count, chosen
