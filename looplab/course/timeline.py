"""The upstream story as data (``timeline.yml``): one place for every number and version the material cites.

The website's timeline page and the notebooks render from here; ``tests/test_timeline.py`` refuses
an upstream number anywhere in the material that this file does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

FILE = Path(__file__).with_name("timeline.yml")
STAGES = {
    "report": "the report", "fix": "the fix that shipped", "one-loop": "one loop for everything",
    "per-loop": "a client per loop", "mixin": "a client per access, never closed", "ssl": "the cost of a client",
    "temporary-loop": "a temporary loop, back", "recurrence": "the class, again",
}


@dataclass(frozen=True)
class Event:
    number: int
    kind: str  # issue | pr
    stage: str
    title: str
    what: str
    verified: str
    date: date | None = None
    released: str | None = None

    @property
    def url(self) -> str:
        return f"https://github.com/{load_raw()['repository']}/{'issues' if self.kind == 'issue' else 'pull'}/{self.number}"


def load_raw() -> dict[str, Any]:
    return yaml.safe_load(FILE.read_text())


def events() -> list[Event]:
    found = [Event(**{k: v for k, v in item.items()}) for item in load_raw()["events"]]
    for event in found:
        if event.stage not in STAGES:
            raise ValueError(f"{FILE.name}: #{event.number} has unknown stage {event.stage!r}")
    return found


def event(number: int) -> Event:
    for found in events():
        if found.number == number:
            return found
    raise KeyError(f"#{number} is not in {FILE.name}")


def numbers() -> set[int]:
    return {e.number for e in events()}


def elsewhere() -> list[dict[str, Any]]:
    return load_raw()["elsewhere"]


def releases() -> set[str]:
    """Every Llama Stack release the timeline names."""
    return {e.released for e in events() if e.released}


def markdown_table(translate: Callable[[str], str] = lambda text: text,
                   headers: str = "| opened | # | what happened | released in | checked |", full_stop: str = ".") -> str:
    """The timeline as a Markdown table (the website's timeline page); ``translate`` gives a text in the
    page's language (the Chinese site's come from translations/zh/strings.yml), ``headers`` and
    ``full_stop`` (after each stage's name) are in that language too."""
    rows = [headers, "| --- | --- | --- | --- | --- |"]
    for e in sorted(events(), key=lambda e: (e.date or date.max, e.number)):
        when = e.date.isoformat() if e.date else "?"
        rows.append(f"| {when} | [#{e.number}]({e.url}) | **{translate(STAGES[e.stage])}{full_stop}** "
                    f"{translate(e.what.strip())} | {e.released or '-'} | {translate(e.verified.strip())} |")
    for item in elsewhere():
        repo, number = item["ref"].split("#")
        rows.append(f"| {item.get('date') or '?'} | [{item['ref']}](https://github.com/{repo}/issues/{number}) | "
                    f"{translate(item['what'].strip())} | - | {translate(item['verified'].strip())} |")
    return "\n".join(rows)


def rows(stages: tuple[str, ...] = tuple(STAGES)) -> list[dict[str, str]]:
    """The events of some stages, oldest first, as rows for a notebook's table."""
    return [{"when": e.date.isoformat() if e.date else "?", "number": f"#{e.number}", "released": e.released or "-",
             "what": e.what} for e in sorted(events(), key=lambda e: (e.date or date.max, e.number))
            if e.stage in stages]
