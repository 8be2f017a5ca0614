"""The site builds strictly, from executed notebooks, with every generated part filled in."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import ROOT, SITE


def test_mkdocs_build_strict_has_no_warnings(built_site):
    assert built_site.returncode == 0, built_site.stderr[-3000:]
    assert "WARNING" not in built_site.stderr, built_site.stderr  # mkdocs logs "WARNING  -  ..."


def test_every_notebook_and_solution_is_rendered_with_outputs(built_site):
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")):
        page = SITE / source.parent.name / source.with_suffix(".html").name
        html = page.read_text()
        assert "jp-OutputArea" in html or "output_area" in html, f"{page.name} shows no outputs"
        assert (SITE / source.parent.name / source.name).exists(), "the .ipynb download is missing"


def test_generated_parts_are_filled_in(built_site):
    for page in SITE.rglob("*.html"):
        assert "looplab:" not in re.sub(r"<pre.*?</pre>", "", page.read_text(), flags=re.S), \
            f"{page.relative_to(SITE)} still has a placeholder"
    fixes = re.sub(r"</?abbr[^>]*>", "", (SITE / "fixes.html").read_text())  # TLS, RTT carry hover definitions
    assert "per_call_shared_ssl" in fixes and "TLS handshakes / request" in fixes and "10 ms RTT" in fixes
    timeline = (SITE / "timeline.html").read_text()
    assert "https://github.com/ogx-ai/ogx/pull/1969" in timeline and "0.2.16" in timeline
    setup = (SITE / "setup.html").read_text()
    assert "What is verified where" in setup
    facilitator = (SITE / "facilitator.html").read_text()
    assert "90-minute session" in facilitator and "in total" in facilitator and " s</td>" in facilitator
    assert "<td>0:05</td>" in facilitator and "learners code" in facilitator  # running start times
    reference = (SITE / "reference.html").read_text()
    assert "looplab mock-vllm" in reference and "--fault" in reference


def test_no_page_loads_a_script_or_stylesheet_from_elsewhere(built_site):
    """A first, cheap line of defence; the browser test proves it with the network blocked."""
    remote = re.compile(r"""<(?:script[^>]*\ssrc|link[^>]*\shref)=["']((?:https?:)?//[^"']+)"""
                        r"""|import\(\s*["']((?:https?:)?//[^"']+)""")
    for page in SITE.rglob("*.html"):
        found = remote.findall(page.read_text())
        assert not found, f"{page.relative_to(SITE)} loads {found[:3]}"


def test_instructor_notes_have_a_heading_per_episode_and_include_the_notes_that_exist(built_site):
    from looplab.course import episodes

    page = (SITE / "instructor" / "episodes.html").read_text()
    for episode in episodes.load().episodes:
        assert f"{episode.number:02d} · {episode.title}" in page
    for note in sorted((ROOT / "docs" / "instructor" / "notes").glob("[0-9][0-9].md")):
        first_heading = re.search(r"^### (.+)$", note.read_text(), re.M).group(1)
        assert first_heading in page, f"{note.name} is not included"
    assert not (SITE / "instructor" / "notes").exists(), "the notes are parts of a page, not pages"


# Accessibility: every diagram has a text alternative right after it, by one convention:
#   ```mermaid                       (with `accTitle:` and `accDescr:`, the SVG's own name)
#   ...
#   ```
#   ??? note "Text version of the diagram"      (on a Chinese page: "图的文字版")
#       the diagram in sentences or a numbered list
# Notebooks are checked apart (their Markdown cells cannot hold admonitions).
MERMAID_FENCE = re.compile(r"^```mermaid\n(.*?)^```\n", re.S | re.M)
TEXT_VERSION = re.compile(r'\s*[?!]{3} note "(?:Text version of the diagram|图的文字版)"\n {4}\S')


