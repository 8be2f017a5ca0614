"""Root conftest: copy the notebooks into build/executed/ before collection.

nbmake (``--nbmake``, set in pyproject.toml) executes each copy once, and this conftest has it
write the outputs into the copy (nbmake's ``--overwrite``, switched on for the copies only); the
website renders those executed copies, so a notebook is run exactly once per test run and the site
never shows stale outputs. A source notebook given to pytest (``pytest notebooks/03-....ipynb``)
runs too, and is never written to: the sources stay output-free.

With ``LOOPLAB_RERUN=1`` (``run.py test``'s restart-safety pass) nothing is copied or recorded and
no output is written: each notebook runs a second time in the folder its first run left behind,
as a learner's second "Restart & Run All" would.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
EXECUTED = ROOT / "build" / "executed"
NOTEBOOK_DIRS = ("notebooks", "solutions")
RERUN_ENV = "LOOPLAB_RERUN"

# The folders must exist before pytest resolves `testpaths` (it drops paths that do not exist, and
# resolves them before any configure hook runs); this module is imported before that.
for _name in NOTEBOOK_DIRS:
    (EXECUTED / _name).mkdir(parents=True, exist_ok=True)


def pytest_configure(config) -> None:
    # Only the outermost run copies: a notebook that runs pytest itself (notebook 07) must not wipe
    # the copies its own outer run is executing.
    # And only a run that collects the notebooks (the whole suite, or build/executed itself): a
    # developer's `pytest tests/test_x.py` must not wipe copies another run is executing.
    collects_notebooks = any("build/executed" in str(arg) for arg in config.args)
    if not config.getoption("nbmake", default=False) or os.environ.get("LOOPLAB_EXECUTED_DIR") \
            or not collects_notebooks or hasattr(config, "workerinput") \
            or os.environ.get(RERUN_ENV):  # xdist workers: the controller did; a second pass keeps the first's
        return
    os.environ["LOOPLAB_EXECUTED_DIR"] = str(EXECUTED)
    (EXECUTED / "timings.json").unlink(missing_ok=True)  # this run's timings only (no stale notebook names)
    for name in NOTEBOOK_DIRS:
        target = EXECUTED / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for notebook in sorted((ROOT / name).glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)


def pytest_runtest_logreport(report) -> None:
    """Record how long each executed notebook took (the facilitator's agendas show it)."""
    if report.when != "call" or not report.nodeid.startswith("build/executed/") \
            or not os.environ.get("LOOPLAB_EXECUTED_DIR") or os.environ.get(RERUN_ENV) \
            or os.environ.get("PYTEST_XDIST_WORKER"):  # with xdist, the controller records the reports
        return
    relative = report.nodeid.split("::")[0].split("build/executed/")[-1]
    timings_file = EXECUTED / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    timings[relative] = round(report.duration, 1)
    timings_file.write_text(json.dumps(timings, indent=1, sort_keys=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Outputs are written into the executed copies under build/executed/, never into a source."""
    if not getattr(item, "nbmake", False):
        yield
        return
    option = item.config.option
    option.overwrite = Path(item.path).resolve().is_relative_to(EXECUTED.resolve()) and not os.environ.get(RERUN_ENV)
    try:
        yield
    finally:
        option.overwrite = False
