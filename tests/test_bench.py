"""``looplab bench`` run as a user would, small: it checks what the benchmark reports, not how fast.

Timings depend on the machine, so only their shape is asserted (present, positive, p50 <= p99);
correctness is asserted exactly: no errors, every stream finished, and the mock's own request log
agrees with what the client sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from looplab.project import locked_version
from looplab.proofs.bench.stats import percentile

N, C, WARMUP = 20, 20, 2


def looplab_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "looplab", "bench", *args],
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = looplab_bench("--target", "mock", "--requests", str(N), "--concurrency", str(C),
                           "--warmup", str(WARMUP), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)  # stdout is one JSON object and nothing else


def assert_latencies(figures: dict[str, Any]) -> None:
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["mean_ms"] > 0


def test_reports_versions_settings_and_success(report):
    assert report["target"] == "mock" and report["ok"] is True
    assert {"python", "openai", "uvicorn", "httpx2"} <= report["versions"].keys()
    assert report["versions"]["openai"] == locked_version("openai")
    assert report["settings"] == {**report["settings"], "requests": N, "concurrency": C, "warmup": WARMUP}


def test_sequential_phase_measures_both_servers_on_one_reused_connection(report):
    seq = report["sequential"]
    for name in ("bare", "mock"):
        assert seq[name]["requests"] == N and seq[name]["errors"] == 0, seq[name]["error_samples"]
        assert_latencies(seq[name])
        assert seq[name]["requests_per_s"] > 0 and seq[name]["server_cpu_s"] >= 0
    assert seq["mock_minus_bare_p50_ms"] == pytest.approx(seq["mock"]["p50_ms"] - seq["bare"]["p50_ms"], abs=1e-3)
    log = seq["mock"]["log"]
    assert log["generation_requests"] == N + WARMUP and log["duplicate_ids"] == 0 and log["exact"]
    assert log["distinct_client_ports"] == 1  # the reused client kept its one keep-alive connection


def test_concurrent_phase_finishes_every_stream_and_the_mock_logs_each_once(report):
    conc = report["concurrent"]
    for name in ("bare", "mock"):
        r = conc[name]
        assert r["streams"] == C and r["errors"] == 0 and r["unfinished"] == 0, r["error_samples"]
        assert r["completed"] == C
        assert_latencies(r)
        assert 0 < r["first_chunk_p50_ms"] <= r["p50_ms"] + 1e-3
        assert r["wall_s"] > 0 and r["client_cpu_s"] > 0 and r["server_cpu_s"] >= 0
    # Same frames from both servers (role, 7 tokens), or the comparison would not be fair.
    assert conc["bare"]["chunks_per_stream"] == conc["mock"]["chunks_per_stream"] == [8]
    log = conc["mock"]["log"]
    assert log["generation_requests"] == C and log["duplicate_ids"] == 0
    assert log["statuses"] == [200] and log["outcomes"] == ["ok"] and log["exact"]
    assert log["distinct_client_ports"] == C  # C streams at once: C connections


@pytest.mark.parametrize("args, message", [
    (["--requests", "0"], "argument --requests: must be at least 1, got 0"),
    (["--concurrency", "-5"], "argument --concurrency: must be at least 1, got -5"),
    (["--requests", "many"], "argument --requests: expected a whole number, got 'many'"),
    (["--warmup", "-1"], "argument --warmup: must be at least 0, got -1"),
    (["--target", "vllm"], "argument --target: invalid choice: 'vllm'"),
    (["--target", "startup", "--pairs", "0"], "argument --pairs: must be at least 1, got 0"),
    (["--pairs", "3"], "--pairs goes with --target startup"),
    (["--target", "startup", "--tls", "--requests", "5"], "--requests, --tls do not go with --target startup"),
])
def test_bad_arguments_exit_non_zero_with_a_clear_message(args, message):
    result = looplab_bench(*args, "--json")
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""


def test_percentile_interpolates_and_handles_one_value():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0], 99) == pytest.approx(2.98)
    assert percentile([7.0], 50) == percentile([7.0], 99) == 7.0


def test_strategy_bench_measures_every_strategy_and_counts_connections(tmp_path):
    """Structure and counts, not timings: a per-call client opens one connection per request,
    the reusing strategies stay within their pool."""
    png = tmp_path / "strategies.png"
    result = subprocess.run([sys.executable, "-m", "looplab", "bench", "--target", "strategies", "--requests", "10",
                             "--concurrency", "4", "--json", "--plot", str(png)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {r["strategy"]: r for r in report["strategies"]}
    assert list(rows) == ["reused", "per_call", "per_call_shared_ssl", "lazy_once", "per_loop", "lifespan"]
    requests = 10 + 5 * 4  # sequential + concurrent per round, 5 rounds
    for name, row in rows.items():
        assert row["errors"] == 0 and row["requests_logged"] == requests, name
        assert row["p50_ms"] <= row["p99_ms"]
    for name in ("per_call", "per_call_shared_ssl"):
        assert rows[name]["connections"] == requests  # a new connection every call
    for name in ("reused", "lazy_once", "per_loop", "lifespan"):
        assert rows[name]["connections"] < requests / 2  # a pool's connections, reused (not one per request)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_plot_and_vllm_url_belong_to_the_strategies_target():
    result = subprocess.run([sys.executable, "-m", "looplab", "bench", "--plot", "x.png"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "go with --target strategies" in result.stderr


def test_startup_bench_starts_every_pair_both_ways_and_counts_the_fork_servers_preload():
    """The README's forked-versus-exec'd figure comes from this benchmark: both runs serve their request,
    the forked run's servers really were forked (else the report is not ok), and the preload is counted."""
    result = looplab_bench("--target", "startup", "--pairs", "1", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["pairs"] == 1
    runs = report["runs"]
    for mode in ("exec", "forked"):
        assert runs[mode]["error_count"] == 0 and runs[mode]["servers_cpu_s"] > 0 and runs[mode]["wall_s"] > 0, runs
    assert runs["exec"]["fork_server_cpu_s"] is None and runs["forked"]["fork_server_cpu_s"] > 0
    assert runs["forked"]["cpu_s"] == pytest.approx(runs["forked"]["servers_cpu_s"] + runs["forked"]["fork_server_cpu_s"],
                                                    abs=0.02)
    import io

    from rich.console import Console

    from looplab.proofs.bench import startup

    table = io.StringIO()
    startup.render(report, Console(file=table, width=150))  # what the README's command prints without --json
    assert "exec" in table.getvalue() and "forked" in table.getvalue() and "Every request succeeded." in table.getvalue()


def test_requests_in_flight_are_counted_from_the_backends_log_whatever_the_load():
    """A lock shows as one request in flight however long each one takes; requests sent together overlap.
    The next request of a serialised client arrives a whole round trip after the last response left."""
    from looplab.proofs.bench.strategies import max_in_flight

    rtt = 0.05
    one_by_one = [{"t_start": i * 0.2, "t_end": i * 0.2 + 0.2 - rtt} for i in range(8)]  # the next, a round trip on
    late_stamps = [{**r, "t_end": r["t_end"] + 0.49 * rtt} for r in one_by_one]  # t_end stamped late: still apart
    too_soon = [{**r, "t_end": r["t_end"] + 0.51 * rtt} for r in one_by_one]  # beyond the margin: counted together
    together = [{"t_start": 1.0 + i * 0.002, "t_end": 1.0015 + i * 0.002} for i in range(8)]
    assert max_in_flight(one_by_one, rtt) == max_in_flight(late_stamps, rtt) == 1
    assert max_in_flight(too_soon, rtt) == 2
    assert max_in_flight(together, rtt) == 8
    assert max_in_flight(together, 0.0) == 1  # without the link's time, quick answers do not overlap
    assert max_in_flight([*together, {"t_start": 2.0, "t_end": None}], rtt) == 8  # an unfinished record: ignored
