"""The facilitator kit's generated pages, from the workshop's own sources, for the website's hooks
(``docs/hooks/site.py`` puts each where a page says ``<!-- looplab:NAME -->``).

* ``instructor-notes``: a heading per episode of ``episodes.yml``, and ``docs/instructor/notes/NN.md`` under it.
* ``common-errors``: every hint each check can give (:mod:`.hints`), per lab and guided notebook.
* ``feedback-form``: confidence against each episode's outcome, the pace, what worked and what to change.
* ``cases``, ``lint-rules``: the same bug elsewhere's tables.

The opening deck (``deck``) has a module of its own, :mod:`.deck`.

Each returns Markdown (with raw HTML where a page needs a form or data attributes) and raises
:class:`KitError`, naming the file to fix, when a source it quotes has changed shape.
"""

from __future__ import annotations

from collections.abc import Callable

import functools
import html
import re
from pathlib import Path
from typing import Any

import nbformat

from ..project import ROOT
from . import episodes, hints

DOCS = ROOT / "docs"


class KitError(ValueError):
    """A source a generated page quotes is missing or changed shape; the message says which."""


NOTES = DOCS / "instructor" / "notes"


def _heading(english: str, shown: str) -> str:
    """A heading in the page's language that keeps the English heading's anchor (links work in both)."""
    if shown == english:
        return english
    from markdown.extensions.toc import slugify

    return f"{shown} {{ #{slugify(english, '-')} }}"


def same(text: str) -> str:
    """No translation (the English pages)."""
    return text


#: ``<!-- looplab:cell ID TEXT -->``: a note's pointer at a notebook's cell, by the cell's id (kept by
#: nbformat, shared by the Chinese copies), and a few words the cell holds. Rendered as a link to the
#: notebook's page naming those words; the build fails when the cell is gone or no longer holds them.
CELL_REFERENCE = re.compile(r"<!-- looplab:cell ([A-Za-z0-9_-]+) (.+?) -->")


@functools.cache
def _cells() -> dict[str, tuple[Path, str]]:
    """Every cell id of the English notebooks and solutions: (notebook, source)."""
    found: dict[str, tuple[Path, str]] = {}
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                found.setdefault(cell.get("id", ""), (path, cell.source))
    return found


def cell_references(markdown: str, where: str, lang: str = "en") -> str:
    """Each ``<!-- looplab:cell ID TEXT -->`` of ``markdown`` (a page under docs/instructor/) as a link to
    the cell's notebook; :class:`KitError` when the cell is gone or no longer holds TEXT."""
    def link(match: re.Match) -> str:
        cell_id, text = match.group(1), match.group(2).strip()
        if cell_id not in _cells():
            raise KitError(f"{where} points at cell {cell_id}, which no notebook or solution has any more: "
                           "point the note at the cell that now holds it (its id is in the notebook's JSON)")
        path, source = _cells()[cell_id]
        if text not in source:
            raise KitError(f"{where} points at cell {cell_id} of {path.parent.name}/{path.name} for `{text}`, which "
                           "that cell no longer holds: update the note to what the cell does now")
        number = re.search(r"(\d\d)", path.name).group(1)
        kind = {"notebooks": ("notebook", "Notebook"), "solutions": ("lab", "实验")}[path.parent.name]
        page = f"../{path.parent.name}/{path.name}"
        if lang == "zh":
            return f"[{kind[1]} {number}]({page}) 中含 `{text}` 的单元格"
        return f"the cell with `{text}` in [{kind[0]} {number}]({page})"
    return CELL_REFERENCE.sub(link, markdown)


