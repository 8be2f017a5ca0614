"""Root conftest: copy the notebooks into build/executed/ before collection.

nbmake (``--nbmake --overwrite``, set in pyproject.toml) executes each copy once and writes its
outputs into it; the website renders those executed copies, so a notebook is run exactly once
per test run and the site never shows stale outputs. The sources stay output-free.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).parent
EXECUTED = ROOT / "build" / "executed"
NOTEBOOK_DIRS = ("notebooks", "solutions")


def pytest_configure(config) -> None:
    # Only the outermost run copies: a notebook that runs pytest itself (notebook 06) must not wipe
    # the copies its own outer run is executing.
    if not config.getoption("nbmake", default=False) or os.environ.get("LOOPLAB_EXECUTED_DIR"):
        return
    os.environ["LOOPLAB_EXECUTED_DIR"] = str(EXECUTED)
    for name in NOTEBOOK_DIRS:
        target = EXECUTED / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for notebook in sorted((ROOT / name).glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)
