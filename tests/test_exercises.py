"""The guided notebooks' exercises prove themselves: the folded answer passes its check, each
classic wrong answer fails it with the intended hint, and an untouched exercise is "not attempted"."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from looplab.course import answers, exercises  # noqa: F401 (answers: the package the folded cells come from)
from looplab.course.answers import ep01, ep02, ep03, ep04, ep05, ep06, ep07, ep08, ep09
from looplab.course.feedback import LabCheckFailed
from looplab.project import ROOT


def fails_with(hint: str, check, *args) -> None:
    with pytest.raises(LabCheckFailed) as failed:
        check(*args)
    assert hint in failed.value.hint, failed.value.hint


def stub(*args):
    raise NotImplementedError("Exercise: write your answer here")


# --- notebook 04 ---------------------------------------------------------------------------------

def zero_based(frames, root: Path) -> bool:
    return all((root / f.file).exists() and (root / f.file).read_text().splitlines()[f.line].strip().startswith(f.code)
               for f in frames)


def unstripped(frames, root: Path) -> bool:
    return all((root / f.file).exists() and (root / f.file).read_text().splitlines()[f.line - 1] == f.code
               for f in frames)


def any_frame(frames, root: Path) -> bool:
    return any((root / f.file).exists() and (root / f.file).read_text().splitlines()[f.line - 1].strip()
               .startswith(f.code) for f in frames)


def file_exists(frames, root: Path) -> bool:
    return all((root / f.file).exists() for f in frames[:1])


def test_date_the_traceback_passes_on_the_answer(capsys):
    exercises.date_the_traceback(ep04.consistent)
    assert capsys.readouterr().out.startswith("✔ passed")


@pytest.mark.parametrize("wrong, hint", [
    (zero_based, "count from 1"),
    (unstripped, "without its indentation"),
    (any_frame, "all of them, not any of them"),
    (file_exists, "a file that exists is not enough"),
], ids=lambda x: getattr(x, "__name__", "hint"))
def test_date_the_traceback_catches_the_classic_mistakes(wrong, hint):
    fails_with(hint, exercises.date_the_traceback, wrong)


ROWS = [{"stack": "exact", "keepalive": "expired", "retries": 0, "statuses": [500, 504, 504, 504]}]


def test_predict_the_reporters_row_passes_on_the_measured_row(capsys):
    exercises.predict_the_reporters_row(ep04.my_prediction, ROWS)
    assert capsys.readouterr().out.startswith("✔ passed")


@pytest.mark.parametrize("wrong, hint", [
    ([500, 200, 200, 200], "That is what the pinned stacks do"),
    ([200, 200, 200, 200], "Compare with the rows inside the keep-alive"),
])
def test_predict_the_reporters_row_explains_a_wrong_guess(wrong, hint):
    fails_with(hint, exercises.predict_the_reporters_row, wrong, ROWS)


# --- the predict-then-run exercises: the folded answer passes against what is measured, each classic
# --- wrong guess gets its own hint. The measured values are what the notebooks measure (pinned elsewhere).

MEASURED = {
    "ep01": (exercises.predict_three_loops, (["ok", "error", "ok"],)),
    "ep02": (exercises.predict_the_stack, ([500, 200, 200],)),
    "ep03": (exercises.predict_after_the_keepalive, (500,)),
    "ep05": (exercises.predict_the_leak, (100, 100)),
    "ep06": (exercises.predict_the_handshakes, ({"strategies": [{"strategy": "per_call_shared_ssl",
                                                                 "handshakes_per_request": 1.0}]},)),
    "ep07": (exercises.predict_the_failing_adapters, ({"broken": "failed", "LazyTouchedAtStartup": "failed",
                                                       "per_call": "passed", "per_loop": "passed",
                                                       "lifespan": "passed", "per_call_shared_ssl": "passed"},)),
    "ep09": (exercises.predict_the_generations, (6,)),
}
ANSWERS = {"ep01": ep01, "ep02": ep02, "ep03": ep03, "ep05": ep05, "ep06": ep06, "ep07": ep07, "ep09": ep09}


@pytest.mark.parametrize("episode", sorted(MEASURED))
def test_the_folded_prediction_passes_against_the_measurement(episode, capsys):
    check, measured = MEASURED[episode]
    check(ANSWERS[episode].my_prediction, *measured)
    assert capsys.readouterr().out.startswith("✔ passed")


@pytest.mark.parametrize("episode, wrong, hint", [
    ("ep01", ["ok", "error", "error"], "left no connection in the pool"),
    ("ep01", ["ok", "ok", "ok"], "which asyncio.run closed"),
    ("ep01", ["error", "error", "error"], "Loop 1 works"),
    ("ep02", [200, 200, 200], "that is why the bug survived review"),
    ("ep02", [500, 500, 500], "throws the stale connection away"),
    ("ep02", [404, 200, 200], "Which loop made the pooled connection"),
    ("ep03", 200, "it closes its own end"),
    ("ep03", "five hundred", "could not read your prediction"),
    ("ep05", "A", "Nothing closes them"),
    ("ep05", "b", "each client has its own pool"),
    ("ep05", "D", "Choose A, B or C"),
    ("ep06", 0, "saves *building* the context"),
    ("ep07", ["broken"], "A lazy fix holds only while start-up never touches the client"),
    ("ep07", ["per_call"], "Which adapters create"),
    ("ep09", 7, "there is no crash to retry"),
    ("ep09", 8, "neither run retries anything"),
])
def test_a_wrong_prediction_gets_the_hint_for_its_misconception(episode, wrong, hint):
    check, measured = MEASURED[episode]
    fails_with(hint, check, wrong, *measured)


def test_the_leak_exercise_judges_what_was_measured():
    """On a machine whose GC collected every client early, "A" is the right answer, and "C" is not."""
    exercises.predict_the_leak("A", 0, 100)
    fails_with("measured 'A'", exercises.predict_the_leak, "C", 0, 100)


# --- every exercise ----------------------------------------------------------------------------------

@pytest.mark.parametrize("check, args", [
    (exercises.date_the_traceback, (stub,)),
    (exercises.predict_the_reporters_row, (None, ROWS)),
    *[(check, (None, *measured)) for check, measured in MEASURED.values()],
])
def test_an_untouched_exercise_is_not_attempted_and_the_notebook_runs_on(check, args, capsys):
    check(*args)
    assert capsys.readouterr().out.startswith("○ not attempted yet")


GUIDED = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", GUIDED, ids=lambda p: p.name)
def test_a_guided_notebook_has_exercises_checks_and_folded_answers(path):
    nb = nbformat.read(path, as_version=4)
    tags = [set(c.metadata.get("tags", [])) for c in nb.cells]
    exercise_cells = [i for i, t in enumerate(tags) if "exercise" in t and nb.cells[i].cell_type == "code"]
    assert exercise_cells, "every guided notebook has at least one exercise cell (tagged exercise)"
    for i in exercise_cells:
        following = [t for t in tags[i + 1:i + 3]]
        assert any("check" in t for t in following), f"cell {i}: an exercise is followed by its check"
    answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]
    assert answers and all(c.source.startswith("<details>") for c in answers), "answers are folded, not in the next cell"
    for cell in answers:
        assert cell.source == exercises.folded_answer(cell.metadata["looplab"]["answer"])


def test_episode_08s_answers_pass_and_each_wrong_guess_gets_its_hint(capsys):
    """The measured values are what notebook 08 measures (pinned in tests/test_demo_cases.py)."""
    exercises.predict_the_served_requests(ep08.my_served, 2)
    exercises.predict_the_connections(ep08.my_connections, [1, 2])
    assert [line[:8] for line in capsys.readouterr().out.splitlines()] == ["✔ passed"] * 2
    fails_with("went out on the pooled connection", exercises.predict_the_served_requests, 1, 2)
    fails_with("The first command worked", exercises.predict_the_served_requests, 0, 2)
    fails_with("the warm start finds the cold start's connection", exercises.predict_the_connections, [2, 2], [1, 2])
    fails_with("opens its own", exercises.predict_the_connections, [1, 1], [1, 2])
    fails_with("The other way round", exercises.predict_the_connections, [2, 1], [1, 2])
    exercises.predict_the_served_requests(None, 2)
    assert "in `my_served` above" in capsys.readouterr().out
