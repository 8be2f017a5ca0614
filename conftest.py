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
LAST_TIMINGS_ENV = "LOOPLAB_LAST_TIMINGS"

# How the whole suite shares its workers (``run.py test``: ``--dist loadscope``, with the scheduler
# below). A module's tests stay together on one worker (they share module fixtures: one real vLLM, one
# room), except SPREAD's, whose tests each start their own servers in their own folders: those spread
# over every worker. The TOGETHER modules must not run beside each other: one room at a time (OS users,
# cgroups, the shared install), so they form one unit.
SPREAD = ("tests/test_lab_checks.py", "tests/test_stack.py", "tests/test_labs.py")
TOGETHER = {"tests/test_room.py": "the room", "tests/test_room_browser.py": "the room", "tests/test_room_parts.py": "the room"}
# The longest modules (minutes each, measured), started first, so that no worker is left with one of
# them at the end while the others idle. The notebooks follow, longest first (the last run's timings).
LONGEST_FIRST = ("tests/test_mirror_setup.py", "tests/test_wheelhouse.py", "tests/test_real_vllm.py",
                 "tests/test_room_browser.py", "tests/test_room.py", "tests/test_symptoms.py",
                 "tests/test_platforms.py", "tests/test_lab_checks.py", "tests/test_stack.py")

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
    timings_file = EXECUTED / "timings.json"
    try:  # the last run's, to start the longest notebooks first (see below); a damaged file is no order
        os.environ[LAST_TIMINGS_ENV] = json.dumps(json.loads(timings_file.read_text()))
    except (OSError, ValueError):
        os.environ.pop(LAST_TIMINGS_ENV, None)
    timings_file.unlink(missing_ok=True)  # this run's timings only (no stale notebook names)
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


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to (see SPREAD and TOGETHER)."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPREAD else TOGETHER.get(path, path)


@pytest.hookimpl(optionalhook=True)  # a run without xdist has no such hook
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with looplab's units (xdist's own ``loadgroup`` marks are ignored on pytest 9)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LooplabUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)
    return LooplabUnits(config, log)


def pytest_collection_modifyitems(config, items) -> None:
    """On xdist's workers, longest first (see LONGEST_FIRST); a module's tests keep their order."""
    if not hasattr(config, "workerinput"):
        return
    last = json.loads(os.environ.get(LAST_TIMINGS_ENV) or "{}")

    def rank(item) -> tuple[int, float]:
        path = item.nodeid.split("::")[0]
        if path in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(path))
        if path.startswith("build/executed/"):
            return (1, -last.get(path.split("build/executed/")[-1], 0.0))
        return (2, 0)
    items.sort(key=rank)
