"""The two languages of the built site agree: the same anchors on every page (the facilitator page promises
that a link shared in one language opens the same section in the other), the term list's refused
variants nowhere on a Chinese page, no English prose left in generated Chinese parts, Markdown that
renders as written (no bullet turned heading, no `__del__` turned bold), and a Chinese search that finds
what it is asked for, served or opened from disk (file://)."""

from __future__ import annotations

import functools
import html as htmllib
import json
import re
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

from looplab.course import i18n

from .conftest import ROOT, SITE
from .test_site_browser import browser  # noqa: F401  (the fixture: Debian's Chromium through Playwright)

_HEADING = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1>", re.S)
_ID = re.compile(r'\sid="([^"]*)"')


def _article(page: Path) -> str:
    """The page's content (Material's article), without the navigation around it."""
    text = page.read_text(encoding="utf-8")
    start = text.find('<article class="md-content__inner')
    return text[start:text.find("</article>", start)] if start >= 0 else text


def _heading_ids(page: Path) -> list[str]:
    return [found.group(1) for m in _HEADING.finditer(_article(page)) if (found := _ID.search(m.group(2)))]


def _pairs() -> list[tuple[Path, Path]]:
    english = [p for p in sorted(SITE.rglob("*.html")) if p.relative_to(SITE).parts[0] not in i18n.LANGUAGES
               and p.name != "404.html"]
    return [(p, SITE / lang / p.relative_to(SITE)) for p in english for lang in i18n.LANGUAGES]


def _linked_pages(page: Path) -> set[Path]:
    """The site's pages a page links to (relative links, anchors and queries dropped)."""
    found = set()
    for href in re.findall(r'href="([^"#?:]+\.html)', _article(page)):
        target = (page.parent / href).resolve()
        if target.is_relative_to(SITE.resolve()) and target.exists():
            found.add(target)
    return found


def test_every_page_has_the_english_anchors_in_every_language_and_no_duplicates(built_site):
    assert built_site.returncode == 0, built_site.stderr[-3000:]
    pairs = _pairs()
    missing = [str(zh.relative_to(SITE)) for _, zh in pairs if not zh.exists()]
    assert missing == []
    differ, duplicated = {}, {}
    for en, zh in pairs:
        a, b = _heading_ids(en), _heading_ids(zh)
        if a != b:
            differ[str(zh.relative_to(SITE))] = [(x, y) for x, y in zip(a, b) if x != y][:3] or (len(a), len(b))
        for ids, page in ((a, en), (b, zh)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                duplicated[str(page.relative_to(SITE))] = dup
    assert differ == {}, "a Chinese page's anchors differ from the English page's (docs/hooks/site.py pairs them)"
    assert duplicated == {}
    # Every page the facilitator page leads to is among them: notebooks, solutions, the deck (pages the
    # promise was first broken on); the check covers every page, a superset.
    listed = {str(p.relative_to(SITE.resolve())) for p in _linked_pages(SITE / "facilitator.html")}
    assert {"notebooks/01-event-loops.html", "solutions/lab-05-fix-it-per-call.html", "instructor/deck.html",
            "glossary.html"} <= listed, sorted(listed)
    assert listed <= {str(en.relative_to(SITE)) for en, _ in pairs}
    assert sum(len(_heading_ids(en)) for en, _ in pairs) > 250  # the check sees the headings at all


def test_every_table_of_contents_link_lands_on_a_heading(built_site):
    broken = {}
    for page in sorted(SITE.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        ids = set(_ID.findall(text))
        toc = re.findall(r'<a href="#([^"]*)" class="md-nav__link">', text)
        if [t for t in toc if t not in ids]:
            broken[str(page.relative_to(SITE))] = [t for t in toc if t not in ids][:3]
    assert broken == {}


def _visible_text(page: Path) -> str:
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", _article(page), flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", text))


def refused_variants_on(pages: list[Path], root: Path = SITE) -> dict[str, list[str]]:
    """Each variant translations/zh/terms.yml refuses, and the built pages (under ``root``) that use it."""
    found: dict[str, list[str]] = {}
    texts = {page: _visible_text(page) for page in pages}
    for term in i18n.terms("zh"):
        for variant in term.get("avoid", []):
            where = [str(p.relative_to(root)) for p, text in texts.items() if variant in text]
            if where:
                found[variant] = where
    return found


