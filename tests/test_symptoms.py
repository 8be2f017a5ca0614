"""One bug, three symptoms, pinned as measured (``looplab symptoms``; design.md section 2, issue #1968).

Each row: the broken adapter in the mini stack on one client stack, four requests after start-up,
the first inside the keep-alive or after it expired, the client's retries on (2) or off (0). What the
caller got and how many times the backend generated each request are facts the lessons teach; a
version bump that changes one fails here, with the row that changed.
"""

from __future__ import annotations

from importlib import metadata

import pytest

from looplab.project import locked_versions
from looplab.proofs.symptoms import measure
from looplab.real.envs import EXACT, INCIDENT

OK, CRASH, HUNG = 200, 500, 504
# (stack, keep-alive, retries) -> (what the caller got for requests 1-4, times the backend generated each)
AS_MEASURED = {
    # the reporter's httpcore 1.0.2: after the keep-alive, the pool is wedged and nothing reaches the backend
    ("exact", "inside", 2): ([OK, OK, OK, OK], [2, 1, 1, 1]),
    ("exact", "inside", 0): ([CRASH, OK, OK, OK], [1, 1, 1, 1]),
    ("exact", "expired", 2): ([HUNG, HUNG, HUNG, HUNG], [0, 0, 0, 0]),
    ("exact", "expired", 0): ([CRASH, HUNG, HUNG, HUNG], [0, 0, 0, 0]),
    # the incident era's httpcore 1.0.8: the default retries hide it (and double the work inside the keep-alive)
    ("incident-era", "inside", 2): ([OK, OK, OK, OK], [2, 1, 1, 1]),
    ("incident-era", "inside", 0): ([CRASH, OK, OK, OK], [1, 1, 1, 1]),
    ("incident-era", "expired", 2): ([OK, OK, OK, OK], [1, 1, 1, 1]),
    ("incident-era", "expired", 0): ([CRASH, OK, OK, OK], [0, 1, 1, 1]),
    # today's httpcore2 under openai 3.x: no retry of the RuntimeError; the first request fails, once
    ("current", "inside", 2): ([CRASH, OK, OK, OK], [1, 1, 1, 1]),
    ("current", "inside", 0): ([CRASH, OK, OK, OK], [1, 1, 1, 1]),
    ("current", "expired", 2): ([CRASH, OK, OK, OK], [0, 1, 1, 1]),
    ("current", "expired", 0): ([CRASH, OK, OK, OK], [0, 1, 1, 1]),
}


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str, int], dict]:
    return {(r["stack"], r["keepalive"], r["retries"]): r for r in measure()}


@pytest.mark.parametrize("case", list(AS_MEASURED), ids=lambda c: "-".join(map(str, c)))
def test_each_symptom_is_as_measured(rows, case):
    row = rows[case]
    statuses, generations = AS_MEASURED[case]
    assert (row["statuses"], row["generations"]) == (statuses, generations), \
        f"FACT CHANGED for {case}: {row['symptom']}; caller got {row['statuses']}, generated {row['generations']}"
    assert row["hangs"] == [s == HUNG for s in statuses]  # a 504 here is the client giving up on a wedged pool


def test_the_rows_name_the_versions_they_ran(rows):
    versions = {r["stack"]: (r["httpcore_package"], r["httpcore"]) for r in rows.values()}
    assert versions == {"exact": ("httpcore", EXACT.version("httpcore")),
                        "incident-era": ("httpcore", INCIDENT.version("httpcore")),
                        "current": ("httpcore2", metadata.version("httpcore2"))}
    assert metadata.version("httpcore2") in locked_versions()["httpcore2"]
    assert EXACT.version("httpcore") == "1.0.2"  # the release the reporter's line numbers point to


def test_the_reporters_stack_breaks_where_the_reporters_traceback_does(rows):
    """#1968's traceback goes through httpcore/_async/connection_pool.py line 234,
    `await self._close_expired_connections()`: so does httpcore 1.0.2's after the keep-alive expired."""
    row = rows[("exact", "expired", 0)]
    assert row["error"] == "RuntimeError: Event loop is closed"
    assert "httpcore/_async/connection_pool.py:234 handle_async_request" in row["pool_frames"]
    assert any("_close_expired_connections" in frame for frame in row["pool_frames"])
    assert row["last_frame"].endswith("_check_closed")
    inside = rows[("exact", "inside", 0)]  # inside the keep-alive: the request was sent, reading the answer failed
    assert not any(":234 " in frame for frame in inside["pool_frames"])


def test_three_symptoms_one_bug(rows):
    symptoms = {r["symptom"] for r in rows.values()}
    assert {"hidden: all 200, request 1 generated twice", "the first request fails, then it works",
            "every request fails: later ones hang"} <= symptoms
    assert all(r["error"] in (None, "RuntimeError: Event loop is closed") for r in rows.values())
