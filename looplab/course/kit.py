"""The facilitator kit's generated pages, from the workshop's own sources, for the website's hooks
(``docs/hooks/site.py`` puts each where a page says ``<!-- looplab:NAME -->``).

* ``instructor-notes``: a heading per episode of ``episodes.yml``, and ``docs/instructor/notes/NN.md`` under it.
* ``common-errors``: every hint each check can give (:mod:`.hints`), per lab and guided notebook.
* ``feedback-form``: confidence against each episode's outcome, the pace, what worked and what to change.
* ``deck``: the opening deck's slides, filled from the home page, the fix and timeline pages, the
  ten-line snippet, ``timeline.yml``, the agendas and the labs page.

Each returns Markdown (with raw HTML where a page needs a form or data attributes) and raises
:class:`KitError`, naming the file to fix, when a source it quotes has changed shape.
"""

from __future__ import annotations

from collections.abc import Callable

import html
import re
from pathlib import Path
from typing import Any

from ..project import ROOT
from . import episodes, hints, timeline

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


def _same(text: str) -> str:
    return text


def instructor_notes(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
    """A heading per episode of episodes.yml, and under it docs/instructor/notes/NN.md (NN.LANG.md on
    a translated page) if it exists."""
    out = []
    suffix = "" if lang == "en" else f".{lang}"
    for e in episodes.load().episodes:
        note = NOTES / f"{e.number:02d}{suffix}.md"
        body = (f'--8<-- "{note.relative_to(ROOT).as_posix()}"' if note.exists() else
                f"*No notes yet for this episode* (`{note.relative_to(ROOT).as_posix()}`). "
                f"Its notebook: [{e.stem}](../notebooks/{e.stem}.ipynb).")
        title = f"{e.number:02d} · {e.title}"
        out += [f"## {_heading(title, f'{e.number:02d} · {translate(e.title)}')}", "", body, ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    """A hint as HTML: escaped, with its `backtick` spans as code."""
    parts = html.escape(text, quote=False).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def common_errors(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
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
        out += [f"## {_heading(kind, {'Labs': '实验', 'Guided notebooks': '引导式笔记本'}[kind] if zh else kind)}", ""]
        for path, found in sorted((p, c) for p, c in by_notebook.items() if p.parent.name == folder):
            episode = manifest.episode(int(re.search(r"(\d\d)", path.name).group(1)))
            if folder == "solutions":
                title = f"Lab {episode.number:02d} · {episode.lab['title']}"
                shown = f"实验 {episode.number:02d} · {translate(episode.lab['title'])}" if zh else title
                link = (f"[参考答案](../solutions/{path.name})，练习的是[笔记本 {episode.number:02d}](../notebooks/{episode.stem}.ipynb)。"
                        if zh else f"[worked solution](../solutions/{path.name}), practising [notebook "
                        f"{episode.number:02d}](../notebooks/{episode.stem}.ipynb).")
            else:
                title = f"{episode.number:02d} · {episode.title}"
                shown = f"{episode.number:02d} · {translate(episode.title)}" if zh else title
                link = (f"[笔记本](../notebooks/{path.name})；每道练习下面都有一个折叠的答案。" if zh else
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
FORM_WORDS: dict[str, dict[str, str]] = {
    "en": {"print": "Print this form", "print_note": "(or fill it in here first, then print it to PDF)",
           "about": "About you (optional)", "name": "Name", "date": "Date", "session": "Session",
           "sure": "How sure are you now?",
           "scale": "For each episode: 1 = not at all, 5 = I could explain it to a colleague. Tick <em>not covered</em> "
                    "for an episode your session left out.",
           "after": "episode: after it, …", "not covered": "not covered", "i_can": "I can {outcome}",
           "episode": "episode", "the_session": "The session", "pace": "The pace was", "labs": "The labs were",
           "too slow": "too slow", "about right": "about right", "too fast": "too fast", "too easy": "too easy",
           "too hard": "too hard", "worked": "What worked for you? (a moment, a lab, an explanation)",
           "change": "What should we change?", "else": "Anything else?", "colon": ": "},
    "zh": {"print": "打印这张表", "print_note": "（也可以先在这里填好，再打印成 PDF）",
           "about": "关于你（选填）", "name": "姓名", "date": "日期", "session": "课程",
           "sure": "你现在有多大把握？",
           "scale": "每个单元：1 = 完全没把握，5 = 我能给同事讲清楚。本次课程没讲的单元，请勾选<em>未涉及</em>。",
           "after": "单元：学完之后……", "not covered": "未涉及", "i_can": "我能够{outcome}",
           "episode": "单元", "the_session": "这次课程", "pace": "节奏", "labs": "实验",
           "too slow": "太慢", "about right": "正好", "too fast": "太快", "too easy": "太简单",
           "too hard": "太难", "worked": "哪些对你有帮助？（某个时刻、某个实验、某段讲解）",
           "change": "我们应该改进什么？", "else": "还有别的想说的吗？", "colon": "："},
}


def feedback_form(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
    """A paper-friendly feedback form: confidence 1-5 against each episode's outcome (from episodes.yml),
    what worked, what to change, the pace. Raw HTML, nothing is sent anywhere; print CSS in extra.css."""
    manifest = episodes.load()
    w = FORM_WORDS[lang]

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


# --- the opening deck (instructor/deck.md): slides filled from the site's own sources --------------

def _read(name: str) -> str:
    return (DOCS / name).read_text()


def _from_root(markdown: str) -> str:
    """Links of a page at the site's root, made to work from instructor/."""
    return re.sub(r"\]\((?!https?:|#|/|\.\./)([^)]+)\)", r"](../\1)", markdown)


def _paragraph(page: str, starts: str, *, keep: bool = False) -> str:
    """The paragraph of ``page`` that starts with ``starts`` (removed, unless ``keep``), on one line."""
    for block in _read(page).split("\n\n"):
        if block.startswith(starts):
            return _from_root(" ".join((block if keep else block[len(starts):]).split()))
    raise KitError(f"docs/{page} has no paragraph starting {starts!r}: the opening deck needs it")


def _block_after(page: str, marker: str, pattern: str) -> str:
    """The first run of lines matching ``pattern`` after ``marker`` in ``page``."""
    text = _read(page)
    if marker not in text:
        raise KitError(f"docs/{page} has no {marker!r}: the opening deck needs it")
    match = re.search(pattern, text[text.index(marker):], re.S | re.M)
    if match is None:
        raise KitError(f"docs/{page}: nothing after {marker!r} for the opening deck")
    return _from_root(match.group(0).strip("\n"))


def _slide(title: str, body: str, kind: str = "") -> str:
    return (f'<section class="ll-slide{f" ll-slide--{kind}" if kind else ""}" markdown>\n\n## {title}\n\n'
            f"{body.strip()}\n\n</section>")


#: What the deck says in its own words, per language; the rest comes from the pages it summarises
#: (docs/NAME.md, or docs/NAME.zh.md for the Chinese deck), found by the paragraphs' first words.
DECK_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "page": ".md", "reported": "**What was reported.**", "teaches": "**What it teaches.**",
        "symptoms": "**One bug, three symptoms.**", "recovers": '"It recovers" is no comfort:', "fix": "**Fix.**",
        "rule": r"\*\*(a client lives on the loop that uses it\.)\*\*", "sentence": ". ",
        "timeline_start": "The crash was reported", "labs_heading": "## How a lab works",
        "t_title": "One real production bug, end to end",
        "today": "Today: why it happened, how to make it happen on purpose, how to fix it, what each fix costs, "
                 "and how to keep it fixed.",
        "t_diagram": "Two loops, one pooled connection", "t_ten": "The crash in ten lines",
        "ten": "Loop 1 prints its answer. Loop 2 ends in `RuntimeError: Event loop is closed`.",
        "t_symptoms": "One bug, three symptoms", "t_fix": "The fix", "t_back": "It came back",
        "back_link": "[The timeline](../timeline.md), each step checked in its thread.",
        "t_outcomes": "What you will be able to do", "outcomes_head": "| # | episode | you will be able to |",
        "t_today": "Today", "agenda_head": "| start | | minutes |", "lab": "Lab", "intro": "Introduction",
        "break": "*Break*", "wrap-up": "Wrap-up and feedback", "coding": "you write code for {coding} of {total} minutes.",
        "t_labs": "Labs and their checks", "t_help": "Where to get help",
        "help": "- **A check fails**: read its hint first; it says what it saw and where to look. Then ask a helper.\n"
                "- **A word is new**: the [glossary](../glossary.md).\n"
                "- **The machine misbehaves**: `.venv/bin/looplab doctor` says what is wrong and how to fix it; "
                "`.venv/bin/looplab cleanup` stops servers left running; a cell that hangs: *Kernel → Restart Kernel*.\n"
                "- **The worked solutions** are on this site, under *Lab solutions*: try the lab first.\n"
                "- **At the end**: the [feedback form](feedback.md), five minutes.",
    },
    "zh": {
        "page": ".zh.md", "reported": "**报告了什么。**", "teaches": "**它教给我们什么。**",
        "symptoms": "**一个 bug，三种症状。**", "recovers": "「反正能自己恢复」", "fix": "**修复。**",
        "rule": r"\*\*(客户端要活在使用它的那个事件循环[^*]*?上。)\*\*", "sentence": "。",
        "timeline_start": "这次崩溃在 2025 年 4 月被报告", "labs_heading": "## 实验怎么做",
        "t_title": "一个真实的线上 bug，从头到尾",
        "today": "今天要讲：它为什么发生，怎样故意让它发生，怎样修复，每种修复的代价，以及怎样让它不再回来。",
        "t_diagram": "两个事件循环，一条池中的连接", "t_ten": "十行代码复现崩溃",
        "ten": "循环 1 打印出回答。循环 2 以 `RuntimeError: Event loop is closed` 告终。",
        "t_symptoms": "一个 bug，三种症状", "t_fix": "修复", "t_back": "它又回来了",
        "back_link": "[时间线](../timeline.md)：每一步都在相应的讨论串里核对过。",
        "t_outcomes": "学完你将能够", "outcomes_head": "| # | 单元 | 学完你将能够 |",
        "t_today": "今天的安排", "agenda_head": "| 开始 | | 分钟 |", "lab": "实验", "intro": "开场",
        "break": "*休息*", "wrap-up": "总结与反馈", "coding": "{total} 分钟里你有 {coding} 分钟在写代码。",
        "t_labs": "实验和它们的检查", "t_help": "遇到问题找哪里",
        "help": "- **检查没通过**：先读它给的提示（hint），提示会说它看到了什么、该去哪里找。然后再找助教。\n"
                "- **遇到生词**：查[术语表](../glossary.md)。\n"
                "- **机器出状况**：`.venv/bin/looplab doctor` 会说明哪里不对、怎么修；`.venv/bin/looplab cleanup` "
                "会停掉残留的服务器；单元格卡住不动：*Kernel → Restart Kernel*。\n"
                "- **参考答案**就在本站的「实验答案」下：先自己做一遍实验。\n"
                "- **最后**：填一下[反馈表](feedback.md)，五分钟就够。",
    },
}


def _timeline_slide(words: dict[str, str], translate: Callable[[str], str]) -> str:
    by_stage: dict[str, list[Any]] = {}
    for event in sorted(timeline.events(), key=lambda e: (str(e.date), e.number)):
        by_stage.setdefault(event.stage, []).append(event)
    page = "timeline" + words["page"]
    split = r"(?<=。)" if words["sentence"] == "。" else r"(?<=\.) "
    sentences = re.split(split, _paragraph(page, words["timeline_start"], keep=True))
    first = ("" if words["sentence"] == "。" else " ").join(sentences[:2])
    items = []
    for stage, label in timeline.STAGES.items():
        found = by_stage.get(stage, [])
        if found:
            refs = ", ".join(f"[#{e.number}]({e.url})" + (f" ({e.released})" if e.released else "") for e in found)
            items.append(f"- **{translate(label)}**: {refs}")
    return _slide(words["t_back"], first + "\n\n" + "\n".join(items) + "\n\n" + words["back_link"], kind="small")


def _agenda_slide(words: dict[str, str], translate: Callable[[str], str]) -> str:
    """Each agenda as a compact table (the deck's toolbar picks one); a long one in two columns, split at a break."""
    manifest = episodes.load()

    def table(slots: list[episodes.Slot]) -> str:
        rows = [words["agenda_head"], "| --- | --- | --- |"]
        for slot in slots:
            if slot.kind == "episode":
                part = f"{slot.episode.number:02d} · {translate(slot.episode.title)}"
            elif slot.kind == "lab":
                part = f"**{words['lab']} {slot.episode.number:02d}** · {translate(slot.episode.lab['title'])}"
            else:
                part = words[slot.kind]
            rows.append(f"| {episodes.clock_time(slot.start)} | {part} | {slot.minutes} |")
        return '<div markdown>\n\n' + "\n".join(rows) + "\n\n</div>"

    columns = []
    for key, agenda in manifest.agendas.items():
        slots = manifest.schedule(key)
        total, coding = sum(s.minutes for s in slots), sum(s.coding for s in slots)
        parts = [slots]
        breaks = [i for i, slot in enumerate(slots) if slot.kind == "break"]
        if len(slots) > 10 and breaks:
            middle = min(breaks, key=lambda i: abs(i - len(slots) / 2))
            parts = [slots[:middle], slots[middle:]]
        columns.append(f'<div class="ll-agenda" data-agenda="{key}" markdown>\n\n**{translate(agenda.title)}**: '
                       + words["coding"].format(coding=coding, total=total) + "\n\n"
                       '<div class="ll-agenda__columns" markdown>\n\n' + "\n\n".join(table(p) for p in parts)
                       + "\n\n</div>\n\n</div>")
    return _slide(words["t_today"], "\n\n".join(columns), kind="agenda")


def _labs_slide(words: dict[str, str]) -> str:
    bullets = _block_after("labs" + words["page"], words["labs_heading"], r"^- .*?(?=\n\n)")
    found = hints.checks()
    example = next((c for c in found if c.function == "per_call_adapter"), found[0])  # the classic mistake
    hint = next((h.text for h in example.hints if "streams fail" in h.text),
                next((h.text for h in example.hints if "…" not in h.text), example.hints[0].text))
    shown = "\n".join(["```text", f"✘ not yet: {example.exercise}", f"  hint: {hint}", "```"])
    return _slide(words["t_labs"], bullets + "\n\n" + shown, kind="small")


#: The deck's own drawing of the home page's diagram, drawn for a projector: fewer, shorter labels.
DECK_DIAGRAM = """```mermaid
flowchart LR
    accTitle: Two loops, one pooled connection
    accDescr: The client is made on loop 1, whose request pools a connection; loop 2 reuses it and the closed loop 1 raises.
    subgraph L1["loop 1: asyncio.run()"]
        init["initialize()<br/>AsyncOpenAI()"] --> reg["register_model()<br/>GET /v1/models"]
    end
    subgraph L2["loop 2: uvicorn"]
        chat["first request<br/>reuses it"] --> boom["Event loop<br/>is closed"]
    end
    reg -- "pooled<br/>connection" --> chat
```

??? note "Text version of the diagram"
    On loop 1, `asyncio.run(construct_stack)`, `initialize()` creates the client and
    `register_model()` sends `GET /v1/models`. That request leaves a keep-alive connection in the
    client's pool, and the connection's transport belongs to loop 1. Then loop 1 is closed. On loop
    2, uvicorn's, the first request reuses that connection; its transport calls the closed loop 1,
    which raises `RuntimeError: Event loop is closed`."""

DECK_DIAGRAM_ZH = """```mermaid
flowchart LR
    accTitle: 两个事件循环，一条池中的连接
    accDescr: 客户端在循环 1 上创建，它发出的请求在池里留下一条连接；循环 2 复用这条连接，已关闭的循环 1 随即报错。
    subgraph L1["循环 1：asyncio.run()"]
        init["initialize()<br/>AsyncOpenAI()"] --> reg["register_model()<br/>GET /v1/models"]
    end
    subgraph L2["循环 2：uvicorn"]
        chat["第一个请求<br/>复用这条连接"] --> boom["Event loop<br/>is closed"]
    end
    reg -- "池中的<br/>连接" --> chat
```

??? note "图的文字版"
    在循环 1（`asyncio.run(construct_stack)`）上，`initialize()` 创建客户端，`register_model()` 发出 `GET /v1/models`。这个请求在客户端的连接池里留下一条长连接，连接的传输层属于循环 1。随后循环 1 被关闭。在循环 2（uvicorn 的循环）上，第一个请求复用了这条连接；它的传输层去调用已关闭的循环 1，于是抛出 `RuntimeError: Event loop is closed`。"""


def deck(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
    """The opening deck: about ten slides, each from a page, a snippet or the manifests it summarises, in
    ``lang`` (the Chinese deck reads the Chinese pages; a check's hint stays as learners see it, in English)."""
    words = DECK_WORDS[lang]
    manifest = episodes.load()
    index, fixes = "index" + words["page"], "fixes" + words["page"]
    symptoms = _block_after(index, words["symptoms"], r"^\|.*?(?=\n\n)")
    rule = re.search(words["rule"], _read(fixes))
    if rule is None:
        raise KitError(f"docs/{fixes} no longer states the rule the deck's fix slide quotes")
    outcomes = [words["outcomes_head"], "| --- | --- | --- |"]
    outcomes += [f"| {e.number:02d} | {translate(e.title)} | {translate(e.outcome)} |" for e in manifest.episodes]
    teaches = _paragraph(index, words["teaches"]).split(words["sentence"])[0] + words["sentence"].strip()
    slides = [
        _slide(words["t_title"], f"{_paragraph(index, words['reported'])}\n\n{words['today']}", kind="title"),
        _slide(words["t_diagram"], (DECK_DIAGRAM if lang == "en" else DECK_DIAGRAM_ZH) + "\n\n" + teaches,
               kind="diagram"),
        _slide(words["t_ten"], '```python\n--8<-- "docs/snippets/crash_in_ten_lines.py"\n```\n\n' + words["ten"],
               kind="code"),
        _slide(words["t_symptoms"], symptoms + "\n\n" + _paragraph(index, words["recovers"], keep=True), kind="small"),
        _slide(words["t_fix"], f"**{rule.group(1)[0].upper()}{rule.group(1)[1:]}**\n\n{_paragraph(index, words['fix'])}",
               kind="small"),
        _timeline_slide(words, translate),
        _slide(words["t_outcomes"], "\n".join(outcomes), kind="dense"),
        _agenda_slide(words, translate),
        _labs_slide(words),
        _slide(words["t_help"], words["help"], kind="small"),
    ]
    return '<div class="ll-deck" markdown>\n\n' + "\n\n".join(slides) + "\n\n</div>"


def cases_table(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
    """The same bug elsewhere: each case, its fix pattern and the reports it comes from."""
    from .demos import cases

    head = "| # | 案例 | 形态 | 修复模式 | 出处 |" if lang == "zh" else "| # | case | the shape | fix pattern | seen in |"
    rows = [head, "| --- | --- | --- | --- | --- |"]
    for c in cases.CASES:
        seen = ", ".join(f"[{ref}]({cases.url(ref)})" for ref in c.seen_in)
        rows.append(f"| {c.number} | `{c.name}` | {translate(c.title)} | {translate(c.pattern)} | {seen} |")
    return "\n".join(rows)


def lint_rules(lang: str = "en", translate: Callable[[str], str] = _same) -> str:
    """looplab lint's rules, from the linter itself."""
    from ..tools import lint

    head = "| 规则 | 名称 | 它指向的修复 |" if lang == "zh" else "| rule | name | the fix it points to |"
    rows = [head, "| --- | --- | --- |"]
    rows += [f"| `{code}` | {name} | {translate(fix)} |" for code, (name, fix) in lint.RULES.items()]
    return "\n".join(rows)
