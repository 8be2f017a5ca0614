"""mkdocs hooks: the website's generated parts, from the project's own sources.

* Navigation: from ``episodes.yml`` (notebooks) and ``solutions/`` (labs).
* Notebook pages: the copies the test run executed (``build/executed/``), copied into ``docs/``
  before the build. A copy whose cells differ from the source notebook is *stale* and fails the
  build: run the tests again. Notebooks are never executed a second time here.
* Placeholders in pages (``<!-- looplab:NAME -->``): the episodes table, the agendas with measured
  run times, the cost table from a recorded benchmark run (docs/data/strategy-costs.json), the upstream
  timeline (looplab/course/timeline.yml) and the CLI reference; the facilitator kit's pages (the
  opening deck, the feedback form, the common errors per lab, the instructor notes' headings) come
  from :mod:`looplab.course.kit`.
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

from looplab.course import episodes, kit
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
                          {"Upstream, after the fix": "timeline.md"}, {"The same bug elsewhere": "elsewhere.md"},
                          {"The source article": "article.md"}]},
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


_GENERATORS = {"episodes-table": episodes_table, "agendas": agendas, "cost-table": cost_table,
               "cli-reference": cli_reference, "timeline": timeline_table, "python-versions": python_versions,
               # the facilitator kit (looplab/course/kit.py)
               "instructor-notes": kit.instructor_notes, "common-errors": kit.common_errors,
               "feedback-form": kit.feedback_form, "deck": kit.deck,
               # the same bug elsewhere (docs/elsewhere.md)
               "cases": kit.cases_table, "lint-rules": kit.lint_rules}


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
        try:
            return generator()
        except kit.KitError as error:
            raise PluginError(f"{page.file.src_path}: {error}") from None
    return _PLACEHOLDER.sub(replace, markdown)