def instructor_notes(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """A heading per episode of episodes.yml, and under it docs/instructor/notes/NN.md (NN.LANG.md on
    a translated page) if it exists, its cell references checked (:func:`cell_references`)."""
    out = []
    suffix = "" if lang == "en" else f".{lang}"
    for e in episodes.load().episodes:
        note = NOTES / f"{e.number:02d}{suffix}.md"
        body = (cell_references(note.read_text(), note.relative_to(ROOT).as_posix(), lang) if note.exists() else
                f"*No notes yet for this episode* (`{note.relative_to(ROOT).as_posix()}`). "
                f"Its notebook: [{e.stem}](../notebooks/{e.stem}.ipynb).")
        title = f"{e.number:02d} · {e.title}"
        out += [f"## {_heading(title, f'{e.number:02d} · {translate(e.title)}')}", "", body, ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    """A hint as HTML: escaped, with its `backtick` spans as code."""
    parts = html.escape(text, quote=False).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def common_errors(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """Every hint each lab's (and guided notebook's) checks can give, read from looplab/course/checks/ and
    exercises/ (:mod:`looplab.course.hints`): grouped by notebook, then by check. The hints stay English
    on a translated page (learners see them in English); the headings and links follow ``lang``."""
    zh = lang == "zh"
    manifest = episodes.load()
    by_notebook: dict[Path, list[hints.Check]] = {}
    for check in hints.checks():
        if not check.used_in:
            raise KitError(f"looplab/course/{check.module}.py: no notebook calls {check.function}()")
        for path in check.used_in:
            by_notebook.setdefault(path, []).append(check)
    out = []
    for kind, folder in (("Labs", "solutions"), ("Guided notebooks", "notebooks")):
        out += [f"## {_heading(kind, {'Labs': '实验', 'Guided notebooks': '引导式 Notebook'}[kind] if zh else kind)}", ""]
        for path, found in sorted((p, c) for p, c in by_notebook.items() if p.parent.name == folder):
            episode = manifest.episode(int(re.search(r"(\d\d)", path.name).group(1)))
            if folder == "solutions":
                title = f"Lab {episode.number:02d} · {episode.lab['title']}"
                shown = f"实验 {episode.number:02d} · {translate(episode.lab['title'])}" if zh else title
                link = (f"[参考答案](../solutions/{path.name})，练习的是[Notebook {episode.number:02d}](../notebooks/{episode.stem}.ipynb)。"
                        if zh else f"[worked solution](../solutions/{path.name}), practising [notebook "
                        f"{episode.number:02d}](../notebooks/{episode.stem}.ipynb).")
            else:
                title = f"{episode.number:02d} · {episode.title}"
                shown = f"{episode.number:02d} · {translate(episode.title)}" if zh else title
                link = (f"[Notebook](../notebooks/{path.name})；每道练习下面都有一个折叠的答案。" if zh else
                        f"[the notebook](../notebooks/{path.name}); a folded answer sits under each exercise.")
            out += [f"### {_heading(title, shown)}", "", link, ""]
            for check in found:
                rows = []
                for hint in check.hints:
                    said = _inline(hint.text)
                    if not re.search(r"[A-Za-z]", hint.text):  # nothing but computed parts: say what fills them
                        said += " (" + ", ".join(f"<code>{html.escape(f)}</code>" for f in hint.fields) + ")"
                    where = f"{hint.module}.py:{hint.line}" + (f" (in <code>{hint.via}</code>)" if hint.via else "")
                    rows.append(f'<tr data-hint="{hint.module}.py:{hint.line}"><td>{said}</td><td>{where}</td></tr>')
                out += [f"**✘ not yet: {html.escape(check.exercise)}** · `{check.module}.{check.function}()`: "
                        f"{_inline(check.summary.replace('``', '`'))}", "",
                        "<table><thead><tr><th>" + ("提示：检查输出的原文" if zh else "hint: the check says")
                        + "</th><th>" + ("源码位置" if zh else "source") + "</th></tr></thead>",
                        "<tbody>", *rows, "</tbody></table>", ""]
    return "\n".join(out)


#: The feedback form's words, per language (the values a form records stay English, whatever it shows).
#: Each phrase in every language, side by side: a phrase changed in one shows where the other is.
FORM_WORDS: dict[str, dict[str, str]] = {
    "print": {"en": "Print this form",
              "zh": "打印这张表"},
    "print_note": {"en": "(or fill it in here first, then print it to PDF)",
                   "zh": "（也可以先在这里填好，再打印成 PDF）"},
    "about": {"en": "About you (optional)",
              "zh": "关于你（选填）"},
    "name": {"en": "Name",
             "zh": "姓名"},
    "date": {"en": "Date",
             "zh": "日期"},
    "session": {"en": "Session",
                "zh": "课程"},
    "sure": {"en": "How sure are you now?",
             "zh": "你现在有多大把握？"},
    "scale": {"en": "For each episode: 1 = not at all, 5 = I could explain it to a colleague. Tick <em>not "
                    "covered</em> for an episode your session left out.",
              "zh": "每个单元：1 = 完全没把握，5 = 我能给同事讲清楚。本次课程没讲的单元，请勾选<em>未涉及</em>。"},
    "after": {"en": "episode: after it, …",
              "zh": "单元：学完之后……"},
    "not covered": {"en": "not covered",
                    "zh": "未涉及"},
    "i_can": {"en": "I can {outcome}",
              "zh": "我能够{outcome}"},
    "episode": {"en": "episode",
                "zh": "单元"},
    "the_session": {"en": "The session",
                    "zh": "这次课程"},
    "pace": {"en": "The pace was",
             "zh": "节奏"},
    "labs": {"en": "The labs were",
             "zh": "实验"},
    "too slow": {"en": "too slow",
                 "zh": "太慢"},
    "about right": {"en": "about right",
                    "zh": "正好"},
    "too fast": {"en": "too fast",
                 "zh": "太快"},
    "too easy": {"en": "too easy",
                 "zh": "太简单"},
    "too hard": {"en": "too hard",
                 "zh": "太难"},
    "worked": {"en": "What worked for you? (a moment, a lab, an explanation)",
               "zh": "哪些对你有帮助？（某个时刻、某个实验、某段讲解）"},
    "change": {"en": "What should we change?",
               "zh": "我们应该改进什么？"},
    "else": {"en": "Anything else?",
             "zh": "还有别的想说的吗？"},
    "colon": {"en": ": ",
              "zh": "："},
}


def feedback_form(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """A paper-friendly feedback form: confidence 1-5 against each episode's outcome (from episodes.yml),
    what worked, what to change, the pace. Raw HTML, nothing is sent anywhere; print CSS in extra.css."""
    manifest = episodes.load()
    w = {key: phrase[lang] for key, phrase in FORM_WORDS.items()}

    def choice(name: str, values: list[str], labels: list[str] | None = None) -> str:
        return "".join(f'<label><input type="radio" name="{name}" value="{html.escape(v)}"> {html.escape(label)}</label>'
                       for v, label in zip(values, labels or [w[v] for v in values]))

    def lines(name: str, label: str, rows: int = 4) -> str:
        return (f'<label class="ll-form__question" for="ll-{name}">{html.escape(label)}</label>'
                f'<textarea id="ll-{name}" name="{name}" rows="{rows}"></textarea>')

    rows = []
    for e in manifest.episodes:
        outcome = translate(e.outcome)
        outcome = outcome[0].lower() + outcome[1:] if lang == "en" else outcome
        rows.append(f'<tr data-episode="{e.number}"><th scope="row"><span class="ll-form__episode">{e.number:02d} · '
                    f"{html.escape(translate(e.title))}</span><br>{html.escape(w['i_can'].format(outcome=outcome))}</th>"
                    + "".join(f'<td><input type="radio" name="episode-{e.number}" value="{n}" '
                              f'aria-label="{w["episode"]} {e.number:02d}: {n}"></td>' for n in range(1, 6))
                    + f'<td><input type="radio" name="episode-{e.number}" value="not covered" '
                      f'aria-label="{w["episode"]} {e.number:02d}: {w["not covered"]}"></td></tr>')
    agendas = list(manifest.agendas.values())
    out = [
        '<form class="ll-form" action="#" onsubmit="return false">',
        '<p class="ll-form__screen-only"><button type="button" class="md-button" onclick="window.print()">'
        f"{w['print']}</button> {w['print_note']}</p>",
        f"<fieldset><legend>{w['about']}</legend>",
        f'<p class="ll-form__line"><label for="ll-name">{w["name"]}</label><input id="ll-name" name="name" type="text"></p>',
        f'<p class="ll-form__line"><label for="ll-date">{w["date"]}</label><input id="ll-date" name="date" type="text"></p>',
        f'<p>{w["session"]}{w["colon"]}{choice("session", [a.key for a in agendas], [translate(a.title) for a in agendas])}</p>',
        "</fieldset>",
        f"<fieldset><legend>{w['sure']}</legend>",
        f"<p>{w['scale']}</p>",
        f'<table class="ll-form__scale"><thead><tr><th scope="col">{w["after"]}</th>'
        + "".join(f'<th scope="col">{n}</th>' for n in range(1, 6)) + f'<th scope="col">{w["not covered"]}</th></tr></thead>',
        "<tbody>", *rows, "</tbody></table>",
        "</fieldset>",
        f"<fieldset><legend>{w['the_session']}</legend>",
        f'<p>{w["pace"]}{w["colon"]}{choice("pace", ["too slow", "about right", "too fast"])}</p>',
        f'<p>{w["labs"]}{w["colon"]}{choice("labs", ["too easy", "about right", "too hard"])}</p>',
        lines("worked", w["worked"]),
        lines("change", w["change"]),
        lines("else", w["else"], rows=3),
        "</fieldset>",
        "</form>",
    ]
    return "\n".join(out)


def cases_table(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """The same bug elsewhere: each case, its fix pattern and the reports it comes from."""
    from .demos import cases

    head = "| # | 案例 | 形态 | 修复模式 | 出处 |" if lang == "zh" else "| # | case | the shape | fix pattern | seen in |"
    rows = [head, "| --- | --- | --- | --- | --- |"]
    for c in cases.CASES:
        seen = ", ".join(f"[{ref}]({cases.url(ref)})" for ref in c.seen_in)
        rows.append(f"| {c.number} | `{c.name}` | {translate(c.title)} | {translate(c.pattern)} | {seen} |")
    return "\n".join(rows)


def lint_rules(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """looplab lint's rules, from the linter itself."""
    from ..tools import lint

    head = "| 规则 | 名称 | 它指向的修复 |" if lang == "zh" else "| rule | name | the fix it points to |"
    rows = [head, "| --- | --- | --- |"]
    rows += [f"| `{code}` | {name} | {translate(fix)} |" for code, (name, fix) in lint.RULES.items()]
    return "\n".join(rows)
