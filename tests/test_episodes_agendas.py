"""The agendas in ``episodes.yml`` fit their clocks, and the 90-minute session has learners coding.

When an episode's minutes change, these tests (and the website's build) name the agenda, its total
and its clock, so the plan can be re-balanced in one place.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from looplab.course import episodes


@pytest.fixture(scope="module")
def manifest() -> episodes.Manifest:
    return episodes.load()


def test_every_agenda_adds_up_to_its_clock(manifest):
    totals = {key: sum(slot.minutes for slot in manifest.schedule(key)) for key in manifest.agendas}
    wrong = {key: f"plan {total} min, clock {manifest.agendas[key].clock} min"
             for key, total in totals.items() if total != manifest.agendas[key].clock}
    assert not wrong, f"re-balance these agendas in episodes.yml: {wrong}"


def test_the_agendas_agree_with_the_episodes(manifest):
    assert manifest.agenda_problems() == []


def test_the_90_minute_session_has_learners_coding_in_a_lab(manifest):
    slots = manifest.schedule("90min")
    assert any(slot.kind == "lab" for slot in slots), "the 90-minute plan needs at least one lab"
    assert sum(slot.coding for slot in slots) >= 30, "learners should code for a third of the session"


def test_the_half_day_places_its_breaks_between_episodes(manifest):
    slots = manifest.schedule("half-day")
    breaks = [i for i, slot in enumerate(slots) if slot.kind == "break"]
    assert len(breaks) >= 2
    for i in breaks:
        assert slots[i - 1].kind in ("episode", "lab") and slots[i + 1].kind == "episode"


def test_start_times_run_on_from_each_item(manifest):
    slots = manifest.schedule("90min")
    assert slots[0].start == 0
    assert all(later.start == earlier.end for earlier, later in zip(slots, slots[1:]))
    assert episodes.clock_time(0) == "0:00" and episodes.clock_time(73) == "1:13"


def _manifest_with(tmp_path: Path, agendas: str) -> episodes.Manifest:
    text = episodes.MANIFEST.read_text()
    body = text[text.index("episodes:\n"):]
    path = tmp_path / "episodes.yml"
    path.write_text("agendas:\n" + textwrap.indent(textwrap.dedent(agendas), "  ") + body)
    return episodes.load(path)


def test_a_plan_that_overruns_its_clock_is_named_with_its_total_and_clock(tmp_path):
    manifest = _manifest_with(tmp_path, """\
        90min:
          title: short
          clock: 20
          plan: [{intro: 5}, {episode: 1}, {lab: 1}]
          leaves_out: {2: x, 3: x, 4: x, 5: x, 6: x, 7: x, 8: x}
        half-day:
          title: long
          clock: 5
          plan: [{intro: 5}]
          leaves_out: {1: x, 2: x, 3: x, 4: x, 5: x, 6: x, 7: x, 8: x}
    """)
    one = manifest.episode(1)
    total = 5 + one.minutes + one.lab["minutes"]  # the episode's own minutes, read here, not copied
    problems = [p for p in manifest.agenda_problems() if "adds up to" in p]
    assert len(problems) == 1
    assert "'90min'" in problems[0] and f"{total} min" in problems[0] and "clock is 20 min" in problems[0]
    assert f"{total - 20} min over" in problems[0]


def test_a_lab_before_its_episode_and_an_unexplained_gap_are_refused(tmp_path):
    manifest = _manifest_with(tmp_path, """\
        90min:
          title: a
          clock: 23
          plan: [{lab: 1}, {episode: 1}]
        half-day:
          title: b
          clock: 0
          plan: []
          leaves_out: {1: x, 2: x, 3: x, 4: x, 5: x, 6: x, 7: x, 8: x}
    """)
    problems = "\n".join(manifest.agenda_problems())
    assert "lab 1 comes before" in problems
    assert "leaves out episode 2: say why" in problems


def test_unknown_plan_items_and_labs_that_do_not_exist_fail_to_load(tmp_path):
    with pytest.raises(ValueError, match="unknown plan item 'lunch'"):
        _manifest_with(tmp_path, "90min: {title: a, clock: 5, plan: [{lunch: 5}]}\nhalf-day: {title: b, clock: 0, plan: []}\n")
    with pytest.raises(ValueError, match="episode 4 has no lab"):
        _manifest_with(tmp_path, "90min: {title: a, clock: 5, plan: [{lab: 4}]}\nhalf-day: {title: b, clock: 0, plan: []}\n")