def test_every_diagram_in_the_pages_sources_has_a_text_version_next_to_it():
    counts, missing = {}, []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        diagrams = list(MERMAID_FENCE.finditer(text))
        described = [m for m in diagrams if TEXT_VERSION.match(text, m.end())]
        counts[name] = (len(diagrams), len(described))
        missing += [f"{name}: diagram at line {text[:m.start()].count(chr(10)) + 1}" for m in diagrams
                    if m not in described or "accTitle:" not in m.group(1) or "accDescr:" not in m.group(1)]
    assert not missing, "a diagram without its text version (or accTitle/accDescr):\n" + "\n".join(missing)
    assert counts["docs/index.md"] == (1, 1) and counts["docs/root-cause.md"] == (3, 3), counts


def test_every_diagram_on_the_built_pages_has_a_text_version_next_to_it(built_site):
    """The built pages too, so that diagrams a hook generates follow the same convention."""
    missing = []
    for page in sorted(SITE.rglob("*.html")):
        if page.parent.name in ("notebooks", "solutions"):
            continue
        html = page.read_text()
        for match in re.finditer(r'<pre class="mermaid">.*?</pre>', html, re.S):
            if not re.match(r'\s*<details class="note">\s*<summary>(?:Text version of the diagram|图的文字版)</summary>',
                            html[match.end():]):
                missing.append(str(page.relative_to(SITE)))
    assert not missing, f"diagrams without a text version right after them: {missing}"


