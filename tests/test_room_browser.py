"""The room in a real browser (Chromium, through Playwright): two learners join from the login page,
each runs notebook 01 in JupyterLab and lab 01's check; each sees only their own files; the
facilitator's live view shows both rows, a failed check with the learner's hint, then ✔ once they
fix it; Ctrl-C leaves no process behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys

import psutil
import pytest

from looplab.project import ROOT
from looplab.room.install import install
from looplab.room.launch import leftovers
from looplab.room.running import RoomProcess, scratch_home

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0 or CHROMIUM is None,
                                reason="the room runs on Linux as root; the browser test needs Chromium (run.py setup)")
PREFIX = f"b{secrets.token_hex(2)}"
ANA, BEN = f"{PREFIX}-ana", f"{PREFIX}-ben"
SHOTS = ROOT / "build" / "screenshots" / "room"
ALL_PROMPTS_DONE = """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
    return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)); }"""


def cell_source(notebook: str, cell_id: str) -> str:
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    return "".join(next(c for c in cells if c.get("id") == cell_id)["source"])


@pytest.fixture(scope="module")
def room():
    install()
    home = scratch_home()
    running = RoomProcess(home, "--port", "0")
    yield running
    running.stop()
    running.forget([ANA, BEN])
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"])
        yield browser
        browser.close()


def log_in(browser, room, name: str, code: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(room.url)
    page.fill("#username_input", name)
    page.fill("#password_input", code)
    page.click("#login_submit")
    return page


def open_notebook(page, room, name: str, path: str) -> None:
    # a workspace of its own: JupyterLab restores no other notebook (whose kernel state would show first)
    workspace = path.rsplit("/", 1)[-1].split(".")[0]
    page.goto(room.url + f"user/{name}/lab/workspaces/{workspace}/tree/{path}")
    # this notebook's own kernel is connected and idle: its toolbar names the kernel (not "No Kernel")
    # and its execution indicator says idle
    page.wait_for_function("""() => {
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        const name = panel && panel.querySelector('.jp-Toolbar-kernelName');
        const state = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
        return name && name.textContent.trim() === 'Python 3 (ipykernel)' && state && state.dataset.status === 'idle';
    }""", timeout=180_000, polling=250)


def run_all(page) -> None:
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()  # the notebook is the active document
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has=page.get_by_text("Run All Cells", exact=True)).click()
    page.wait_for_function(ALL_PROMPTS_DONE, timeout=240_000)


def run_exercise(page, starting_with: str, text: str | None = None) -> None:
    """Run an exercise cell and its check cell (Shift+Enter twice), after typing ``text`` into the
    exercise as a learner does (click, select all, type), if given."""
    editor = page.locator(".jp-CodeCell", has_text=starting_with).first.locator(".cm-content")
    editor.click()
    if text is not None:
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(text)
    page.keyboard.press("Shift+Enter")  # the exercise cell (%%writefile)
    page.keyboard.press("Shift+Enter")  # its check cell, now selected


def board_cell(page, learner: str, check: str):
    return page.locator(f'tr[data-learner="{learner}"] td[data-check="{check}"]')


@pytest.fixture
def pages():
    """The learners' and facilitator's pages; on a failure, a screenshot of each (build/screenshots/room/)."""
    opened: dict = {}
    yield opened
    for name, page in opened.items():
        try:
            page.screenshot(path=str(SHOTS / f"last-{name}.png"))
        except Exception:  # noqa: BLE001 (a closed page has nothing to show)
            pass


def test_two_learners_in_a_browser_and_the_facilitators_live_view(browser, room, pages):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name in (ANA, BEN):
        page = log_in(browser, room, name, room.settings.learner_code)
        page.wait_for_url(re.compile(rf".*/user/{name}/lab.*"), timeout=240_000)  # spawned, pulled, JupyterLab open
        pages[name] = page

    # each learner runs notebook 01 top to bottom in JupyterLab
    for name, page in pages.items():
        open_notebook(page, room, name, "looplab/notebooks/01-event-loops.ipynb")
        run_all(page)
        text = page.locator(".jp-Notebook").inner_text()
        assert "✔ as expected: loop 2 crashed" in text and "Traceback" not in text
        page.screenshot(path=str(SHOTS / f"notebook-01-{name.split('-')[-1]}.png"))

    # each sees only their own files: their file browser's top is their home, and another's lab is refused
    ana, ben = pages[ANA], pages[BEN]
    ana.goto(room.url + f"user/{ANA}/api/contents/")
    listing = json.loads(ana.locator("body").inner_text())
    assert [item["name"] for item in listing["content"] if not item["name"].startswith(".")] == ["looplab"]
    refused = ana.goto(room.url + f"user/{BEN}/lab")
    assert refused is not None and refused.status == 403

    # ana fails lab 01's first check (the fix's code, which does not crash); ben runs it unsolved
    lab = "looplab/labs/lab-01-make-it-crash.ipynb"
    open_notebook(ana, room, ANA, lab)
    wrong = cell_source("solutions/lab-01-make-it-crash.ipynb", "lab01-06").replace("fixed_lab.py", "crash_lab.py")
    run_exercise(ana, "%%writefile crash_lab.py", wrong)
    hint = ana.locator(".jp-OutputArea-output", has_text="hint:").first
    hint.wait_for(timeout=180_000)
    seen = hint.inner_text()
    assert "not yet" in seen
    open_notebook(ben, room, BEN, lab)
    run_exercise(ben, "%%writefile crash_lab.py")
    ben.locator(".jp-OutputArea-output", has_text="NotImplementedError").first.wait_for(timeout=180_000)

    # the facilitator sees both rows, and ana's hint
    facilitator = pages["facilitator"] = log_in(browser, room, "facilitator", room.settings.facilitator_code)
    facilitator.goto(room.url + "services/looplab-room/")
    stuck = board_cell(facilitator, ANA, "lab01.crash_script")
    stuck.locator(".hint").wait_for(timeout=30_000)
    shown_hint = stuck.inner_text()
    assert shown_hint.startswith("✘") and shown_hint.split("✘", 1)[1].strip()[:40] in seen
    assert board_cell(facilitator, BEN, "lab01.crash_script").inner_text().strip() == "○"
    assert facilitator.locator(f'tr[data-learner="{BEN}"]').count() == 1
    facilitator.screenshot(path=str(SHOTS / "live-view-stuck.png"), full_page=True)

    # ana fixes it: the row turns ✔ on the facilitator's page by itself (it refreshes)
    run_exercise(ana, "%%writefile crash_lab.py", cell_source("solutions/lab-01-make-it-crash.ipynb", "lab01-02"))
    ana.locator(".jp-OutputArea-output", has_text="✔ passed").first.wait_for(timeout=180_000)
    facilitator.wait_for_function(
        f"""() => {{ const c = document.querySelector('tr[data-learner="{ANA}"] td[data-check="lab01.crash_script"]');
        return c && c.textContent.trim() === '✔'; }}""", timeout=30_000)
    facilitator.screenshot(path=str(SHOTS / "live-view-fixed.png"), full_page=True)

    # Ctrl-C: nothing of the room is left running, every learner's kernels and mocks included
    users = {f"looplab-{ANA}", f"looplab-{BEN}"}
    assert [p for p in psutil.process_iter(["username"]) if p.info["username"] in users]
    assert room.stop() == 0, "".join(room.output)
    assert not leftovers(room.settings)
    assert not [(p.pid, p.info["status"], p.info["ppid"], p.info["cmdline"]) for p in
                psutil.process_iter(["username", "status", "ppid", "cmdline"]) if p.info["username"] in users]
