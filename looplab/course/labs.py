"""``looplab labs``: generate the exercise notebooks from their solutions, and check learners' work.

Solutions (``solutions/lab-NN-*.ipynb``) are the source of truth. In them the learner's part is
marked nbgrader-style::

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

always inside a definition (a function or method body, or a module file written by ``%%writefile``),
so the generated lab still runs: the region becomes ``raise NotImplementedError(...)`` and only the
check cells (tagged ``check``) fail. Cells tagged ``solution`` (worked answers shown only in the
solutions) are dropped, outputs and execution counts are cleared, and all metadata but the kernel and
the cell tags is removed. The header comes from ``episodes.yml``. Building twice changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from . import episodes

ROOT = episodes.ROOT
SOLUTIONS, LABS = ROOT / "solutions", ROOT / "labs"
CHECK_TAG, SOLUTION_TAG, EXERCISE_TAG = "check", "solution", "exercise"
_REGION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)",
                     re.MULTILINE | re.DOTALL)
STUB = 'raise NotImplementedError("Exercise: write your answer here")'


def strip_solutions(source: str) -> str:
    """Replace every solution region by a stub at the region's indentation."""
    return _REGION.sub(lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}{STUB}\n", source)


def lab_episode(path: Path) -> episodes.Episode:
    """``lab-05-...`` -> episode 5 (labs practise what the notebook of the same number explains)."""
    match = re.match(r"lab-(\d+)-", path.name)
    if not match:
        raise ValueError(f"{path.name}: a lab's file name starts with lab-NN-")
    return episodes.load().episode(int(match.group(1)))


def lab_header(path: Path) -> str:
    episode = lab_episode(path)
    lab = episode.lab or {}
    return (f"# Lab {episode.number:02d} · {lab.get('title', episode.title)}\n\n"
            f"**Time to allow:** {lab.get('minutes', episode.exercises)} min · practises "
            f"[notebook {episode.number:02d}: {episode.title}](../notebooks/{episode.stem}.ipynb), "
            "which explains what you need.\n\n"
            f"**Goal:** {lab.get('goal', episode.outcome)}\n\n"
            "**How it works:** write your answer where a cell says `YOUR CODE HERE`, then run the check "
            "cell below it. A check runs your code against real servers and either prints ✔ or tells you "
            "what is still wrong, with a hint. Run the cells in order; re-run a check as often as you like.")


