"""The Chinese workshop keeps up with the English one: every page and notebook translated, the same
code, the same anchors, links and facts, one word per idea, and a check that catches an English cell
that changed without its translation (proved here by changing one)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import markdown
import nbformat
import pytest
from markdown_it import MarkdownIt

from looplab.course import episodes, i18n

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: English pages whose Chinese sibling is NAME.zh.md (generated placeholders are filled at build time)
PAGES = sorted(p for p in DOCS.rglob("*.md") if not p.name.endswith(".zh.md") and "hooks" not in p.parts)
ENGLISH_NOTEBOOKS = i18n.english_notebooks()


def _zh_page(page: Path) -> Path:
    return page.with_name(page.stem + ".zh.md")


def _zh_corpus() -> str:
    pages = "\n".join(_zh_page(p).read_text(encoding="utf-8") for p in PAGES)
    cells = "\n".join(cell.source for path in sorted((ROOT / "zh").rglob("*.ipynb"))
                      for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")
    strings = "\n".join(i18n.strings("zh").values())
    return pages + cells + strings


# --- the check, and its proof ----------------------------------------------------------------------

def test_every_notebook_is_translated_up_to_date_and_zh_is_what_the_build_writes():
    assert [str(p) for p in i18n.all_problems("zh")] == []
    assert i18n.build("zh", check=True) == [], "zh/ is generated: run `looplab i18n build`"
    result = subprocess.run([sys.executable, "-m", "looplab", "i18n", "check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A copy of notebook 01 and of its translation, where the test may change either."""
    english = tmp_path / "notebooks" / "01-event-loops.ipynb"
    english.parent.mkdir()
    shutil.copy(ROOT / "notebooks" / english.name, english)
    translations = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, translations)
    monkeypatch.setattr(i18n, "TRANSLATIONS", translations)
    monkeypatch.delenv("LOOPLAB_I18N_DRAFT", raising=False)
    return english


