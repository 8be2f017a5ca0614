"""Restart-safety: ``run.py test`` executes every notebook and solution a second time, in the folder
its first run left behind (``LOOPLAB_RERUN=1``), as a learner's second "Restart & Run All" would.
This file proves that such a second pass catches what it is for: a notebook that passes once and
breaks on the files its own first run wrote (``%%writefile -a``), while a notebook that rewrites its
files whole passes both times."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _run_twice(folder, name) -> list[int]:
    codes = []
    for _ in range(2):  # nbmake from this interpreter, none of the project's options, in the notebook's folder
        run = subprocess.run([sys.executable, "-m", "pytest", "--nbmake", "-q", "-o", "addopts=", "-p",
                              "no:cacheprovider", "--rootdir", str(folder), str(folder / name)],
                             capture_output=True, text=True, timeout=180, cwd=folder)
        codes.append(run.returncode)
    return codes


@pytest.mark.parametrize("magic, codes", [("%%writefile -a", [0, 1]), ("%%writefile", [0, 0])],
                         ids=["appends: breaks on the second run", "rewrites: passes twice"])
def test_a_second_run_in_the_same_folder_catches_a_notebook_that_appends(tmp_path, magic, codes):
    _notebook(tmp_path / "nb.ipynb", f"{magic} steps.py\nSTEP = 1\n",
              "source = open('steps.py').read()\nassert source.count('STEP = 1') == 1, source")
    assert _run_twice(tmp_path, "nb.ipynb") == codes


def test_run_py_runs_the_second_pass():
    source = open("run.py").read()
    assert '"LOOPLAB_RERUN": "1"' in source and "build/executed/notebooks" in source


def test_the_suites_scheduling_names_modules_that_exist():
    """conftest.py's scheduler keeps the room's modules in one unit (two rooms at once interfere) and
    starts the longest modules first: a renamed module would silently leave its unit, so every name
    it lists must be a test module, and a spread module's tests each form a unit of their own."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("root_conftest", root / "conftest.py")
    scheduling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scheduling)
    named = {*scheduling.SPREAD, *scheduling.TOGETHER, *scheduling.LONGEST_FIRST}
    assert [p for p in sorted(named) if not (root / p).is_file()] == []
    assert len({scheduling._unit(f"{p}::test_x") for p in scheduling.TOGETHER}) == 1
    assert scheduling._unit("tests/test_stack.py::a") != scheduling._unit("tests/test_stack.py::b")
    assert scheduling._unit("tests/test_cli.py::a") == scheduling._unit("tests/test_cli.py::b")