def build_notebook(solution: Path, translated: Any = None) -> str:
    """The lab generated from one solution notebook, as the exact text to write. With ``translated``
    (the solution in another language, :mod:`.i18n`), the lab in that language: its header is the
    translated one, not regenerated from the manifest."""
    nb = translated if translated is not None else nbformat.read(solution, as_version=4)
    cells = []
    for cell in nb.cells:
        tags = [t for t in cell.get("metadata", {}).get("tags", [])]
        if SOLUTION_TAG in tags:
            continue
        source = cell.source
        if episodes.HEADER_TAG in tags and translated is None:
            source = lab_header(solution)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(strip_solutions(source))
        else:
            new = nbformat.v4.new_markdown_cell(source)
        new["id"] = cell.get("id") or f"cell-{len(cells)}"
        new.metadata = {"tags": tags} if tags else {}
        cells.append(new)
    lab = nbformat.v4.new_notebook(cells=cells)
    lab.metadata = {"kernelspec": nb.metadata.get("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                                    "language": "python"}),
                    "language_info": {"name": "python"}}
    return nbformat.writes(lab) + "\n"


def sync_solution_header(solution: Path) -> bool:
    """Solutions carry the same header as their lab (from the manifest); True if it changed."""
    nb = nbformat.read(solution, as_version=4)
    header = lab_header(solution)
    for cell in nb.cells:
        if episodes.HEADER_TAG in cell.get("metadata", {}).get("tags", []):
            if cell.source == header:
                return False
            cell.source = header
            nbformat.write(nb, solution)
            return True
    raise ValueError(f"{solution.name}: the first cell must be tagged {episodes.HEADER_TAG!r}")


def build(solutions: Path = SOLUTIONS, labs: Path = LABS, *, check: bool = False) -> list[Path]:
    """Write every lab; return those that changed (with ``check``, those that would)."""
    changed = []
    labs.mkdir(exist_ok=True)
    for solution in sorted(solutions.glob("lab-*.ipynb")):
        if not check:
            sync_solution_header(solution)
        text = build_notebook(solution)
        target = labs / solution.name
        if not target.exists() or target.read_text() != text:
            changed.append(target)
            if not check:
                target.write_text(text)
    expected = {s.name for s in solutions.glob("lab-*.ipynb")}
    for stray in sorted(labs.glob("lab-*.ipynb")):
        if stray.name not in expected:
            changed.append(stray)
            if not check:
                stray.unlink()
    return changed


# --- checking learners' notebooks ------------------------------------------------------------------

#: A mark with each status, so the table reads the same without colour.
MARKS = {"passed": "✔", "failed": "✘", "error": "✘", "timed out": "✘", "not attempted": "○", "not run": "○"}


@dataclass
class CheckResult:
    notebook: str
    check: str
    status: str  # passed | failed | not attempted | error | timed out | not run
    detail: str = ""


def _check_name(source: str) -> str:
    match = re.search(r"checks\.(\w+)\(", source)
    return match.group(1) if match else "check"


def run_checks(path: Path, timeout: int = 180) -> tuple[list[CheckResult], list[str]]:
    """Execute a lab notebook in a fresh kernel, in a scratch folder (the files its cells write go
    there, not next to the notebook). Returns the check results and the errors of other cells.

    A learner's notebook that hangs (a cell runs longer than ``timeout`` seconds) or kills its
    kernel becomes rows that say so ("timed out in cell 7"), never an exception: a facilitator's
    run over a folder always ends with its table."""
    import tempfile

    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    running = {"index": -1}

    def note(cell: Any, cell_index: int) -> None:
        running["index"] = cell_index

    stopped: CheckResult | None = None
    with tempfile.TemporaryDirectory(prefix="looplab-labcheck-") as scratch:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": scratch}}, on_cell_execute=note,
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no transport warnings
        try:
            with open(Path(scratch) / "kernel.log", "wb") as kernel_log:  # a learner's kernel talks to its log,
                client.execute(stderr=kernel_log)  # not to the facilitator's table
        except CellTimeoutError:
            stopped = CheckResult(path.name, "(notebook)", "timed out",
                                  f"cell {running['index'] + 1} ran for more than {timeout:.0f} s; the cells after it "
                                  "were not run (is something waiting forever, or looping?)")
        except DeadKernelError:
            stopped = CheckResult(path.name, "(notebook)", "error", f"the kernel died in cell {running['index'] + 1}; "
                                  "the cells after it were not run")
    results, other_errors = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        is_check = CHECK_TAG in cell.get("metadata", {}).get("tags", [])
        if stopped is not None and index >= running["index"]:
            if is_check:
                results.append(CheckResult(path.name, _check_name(cell.source), "not run"))
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not is_check:
            other_errors += [f"{e['ename']}: {e['evalue']}" for e in errors]
            continue
        name = _check_name(cell.source)
        if not errors:
            results.append(CheckResult(path.name, name, "passed"))
        elif errors[0]["ename"] == "NotImplementedError":
            results.append(CheckResult(path.name, name, "not attempted"))
        elif errors[0]["ename"] == "LabCheckFailed":
            results.append(CheckResult(path.name, name, "failed", errors[0]["evalue"]))
        else:
            results.append(CheckResult(path.name, name, "error", f"{errors[0]['ename']}: {errors[0]['evalue']}"))
    return results + ([stopped] if stopped else []), other_errors


def check_command(paths: list[Path], out: Any = print, timeout: float = 180) -> int:
    """``looplab labs check``: a table of every check in every notebook; 0 only if all passed."""
    import sys

    notebooks: list[Path] = []
    for path in paths:
        if not path.exists():
            print(f"looplab labs check: no such file or folder: {path}", file=sys.stderr)
            return 2
        notebooks += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    if not notebooks:
        print(f"looplab labs check: no notebooks (*.ipynb) in {', '.join(map(str, paths))}", file=sys.stderr)
        return 2
    rows: list[CheckResult] = []
    for notebook in notebooks:
        results, other_errors = run_checks(notebook, timeout=int(timeout))
        rows += results
        rows += [CheckResult(notebook.name, "(other cell)", "error", e) for e in other_errors]
    width = max(len(r.notebook) for r in rows) if rows else 10
    out(f"{'notebook':<{width}}  {'check':<18}  result")
    for r in rows:
        detail = f": {r.detail}" if r.detail else ""
        out(f"{r.notebook:<{width}}  {r.check:<18}  {MARKS.get(r.status, '?')} {r.status}{detail}")
    passed = sum(r.status == "passed" for r in rows)
    out(f"{passed} of {len(rows)} checks passed")
    return 0 if rows and passed == len(rows) else 1
