"""Notebook 07, regression tests: predict which adapters the test fails."""

from __future__ import annotations

from typing import Any

from .predict import judge


def predict_the_failing_adapters(prediction: Any, outcomes: dict[str, str]) -> None:
    """The set of adapter names (as in ``ADAPTERS``) the first-request test fails on."""
    failed = {name for name, outcome in outcomes.items() if outcome == "failed"}
    judge("Exercise 7.1 (predict, then run)", prediction, failed,
          right=f"the test fails on {sorted(failed)} and passes on every fix",
          wrong=[({"broken"}, "LazyTouchedAtStartup fails too: it is 0.2.3's lazy client plus a warm-up in "
                  "initialize() that lists the models, and that first use creates the lazy client on the start-up "
                  "loop. A lazy fix holds only while start-up never touches the client.")],
          otherwise="Which adapters create (or first use) their serving client on the start-up loop? Those fail; "
                    "per_call, per_loop, lifespan and per_call_shared_ssl make it on the serving loop.",
          normalise=lambda guess: {str(name).split(":")[-1] for name in guess})
