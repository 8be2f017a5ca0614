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
