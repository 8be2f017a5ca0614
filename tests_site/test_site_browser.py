"""The site in a real browser (Debian's Chromium, driven by Playwright), with the network cut off.

Every request that is not to the local server is blocked and counted: a page that tries to reach
a CDN fails the test even if it would have rendered. Material draws mermaid diagrams inside a
closed shadow root, so an init script opens shadow roots to let the test see the SVG.
Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
"""
PAGES = {  # page -> (mermaid diagrams expected, text that must be on the page)
    "index.html": (1, "The incident in one page"),
    "root-cause.html": (3, "The traceback, frame by frame"),
    "timeline.html": (0, "Every event"),
    "notebooks/04-three-symptoms.html": (0, "connection_pool.py:244"),
    "fixes.html": (0, "What each costs, measured"),
    "notebooks/03-reproduce-the-crash.html": (1, "500 RuntimeError: Event loop is closed"),
    "solutions/lab-05-fix-it-per-call.html": (0, "every client closed"),
    "instructor/episodes.html": (0, "Notes for each episode follow"),
    "instructor/common-errors.html": (0, "not yet: Exercise 5 (the per-call fix)"),
    "glossary.html": (0, "Loop affinity"),
    "instructor/feedback.html": (0, "How sure are you now?"),
    "instructor/prerequisites.html": (0, "What learners will not need"),
    "instructor/helpers.html": (0, "Unblocking without giving the answer"),
    "instructor/deck.html": (1, "One real production bug, end to end"),
    "zh/instructor/deck.html": (1, "一个真实的线上 bug，从头到尾"),
    "zh/instructor/feedback.html": (0, "你现在有多大把握？"),
    "zh/elsewhere.html": (0, "由 lifespan 持有（lifespan-owned）"),
    "elsewhere.html": (0, "Four fix patterns"),
    "notebooks/08-the-same-bug-elsewhere.html": (0, "LoopAffinityError: AsyncOpenAI made at"),
    "solutions/lab-08-the-sync-bridge.html": (0, "9 calls from 5 threads"),
    # 简体中文 (the same pages built a second time under zh/, docs/NAME.zh.md and translations/zh/)
    "zh/index.html": (1, "一页看懂这次事故"),
    "zh/root-cause.html": (3, "逐帧解读回溯"),
    "zh/notebooks/03-reproduce-the-crash.html": (1, "500 RuntimeError: Event loop is closed"),
    "zh/solutions/lab-05-fix-it-per-call.html": (0, "every client closed"),
    "zh/glossary.html": (0, "术语对照表"),
    "zh/setup.html": (0, "通过 PyPI 镜像源安装"),
    "zh/facilitator.html": (0, "合计（1 小时 30 分）"),
    "room.html": (0, "simulated learners driving real kernels"),
    "zh/room.html": (0, "实时看板"),
}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (python3 run.py setup installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"])
        yield browser
        browser.close()


# Material replaces each `pre.mermaid` by an element whose (opened) shadow root holds the SVG.
DRAWN_DIAGRAMS = """() => [...document.querySelectorAll('.mermaid')]
    .filter((el) => el.shadowRoot && el.shadowRoot.querySelector('svg'))
    .filter((el) => el.getBoundingClientRect().height > 40).length"""


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_offline_without_errors(browser, site_url, path):
    diagrams, text = PAGES[path]
    context, page, blocked, errors = _offline_page(browser, site_url, {"width": 1280, "height": 900})
    try:
        page.goto(f"{site_url}/{path}", wait_until="networkidle")
        if diagrams:  # mermaid draws asynchronously
            page.wait_for_function(f"() => ({DRAWN_DIAGRAMS})() >= {diagrams}", timeout=20000)
        drawn = page.evaluate(DRAWN_DIAGRAMS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "_").replace(".html", ".png"))), full_page=True)
        body = page.inner_text("body")
    finally:
        context.close()
    assert not blocked, f"the page tried to reach the network: {blocked[:5]}"
    assert not errors, errors
    assert text in body
    assert drawn == diagrams, f"{drawn} diagrams drawn and visible, expected {diagrams}"


