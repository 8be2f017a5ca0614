"""The notebooks as source: output-free, headed from the manifest, closing with key points.

Their *execution* is collected by nbmake from build/executed/ (see conftest.py); this file checks
what is committed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from looplab.course import episodes

ROOT = Path(__file__).resolve().parents[1]
ALL_NOTEBOOKS = sorted(p for d in ("notebooks", "solutions", "labs") for p in (ROOT / d).glob("*.ipynb"))
GUIDED = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_manifest_and_notebooks_agree():
    manifest = episodes.load()
    assert [e.notebook for e in manifest.episodes] == GUIDED
    result = subprocess.run([sys.executable, "-m", "looplab", "episodes", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", GUIDED, ids=lambda p: p.name)
def test_guided_notebook_opens_with_its_goal_and_closes_with_key_points(path):
    nb = nbformat.read(path, as_version=4)
    assert episodes.HEADER_TAG in nb.cells[0].metadata.get("tags", [])
    assert "**You will be able to:**" in nb.cells[0].source
    assert nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith("## Key points")


def test_episode_check_catches_a_header_edited_by_hand(tmp_path):
    manifest = episodes.load()
    episode = manifest.episodes[0]
    copy = tmp_path / episode.notebook.name
    nb = nbformat.read(episode.notebook, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("teaching", "lecturing")
    nbformat.write(nb, copy)
    assert episodes.sync(copy, episode, check=True) is True
    assert episodes.sync(copy, episode) is True and episodes.sync(copy, episode, check=True) is False


def test_running_pytest_on_a_source_notebook_never_writes_into_it():
    """``pytest notebooks/03-....ipynb`` (what a contributor types) executes the notebook and leaves the
    file as committed, even with nbmake's --overwrite given: only the copies in build/executed/ get outputs."""
    import shutil
    import uuid

    folder = ROOT / "build" / f"source-check-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        notebook = folder / "tiny.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran')")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, notebook)
        before = notebook.read_bytes()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--overwrite",
                                 str(notebook.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stdout[-2000:]
        assert "1 passed" in result.stdout
        assert notebook.read_bytes() == before
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_markdown_line_starts_with_an_issue_number(path):
    """nbconvert's Markdown renders a line that starts with "#1968" as a heading (and the site's search
    index then fails on the broken list around it): keep "#NNNN" inside the line."""
    import re

    nb = nbformat.read(path, as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
             if re.match(r"\s*#\d", line)]
    assert not lines, lines


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_diagram_has_a_text_alternative(path):
    """A mermaid diagram carries explanations a screen reader cannot see: the cell also says it in words
    (a folded ``<details>`` block whose summary ends "in words"), and a plotted image says which table it draws."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and "```mermaid" in cell.source:
            assert cell.source.count("```mermaid") == cell.source.count(" in words</summary>"), \
                f"{path.name}: a diagram without its text version: {cell.source[:80]!r}"
        if cell.cell_type == "code" and "Image(" in cell.source:
            assert "draws the table" in cell.source, f"{path.name}: say which table the image draws"


LAB_ANSWERS_ELSEWHERE = [  # a lab's answer must not stand in the notebook it links to
    ("labs/lab-05-fix-it-per-call.ipynb", "notebooks/05-the-per-call-fix.ipynb", "inspect.getsource"),
    ("labs/lab-07-regression-test-and-guard.ipynb", "notebooks/07-regression-tests.ipynb", "delivery_counts"),
    ("labs/lab-02-build-the-lazy-fix.ipynb", "notebooks/02-rebuild-the-adapter.ipynb", "_lazy_initialize_client"),
    ("labs/lab-01-make-it-crash.ipynb", "notebooks/01-event-loops.ipynb", "functools.cache"),
]


@pytest.mark.parametrize("lab, notebook, marker", LAB_ANSWERS_ELSEWHERE, ids=lambda v: Path(str(v)).name)
def test_a_labs_answer_is_not_in_the_notebook_it_links_to(lab, notebook, marker):
    assert notebook.split("/")[-1] in (ROOT / lab).read_text(), f"{lab} links to {notebook}"
    assert marker not in (ROOT / notebook).read_text(), f"{notebook} shows {lab}'s answer ({marker})"


def test_the_notebooks_readme_lists_every_notebook_with_its_title():
    """notebooks/README.md names every notebook the manifest has, with its title, and no other."""
    readme = (ROOT / "notebooks" / "README.md").read_text()
    listed = re.findall(r"^\| `(\d\d-[\w-]+)\.ipynb` \| (.+?) \|$", readme, re.MULTILINE)
    assert listed == [(e.stem, e.title) for e in episodes.load().episodes]
    assert sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")) == [stem for stem, _ in listed]
