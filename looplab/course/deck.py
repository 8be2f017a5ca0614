"""The opening deck (``docs/instructor/deck.md``, ``<!-- looplab:deck -->``): about ten slides, each
filled from the page, snippet or manifest it summarises (the home page, the fix and timeline pages,
the ten-line snippet, ``timeline.yml``, the agendas, the labs page), in the page's language: the
Chinese deck reads the Chinese pages. Raises :class:`~.kit.KitError`, naming the file to fix, when a
source it quotes has changed shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import episodes, hints, timeline
from .kit import DOCS, KitError, same


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
#: Each phrase in every language, side by side: a phrase changed in one shows where the other is.
DECK_WORDS: dict[str, dict[str, str]] = {
    "page": {"en": ".md",
             "zh": ".zh.md"},
    "reported": {"en": "**What was reported.**",
                 "zh": "**报告了什么。**"},
    "teaches": {"en": "**What it teaches.**",
                "zh": "**它教给我们什么。**"},
    "symptoms": {"en": "**One bug, three symptoms.**",
                 "zh": "**一个 bug，三种症状。**"},
    "recovers": {"en": "\"It recovers\" is no comfort:",
                 "zh": "「反正能自己恢复」"},
    "fix": {"en": "**Fix.**",
            "zh": "**修复。**"},
    "rule": {"en": r"\*\*(a client lives on the loop that uses it\.)\*\*",
             "zh": r"\*\*(客户端要活在使用它的那个事件循环[^*]*?上。)\*\*"},
    "sentence": {"en": ". ",
                 "zh": "。"},
    "timeline_start": {"en": "The crash was reported",
                       "zh": "这次崩溃在 2025 年 4 月被报告"},
    "labs_heading": {"en": "## How a lab works",
                     "zh": "## 实验怎么做"},
    "t_title": {"en": "One real production bug, end to end",
                "zh": "一个真实的线上 bug，从头到尾"},
    "today": {"en": "Today: why it happened, how to make it happen on purpose, how to fix it, what each fix "
                    "costs, and how to keep it fixed.",
              "zh": "今天要讲：它为什么发生，怎样故意让它发生，怎样修复，每种修复的代价，以及怎样让它不再回来。"},
    "t_diagram": {"en": "Two loops, one pooled connection",
                  "zh": "两个事件循环，一条池中的连接"},
    "t_ten": {"en": "The crash in ten lines",
              "zh": "十行代码复现崩溃"},
    "ten": {"en": "Loop 1 prints its answer. Loop 2 ends in `RuntimeError: Event loop is closed`.",
            "zh": "循环 1 打印出回答。循环 2 以 `RuntimeError: Event loop is closed` 告终。"},
    "t_symptoms": {"en": "One bug, three symptoms",
                   "zh": "一个 bug，三种症状"},
    "t_fix": {"en": "The fix",
              "zh": "修复"},
    "t_back": {"en": "It came back",
               "zh": "它又回来了"},
    "back_link": {"en": "[The timeline](../timeline.md), each step checked in its thread.",
                  "zh": "[时间线](../timeline.md)：每一步都在相应的讨论串里核对过。"},
    "t_outcomes": {"en": "What you will be able to do",
                   "zh": "学完你将能够"},
    "outcomes_head": {"en": "| # | episode | you will be able to |",
                      "zh": "| # | 单元 | 学完你将能够 |"},
    "t_today": {"en": "Today",
                "zh": "今天的安排"},
    "agenda_head": {"en": "| start | | minutes |",
                    "zh": "| 开始 | | 分钟 |"},
    "lab": {"en": "Lab",
            "zh": "实验"},
    "setup": {"en": "Set-up: join the room, or check your laptop",
              "zh": "准备环境：加入教室，或检查自己的电脑"},
    "buffer": {"en": "*Buffer*",
               "zh": "*缓冲*"},
    "intro": {"en": "Introduction",
              "zh": "开场"},
    "break": {"en": "*Break*",
              "zh": "*休息*"},
    "wrap-up": {"en": "Wrap-up and feedback",
                "zh": "总结与反馈"},
    "coding": {"en": "you write code for {coding} of {total} minutes.",
               "zh": "{total} 分钟里你有 {coding} 分钟在写代码。"},
    "t_labs": {"en": "Labs and their checks",
               "zh": "实验和它们的检查"},
    "t_help": {"en": "Where to get help",
               "zh": "遇到问题找哪里"},
    "help": {"en": "- **A check fails**: read its hint first; it says what it saw and where to look. Then "
                   "ask a helper.\n- **A word is new**: the [glossary](../glossary.md).\n- **The machine misbehaves**: "
                   "`.venv/bin/looplab doctor` says what is wrong and how to fix it; `.venv/bin/looplab cleanup` "
                   "stops servers left running; a cell that hangs: *Kernel → Restart Kernel*.\n- **The worked "
                   "solutions** are on this site, under *Lab solutions*: try the lab first.\n- **At the end**: "
                   "the [feedback form](feedback.md), five minutes.",
             "zh": "- **检查没通过**：先读它给的提示（hint），提示会说它看到了什么、该去哪里找。然后再找助教。\n- **遇到生词**：查[术语表](../glossary.md)。"
                   "\n- **机器出状况**：`.venv/bin/looplab doctor` 会说明哪里不对、怎么修；`.venv/bin/looplab cleanup` 会停掉残留的服务器；"
                   "单元格卡住不动：*Kernel → Restart Kernel*。\n- **参考答案**就在本站的「实验答案」下：先自己做一遍实验。\n- **最后**：填一下[反馈表](feedback.md)，"
                   "五分钟就够。"},
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


#: The deck's own drawing of the home page's diagram, drawn for a projector: fewer, shorter labels. One
#: drawing; its words come from DIAGRAM_WORDS in the deck's language.
DECK_DIAGRAM = """```mermaid
flowchart LR
    accTitle: {title}
    accDescr: {description}
    subgraph L1["{loop1}asyncio.run()"]
        init["initialize()<br/>AsyncOpenAI()"] --> reg["register_model()<br/>GET /v1/models"]
    end
    subgraph L2["{loop2}uvicorn"]
        chat["{first}"] --> boom["Event loop<br/>is closed"]
    end
    reg -- "{pooled}" --> chat
```

