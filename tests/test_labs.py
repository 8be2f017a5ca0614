"""Labs are generated from solutions, fail their checks unsolved, and `looplab labs check` reports it.

(The solutions themselves are executed by nbmake from build/executed/solutions: all checks pass.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from looplab.course import labs

ROOT = Path(__file__).resolve().parents[1]
LAB_FILES = sorted((ROOT / "labs").glob("lab-*.ipynb"))


def test_labs_are_exactly_what_the_build_generates(tmp_path):
    assert [p.name for p in LAB_FILES] == [p.name for p in sorted((ROOT / "solutions").glob("lab-*.ipynb"))]
    for solution in sorted((ROOT / "solutions").glob("lab-*.ipynb")):
        generated = labs.build_notebook(solution)
        assert (ROOT / "labs" / solution.name).read_text() == generated, \
            f"labs/{solution.name} differs from its solution: run `looplab labs build`"
    result = subprocess.run([sys.executable, "-m", "looplab", "labs", "build", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_is_deterministic_and_reports_drift(tmp_path):
    solutions, out = ROOT / "solutions", tmp_path / "labs"
    assert len(labs.build(solutions, out)) == len(LAB_FILES)
    assert labs.build(solutions, out) == []  # a second build changes nothing
    victim = out / LAB_FILES[0].name
    victim.write_text(victim.read_text().replace("YOUR CODE HERE", "edited by hand"))
    assert labs.build(solutions, out, check=True) == [victim]


@pytest.mark.parametrize("path", LAB_FILES, ids=lambda p: p.name)
def test_a_lab_gives_no_answer_away(path):
    nb = nbformat.read(path, as_version=4)
    solution = nbformat.read(ROOT / "solutions" / path.name, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "YOUR CODE HERE" in text
    assert not any(labs.SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells)
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert sum(labs.CHECK_TAG in c.metadata.get("tags", []) for c in nb.cells) >= 1
    assert nb.cells[0].source == solution.cells[0].source and nb.cells[0].source.startswith("# Lab ")
    assert nb.cells[-1].source.startswith("## Key points")


def test_strip_solutions_keeps_the_indentation():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\n"
              "class C:\n    def g(self):\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION\n")
    stripped = labs.strip_solutions(source)
    assert "return x + 1" not in stripped and "return 2" not in stripped
    assert f"    {labs.STUB}" in stripped and f"        {labs.STUB}" in stripped
    compile(stripped, "<lab>", "exec")


@pytest.mark.parametrize("path", LAB_FILES, ids=lambda p: p.name)
def test_an_unsolved_lab_runs_and_only_its_checks_fail(path):
    results, other_errors = labs.run_checks(path)
    assert other_errors == [], "only check cells may fail in an unsolved lab"
    assert results and all(r.status in ("not attempted", "failed") for r in results), results


def test_labs_check_command_gives_a_table_and_an_exit_code(tmp_path):
    solved, unsolved = ROOT / "solutions" / LAB_FILES[0].name, LAB_FILES[0]
    for path, code, status in ((solved, 0, "passed"), (unsolved, 1, "not attempted")):
        result = subprocess.run([sys.executable, "-m", "looplab", "labs", "check", str(path)], capture_output=True,
                                text=True, timeout=300, cwd=tmp_path)
        assert result.returncode == code, result.stdout + result.stderr
        mark = "✔" if status == "passed" else "○"
        assert f"crash_script        {mark} {status}" in result.stdout
        assert f"fixed_script        {mark} {status}" in result.stdout
        assert result.stdout.strip().endswith(f"{2 if code == 0 else 0} of 2 checks passed")


def _notebook(path, *sources, check_index=None):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if check_index is not None:
        cells[check_index].metadata["tags"] = ["check"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_labs_check_survives_a_hanging_and_a_crashing_notebook(tmp_path):
    """One learner's `while True` or a dead kernel is one row of the table; the run goes on and ends
    with the table, with no traceback and no kernel chatter."""
    folder = tmp_path / "collected"
    folder.mkdir()
    _notebook(folder / "a-hangs.ipynb", "x = 1", "while True:\n    pass", "print('never')", check_index=2)
    _notebook(folder / "b-crashes.ipynb", "import os\nos._exit(3)", "print('never')", check_index=1)
    _notebook(folder / "c-fine.ipynb", "assert 1 + 1 == 2", check_index=0)
    result = subprocess.run([sys.executable, "-m", "looplab", "labs", "check", str(folder), "--timeout", "5"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "a-hangs.ipynb" in out and "timed out" in out and "cell 2 ran for more than 5 s" in out
    assert "b-crashes.ipynb" in out and "the kernel died in cell 1" in out
    assert "c-fine.ipynb" in out and "✔ passed" in out
    assert out.strip().endswith("1 of 5 checks passed")
    assert "Traceback" not in result.stderr + out and "without encryption" not in result.stderr + out


def test_every_lab_has_a_goal_of_its_own():
    """A lab's goal is what it asks of the learner, written for it, not its episode's outcome repeated."""
    from looplab.course import episodes

    with_labs = [e for e in episodes.load().episodes if e.lab]
    assert len(with_labs) == len(LAB_FILES)
    for episode in with_labs:
        goal = episode.lab.get("goal")
        assert goal, f"lab {episode.number:02d} has no goal of its own in episodes.yml"
        assert goal != episode.outcome, f"lab {episode.number:02d}'s goal is its episode's outcome"


@pytest.mark.parametrize("path", LAB_FILES, ids=lambda p: p.name)
def test_every_looplab_name_a_skeleton_imports_is_explained_in_the_lab(path):
    """A skeleton imports nothing of looplab's that the lab does not name in its text (in backticks)."""
    import ast
    import re

    nb = nbformat.read(path, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    named = set(re.findall(r"`(?:[\w.]*\.)?(\w+)[(`]", prose))
    for cell in nb.cells:
        if cell.cell_type != "code" or labs.EXERCISE_TAG not in cell.metadata.get("tags", []):
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%%"))
        imported = [alias.asname or alias.name for node in ast.walk(ast.parse(code))
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("looplab")
                    for alias in node.names]
        assert not set(imported) - named, f"{path.name} imports {sorted(set(imported) - named)} without a word about them"
