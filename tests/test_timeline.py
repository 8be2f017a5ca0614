"""The upstream story in one place: every upstream number and release the material cites is in
``looplab/course/timeline.yml`` (checked in its thread there), and the pages are built from it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from looplab.course import timeline
from looplab.project import ROOT

#: Llama Stack's own releases the workshop studies (not events of the timeline).
STUDIED_RELEASES = {"0.2.2", "0.2.3"}
NUMBER = re.compile(r"(?<![\w/#&])#(\d{3,5})\b")
EXTERNAL = re.compile(r"\b([\w.-]+/[\w.-]+)#(\d+)\b")
UPSTREAM_URL = re.compile(r"github\.com/(?:ogx-ai/ogx|meta-llama/llama-stack)/(?:issues|pull|discussions)/(\d+)")
RELEASE = re.compile(r"(?:[Ll]lama[ -][Ss]tack|llama-stack|[Rr]eleased in|release) v?(0\.\d+\.\d+)\b|\bv(0\.\d+\.\d+)\b")


def material() -> dict[str, str]:
    """Every text a reader or learner meets: pages, notebooks, labs, README, NOTICE, code and its docstrings."""
    texts = {}
    paths = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "NOTICE", ROOT / "episodes.yml",
             *sorted((ROOT / "looplab").rglob("*.py")), *sorted((ROOT / "docs" / "hooks").glob("*.py"))]
    for path in paths:
        texts[str(path.relative_to(ROOT))] = path.read_text()
    for folder in ("notebooks", "solutions", "labs"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            texts[f"{folder}/{path.name}"] = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    return texts


def cited(text: str) -> tuple[set[int], set[str], set[str]]:
    """(upstream numbers, other projects' references, releases) a text cites."""
    external = {f"{repo}#{n}" for repo, n in EXTERNAL.findall(text)}
    stripped = EXTERNAL.sub("", text)
    numbers = {int(n) for n in NUMBER.findall(stripped)} | {int(n) for n in UPSTREAM_URL.findall(text)}
    releases = {a or b for a, b in RELEASE.findall(text)}
    return numbers, external, releases


def test_the_scanner_finds_what_it_must():
    numbers, external, releases = cited("see #1968 and PR #1969, encode/httpx#2473, released in 0.2.3, and v0.6.0; "
                                        "colour #4c72b0, a heading ## Key points, https://github.com/ogx-ai/ogx/pull/2818")
    assert numbers == {1968, 1969, 2818} and external == {"encode/httpx#2473"} and releases == {"0.2.3", "0.6.0"}


def test_every_upstream_number_in_the_material_is_in_the_timeline():
    known, elsewhere = timeline.numbers(), {item["ref"] for item in timeline.elsewhere()}
    upstream = {f"{timeline.load_raw()['repository']}#{n}" for n in known}  # ogx-ai/ogx#5130 is event 5130
    unknown = []
    for name, text in material().items():
        numbers, external, _ = cited(text)
        unknown += [f"{name}: #{n}" for n in sorted(numbers - known)]
        unknown += [f"{name}: {ref}" for ref in sorted(external - elsewhere - upstream)]
    assert not unknown, "cited but not in looplab/course/timeline.yml (check it in its thread, then add it):\n" + \
        "\n".join(unknown)


def test_every_release_the_material_names_is_the_timelines_or_a_studied_one():
    known = timeline.releases() | STUDIED_RELEASES
    unknown = [f"{name}: {r}" for name, text in material().items() for r in sorted(cited(text)[2] - known)]
    assert not unknown, "\n".join(unknown)


def test_a_release_cited_for_an_event_is_the_release_the_timeline_gives_it():
    """'#2818 ... 0.2.16' in a page must agree with the data (a mistyped release is caught)."""
    wrong = []
    for name, text in material().items():
        for match in re.finditer(r"#(\d{3,5})\b[^#\n]{0,60}?\b(0\.\d+\.\d+)\b", EXTERNAL.sub("", text)):
            number, release = int(match[1]), match[2]
            if number in timeline.numbers() and release not in STUDIED_RELEASES:
                expected = timeline.event(number).released
                if expected is not None and release != expected:
                    wrong.append(f"{name}: #{number} with {release}, the timeline says {expected}")
    assert not wrong, "\n".join(wrong)


def test_every_event_says_how_far_it_was_checked_and_unchecked_ones_say_so():
    for event in timeline.events():
        assert event.verified, f"#{event.number} must say how it was checked"
        if event.title.startswith("(not found)"):
            assert event.verified.startswith("no"), f"#{event.number} could not be read: say so"


@pytest.mark.parametrize("number", [1968, 1969, 2818, 3404, 3462, 4221, 4486])
def test_the_story_s_milestones_are_in_the_timeline_page(number):
    page = timeline.markdown_table()
    assert f"[#{number}](https://github.com/ogx-ai/ogx/" in page
    assert Path(ROOT / "docs" / "timeline.md").read_text().count("<!-- looplab:timeline -->") == 1


# --- facts checked again in the threads (issue 23); each assertion fails if the old wording comes back

def _elsewhere(ref: str) -> dict:
    return next(item for item in timeline.elsewhere() if item["ref"] == ref)


def test_every_date_has_one_basis_the_day_the_thread_was_opened_and_the_page_says_so():
    assert timeline.load_raw()["dates"] == "opened"
    assert "the day the thread was opened" in (ROOT / "docs" / "timeline.md").read_text()
    assert "提出的那一天" in (ROOT / "docs" / "timeline.zh.md").read_text()
    assert timeline.markdown_table().startswith("| opened |")
    opened = {1969: "2025-04-16", 2025: "2025-04-24", 2835: "2025-07-21", 2862: "2025-07-22", 3404: "2025-09-10",
              3462: "2025-09-16", 4486: "2026-01-10", 5591: "2026-04-18", 5837: "2026-05-13", 6072: "2026-06-09",
              6148: "2026-06-19", 6161: "2026-06-22"}  # each read in its thread's description
    assert {n: timeline.event(n).date.isoformat() for n in opened} == opened


def test_6161_is_not_said_to_have_merged_by_its_opening_day():
    assert "merged after" in timeline.event(6161).what and "2026-06-28" in timeline.event(6161).what


def test_4486s_fastest_figure_is_the_mock_hit_directly():
    what = timeline.event(4486).what
    assert "341.45" in what and "mock backend hit directly" in what and "no Llama Stack in the path" in what
    assert "without the inference provider" not in what


def test_3709s_cause_is_marked_as_looplabs_inference():
    event = timeline.event(3709)
    assert '"not sure why"' in event.what and "an inference, not the PR's" in event.what
    assert "inference" in event.verified


def test_5135_has_its_real_title():
    assert timeline.event(5135).title == ("fix(storage): resolve asyncio event loop mismatch via operation deferral "
                                          "(#5130)")


def test_litellm_random_key_workaround_came_before_the_loop_id_pr():
    workaround, pr = _elsewhere("BerriAI/litellm#7667")["what"], _elsewhere("BerriAI/litellm#8861")["what"]
    assert "2025-02-11" in workaround and "random id" in workaround
    assert "had come before this PR" in pr and "later commenter" not in pr


def test_other_projects_threads_are_not_overstated():
    assert "nobody confirms it" in _elsewhere("fastapi/fastapi#3855")["what"]
    assert "fixed by" not in _elsewhere("fastapi/fastapi#3855")["what"]
    assert "openai/openai-python#1262" in _elsewhere("openai/openai-python#1254")["what"]
    pytest_asyncio = _elsewhere("pytest-dev/pytest-asyncio#868")["what"]
    assert "loop_scope" not in pytest_asyncio and "0.24" not in pytest_asyncio
    assert "one per model id" in _elsewhere("ogx-ai/ogx#1278")["what"]