??? note "{text_title}"
    {text}"""

DIAGRAM_WORDS: dict[str, dict[str, str]] = {
    "title": {"en": "Two loops, one pooled connection",
              "zh": "两个事件循环，一条池中的连接"},
    "description": {"en": "The client is made on loop 1, whose request pools a connection; loop 2 reuses it and the "
                          "closed loop 1 raises.",
                    "zh": "客户端在循环 1 上创建，它发出的请求在池里留下一条连接；循环 2 复用这条连接，已关闭的循环 1 随即报错。"},
    "loop1": {"en": "loop 1: ", "zh": "循环 1："},
    "loop2": {"en": "loop 2: ", "zh": "循环 2："},
    "first": {"en": "first request<br/>reuses it", "zh": "第一个请求<br/>复用这条连接"},
    "pooled": {"en": "pooled<br/>connection", "zh": "池中的<br/>连接"},
    "text_title": {"en": "Text version of the diagram", "zh": "图的文字版"},
    "text": {"en": "On loop 1, `asyncio.run(construct_stack)`, `initialize()` creates the client and\n"
                   "    `register_model()` sends `GET /v1/models`. That request leaves a keep-alive connection in the\n"
                   "    client's pool, and the connection's transport belongs to loop 1. Then loop 1 is closed. On loop\n"
                   "    2, uvicorn's, the first request reuses that connection; its transport calls the closed loop 1,\n"
                   "    which raises `RuntimeError: Event loop is closed`.",
             "zh": "在循环 1（`asyncio.run(construct_stack)`）上，`initialize()` 创建客户端，`register_model()` 发出 "
                   "`GET /v1/models`。这个请求在客户端的连接池里留下一条长连接，连接的传输层属于循环 1。随后循环 1 被关闭。"
                   "在循环 2（uvicorn 的循环）上，第一个请求复用了这条连接；它的传输层去调用已关闭的循环 1，于是抛出 "
                   "`RuntimeError: Event loop is closed`。"},
}


def deck(lang: str = "en", translate: Callable[[str], str] = same) -> str:
    """The opening deck: about ten slides, each from a page, a snippet or the manifests it summarises, in
    ``lang`` (the Chinese deck reads the Chinese pages; a check's hint stays as learners see it, in English)."""
    words = {key: phrase[lang] for key, phrase in DECK_WORDS.items()}
    manifest = episodes.load()
    index, fixes = "index" + words["page"], "fixes" + words["page"]
    symptoms = _block_after(index, words["symptoms"], r"^\|.*?(?=\n\n)")
    rule = re.search(words["rule"], _read(fixes))
    if rule is None:
        raise KitError(f"docs/{fixes} no longer states the rule the deck's fix slide quotes")
    outcomes = []  # per agenda, only the episodes its plan teaches (the toolbar's agenda menu shows one)
    for key, agenda in manifest.agendas.items():
        taught = [slot.episode for slot in manifest.schedule(key) if slot.kind == "episode"]
        rows = [words["outcomes_head"], "| --- | --- | --- |"]
        rows += [f"| {e.number:02d} | {translate(e.title)} | {translate(e.outcome)} |" for e in taught]
        outcomes.append(f'<div class="ll-agenda" data-agenda="{key}" markdown>\n\n**{translate(agenda.title)}**\n\n'
                        + "\n".join(rows) + "\n\n</div>")
    teaches = _paragraph(index, words["teaches"]).split(words["sentence"])[0] + words["sentence"].strip()
    slides = [
        _slide(words["t_title"], f"{_paragraph(index, words['reported'])}\n\n{words['today']}", kind="title"),
        _slide(words["t_diagram"], DECK_DIAGRAM.format(**{k: v[lang] for k, v in DIAGRAM_WORDS.items()})
               + "\n\n" + teaches,
               kind="diagram"),
        _slide(words["t_ten"], '```python\n--8<-- "docs/snippets/crash_in_ten_lines.py"\n```\n\n' + words["ten"],
               kind="code"),
        _slide(words["t_symptoms"], symptoms + "\n\n" + _paragraph(index, words["recovers"], keep=True), kind="small"),
        _slide(words["t_fix"], f"**{rule.group(1)[0].upper()}{rule.group(1)[1:]}**\n\n{_paragraph(index, words['fix'])}",
               kind="small"),
        _timeline_slide(words, translate),
        _slide(words["t_outcomes"], "\n\n".join(outcomes), kind="dense"),
        _agenda_slide(words, translate),
        _labs_slide(words),
        _slide(words["t_help"], words["help"], kind="small"),
    ]
    return '<div class="ll-deck" markdown>\n\n' + "\n\n".join(slides) + "\n\n</div>"