def _chinese_pages() -> list[Path]:
    return sorted(p for lang in i18n.LANGUAGES for p in (SITE / lang).rglob("*.html"))


def test_no_chinese_page_uses_a_variant_the_term_list_refuses(built_site):
    """The built pages, generated parts included (agendas, tables, the deck): tests/test_i18n.py checks
    the sources; this sees what the hooks wrote too."""
    pages = _chinese_pages()
    assert len(pages) >= 30
    assert refused_variants_on(pages) == {}, "use the term of translations/zh/terms.yml"


def test_the_refused_variant_check_fails_on_a_page_that_uses_one(built_site, tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<article class="md-content__inner">打开第一个笔记本，做一次代码评审。</article>', encoding="utf-8")
    assert refused_variants_on([page], tmp_path) == {"笔记本": ["page.html"], "评审": ["page.html"]}


def test_generated_parts_of_a_chinese_page_are_chinese(built_site):
    fixes = _visible_text(SITE / "zh" / "fixes.html")
    assert "Recorded " not in fixes and "sequential requests" not in fixes
    assert re.search(r"\d{4}-\d\d-\d\d 录制于 ", fixes), "the cost table's recording line, in Chinese"
    labs, setup = _visible_text(SITE / "zh" / "labs.html"), _visible_text(SITE / "zh" / "setup.html")
    assert "zh/labs/lab-NN-*.ipynb" in labs and "打开 labs/" not in labs
    assert "「简体中文」" in setup and "简体中文:" in (ROOT / "run.py").read_text(encoding="utf-8")  # the line it prints
    deck = _visible_text(SITE / "zh" / "instructor" / "deck.html")
    assert "zh/labs/lab-NN-*.ipynb" in deck


# --- Markdown renders as written ------------------------------------------------------------------

_DUNDER = re.compile(r"(?<![\w`])__\w+__")


def test_texts_the_site_renders_from_data_write_dunders_as_code():
    """`__del__` unquoted is bold `del` in Markdown. The manifests' and the timeline's texts, in both
    languages, and the lint corpus's names write them as code."""
    import yaml

    texts = [*i18n.strings_needed(), *i18n.strings("zh").values()]
    corpus = yaml.safe_load((ROOT / "docs" / "data" / "lint-corpus.yml").read_text(encoding="utf-8"))
    texts += [v for item in corpus.get("incidents", []) for k, v in item.items() if k in ("name", "zh")]
    bare = [t[:80] for t in texts if isinstance(t, str) and _DUNDER.search(re.sub(r"`[^`]*`", "", t))]
    assert bare == []


def test_no_page_shows_a_dunder_as_bold(built_site):
    bold = [str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
            if re.search(r"<strong>(init|del|enter|exit|aenter|aexit|call)</strong>", p.read_text(encoding="utf-8"))]
    assert bold == []
    for lang in ("", "zh/"):
        assert "__del__" in _visible_text(SITE / f"{lang}elsewhere.html") + _visible_text(SITE / f"{lang}timeline.html")


def _notebook_pages() -> list[tuple[Path, Path]]:
    """(rendered page, the notebook it renders) for every notebook and solution, in every language."""
    out = []
    for source in i18n.english_notebooks():
        out.append((SITE / source.parent.name / f"{source.stem}.html", source))
        for lang in i18n.LANGUAGES:
            out.append((SITE / lang / source.parent.name / f"{source.stem}.html", i18n.target(source, lang)))
    return out


def test_a_notebook_page_has_exactly_the_headings_of_its_markdown(built_site):
    """CommonMark (Jupyter's rules) counts the headings a notebook's Markdown has; the page, rendered by
    mkdocs-jupyter's renderer, must show no more (a bullet that starts with `#1968` was one) and no fewer."""
    md = MarkdownIt("commonmark")
    differ = {}
    for page, notebook in _notebook_pages():
        cells = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"]
        expected = sum(1 for cell in cells for token in md.parse(cell) if token.type == "heading_open")
        shown = len(_HEADING.findall(_article(page)))
        if shown != expected:
            differ[str(page.relative_to(SITE))] = (shown, expected)
    assert differ == {}


# --- search --------------------------------------------------------------------------------------

SEARCH = """async ([worker, index, queries]) => {
  const w = new Worker(worker);
  const ask = (message) => new Promise((resolve) => { w.onmessage = (ev) => resolve(ev.data); w.postMessage(message); });
  await ask({type: 0, data: {...index, options: {suggest: false}}});  // Material's messages: setup, ready, query, result
  const out = {};
  for (const q of queries) {
    const result = await ask({type: 2, data: q});
    out[q] = result.data.items.flat().map((item) => [item.location, Object.keys(item.terms).filter((t) => item.terms[t])]);
  }
  w.terminate();
  return out;
}"""
#: query -> a page it must find first-ranked among the Chinese pages' results
QUERIES = {"证书包": "zh/glossary.html", "延迟创建": "zh/solutions/lab-02-build-the-lazy-fix.html",
           "线程": "zh/solutions/lab-08-the-sync-bridge.html", "循环": "zh/notebooks/01-event-loops.html",
           "事件": "zh/notebooks/01-event-loops.html", "事件循环": "zh/notebooks/01-event-loops.html"}


@functools.cache
def _index() -> dict:
    return json.loads((SITE / "search" / "search_index.json").read_text(encoding="utf-8"))


def _pages_saying(words: str) -> set[str]:
    """The Chinese pages whose indexed text holds ``words`` (jieba's cuts removed)."""
    return {doc["location"].split("#")[0] for doc in _index()["docs"] if doc["location"].startswith("zh/")
            and words in (doc["title"] + doc["text"]).replace("\u200b", "")}


def test_a_chinese_search_finds_every_page_that_says_the_words_and_highlights_them_whole(built_site, browser, site_url):  # noqa: F811
    """The site's own search worker (with the corrections docs/hooks/site.py makes to Material's query
    segmenter) and index, in Chromium: each query finds every Chinese page that contains it (线程 also
    where jieba would have cut 在线程 into 在线 / 程; 循环 also inside 事件循环), and the words a result
    highlights (its `?h=`) put together are the query, not a cut of it (证书, 事, 延迟)."""
    worker = next((SITE / "assets" / "javascripts" / "workers").glob("search.*.min.js")).relative_to(SITE)
    page = browser.new_page()
    try:
        page.goto(f"{site_url}/zh/index.html")
        results = page.evaluate(SEARCH, [f"{site_url}/{worker.as_posix()}", _index(), list(QUERIES)])
    finally:
        page.close()
    for query, expected in QUERIES.items():
        found = {location.split("#")[0] for location, _ in results[query]}
        assert _pages_saying(query) <= found, (query, sorted(_pages_saying(query) - found)[:5])
        chinese = [(location, terms) for location, terms in results[query] if location.startswith("zh/")]
        assert chinese[0][0].split("#")[0] == expected, (query, chinese[:3])
        assert "".join(chinese[0][1]) == query, (query, chinese[0])  # the highlight: the whole query


@pytest.mark.parametrize("lang, query, expected", [("zh/", "事件循环", "zh/notebooks/01-event-loops.html"),
                                                   ("", "keep-alive", "glossary.html")])
def test_the_site_opened_from_disk_searches(built_site, browser, lang, query, expected):  # noqa: F811
    """site/index.html opened as a file: Material's offline plugin puts the index in a script and the
    vendored iframe-worker shim runs the search worker in an iframe (a browser starts no worker from a
    file). The only errors allowed are Chromium refusing the language menu's sitemap.xml from file://."""
    assert built_site.returncode == 0, built_site.stderr[-3000:]
    page, errors, remote = browser.new_page(), [], []
    page.route(re.compile(r"^https?://"), lambda route: (remote.append(route.request.url), route.abort()))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto((SITE / lang / "index.html").as_uri(), wait_until="load")
        page.click(".md-search__input")
        page.keyboard.type(query)
        page.keyboard.press("End")
        page.wait_for_selector(".md-search-result__item", timeout=20000)
        links = page.evaluate("() => [...document.querySelectorAll('.md-search-result__link')].map((a) => a.href)")
        page.goto(links[0], wait_until="load")  # a result opens, from disk
        title = page.inner_text("h1")
    finally:
        page.close()
    assert remote == []
    assert [e for e in errors if "sitemap.xml" not in e and e != "Failed to load resource: net::ERR_FAILED"] == []
    assert links[0].startswith("file://") and links[0].split("?")[0].endswith(expected), links[:3]
    assert title
