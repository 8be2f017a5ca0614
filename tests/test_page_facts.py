"""Facts several pages state come from one source (looplab/course/facts.py), and the instructor notes'
pointers at notebook cells hold (looplab/course/kit.py): each check here fails on the drift it guards."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from looplab.course import facts, kit
from looplab.course.checks import lab05
from looplab.project import ROOT


def _markdown(path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", sorted(facts.notebook_quotes()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebooks_quote_the_facts_their_check_decides(path):
    text = " ".join(_markdown(path).split())
    for words in facts.notebook_quotes()[path]:
        assert words in text, f"{path.relative_to(ROOT)} no longer says {words!r}: say what the check does now"


def test_lab05s_hints_count_the_requests_the_check_sends():
    """The hints keep their numbers literal (the common-errors page reads them from the source): they must
    be the check's."""
    source = (ROOT / "looplab" / "course" / "checks" / "lab05.py").read_text()
    literals = " ".join(node.value for node in ast.walk(ast.parse(source))
                        if isinstance(node, ast.Constant) and isinstance(node.value, str))
    for count in map(int, re.findall(r"\b(\d+) requests\b", literals)):
        assert count in (lab05.COUNTED, lab05.SENT, lab05.LEAK_BURST), f"a lab 05 hint speaks of {count} requests"
    assert f"{lab05.BURST} one at a time, {lab05.BURST} at once" in literals
    assert lab05.SENT == 120 and lab05.COUNTED == 60  # what the pages' readers were told; change both together


def test_the_folded_answers_fact_follows_the_notebooks_tags(tmp_path, monkeypatch):
    assert facts.answered_notebooks() == list(range(1, 10))
    assert facts.folded_answers() == "all 9 notebooks (01–09) have a folded answer right under their exercises"
    for number in (1, 2):  # a copy of notebooks 01 and 02, 02 without its answer cells
        source = next((ROOT / "notebooks").glob(f"{number:02d}-*.ipynb"))
        nb = nbformat.read(source, as_version=4)
        if number == 2:
            nb.cells = [c for c in nb.cells if "answer" not in c.metadata.get("tags", [])]
        (tmp_path / "notebooks").mkdir(exist_ok=True)
        nbformat.write(nb, tmp_path / "notebooks" / source.name)
    monkeypatch.setattr(facts, "ROOT", tmp_path)
    assert facts.answered_notebooks() == [1]
    assert facts.folded_answers() == "notebook 01 has a folded answer right under its exercise"
    assert facts.folded_answers("zh") == "Notebook 01 的练习下方都紧跟着折叠的答案"


def test_run_time_comes_from_the_timings_of_the_executed_notebooks(tmp_path, monkeypatch):
    timings = tmp_path / "timings.json"
    timings.write_text('{"notebooks/06-what-the-fix-costs.ipynb": 24.6, "solutions/lab-05-fix-it-per-call.ipynb": 8.2}')
    monkeypatch.setattr(facts, "TIMINGS", timings)
    assert facts.render("run-time 06") == "25 s" and facts.render("run-time 06", "zh") == "25 秒"
    assert facts.render("run-time lab-05") == "8 s"
    monkeypatch.setattr(facts, "TIMINGS", tmp_path / "missing.json")
    assert facts.render("run-time 06") == "not measured"
    with pytest.raises(facts.FactError, match="unknown fact"):
        facts.render("lab05-minutes")
    with pytest.raises(facts.FactError, match="no notebooks/42-"):
        facts.render("run-time 42")


def test_a_cell_reference_renders_as_a_link_and_names_the_cell():
    text = kit.cell_references("see <!-- looplab:cell nb03-06 request_log(vllm) -->.", "note.md")
    assert text == "see the cell with `request_log(vllm)` in [notebook 03](../notebooks/03-reproduce-the-crash.ipynb)."


def test_a_cell_reference_fails_when_the_cell_is_gone_or_changed():
    with pytest.raises(kit.KitError, match="cell nb03-99, which no notebook"):
        kit.cell_references("<!-- looplab:cell nb03-99 request_log(vllm) -->", "docs/instructor/notes/03.md")
    with pytest.raises(kit.KitError, match="no longer holds"):
        kit.cell_references("<!-- looplab:cell nb03-06 completion_tokens column -->", "docs/instructor/notes/03.md")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_cell_reference_of_the_instructor_notes_holds(lang):
    notes = kit.instructor_notes(lang)  # raises KitError, as the build does, on a stale reference
    assert "looplab:cell" not in notes
    pointed = sum(len(kit.CELL_REFERENCE.findall(p.read_text()))
                  for p in kit.NOTES.glob("[0-9][0-9]" + ("" if lang == "en" else f".{lang}") + ".md"))
    assert pointed >= 7, "the notes point at cells by id (01, 03, 06 at least)"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_decks_outcomes_slide_lists_each_agendas_own_episodes(lang):
    from looplab.course import deck, episodes, i18n

    manifest = episodes.load()
    shown = deck.deck(lang, lambda text: i18n.gettext(text, lang))
    outcomes = re.findall(
        r'<div class="ll-agenda" data-agenda="([^"]+)" markdown>\n\n\*\*[^*]+\*\*\n\n(\|.*?)\n\n</div>', shown, re.S)
    assert [key for key, _ in outcomes] == list(manifest.agendas), "one outcomes table per agenda"
    for key, table in outcomes:
        listed = [int(n) for n in re.findall(r"^\| (\d\d) \|", table, re.M)]
        taught = [s.episode.number for s in manifest.schedule(key) if s.kind == "episode"]
        assert listed == taught, f"the {key} outcomes list {listed}, its plan teaches {taught}"
    assert [int(n) for n in re.findall(r"^\| (\d\d) \|", outcomes[0][1], re.M)] == [1, 3, 5]


def test_the_slowest_lab_is_read_from_the_timings(tmp_path, monkeypatch):
    timings = tmp_path / "timings.json"
    timings.write_text('{"solutions/lab-01-make-it-crash.ipynb": 4.7, "solutions/lab-07-regression-test-and-guard.ipynb": '
                       '23.2, "notebooks/04-three-symptoms.ipynb": 46.1}')
    monkeypatch.setattr(facts, "TIMINGS", timings)
    assert facts.render("slowest-lab") == "23 s (lab 07)" and facts.render("slowest-lab", "zh") == "23 秒（实验 07）"
    monkeypatch.setattr(facts, "TIMINGS", tmp_path / "missing.json")
    assert facts.render("slowest-lab") == "not measured"
