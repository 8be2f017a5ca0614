"""The same bug elsewhere: each case's broken variant fails as its report did, its fixed one works.

Both run as real programs (a fresh interpreter each) against the real mock server, with the real
``openai`` client. "Fails as its report did": a ``RuntimeError: Event loop is closed`` at the root
of a failed step (or, for the finalizer, of the exception Python could only ignore in ``__del__``).
"Works": every step succeeded, nothing was ignored, and no client was left unclosed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from looplab.course.demos import cases
from looplab.servers import start_mock

CASES_DIR = Path(cases.__file__).parent
CLOSED = "RuntimeError: Event loop is closed"


@pytest.fixture(scope="module")
def backend():
    with start_mock() as mock:
        yield mock


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_broken_fails_as_reported(case, backend):
    result = cases.run(case.name, "broken", backend.base_url)
    found = [s["root"] for s in result["steps"] if s["outcome"] == "error"] if case.broken_shows == "step" \
        else [i["root"] for i in result["ignored"]]
    assert CLOSED in found, f"{case.name} (broken) should fail with {CLOSED!r}; it reported {result}"


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_fixed_works_and_closes_what_it_made(case, backend):
    result = cases.run(case.name, "fixed", backend.base_url)
    assert cases.failures(result) == [], result
    assert all(s["outcome"] == "ok" for s in result["steps"]) and result["steps"], result
    assert result["resource_warnings"] == [], f"{case.name} (fixed) left a client unclosed: {result['resource_warnings']}"


def test_every_case_module_is_registered_with_a_pattern_and_a_checked_report():
    modules = {p.stem for p in CASES_DIR.glob("*.py") if not p.name.startswith("_")}
    assert modules == set(cases.BY_NAME), "a case module without a CASES entry (or the reverse)"
    assert len(cases.CASES) >= 7
    for case in cases.CASES:
        assert case.pattern in cases.PATTERNS, case
        assert case.seen_in and all(re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", ref) for ref in case.seen_in), case
        doc = ast.get_docstring(ast.parse((CASES_DIR / f"{case.name}.py").read_text()))
        assert doc.startswith(f"Case {case.number} ·") and "Fix pattern" in doc, case.name
        assert case.pattern.replace("-", " ").split()[0] in doc.lower(), f"{case.name}: its docstring names another pattern"


def test_a_case_reads_in_a_minute():
    """Short enough to read in a minute: the broken and fixed code of a case fit in ~70 lines."""
    for case in cases.CASES:
        source = (CASES_DIR / f"{case.name}.py").read_text().splitlines()
        code = [line for line in source if line.strip() and not line.strip().startswith("#")]
        assert len(code) <= 75, f"{case.name}: {len(code)} lines"


def test_an_unknown_case_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="cli_reruns"):
        cases.case("nope")


def test_the_failed_command_was_served_anyway():
    """Notebook 08's exercise 8.1, as a fact: case 1's second command fails, and vLLM answered it."""
    from looplab.course.helpers import served

    with start_mock(keepalive_s=60) as mock:
        result = cases.run("cli_reruns", "broken", mock.base_url)
        assert [s["outcome"] for s in result["steps"]] == ["ok", "error"]
        assert served(mock.base_url) == 2


def test_one_loop_reuses_one_connection_and_per_call_pays_one_per_command():
    """Notebook 08's exercise 8.2, as a fact: two requests each, counted by the case itself (any backend) and by
    the mock (the connections it accepted): case 3's fix (one loop) opens one, case 1's (per-call) two."""
    with start_mock(keepalive_s=60) as mock:
        counted = []
        for name in ("warm_start", "cli_reruns"):
            with mock.counting_connections() as accepted:
                result = cases.run(name, "fixed", mock.base_url)
            assert result["connections"] == accepted.opened, result
            counted.append(result["connections"])
    assert counted == [1, 2]


def test_under_the_guard_the_crossing_names_where_the_client_was_made(backend):
    result = cases.run("warm_start", "broken", backend.base_url, guard=True)
    error = result["steps"][-1]["error"]
    assert error.startswith("LoopAffinityError: AsyncOpenAI made at ") and "warm_start.py:" in error, error