def _offline_page(browser, site_url, viewport):
    """A page with every non-local request blocked and every console error kept: (context, page, blocked, errors)."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(OPEN_SHADOW_ROOTS)
    blocked, errors = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(site_url) or url.startswith("data:") or url.startswith("blob:"):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return context, page, blocked, errors


@pytest.mark.parametrize("lang", ["", "zh/"], ids=["en", "zh"])
def test_the_feedback_form_prints_alone_on_one_sheet(browser, site_url, lang):
    """Printed: no header, navigation or footer; every episode's row; two A4 pages at most (one sheet)."""
    from looplab.course import episodes

    context, page, blocked, errors = _offline_page(browser, site_url, {"width": 794, "height": 1123})
    try:
        page.goto(f"{site_url}/{lang}instructor/feedback.html", wait_until="networkidle")
        page.emulate_media(media="print")
        hidden = page.evaluate("""() => ['.md-header', '.md-sidebar--primary', '.md-footer', '.ll-form__screen-only']
            .map((s) => document.querySelector(s)).every((el) => !el || getComputedStyle(el).display === 'none')""")
        rows = page.locator(".ll-form__scale tbody tr").count()
        radios = page.locator('.ll-form input[type="radio"]').count()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{lang.strip('/') or 'en'}-feedback-printed.png"), full_page=True)
        pdf = page.pdf(format="A4")
    finally:
        context.close()
    assert not blocked and not errors, (blocked, errors)
    assert hidden, "the printed form still shows the site's header, navigation or footer"
    manifest = episodes.load()
    assert rows == len(manifest.episodes) and radios >= 6 * rows
    pages = max(int(n) for n in re.findall(rb"/Count (\d+)", pdf))  # the page tree's root counts them all
    assert pages <= 2, f"the printed form takes {pages} A4 pages"


SLIDES = """() => [...document.querySelectorAll('.ll-slide')].map((slide) => {
    const box = slide.getBoundingClientRect();
    const bottom = Math.max(...[...slide.querySelectorAll('*')].map((el) => el.getBoundingClientRect().bottom));
    const right = Math.max(...[...slide.querySelectorAll('*')].map((el) => el.getBoundingClientRect().right));
    return {visible: getComputedStyle(slide).visibility === 'visible', fits: bottom <= box.bottom + 1 && right <= box.right + 1,
            title: slide.querySelector('h2').textContent};
})"""


@pytest.mark.parametrize("lang", ["", "zh/"], ids=["en", "zh"])
def test_the_opening_deck_shows_one_slide_at_a_time_moves_with_the_keys_and_fits_1280x720(browser, site_url, lang):
    context, page, blocked, errors = _offline_page(browser, site_url, {"width": 1280, "height": 720})
    try:
        page.goto(f"{site_url}/{lang}instructor/deck.html", wait_until="networkidle")
        page.wait_for_function(f"() => ({DRAWN_DIAGRAMS})() >= 1", timeout=20000)
        first = page.evaluate(SLIDES)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{lang.strip('/') or 'en'}-deck-slide-01.png"))
        page.keyboard.press("ArrowRight")
        second = page.evaluate(SLIDES)
        counter = page.inner_text(".ll-deck__count")
        page.screenshot(path=str(SCREENSHOTS / f"{lang.strip('/') or 'en'}-deck-slide-02.png"))
        for key in ("Space", "PageDown"):
            page.keyboard.press(key)
        fourth = page.evaluate(SLIDES)
        page.keyboard.press("ArrowLeft")
        third = page.evaluate(SLIDES)
        address = page.url
        page.select_option(".ll-deck__agenda", "half-day")
        agendas = page.evaluate("() => [...document.querySelectorAll('.ll-agenda')].map((a) => [a.dataset.agenda, a.hidden])")
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
    finally:
        context.close()
    assert not blocked and not errors, (blocked, errors)
    assert 8 <= len(first) <= 12, f"{len(first)} slides"
    assert [s["visible"] for s in first] == [True] + [False] * (len(first) - 1)
    assert [s["visible"] for s in second].index(True) == 1 and sum(s["visible"] for s in second) == 1
    assert counter == f"2 / {len(first)}"
    assert [s["visible"] for s in fourth].index(True) == 3 and [s["visible"] for s in third].index(True) == 2
    assert address.endswith("#slide-3")
    overflowing = [s["title"] for s in first if not s["fits"]]
    assert not overflowing, f"slides whose content does not fit 1280x720: {overflowing}"
    assert dict(agendas) == {"90min": True, "half-day": False}
    pages = max(int(n) for n in re.findall(rb"/Count (\d+)", pdf))
    assert pages == len(first), f"printed, the deck takes {pages} pages for {len(first)} slides"


