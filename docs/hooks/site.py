"""mkdocs hooks: the website's generated parts, from the project's own sources.

* Navigation: from ``episodes.yml`` (notebooks) and ``solutions/`` (labs).
* Notebook pages: the copies the test run executed (``build/executed/``), copied into ``docs/``
  before the build. A copy whose cells differ from the source notebook is *stale* and fails the
  build: run the tests again. Notebooks are never executed a second time here.
* Placeholders in pages (``<!-- looplab:NAME -->``): the episodes table, the agendas with measured
  run times, the cost table from a recorded benchmark run (docs/data/strategy-costs.json), the upstream
  timeline (looplab/course/timeline.yml) and the CLI reference.
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

from looplab.course import episodes
from looplab.project import ROOT

DOCS = ROOT / "docs"
EXECUTED = ROOT / "build" / "executed"
TIMINGS = EXECUTED / "timings.json"
MERMAID = DOCS / "assets" / "vendor" / "mermaid.min.js"
NOTEBOOK_DIRS = ("notebooks", "solutions")
_PLACEHOLDER = re.compile(r"<!-- looplab:([a-z-]+) -->")
# nbconvert's notebook template loads mermaid with a dynamic import() from a CDN, and hides
# diagrams until that script has drawn them. Offline, Material draws them with the vendored copy.
_NBCONVERT_MERMAID = re.compile(
    r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
    r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid > pre\.mermaid"\);.*?</script>', re.DOTALL)


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
    return staged


def navigation() -> list[dict[str, Any]]:
    manifest = episodes.load()
    notebooks = [{f"{e.number:02d} · {e.title}": f"notebooks/{e.stem}.ipynb"} for e in manifest.episodes]
    solutions = []
    for path in sorted((ROOT / "solutions").glob("lab-*.ipynb")):
        episode = episodes.load().episode(int(path.name[4:6]))
        title = (episode.lab or {}).get("title", episode.title)
        solutions.append({f"Lab {episode.number:02d} · {title}": f"solutions/{path.name}"})
    return [
        {"Home": "index.md"},
        {"The incident": [{"Root cause": "root-cause.md"}, {"The fix and beyond": "fixes.md"},
                          {"Upstream, after the fix": "timeline.md"}, {"The source article": "article.md"}]},
        {"Notebooks": notebooks},
        {"Lab solutions": [{"About the labs": "labs.md"}, *solutions]},
        {"Instructors": [{"Facilitator guide": "facilitator.md"}, {"Setup": "setup.md"},
                         {"Prerequisites and learner profile": "instructor/prerequisites.md"},
                         {"Opening deck": "instructor/deck.md"},
                         {"Instructor notes per episode": "instructor/episodes.md"},
                         {"Helper guidance": "instructor/helpers.md"},
                         {"Common errors per lab": "instructor/common-errors.md"},
                         {"Feedback form": "instructor/feedback.md"}]},
        {"Reference": [{"Command line and servers": "reference.md"}, {"Glossary": "glossary.md"}]},
    ]


def _timings() -> dict[str, float]:
    try:
        return json.loads(TIMINGS.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def episodes_table() -> str:
    manifest = episodes.load()
    rows = ["| # | notebook | you will be able to | minutes | lab |", "| --- | --- | --- | --- | --- |"]
    for e in manifest.episodes:
        lab = next((p for p in sorted((ROOT / "solutions").glob(f"lab-{e.number:02d}-*.ipynb"))), None)
        lab_cell = f"[{(e.lab or {}).get('title', '')}](solutions/{lab.name})" if lab else "-"
        rows.append(f"| {e.number:02d} | [{e.title}](notebooks/{e.stem}.ipynb) | {e.outcome} | "
                    f"{e.teaching} + {e.exercises} | {lab_cell} |")
    return "\n".join(rows)


def _lab_notebook(number: int) -> Path | None:
    return next(iter(sorted((ROOT / "solutions").glob(f"lab-{number:02d}-*.ipynb"))), None)


def _agenda_row(slot: episodes.Slot, timings: dict[str, float], base: str) -> str:
    start = episodes.clock_time(slot.start)
    if slot.kind == "episode":
        e = slot.episode
        run = timings.get(f"notebooks/{e.stem}.ipynb")
        return (f"| {start} | [{e.number:02d} · {e.title}]({base}notebooks/{e.stem}.ipynb) | {e.minutes} "
                f"({e.teaching} teaching, {e.exercises} exercises) | {e.exercises} | "
                f"{f'{run:.0f} s' if run else 'not measured'} |")
    if slot.kind == "lab":
        e, lab = slot.episode, _lab_notebook(slot.episode.number)
        title = f"Lab {e.number:02d} · {e.lab['title']}"
        run = timings.get(f"solutions/{lab.name}") if lab else None
        return (f"| {start} | {f'[{title}]({base}solutions/{lab.name})' if lab else title} | {slot.minutes} | "
                f"{slot.minutes} | {f'{run:.0f} s (solved)' if run else 'not measured'} |")
    part = {"intro": f"Introduction: the incident in one page ([the opening deck]({base}instructor/deck.md))",
            "break": "**Break**",
            "wrap-up": f"Wrap-up: key points, questions, the review checklist, the [feedback form]"
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
        rows = [f"### {agenda.title}", ""]
        if agenda.summary:
            rows += [agenda.summary, ""]
        if agenda.leaves_out:
            rows += ["It leaves out:", ""]
            rows += [f"- **{n:02d} · {manifest.episode(n).title}**: {why}" for n, why in sorted(agenda.leaves_out.items())]
            rows.append("")
        rows += ["| start | part | minutes | learners code | measured run time |", "| --- | --- | --- | --- | --- |"]
        rows += [_agenda_row(slot, timings, base) for slot in slots]
        rows.append(f"| {episodes.clock_time(total)} | **End** | **{total}** in total ({total // 60} h {total % 60:02d} min) | "
                    f"**{coding}** | |")
        rows += ["", f"Learners write code for {coding} of the {total} minutes: {labs} in the labs and "
                 f"{coding - labs} in the episodes' exercises."]
        out.append("\n".join(rows))
    return "\n\n".join(out)


RECORDED_COSTS = DOCS / "data" / "strategy-costs.json"


def cost_table() -> str:
    """The strategies in three conditions (HTTP, HTTPS, HTTPS across a network), from a recorded run of
    ``looplab bench --target strategies --conditions --json`` (``docs/data/strategy-costs.json``)."""
    try:
        report = json.loads(RECORDED_COSTS.read_text())
    except (FileNotFoundError, ValueError):
        raise PluginError(f"{RECORDED_COSTS.relative_to(ROOT)} is missing or broken: record it with "
                          "`looplab bench --target strategies --conditions --json > docs/data/strategy-costs.json`") from None
    conditions = report["conditions"]
    names = [c["condition"] for c in conditions]
    by_strategy: dict[str, list[dict[str, Any]]] = {}
    for condition in conditions:
        for row in condition["strategies"]:
            by_strategy.setdefault(row["strategy"], []).append(row)
    machine, versions = report["machine"], report["versions"]
    first = conditions[0]
    out = [f"Recorded {report.get('recorded_at', '')[:10]} on {machine['platform']} ({machine['cpus']} CPUs), Python "
           f"{versions['python']}, openai {versions['openai']}, httpcore2 {versions.get('httpcore2', '?')}: "
           f"`looplab bench --target strategies --conditions`, {first['requests']} sequential requests per "
           f"strategy and {first['concurrency']} concurrent per round, {first['rounds']} interleaved rounds, "
           "against the mock; HTTPS with a certificate made at start-up; the network is a proxy adding 10 ms of "
           "round-trip time.", "",
           "| strategy | " + " | ".join(f"p50 ms, {n} (× reused)" for n in names)
           + " | connections / request | TLS handshakes / request |",
           "| --- | " + " | ".join("---" for _ in names) + " | --- | --- |"]
    for strategy, rows in by_strategy.items():
        cells = [f"{r['p50_ms']:.1f} ({r['ratio_p50']:.2f}×)" for r in rows]
        tls = next((r for r, c in zip(rows, conditions) if c["tls"]), rows[-1])
        out.append(f"| `{strategy}` | " + " | ".join(cells) + f" | {rows[0]['connections_per_request']:.2f} | "
                   f"{tls['handshakes_per_request']:.2f} |")
    return "\n".join(out)


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
        return "No run on another Python has been recorded yet."
    rows = ["| Python | last run | result |", "| --- | --- | --- |"]
    for version, r in sorted(results.items(), key=lambda kv: tuple(map(int, kv[0].split(".")))):
        verdict = r["summary"] if r["exit"] == 0 else f"**failed** ({r['summary']})"
        rows.append(f"| {r['python']} | {r['date']} | {verdict} |")
    return "\n".join(rows)


def timeline_table() -> str:
    from looplab.course import timeline

    return timeline.markdown_table()


NOTES = DOCS / "instructor" / "notes"


def instructor_notes() -> str:
    """A heading per episode of episodes.yml, and under it docs/instructor/notes/NN.md if it exists."""
    out = []
    for e in episodes.load().episodes:
        note = NOTES / f"{e.number:02d}.md"
        body = (f'--8<-- "{note.relative_to(ROOT).as_posix()}"' if note.exists() else
                f"*No notes yet for this episode* (`{note.relative_to(ROOT).as_posix()}`). "
                f"Its notebook: [{e.stem}](../notebooks/{e.stem}.ipynb).")
        out += [f"## {e.number:02d} · {e.title}", "", body, ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    """A hint as HTML: escaped, with its `backtick` spans as code."""
    import html

    parts = html.escape(text, quote=False).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def common_errors() -> str:
    """Every hint each lab's (and guided notebook's) checks can give, read from looplab/course/checks.py and
    exercises.py (:mod:`looplab.course.hints`): grouped by notebook, then by check."""
    import html

    from looplab.course import hints

    manifest = episodes.load()
    by_notebook: dict[Path, list[hints.Check]] = {}
    for check in hints.checks():
        if not check.used_in:
            raise PluginError(f"looplab/course/{check.module}.py: no notebook calls {check.function}()")
        for path in check.used_in:
            by_notebook.setdefault(path, []).append(check)
    out = []
    for kind, folder in (("Labs", "solutions"), ("Guided notebooks", "notebooks")):
        out += [f"## {kind}", ""]
        for path, found in sorted((p, c) for p, c in by_notebook.items() if p.parent.name == folder):
            episode = manifest.episode(int(re.search(r"(\d\d)", path.name).group(1)))
            if folder == "solutions":
                title = f"Lab {episode.number:02d} · {episode.lab['title']}"
                link = f"[worked solution](../solutions/{path.name}), practising [notebook {episode.number:02d}](../notebooks/{episode.stem}.ipynb)"
            else:
                title = f"{episode.number:02d} · {episode.title}"
                link = f"[the notebook](../notebooks/{path.name}); a folded answer sits under each exercise"
            out += [f"### {title}", "", f"{link}.", ""]
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
                        '<table><thead><tr><th>hint: the check says</th><th>source</th></tr></thead>',
                        "<tbody>", *rows, "</tbody></table>", ""]
    return "\n".join(out)


def feedback_form() -> str:
    """A paper-friendly feedback form: confidence 1-5 against each episode's outcome (from episodes.yml),
    what worked, what to change, the pace. Raw HTML, nothing is sent anywhere; print CSS in extra.css."""
    import html

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


# --- the opening deck (instructor/deck.md): slides filled from the site's own sources ----------------

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
    raise PluginError(f"docs/{page} has no paragraph starting {starts!r}: the opening deck needs it")


def _block_after(page: str, marker: str, pattern: str) -> str:
    """The first run of lines matching ``pattern`` after ``marker`` in ``page``."""
    text = _read(page)
    if marker not in text:
        raise PluginError(f"docs/{page} has no {marker!r}: the opening deck needs it")
    match = re.search(pattern, text[text.index(marker):], re.S | re.M)
    if match is None:
        raise PluginError(f"docs/{page}: nothing after {marker!r} for the opening deck")
    return _from_root(match.group(0).strip("\n"))


def _slide(title: str, body: str, kind: str = "") -> str:
    return (f'<section class="ll-slide{f" ll-slide--{kind}" if kind else ""}" markdown>\n\n## {title}\n\n'
            f"{body.strip()}\n\n</section>")


def _timeline_slide() -> str:
    from looplab.course import timeline

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
    from looplab.course import hints

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
        raise PluginError("docs/fixes.md no longer states the rule the deck's fix slide quotes")
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


_GENERATORS = {"episodes-table": episodes_table, "agendas": agendas, "cost-table": cost_table,
               "cli-reference": cli_reference, "timeline": timeline_table, "python-versions": python_versions,
               "instructor-notes": instructor_notes, "common-errors": common_errors,
               "feedback-form": feedback_form, "deck": deck}


# --- mkdocs events ---------------------------------------------------------------------------------

def on_config(config: Any) -> Any:
    config["nav"] = navigation()
    if not MERMAID.exists():
        raise PluginError(f"{MERMAID.relative_to(ROOT)} is missing: `python3 run.py setup` vendors mermaid "
                          "so that diagrams render without internet")
    stage_notebooks()
    return config


def on_post_page(output: str, page: Any, config: Any) -> str:
    if not page.file.src_path.endswith(".ipynb"):
        return output
    output, removed = _NBCONVERT_MERMAID.subn("", output)
    if "jp-Mermaid" in output and not removed:
        raise PluginError(f"{page.file.src_path}: nbconvert's mermaid loader changed; update docs/hooks/site.py")
    return output.replace('<div class="jp-Mermaid">', '<div class="jp-Mermaid jp-RenderedMermaid">')


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match) -> str:
        generator = _GENERATORS.get(match.group(1))
        if generator is None:
            raise PluginError(f"{page.file.src_path}: unknown placeholder {match.group(0)}")
        return generator()
    return _PLACEHOLDER.sub(replace, markdown)
