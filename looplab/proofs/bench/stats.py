"""Percentiles and latency summaries, in milliseconds (JSON-ready: ``None``, never NaN)."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the closest ranks.

    Written out rather than ``statistics.quantiles`` because that needs two or more values.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def percentile_ms(values: list[float], q: float) -> float | None:
    """A percentile in ms, or None (JSON null, not NaN) when there is no value (every request failed)."""
    return ms(percentile(values, q)) if values else None


def summary(latencies: list[float]) -> dict[str, float | None]:
    """p50, p99 and mean, in milliseconds."""
    return {"p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
            "mean_ms": ms(sum(latencies) / len(latencies)) if latencies else None}