def test_the_common_errors_page_shows_every_hint_of_every_check(built_site):
    """Counted from the checks' source here, independently of the page's generator: every
    LabCheckFailed(exercise, hint) in a lab's or notebook's check module, and every hint a judge(...)
    call passes (each wrong guess's and `otherwise`), stands on the page with its file and line."""
    import ast
    import html

    page = (SITE / "instructor" / "common-errors.html").read_text()
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))
    course = ROOT / "looplab" / "course"
    modules = [path for package in ("checks", "exercises") for path in sorted((course / package).glob("ep*.py"))
               + sorted((course / package).glob("lab*.py")) + [course / package / "common.py"]
               if path.exists()]
    assert len(modules) >= 14, modules
    counted = 0
    for path in modules:
        module = path.relative_to(course).with_suffix("").as_posix()
        tree = ast.parse(path.read_text())
        hints = [node.args[1] for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and getattr(node.func, "id", None) == "LabCheckFailed"]
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "judge"):
            keywords = {k.arg: k.value for k in call.keywords}
            hints += [pair.elts[1] for pair in keywords["wrong"].elts] if "wrong" in keywords else []
            hints += [keywords["otherwise"]]
        shown = {int(n) for n in re.findall(rf'data-hint="{module}\.py:(\d+)"', page)}
        assert shown == {hint.lineno for hint in hints}, f"{module}.py: {len(hints)} hints, {len(shown)} on the page"
        counted += len(hints)
        for hint in hints:
            literals = [n.value for n in ast.walk(hint) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            longest = re.sub(r"\s+", " ", max(literals, key=len, default="")).replace("`", "").strip()
            assert longest in text, f"{module}.py:{hint.lineno}: {longest[:60]!r} is not on the page"
    assert counted >= 70, counted  # 73 when written: a floor, so a parser that finds nothing fails


GLOSSARY_TERMS = ["Event loop", "asyncio.run()", "Coroutine", "Task", "Future", "Transport", "Selector", "Socket",
                  "Connection pool", "Keep-alive", "HTTP/1.1 connection reuse", "AsyncOpenAI", "httpx2", "httpcore2",
                  "Retries", "Lifespan", "uvicorn", "ASGI", "SSL context", "TLS handshake", "CA bundle", "truststore",
                  "Provider and adapter", "initialize()", "register_model()", "construct_stack", "Mock vLLM",
                  "Mini stack", "ResourceWarning", "CancelledError", "Loop affinity"]


def test_the_glossary_defines_every_term_and_gives_the_mocks_own_keepalive(built_site):
    from looplab.mock_vllm.settings import MockSettings

    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", (SITE / "glossary.html").read_text()))
    missing = [term for term in GLOSSARY_TERMS if term not in page]
    assert not missing, missing
    default = MockSettings().keepalive_s
    assert f"{default:g} seconds for the bundled mock" in page, "the glossary's keep-alive must be the mock's default"
    assert page.count("Taught in") + page.count("See Reference") >= 25, "each term says where it is taught"


def test_the_feedback_form_asks_about_every_episodes_outcome(built_site):
    import html

    from looplab.course import episodes

    page = html.unescape((SITE / "instructor" / "feedback.html").read_text())
    for episode in episodes.load().episodes:
        assert f'data-episode="{episode.number}"' in page
        assert episode.outcome[1:] in page, f"episode {episode.number}'s outcome is not on the form"
    assert "<form" in page and "action=\"#\"" in page and "https://" not in page.split("<form", 1)[1].split("</form>")[0]


def test_both_languages_are_built_with_every_page_and_notebook(built_site):
    english = {p.relative_to(SITE) for p in SITE.rglob("*.html") if p.relative_to(SITE).parts[0] not in ("zh", "assets")}
    chinese = {p.relative_to(SITE / "zh") for p in (SITE / "zh").rglob("*.html")}
    assert english - {Path("404.html")} <= chinese, sorted(map(str, english - chinese))
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = (SITE / "zh" / "notebooks" / source.with_suffix(".html").name).read_text()
        assert "jp-OutputArea" in html, f"zh/{source.name} shows no outputs"  # the executed cells, shared
        assert len(re.findall(r"[\u4e00-\u9fff]", html)) > 300, f"zh/{source.name} is not in Chinese"


def test_chinese_pages_are_chinese_down_to_the_generated_parts(built_site):
    facilitator = (SITE / "zh" / "facilitator.html").read_text()
    assert "90 分钟课程" in facilitator and "学员写代码" in facilitator and "<td>0:05</td>" in facilitator
    assert "90-minute session" not in facilitator
    home = (SITE / "zh" / "index.html").read_text()
    assert "学完你将能够" in home and "事件循环及其所属对象" in home  # the episodes table from strings.yml
    timeline = (SITE / "zh" / "timeline.html").read_text()
    assert "https://github.com/ogx-ai/ogx/pull/1969" in timeline and "发生了什么" in timeline
    notes = (SITE / "zh" / "instructor" / "episodes.html").read_text()
    for note in sorted((ROOT / "docs" / "instructor" / "notes").glob("[0-9][0-9].zh.md")):
        first_heading = re.search(r"^### (.+?)(?: \{.*\})?$", note.read_text(), re.M).group(1)
        assert first_heading in notes, f"{note.name} is not included"
    glossary = (SITE / "zh" / "glossary.html").read_text()
    assert "事件循环" in glossary and 'href="#event-loop"' in glossary  # the term table links its entries
    assert 'lang="zh' in home and 'hreflang="en"' in home  # Material in Chinese, with the switch back
    assert '<abbr title="Transport Layer Security（传输层安全协议）' in (SITE / "zh" / "fixes.html").read_text()  # hover
    assert '<abbr title="Transport Layer Security: the encryption' in (SITE / "fixes.html").read_text()  # definitions


def test_every_page_has_the_language_switch_to_its_own_translation(built_site):
    """Material's language menu on every page, English and Chinese, notebooks included, pointing at the same
    page in the other language (mkdocs-static-i18n's alternates), not at the other home page."""
    pages = [p for p in SITE.rglob("*.html") if p.name != "404.html" and p.relative_to(SITE).parts[0] != "assets"]
    assert len(pages) > 60
    for page in pages:
        html = page.read_text()
        chinese = page.relative_to(SITE).parts[0] == "zh"
        other = re.search(r'<a href="([^"]+)" hreflang="%s"' % ("en" if chinese else "zh"), html)
        assert other, f"{page.relative_to(SITE)} has no language switch"
        target = (page.parent / other.group(1)).resolve()
        assert target.exists(), f"{page.relative_to(SITE)} switches to a missing page {other.group(1)}"
        expected = page.relative_to(SITE / "zh") if chinese else Path("zh") / page.relative_to(SITE)
        assert target.relative_to(SITE.resolve()) == expected, f"{page.relative_to(SITE)} -> {other.group(1)}"