def _edit_cell(path: Path, cell_id: str, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


def test_an_english_cell_changed_alone_fails_the_check_naming_the_cell_and_the_change(scratch):
    assert i18n.problems(scratch) == []
    _edit_cell(scratch, "nb01-05", "A future belongs to the loop it was created on.",
               "A future belongs, for life, to the loop it was created on.")
    (problem,) = i18n.problems(scratch)
    assert (problem.cell, problem.what) == ("nb01-05", "changed")
    assert "+A future belongs, for life, to the loop" in problem.detail  # the translator sees what changed
    with pytest.raises(i18n.TranslationError, match="nb01-05"):
        i18n.translate(nbformat.read(scratch, as_version=4), scratch)  # and the site refuses to render it
    # The translator updates the entry: its English and its Chinese. Then the check passes again.
    path = i18n.translation_file(scratch)
    cells = i18n.load(path)
    cells["nb01-05"]["en"] = next(c.source for c in nbformat.read(scratch, as_version=4).cells if c.id == "nb01-05")
    cells["nb01-05"]["zh"] += "\n\n（补充：一个 future 终生属于创建它的事件循环。）"
    i18n.dump(path, ROOT / "notebooks" / scratch.name, cells)
    assert i18n.problems(scratch) == []


def test_a_draft_preview_shows_english_where_the_translation_is_behind_and_chinese_elsewhere(scratch, monkeypatch):
    _edit_cell(scratch, "nb01-05", "A future belongs to the loop it was created on.", "A future is its loop's.")
    monkeypatch.setenv("LOOPLAB_I18N_DRAFT", "1")
    cells = {c.id: c.source for c in i18n.translate(nbformat.read(scratch, as_version=4), scratch).cells}
    assert cells["nb01-05"].startswith("## Objects remember") and "A future is its loop's." in cells["nb01-05"]
    assert CJK.search(cells["nb01-01"]) and CJK.search(cells["nb01-03"])


def test_a_translators_yaml_mistake_is_one_line_naming_the_file_and_line(scratch, capsys):
    import argparse

    from looplab.entrypoints.course_cli import I18nCommand

    path = i18n.translation_file(scratch)
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("    zh: |-"))
    lines[at + 1] = lines[at + 1].lstrip()  # the first line of a translation, not indented
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert I18nCommand.run(argparse.Namespace(action="check", lang="zh")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "01-event-loops.yml line" in err[0] and "not valid YAML" in err[0], err


def test_a_new_cell_is_missing_until_extracted_and_translated(scratch):
    nb = nbformat.read(scratch, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_markdown_cell("A new paragraph.", id="nb01-new"))
    nbformat.write(nb, scratch)
    assert [(p.cell, p.what) for p in i18n.problems(scratch)] == [("nb01-new", "missing")]
    assert i18n.extract(scratch) == 1
    assert [(p.cell, p.what) for p in i18n.problems(scratch)] == [("nb01-new", "untranslated")]


def test_a_changed_title_in_the_manifest_has_no_translation_until_one_is_written(monkeypatch):
    monkeypatch.delenv("LOOPLAB_I18N_DRAFT", raising=False)
    title = episodes.load().episode(1).title
    assert CJK.search(i18n.gettext(title, "zh"))
    with pytest.raises(i18n.TranslationError, match="no translation"):
        i18n.gettext(title + " (revised)", "zh")


# --- what the Chinese notebooks share with the English ones ----------------------------------------

@pytest.mark.parametrize("english", ENGLISH_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_chinese_notebook_has_the_same_code_and_translated_prose(english):
    zh = nbformat.read(i18n.target(english), as_version=4)
    en = nbformat.read(english, as_version=4)
    assert [(c.id, c.cell_type, c.metadata.get("tags")) for c in zh.cells] == \
        [(c.id, c.cell_type, c.metadata.get("tags")) for c in en.cells]
    for a, b in zip(en.cells, zh.cells):
        if a.cell_type == "code":
            assert a.source == b.source, f"{b.id}: code differs"
        else:
            assert CJK.search(b.source), f"{b.id} is not translated"


@pytest.mark.parametrize("lab", sorted((ROOT / "labs").glob("lab-*.ipynb")), ids=lambda p: p.name)
def test_a_chinese_lab_is_the_english_lab_with_the_prose_translated(lab):
    en, zh = nbformat.read(lab, as_version=4), nbformat.read(ROOT / "zh" / "labs" / lab.name, as_version=4)
    assert [(c.id, c.cell_type) for c in zh.cells] == [(c.id, c.cell_type) for c in en.cells]
    assert [c.source for c in zh.cells if c.cell_type == "code"] == [c.source for c in en.cells if c.cell_type == "code"]
    assert "YOUR CODE HERE" in "".join(c.source for c in zh.cells)  # a lab, not a solution


def test_chinese_headers_use_the_manifests_titles():
    for e in episodes.load().episodes:
        header = nbformat.read(ROOT / "zh" / "notebooks" / f"{e.stem}.ipynb", as_version=4).cells[0].source
        assert header.startswith(f"# {e.number:02d} · {i18n.gettext(e.title, 'zh')}\n"), header.splitlines()[0]
    for solution in sorted((ROOT / "zh" / "solutions").glob("lab-*.ipynb")):
        e = episodes.load().episode(int(solution.name[4:6]))
        header = nbformat.read(solution, as_version=4).cells[0].source
        assert header.startswith(f"# 实验 {e.number:02d} · {i18n.gettext(e.lab['title'], 'zh')}\n"), header.splitlines()[0]
        assert f"{e.number:02d}：{i18n.gettext(e.title, 'zh')}]" in header, "the link names the notebook by its title"


def test_bold_and_italics_in_chinese_cells_render_in_jupyter():
    """Jupyter renders Markdown by CommonMark's rules, which do not close `**粗体：**正文` (emphasis that
    ends in full-width punctuation right before a letter): the asterisks would show. A space after
    the closing `**`, or the punctuation outside it, renders."""
    md = MarkdownIt("commonmark")
    bad = []
    for path in sorted((ROOT / "zh").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            html = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", md.render(cell.source), flags=re.S)
            if re.search(r"\*\*|(?<![\w*])\*(?=\S)[^*\n]+\*", html):
                bad.append(f"{path.relative_to(ROOT)} {cell.id}")
    assert bad == []


def test_a_chinese_notebook_runs_top_to_bottom(tmp_path):
    """The code cells are the English ones (tested above); this runs one Chinese notebook in its own
    folder, as a learner opens it from zh/notebooks/."""
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "zh" / "notebooks" / "01-event-loops.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert "Event loop is closed" in str([c.outputs for c in nb.cells if c.cell_type == "code"])


def test_every_fixed_phrase_of_the_deck_and_the_form_is_in_every_language():
    from looplab.course import deck, kit

    for table in (deck.DECK_WORDS, deck.DIAGRAM_WORDS, kit.FORM_WORDS):
        missing = [key for key, phrase in table.items() if set(phrase) != {"en", *i18n.LANGUAGES} or not all(phrase.values())]
        assert missing == []


# --- the pages ------------------------------------------------------------------------------------

def test_every_page_has_a_chinese_version():
    missing = [str(p.relative_to(ROOT)) for p in PAGES if not _zh_page(p).exists()]
    assert missing == []
    orphans = [str(p.relative_to(ROOT)) for p in DOCS.rglob("*.zh.md") if not p.with_name(p.name[:-6] + ".md").exists()]
    assert orphans == []


def _anchors(path: Path) -> list[str]:
    md = markdown.Markdown(extensions=["toc", "attr_list", "admonition", "pymdownx.superfences", "pymdownx.details",
                                       "md_in_html", "tables"])
    md.convert(path.read_text(encoding="utf-8"))

    def walk(tokens: list[dict]) -> list[str]:
        return [i for t in tokens for i in [t["id"], *walk(t["children"])]]
    return walk(md.toc_tokens)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_a_chinese_page_keeps_the_english_anchors_links_numbers_and_code(page):
    en, zh = page.read_text(encoding="utf-8"), _zh_page(page).read_text(encoding="utf-8")
    missing = [a for a in _anchors(page) if a not in _anchors(_zh_page(page))]
    assert missing == [], "links into the page would break in Chinese: give these headings { #id }"
    links = re.compile(r"\]\(([^)\s]+)")
    assert sorted(set(links.findall(zh))) == sorted(set(links.findall(en)))
    refs = re.compile(r"(?<![\w/])#\d{3,5}\b|\b\d+\.\d+\.\d+\b")
    assert sorted(set(refs.findall(zh))) == sorted(set(refs.findall(en))), "an issue number or version moved"
    fence = re.compile(r"^ *```([^\n]*)\n(.*?)^ *```$", re.S | re.M)
    assert [f for f in fence.findall(zh) if f[0] != "mermaid"] == [f for f in fence.findall(en) if f[0] != "mermaid"], \
        "code blocks are shared, not translated"
    for marker in re.findall(r"<!-- looplab:[a-z-]+ -->", en):
        assert marker in zh
    snippet = re.compile(r'--8<-- "([^"]+)"')
    assert [s.replace(".zh.md", ".md") for s in snippet.findall(zh)] == snippet.findall(en)
    words = len(re.sub(r"<!--.*?-->|^---.*?^---", "", en, flags=re.S | re.M).split())
    assert len(CJK.findall(zh)) >= min(words, 40), "the page is not translated"


# --- the terms ------------------------------------------------------------------------------------

def test_every_term_is_used_and_no_variant_appears():
    corpus = _zh_corpus()
    terms = i18n.terms("zh")
    assert [t["en"] for t in terms if t["zh"] not in corpus] == []
    found = {variant: corpus.count(variant) for t in terms for variant in t.get("avoid", []) if variant in corpus}
    assert found == {}, "use the term of translations/zh/terms.yml instead"


def test_both_glossaries_have_every_terms_entry_and_the_table():
    terms = i18n.terms("zh")
    for page in (DOCS / "glossary.md", DOCS / "glossary.zh.md"):
        anchors = set(_anchors(page))
        assert {t["anchor"] for t in terms if t.get("anchor")} <= anchors
        assert "terms" in anchors and "<!-- looplab:terms -->" in page.read_text(encoding="utf-8")


def test_the_search_dictionary_holds_the_terms():
    assert (i18n.TRANSLATIONS / "zh" / i18n.SEARCH_WORDS).read_text(encoding="utf-8") == i18n.search_words("zh")
    words = (i18n.TRANSLATIONS / "zh" / i18n.SEARCH_WORDS).read_text(encoding="utf-8").splitlines()
    kept = {line.split()[0] for line in words}
    assert {"证书包", "长连接", "线程"} <= kept  # a single character left over (包, 长); cut wrongly in 在线程
    assert "事件循环" not in kept  # 事件 + 循环: a search for 循环 finds it
    assert f"jieba_dict_user: translations/zh/{i18n.SEARCH_WORDS}" in (ROOT / "mkdocs.yml").read_text()
