"""mkdocs hooks: the website's generated parts, from the project's own sources.

* Navigation: from ``episodes.yml`` (notebooks) and ``solutions/`` (labs).
* Notebook pages: the copies the test run executed (``build/executed/``), copied into ``docs/``
  before the build. A copy whose cells differ from the source notebook is *stale* and fails the
  build: run the tests again. Notebooks are never executed a second time here.
* Placeholders in pages (``<!-- looplab:NAME -->``): the episodes table, the agendas with measured
  run times, the cost table from a recorded benchmark run (docs/data/strategy-costs.json), the upstream
  timeline (looplab/course/timeline.yml) and the CLI reference; the facilitator kit's pages (the
  opening deck, the feedback form, the common errors per lab, the instructor notes' headings) come
  from :mod:`looplab.course.kit`, the opening deck from :mod:`looplab.course.deck`.
* Both languages: mkdocs-static-i18n builds the site twice (English, then 简体中文 under ``zh/``);
  generated parts use the language being built (texts of the manifests from
  ``translations/zh/strings.yml``, :mod:`looplab.course.i18n`), and each notebook's Chinese page is its
  executed copy with the Markdown translated.
* The vendored mermaid (``docs/assets/vendor/mermaid.min.js``), so diagrams render offline.

Referenced from ``mkdocs.yml`` as ``hooks: [docs/hooks/site.py]``; kept beside the pages it builds
(``exclude_docs`` keeps it out of the site itself).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

from looplab.course import capacity_page, corpus, cost_page, deck, episodes, facts, i18n, installs, kit, site_html
from looplab.course.site_html import SiteError
from looplab.project import ROOT

DOCS = ROOT / "docs"
EXECUTED = ROOT / "build" / "executed"
TIMINGS = EXECUTED / "timings.json"
MERMAID = DOCS / "assets" / "vendor" / "mermaid.min.js"
IFRAME_WORKER = DOCS / "assets" / "vendor" / "iframe-worker-shim.js"  # the search from disk (mkdocs.yml: offline)
NOTEBOOK_DIRS = ("notebooks", "solutions")
_PLACEHOLDER = re.compile(r"<!-- looplab:([a-z-]+) -->")
#: ``<!-- looplab:fact NAME [ARGUMENT] -->``: a fact several pages state, from its one source (looplab/course/facts.py)
_FACT = re.compile(r"<!-- looplab:fact ([a-z0-9-]+(?: [a-z0-9-]+)?) -->")
#: The language being built: mkdocs-static-i18n builds the English site, then the Chinese one (under
#: zh/) by running the whole build again; on_config records which.
_BUILD = {"lang": "en"}


def _t(text: str) -> str:
    """A text of episodes.yml or timeline.yml in the language being built (translations/LANG/strings.yml)."""
    return i18n.gettext(text, _BUILD["lang"])


def _zh(en: str, zh: str) -> str:
    """A fixed phrase of a generated table, in the language being built."""
    return zh if _BUILD["lang"] == "zh" else en


def _sources(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def stage_notebooks() -> list[Path]:
    """Copy the executed notebooks into docs/, refusing missing or stale ones."""
    staged = []
    for name in NOTEBOOK_DIRS:
        target = DOCS / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for source in sorted((ROOT / name).glob("*.ipynb")):
            executed = EXECUTED / name / source.name
            if not executed.exists():
                raise PluginError(f"{name}/{source.name} has not been executed: run `python3 run.py test` "
                                  "(it executes every notebook once and keeps the outputs for this site)")
            if _sources(executed) != _sources(source):
                raise PluginError(f"build/executed/{name}/{source.name} is stale (its cells differ from the "
                                  "source): run `python3 run.py test` again")
            shutil.copy2(executed, target / source.name)
            staged.append(target / source.name)
            for lang in i18n.LANGUAGES:  # the same executed cells, the prose translated (i18n.py)
                try:
                    translated = i18n.translate(nbformat.read(executed, as_version=4), source, lang)
                except i18n.TranslationError as error:
                    raise PluginError(f"{name}/{source.name}: its {i18n.LANGUAGES[lang]} translation is not up to "
                                      f"date (`looplab i18n check`):\n{error}") from None
                copy = target / f"{source.stem}.{lang}.ipynb"
                nbformat.write(translated, copy)
                staged.append(copy)
    return staged


#: The navigation's own titles in Chinese (pages' titles; the episodes' come from strings.yml).
NAV_ZH = {
    "Home": "首页", "The incident": "事件始末", "Root cause": "根本原因", "The fix and beyond": "修复与进阶",
    "Upstream, after the fix": "上游：修复之后", "The same bug elsewhere": "别处的同类 bug",
    "The source article": "原文", "Notebooks": "Notebook", "Lab solutions": "实验答案", "About the labs": "关于实验",
    "Instructors": "讲师", "Facilitator guide": "讲师指南", "Setup": "环境准备",
    "Prerequisites and learner profile": "先修要求与学员画像", "Opening deck": "开场幻灯片",
    "Instructor notes per episode": "各单元讲师笔记", "Helper guidance": "助教指南",
    "Common errors per lab": "各实验常见错误", "Feedback form": "反馈表", "Reference": "参考",
    "Command line and servers": "命令行与服务器", "Glossary": "术语表", "The room (shared JupyterHub)": "教室（共享 JupyterHub）",
}


def _translated_nav(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        ((title, value),) = item.items()
        out.append({NAV_ZH.get(title, title): _translated_nav(value) if isinstance(value, list) else value})
    return out


def navigation(lang: str = "en") -> list[dict[str, Any]]:
    manifest = episodes.load()
    notebooks = [{f"{e.number:02d} · {i18n.gettext(e.title, lang)}": f"notebooks/{e.stem}.ipynb"}
                 for e in manifest.episodes]
    solutions = []
    lab = "实验" if lang == "zh" else "Lab"
    for path in sorted((ROOT / "solutions").glob("lab-*.ipynb")):
        episode = episodes.load().episode(int(path.name[4:6]))
        title = i18n.gettext((episode.lab or {}).get("title", episode.title), lang)
        solutions.append({f"{lab} {episode.number:02d} · {title}": f"solutions/{path.name}"})
    nav = [
        {"Home": "index.md"},
        {"The incident": [{"Root cause": "root-cause.md"}, {"The fix and beyond": "fixes.md"},
                          {"Upstream, after the fix": "timeline.md"}, {"The same bug elsewhere": "elsewhere.md"},
                          {"The source article": "article.md"}]},
        {"Notebooks": notebooks},
        {"Lab solutions": [{"About the labs": "labs.md"}, *solutions]},
        {"Instructors": [{"Facilitator guide": "facilitator.md"}, {"The room (shared JupyterHub)": "room.md"},
                         {"Setup": "setup.md"},
                         {"Prerequisites and learner profile": "instructor/prerequisites.md"},
                         {"Opening deck": "instructor/deck.md"},
                         {"Instructor notes per episode": "instructor/episodes.md"},
                         {"Helper guidance": "instructor/helpers.md"},
                         {"Common errors per lab": "instructor/common-errors.md"},
                         {"Feedback form": "instructor/feedback.md"}]},
        {"Reference": [{"Command line and servers": "reference.md"}, {"Glossary": "glossary.md"}]},
    ]
    return _translated_nav(nav) if lang == "zh" else nav


def _timings() -> dict[str, float]:
    try:
        return json.loads(TIMINGS.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def episodes_table() -> str:
    manifest = episodes.load()
    rows = [_zh("| # | notebook | you will be able to | minutes | lab |", "| # | Notebook | 学完你将能够 | 分钟 | 实验 |"),
            "| --- | --- | --- | --- | --- |"]
    for e in manifest.episodes:
        lab = next((p for p in sorted((ROOT / "solutions").glob(f"lab-{e.number:02d}-*.ipynb"))), None)
        lab_cell = f"[{_t((e.lab or {}).get('title', ''))}](solutions/{lab.name})" if lab else "-"
        rows.append(f"| {e.number:02d} | [{_t(e.title)}](notebooks/{e.stem}.ipynb) | {_t(e.outcome)} | "
                    f"{e.teaching} + {e.exercises} | {lab_cell} |")
    return "\n".join(rows)


def _lab_notebook(number: int) -> Path | None:
    return next(iter(sorted((ROOT / "solutions").glob(f"lab-{number:02d}-*.ipynb"))), None)


def _agenda_row(slot: episodes.Slot, timings: dict[str, float], base: str) -> str:
    start = episodes.clock_time(slot.start)
    unmeasured = _zh("not measured", "未测量")
    if slot.kind == "episode":
        e = slot.episode
        run = timings.get(f"notebooks/{e.stem}.ipynb")
        return (f"| {start} | [{e.number:02d} · {_t(e.title)}]({base}notebooks/{e.stem}.ipynb) | {e.minutes} "
                + _zh(f"({e.teaching} teaching, {e.exercises} exercises)", f"（讲解 {e.teaching}，练习 {e.exercises}）")
                + f" | {e.exercises} | {f'{run:.0f} s' if run else unmeasured} |")
    if slot.kind == "lab":
        e, lab = slot.episode, _lab_notebook(slot.episode.number)
        title = f"{_zh('Lab', '实验')} {e.number:02d} · {_t(e.lab['title'])}"
        run = timings.get(f"solutions/{lab.name}") if lab else None
        return (f"| {start} | {f'[{title}]({base}solutions/{lab.name})' if lab else title} | {slot.minutes} | "
                f"{slot.minutes} | {f'{run:.0f} s' + _zh(' (solved)', '（答案版）') if run else unmeasured} |")
    part = {"setup": _zh("**Set-up**: everyone joins the room (or pastes `looplab doctor --line` from their laptop); "
                         "the [live view](" + base + "room.md#the-live-view) shows who is ready",
                         "**准备环境**：大家加入教室（或在自己电脑上运行 `looplab doctor --line` 并贴出结果）；"
                         "[实时看板](" + base + "room.md#the-live-view)会显示谁已就绪"),
            "buffer": _zh("**Buffer**: for a room that runs late (or questions); if on time, start lab 06",
                          "**缓冲**：给进度落后的教室（或答疑）；如果准时，开始实验 06"),
            "intro": _zh("Introduction: the incident in one page", "开场：一页讲清这次事故")
                     + f" ([{_zh('the opening deck', '开场幻灯片')}]({base}instructor/deck.md))",
            "break": _zh("**Break**", "**休息**"),
            "wrap-up": _zh("Wrap-up: key points, questions, the review checklist, the ",
                           "总结：要点、提问、代码审查清单、") + f"[{_zh('feedback form', '反馈表')}]"
                       f"({base}instructor/feedback.md)"}[slot.kind]
    return f"| {start} | {part} | {slot.minutes} | | |"


def agendas(base: str = "") -> str:
    """Each agenda of episodes.yml as a table with running start times; refuses a plan that does not
    fit its clock (the message names the agenda, its total and its clock)."""
    manifest, timings = episodes.load(), _timings()
    problems = manifest.agenda_problems()
    if problems:
        raise PluginError("episodes.yml: the agendas do not fit:\n- " + "\n- ".join(problems))
    out = []
    for key, agenda in manifest.agendas.items():
        slots = manifest.schedule(key)
        total, coding = sum(s.minutes for s in slots), sum(s.coding for s in slots)
        labs = sum(s.coding for s in slots if s.kind == "lab")
        rows = [f"### {_t(agenda.title)}", ""]
        if agenda.summary:
            rows += [_t(agenda.summary), ""]
        if agenda.leaves_out:
            rows += [_zh("It leaves out:", "它略去了："), ""]
            rows += [f"- **{n:02d} · {_t(manifest.episode(n).title)}**{_zh(':', '：')} {why}"
                     for n, why in manifest.leaves_out(key, _t).items()]
            rows.append("")
        rows += [_zh("| start | part | minutes | learners code | measured run time |",
                     "| 开始 | 内容 | 分钟 | 学员写代码 | 实测运行时间 |"), "| --- | --- | --- | --- | --- |"]
        rows += [_agenda_row(slot, timings, base) for slot in slots]
        rows.append(f"| {episodes.clock_time(total)} | **{_zh('End', '结束')}** | **{total}** "
                    + _zh(f"in total ({total // 60} h {total % 60:02d} min)", f"合计（{total // 60} 小时 {total % 60:02d} 分）")
                    + f" | **{coding}** | |")
        rows += ["", _zh(f"Learners write code for {coding} of the {total} minutes: {labs} in the labs and "
                         f"{coding - labs} in the episodes' exercises.",
                         f"{total} 分钟里学员写代码 {coding} 分钟：实验 {labs} 分钟，单元练习 {coding - labs} 分钟。")]
        out.append("\n".join(rows))
    return "\n\n".join(out)


def cli_reference() -> str:
    import argparse

    from looplab.entrypoints.cli import build_parser

    parser = build_parser()
    out = ["```text", parser.format_help().rstrip(), "```"]
    for action in parser._actions:  # noqa: SLF001 (argparse has no public walk of subcommands)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                out += ["", f"### `looplab {name}`", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(out)


def python_versions() -> str:
    """The last result of ``python3 run.py test --python X.Y`` for each version (docs/data/python-versions.json)."""
    record = DOCS / "data" / "python-versions.json"
    results = json.loads(record.read_text()) if record.exists() else {}
    if not results:
        return _zh("No run on another Python has been recorded yet.", "还没有记录过在其他 Python 版本上的运行。")
    rows = [_zh("| Python | last run | result |", "| Python | 最近一次运行 | 结果 |"), "| --- | --- | --- |"]
    for version, r in sorted(results.items(), key=lambda kv: tuple(map(int, kv[0].split(".")))):
        verdict = r["summary"] if r["exit"] == 0 else f"**{_zh('failed', '失败')}** ({r['summary']})"
        rows.append(f"| {r['python']} | {r['date']} | {verdict} |")
    return "\n".join(rows)


def terms_table() -> str:
    """The term list (translations/zh/terms.yml): the same table in both glossaries, each term linked to its entry."""
    rows = ["| English | 中文 | |", "| --- | --- | --- |"]
    for term in i18n.terms("zh"):
        entry = f"[{_zh('entry', '词条')}](#{term['anchor']})" if term.get("anchor") else ""
        rows.append(f"| {term['en']} | {term['zh']} | {entry} |")
    return "\n".join(rows)


def timeline_table() -> str:
    from looplab.course import timeline

    return timeline.markdown_table(translate=_t, headers=_zh("| opened | # | what happened | released in | checked |",
                                                             "| 提出日期 | # | 发生了什么 | 发布于 | 核实情况 |"),
                                   full_stop=_zh(".", "。"))


_GENERATORS = {"episodes-table": episodes_table, "agendas": agendas, "cost-table": lambda: cost_page.markdown(_BUILD["lang"]),
               "cli-reference": cli_reference, "timeline": timeline_table, "python-versions": python_versions,
               # the facilitator kit (looplab/course/kit.py, deck.py)
               "instructor-notes": lambda: kit.instructor_notes(_BUILD["lang"], _t),
               "common-errors": lambda: kit.common_errors(_BUILD["lang"], _t),
               "terms": terms_table,
               "feedback-form": lambda: kit.feedback_form(_BUILD["lang"], _t),
               "deck": lambda: deck.deck(_BUILD["lang"], _t),
               # the same bug elsewhere (docs/elsewhere.md)
               "cases": lambda: kit.cases_table(_BUILD["lang"], _t),
               "lint-rules": lambda: kit.lint_rules(_BUILD["lang"], _t),
               "lint-corpus": lambda: corpus.markdown(_BUILD["lang"], _t),
               # the room (docs/room.md): capacity measured by `looplab room capacity`
               "room-capacity": lambda: capacity_page.markdown(_BUILD["lang"], _t),
               # what set-up installs and downloads (docs/data/setup-installs.yml)
               "setup-installs": lambda: installs.table(_BUILD["lang"]),
               "setup-size": lambda: installs.summary(_BUILD["lang"]),
               "setup-size-message": installs.message_note}


# --- mkdocs events ---------------------------------------------------------------------------------

def on_config(config: Any) -> Any:
    i18n_plugin = config.plugins.get("i18n")
    _BUILD["lang"] = getattr(i18n_plugin, "current_language", None) or "en"
    try:
        config["nav"] = navigation(_BUILD["lang"])
    except i18n.TranslationError as error:
        raise PluginError(str(error)) from None
    if not MERMAID.exists():
        raise PluginError(f"{MERMAID.relative_to(ROOT)} is missing: `python3 run.py setup` vendors mermaid "
                          "so that diagrams render without internet")
    if not IFRAME_WORKER.exists():
        raise PluginError(f"{IFRAME_WORKER.relative_to(ROOT)} is missing: `python3 run.py setup` vendors it, so "
                          "that the search works in the site opened from disk")
    stage_notebooks()
    return config


@event_priority(-200)  # after mkdocs-static-i18n's on_files (-100), which runs after mkdocs-jupyter's
def on_files(files: Any, config: Any) -> Any:
    """mkdocs-static-i18n rebuilds every file as a plain ``File``, so the notebooks lose mkdocs-jupyter's
    ``NotebookFile`` wrapper and would be copied raw (their JSON as an .html page). Wrap them again,
    keeping where the i18n plugin put them (``zh/notebooks/...``) and its language attributes."""
    from types import SimpleNamespace

    from mkdocs_jupyter.plugin import NotebookFile

    jupyter = config.plugins.get("mkdocs-jupyter")
    lang = _BUILD["lang"]
    for file in [f for f in files if f.src_uri.endswith(".ipynb") and not isinstance(f, NotebookFile)]:
        if not jupyter.should_include(file):
            continue
        wrapped = NotebookFile(file, **config)
        wrapped.dest_path, wrapped.abs_dest_path, wrapped.url = file.dest_path, file.abs_dest_path, file.url
        # The language menu leads to the same notebook in the other language (the i18n plugin, seeing a
        # plain file, knew only this language's copy).
        english = file.url.removeprefix(f"{lang}/") if lang != "en" else file.url
        file.alternates = {"en": SimpleNamespace(url=english, locale="en"),
                           **{other: SimpleNamespace(url=f"{other}/{english}", locale=other) for other in i18n.LANGUAGES}}
        files.remove(file)
        files.append(wrapped)
    return files


#: Material 9.8's search worker cuts a Chinese query into the words of the index (``segment``), with two
#: slips: it never tries a slice that ends at the query's last character (``j < query.length``), nor goes
#: on from a word that starts at it, so 证书包 was searched as 证书, 事件 as 事, 延迟创建 as 延迟; and it joins
#: the words with "* " before the query's own transform adds a "*" to every word, so every word but the
#: last became ``word**``, which the highlight (``?h=``) never names. The built copy of the worker is
#: corrected, each slip by one exact replacement; a worker without this code (another Material) fails the
#: build, so the corrections are looked at again. tests_site/test_site_languages.py runs the queries.
def on_post_build(config: Any) -> None:
    try:
        site_html.fix_search_worker(Path(config["site_dir"]))
    except SiteError as error:
        raise PluginError(str(error)) from None
    site_html.sitemaps(Path(config["site_dir"]), _BUILD["lang"])


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    lang, uri = _BUILD["lang"], page.file.dest_uri
    if lang == "en":
        headings, items = site_html.headings(html), site_html.toc_items(page.toc)
        if page.file.src_uri.endswith(".ipynb") and len(items) == len(headings):
            # mkdocs-jupyter slugs a notebook's table of contents and its body apart, and they disagree
            # on a heading with code in it (`looplab lint`): the body's anchors are the page's.
            for item, (_, anchor) in zip(items, headings):
                item.id = anchor
        site_html.ENGLISH_HEADINGS[uri], site_html.ENGLISH_TOC[uri] = headings, [item.id for item in items]
        return html
    english = uri.removeprefix(f"{lang}/")
    if english not in site_html.ENGLISH_HEADINGS:
        raise PluginError(f"{page.file.src_uri}: no English page {english} was built before it (the English "
                          "site is built first, and gives every page its anchors)")
    try:
        return site_html.take_english_anchors(html, page, english)
    except SiteError as error:
        raise PluginError(str(error)) from None


def on_post_page(output: str, page: Any, config: Any) -> str:
    if not page.file.src_path.endswith(".ipynb"):
        return output
    try:
        return site_html.notebook_page(output, page.file.src_path, Path(page.file.src_uri).parent.name)
    except SiteError as error:
        raise PluginError(str(error)) from None


def render_facts(markdown: str, where: str) -> str:
    """Each ``<!-- looplab:fact ... -->`` replaced by the fact, in the language being built (also in the parts
    generated above, such as the instructor notes)."""
    def fact(match: re.Match) -> str:
        try:
            return facts.render(match.group(1), _BUILD["lang"])
        except facts.FactError as error:
            raise PluginError(f"{where}: {error}") from None
    return _FACT.sub(fact, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match) -> str:
        generator = _GENERATORS.get(match.group(1))
        if generator is None:
            raise PluginError(f"{page.file.src_path}: unknown placeholder {match.group(0)}")
        try:
            return generator()
        except (kit.KitError, i18n.TranslationError, cost_page.CostsMissing) as error:
            raise PluginError(f"{page.file.src_path}: {error}") from None
    # hover definitions on every page, in the page's language (docs/snippets/abbreviations[.zh].md)
    markdown = _PLACEHOLDER.sub(replace, markdown)
    markdown = render_facts(markdown, page.file.src_path)
    try:  # the instructor notes' (and any page's) pointers at notebook cells, checked against the cells
        markdown = kit.cell_references(markdown, page.file.src_path, _BUILD["lang"])
    except kit.KitError as error:
        raise PluginError(str(error)) from None
    if not page.file.src_path.endswith(".md"):
        return markdown
    abbreviations = "docs/snippets/abbreviations" + ("" if _BUILD["lang"] == "en" else f".{_BUILD['lang']}") + ".md"
    return markdown + f'\n\n--8<-- "{abbreviations}"\n'