def test_the_language_switch_leads_to_the_same_page_in_the_other_language(browser, site_url):
    context, page, blocked, errors = _offline_page(browser, site_url, {"width": 1280, "height": 900})
    try:
        page.goto(f"{site_url}/root-cause.html", wait_until="networkidle")
        page.hover(".md-header__option .md-select")  # Material's language menu opens on hover
        page.click('.md-select__link[hreflang="zh"]')
        page.wait_for_load_state("networkidle")
        chinese = (page.url, page.inner_text("h1"), page.get_attribute("html", "lang"))
        page.hover(".md-header__option .md-select")
        page.click('.md-select__link[hreflang="en"]')
        page.wait_for_load_state("networkidle")
        english = (page.url, page.inner_text("h1"))
    finally:
        context.close()
    assert not blocked and not errors, (blocked, errors)
    assert chinese[0].endswith("/zh/root-cause.html") and chinese[1].startswith("根本原因") and chinese[2].startswith("zh")
    assert english[0].endswith("/root-cause.html") and "/zh/" not in english[0] and english[1].startswith("Root cause")


@pytest.mark.parametrize("query, page_expected", [("连接池", "zh/root-cause.html"), ("事件循环", "zh/notebooks/01-event-loops.html"),
                                                  ("长连接", "zh/root-cause.html")])
def test_a_chinese_search_finds_the_chinese_pages_offline(browser, site_url, query, page_expected):
    """Material's search runs in the browser from the index built with the site: the Chinese pages were
    cut into words by jieba at build time, with the glossary's terms kept whole (search-words.txt); the
    browser only splits on the separator (lunr's own Chinese support would need jieba in the browser)."""
    context, page, blocked, errors = _offline_page(browser, site_url, {"width": 1280, "height": 900})
    try:
        page.goto(f"{site_url}/zh/index.html", wait_until="networkidle")
        page.click(".md-search__input")
        page.keyboard.type(query)  # typed as text (an input method's result)...
        page.keyboard.press("End")  # ...then a key, as after an input method closes: Material searches on keyup
        page.wait_for_selector(".md-search-result__item", timeout=20000)
        page.wait_for_function("() => /符合条件的结果/.test(document.querySelector('.md-search-result__meta').textContent)")
        meta = page.inner_text(".md-search-result__meta")
        links = page.evaluate("() => [...document.querySelectorAll('.md-search-result__link')].map((a) => a.href)")
        more = page.evaluate("() => [...document.querySelectorAll('.md-search-result__more a, details a')].map((a) => a.href)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"zh-search-{page_expected.split('/')[-1][:-5]}.png"))
    finally:
        context.close()
    assert not blocked and not errors, (blocked, errors)
    assert re.match(r"\d+ 个符合条件的结果", meta), meta  # Material's own words, in Chinese on the Chinese pages
    found = [link.split("?")[0].split("#")[0] for link in links + more]
    assert any(link.endswith(page_expected) for link in found), found[:12]
    assert any("/zh/" in link for link in found[:3]), "the first results should be Chinese pages"
