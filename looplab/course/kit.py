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


def feedback_form() -> str:
    """A paper-friendly feedback form: confidence 1-5 against each episode's outcome (from episodes.yml),
    what worked, what to change, the pace. Raw HTML, nothing is sent anywhere; print CSS in extra.css."""
    manifest = episodes.load()

    def choice(name: str, values: list[str], labels: list[str] | None = None) -> str:
        return "".join(f'<label><input type="radio" name="{name}" value="{html.escape(v)}"> {html.escape(label)}</label>'
                       for v, label in zip(values, labels or values))

    def lines(name: str, label: str, rows: int = 4) -> str:
        return (f'<label class="ll-form__question" for="ll-{name}">{html.escape(label)}</label>'
                f'<textarea id="ll-{name}" name="{name}" rows="{rows}"></textarea>')

    rows = []
    for e in manifest.episodes:
        outcome = e.outcome[0].lower() + e.outcome[1:]
        rows.append(f'<tr data-episode="{e.number}"><th scope="row"><span class="ll-form__episode">{e.number:02d} · '
                    f"{html.escape(e.title)}</span><br>I can {html.escape(outcome)}</th>"
                    + "".join(f'<td><input type="radio" name="episode-{e.number}" value="{n}" '
                              f'aria-label="episode {e.number:02d}: {n}"></td>' for n in range(1, 6))
                    + f'<td><input type="radio" name="episode-{e.number}" value="not covered" '
                      f'aria-label="episode {e.number:02d}: not covered"></td></tr>')
    agendas = list(manifest.agendas.values())
    out = [
        '<form class="ll-form" action="#" onsubmit="return false">',
        '<p class="ll-form__screen-only"><button type="button" class="md-button" onclick="window.print()">'
        "Print this form</button> (or fill it in here first, then print it to PDF)</p>",
        '<fieldset><legend>About you (optional)</legend>',
        '<p class="ll-form__line"><label for="ll-name">Name</label><input id="ll-name" name="name" type="text"></p>',
        '<p class="ll-form__line"><label for="ll-date">Date</label><input id="ll-date" name="date" type="text"></p>',
        f'<p>Session: {choice("session", [a.key for a in agendas], [a.title for a in agendas])}</p>',
        "</fieldset>",
        "<fieldset><legend>How sure are you now?</legend>",
        "<p>For each episode: 1 = not at all, 5 = I could explain it to a colleague. Tick <em>not covered</em> "
        "for an episode your session left out.</p>",
        '<table class="ll-form__scale"><thead><tr><th scope="col">episode: after it, …</th>'
        + "".join(f'<th scope="col">{n}</th>' for n in range(1, 6)) + '<th scope="col">not covered</th></tr></thead>',
        "<tbody>", *rows, "</tbody></table>",
        "</fieldset>",
        "<fieldset><legend>The session</legend>",
        f'<p>The pace was: {choice("pace", ["too slow", "about right", "too fast"])}</p>',
        f'<p>The labs were: {choice("labs", ["too easy", "about right", "too hard"])}</p>',
        lines("worked", "What worked for you? (a moment, a lab, an explanation)"),
        lines("change", "What should we change?"),
        lines("else", "Anything else?", rows=3),
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


def _timeline_slide() -> str:
    by_stage: dict[str, list[Any]] = {}
    for event in sorted(timeline.events(), key=lambda e: (str(e.date), e.number)):
        by_stage.setdefault(event.stage, []).append(event)
    first = " ".join(re.split(r"(?<=\.) ", _paragraph("timeline.md", "The crash was reported", keep=True))[:2])
    items = []
    for stage, label in timeline.STAGES.items():
        found = by_stage.get(stage, [])
        if found:
            refs = ", ".join(f"[#{e.number}]({e.url})" + (f" ({e.released})" if e.released else "") for e in found)
            items.append(f"- **{label}**: {refs}")
    return _slide("It came back", first + "\n\n" + "\n".join(items) + "\n\n[The timeline](../timeline.md), each step "
                  "checked in its thread.", kind="small")


def _agenda_slide() -> str:
    """Each agenda as a compact table (the deck's toolbar picks one); a long one in two columns, split at a break."""
    manifest = episodes.load()

    def table(slots: list[episodes.Slot]) -> str:
        rows = ["| start | | minutes |", "| --- | --- | --- |"]
        for slot in slots:
            if slot.kind == "episode":
                part = f"{slot.episode.number:02d} · {slot.episode.title}"
            elif slot.kind == "lab":
                part = f"**Lab {slot.episode.number:02d}** · {slot.episode.lab['title']}"
            else:
                part = {"intro": "Introduction", "break": "*Break*", "wrap-up": "Wrap-up and feedback"}[slot.kind]
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
        columns.append(f'<div class="ll-agenda" data-agenda="{key}" markdown>\n\n**{agenda.title}**: '
                       f"you write code for {coding} of {total} minutes.\n\n"
                       '<div class="ll-agenda__columns" markdown>\n\n' + "\n\n".join(table(p) for p in parts)
                       + "\n\n</div>\n\n</div>")
    return _slide("Today", "\n\n".join(columns), kind="agenda")


def _labs_slide() -> str:
    bullets = _block_after("labs.md", "## How a lab works", r"^- .*?(?=\n\n)")
    found = hints.checks()
    example = next((c for c in found if c.function == "per_call_adapter"), found[0])  # the classic mistake
    hint = next((h.text for h in example.hints if "streams fail" in h.text),
                next((h.text for h in example.hints if "…" not in h.text), example.hints[0].text))
    shown = "\n".join(["```text", f"✘ not yet: {example.exercise}", f"  hint: {hint}", "```"])
    return _slide("Labs and their checks", bullets + "\n\n" + shown, kind="small")


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


def deck() -> str:
    """The opening deck: about ten slides, each from a page, a snippet or the manifests it summarises."""
    manifest = episodes.load()
    symptoms = _block_after("index.md", "**One bug, three symptoms.**", r"^\|.*?(?=\n\n)")
    rule = re.search(r"\*\*(a client lives on the loop that uses it\.)\*\*", _read("fixes.md"))
    if rule is None:
        raise KitError("docs/fixes.md no longer states the rule the deck's fix slide quotes")
    outcomes = ["| # | episode | you will be able to |", "| --- | --- | --- |"]
    outcomes += [f"| {e.number:02d} | {e.title} | {e.outcome} |" for e in manifest.episodes]
    slides = [
        _slide("One real production bug, end to end",
               f"{_paragraph('index.md', '**What was reported.**')}\n\nToday: why it happened, how to make it "
               "happen on purpose, how to fix it, what each fix costs, and how to keep it fixed.", kind="title"),
        _slide("Two loops, one pooled connection",
               DECK_DIAGRAM + "\n\n" + _paragraph("index.md", "**What it teaches.**").split(". ")[0] + ".",
               kind="diagram"),
        _slide("The crash in ten lines",
               '```python\n--8<-- "docs/snippets/crash_in_ten_lines.py"\n```\n\n'
               "Loop 1 prints its answer. Loop 2 ends in `RuntimeError: Event loop is closed`.", kind="code"),
        _slide("One bug, three symptoms", symptoms + "\n\n" + _paragraph("index.md", '"It recovers" is no comfort:', keep=True),
               kind="small"),
        _slide("The fix", f"**{rule.group(1)[0].upper()}{rule.group(1)[1:]}**\n\n{_paragraph('index.md', '**Fix.**')}",
               kind="small"),
        _timeline_slide(),
        _slide("What you will be able to do", "\n".join(outcomes), kind="dense"),
        _agenda_slide(),
        _labs_slide(),
        _slide("Where to get help",
               "- **A check fails**: read its hint first; it says what it saw and where to look. Then ask a helper.\n"
               "- **A word is new**: the [glossary](../glossary.md).\n"
               "- **The machine misbehaves**: `.venv/bin/looplab doctor` says what is wrong and how to fix it; "
               "`.venv/bin/looplab cleanup` stops servers left running; a cell that hangs: *Kernel → Restart Kernel*.\n"
               "- **The worked solutions** are on this site, under *Lab solutions*: try the lab first.\n"
               "- **At the end**: the [feedback form](feedback.md), five minutes.", kind="small"),
    ]
    return '<div class="ll-deck" markdown>\n\n' + "\n\n".join(slides) + "\n\n</div>"


def cases_table() -> str:
    """The same bug elsewhere: each case, its fix pattern and the reports it comes from."""
    from .demos import cases

    rows = ["| # | case | the shape | fix pattern | seen in |", "| --- | --- | --- | --- | --- |"]
    for c in cases.CASES:
        seen = ", ".join(f"[{ref}]({cases.url(ref)})" for ref in c.seen_in)
        rows.append(f"| {c.number} | `{c.name}` | {c.title} | {c.pattern} | {seen} |")
    return "\n".join(rows)


def lint_rules() -> str:
    """looplab lint's rules, from the linter itself."""
    from ..tools import lint

    rows = ["| rule | name | the fix it points to |", "| --- | --- | --- |"]
    rows += [f"| `{code}` | {name} | {fix} |" for code, (name, fix) in lint.RULES.items()]
    return "\n".join(rows)
