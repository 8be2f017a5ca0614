"""The workshop in other languages (Simplified Chinese today): notebooks translated cell by cell.

A notebook's prose is translated in a file of its own, ``translations/LANG/<folder>/<stem>.yml``,
one entry per markdown cell, by the cell's id::

    cells:
      nb01-01:
        en: |        # the English the translation was made from
          ## An event loop runs your coroutines ...
        zh: |
          ## 事件循环运行你的协程 ...

Code cells are not translated: they and their outputs are shared with the English notebook. Why a
translation file and not a second notebook kept by hand: the code then exists once (a fix to it
reaches both languages without a translator), the website renders a Chinese page from the *executed*
English notebook (its outputs, never a second execution), and because each entry keeps its ``en``,
a changed English cell is caught (:func:`problems`) and the translator sees exactly what changed.

From these files :func:`build` writes the Chinese notebooks learners open in JupyterLab
(``zh/notebooks/``, ``zh/solutions/`` and ``zh/labs/``, the labs generated from the Chinese
solutions exactly as ``labs/`` from ``solutions/``). Nothing there is edited by hand.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from . import labs
from .episodes import ROOT

LANGUAGES = {"zh": "简体中文"}


def in_language(lang: str, en: str, zh: str) -> str:
    """The text for the page being built: ``zh`` on the Chinese pages, ``en`` on every other."""
    return zh if lang == "zh" else en
TRANSLATIONS = ROOT / "translations"
FOLDERS = ("notebooks", "solutions")  # labs/ are generated from solutions/, in every language


def draft() -> bool:
    """``LOOPLAB_I18N_DRAFT=1``: a translator's preview of an unfinished translation. What is missing or
    out of date shows in English instead of failing the build. Never set in the test suite."""
    return os.environ.get("LOOPLAB_I18N_DRAFT") == "1"


class TranslationError(Exception):
    """A translation is missing or out of date (the message says which cell, and what to do)."""


# --- the translation files -------------------------------------------------------------------------

def translation_file(notebook: Path, lang: str = "zh") -> Path:
    """``notebooks/01-event-loops.ipynb`` -> ``translations/zh/notebooks/01-event-loops.yml``."""
    return TRANSLATIONS / lang / notebook.parent.name / f"{notebook.stem}.yml"


def english_notebooks() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]


class _Literal(yaml.SafeDumper):
    """Multi-line text as ``|`` blocks, so a translation file reads (and diffs) like the prose it holds."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Literal.add_representer(str, _text)


def load(path: Path) -> dict[str, dict[str, str]]:
    """The entries of a translation file (cell id -> {"en", LANG}); empty if there is none."""
    if not path.exists():
        return {}
    return (_yaml(path) or {}).get("cells") or {}


def _yaml(path: Path) -> Any:
    """A translation file's content; a translator's YAML mistake becomes one line naming the file and line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise TranslationError(f"{_shown(path)}{where}: not valid YAML ({getattr(error, 'problem', None) or error}); "
                               "a `zh: |-` block's lines must be indented like its `en` block's") from None


def _shown(path: Path) -> str:
    """A path as a message shows it: from the checkout's root when it is inside it."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def dump(path: Path, notebook: Path, cells: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = f"{notebook.parent.name}/{notebook.name}"
    header = (f"# The Chinese text of {shown}'s markdown cells, by cell id.\n"
              "# `en` is the English each translation was made from: `looplab i18n check` fails when the\n"
              "# notebook's cell no longer says it. Edit `zh`; see translations/zh/STYLE.md.\n")
    body = yaml.dump({"notebook": shown, "cells": cells}, Dumper=_Literal,
                     allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(header + body, encoding="utf-8")


def _markdown_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


def extract(notebook: Path, lang: str = "zh") -> int:
    """Add an entry (English, and an empty translation) for each markdown cell the file lacks; keep
    every existing entry as it is, stale ones included (their ``en`` shows what changed). Returns the
    number of entries added."""
    nb = nbformat.read(notebook, as_version=4)
    path = translation_file(notebook, lang)
    old = load(path)
    cells, added = {}, 0
    for cell in _markdown_cells(nb):
        if cell.id in old:
            cells[cell.id] = old[cell.id]
        else:
            cells[cell.id] = {"en": cell.source, lang: ""}
            added += 1
    cells.update({key: value for key, value in old.items() if key not in cells})  # orphans stay visible
    dump(path, notebook, cells)
    return added


@dataclass(frozen=True)
class Problem:
    notebook: Path
    cell: str
    what: str  # missing | untranslated | changed | orphan
    detail: str = ""

    def __str__(self) -> str:
        kind = "cell" if self.notebook.suffix == ".ipynb" else "text"
        where = f"{_shown(self.notebook)} {kind} {self.cell}"
        if kind == "text":
            fix = {"missing": "no translation: run `looplab i18n extract`, then write its `zh`",
                   "untranslated": "its `zh` is empty: translate it",
                   "orphan": "no such English text any more (changed or removed): delete the entry"}[self.what]
            return f"{where}: {fix}"
        fix = {"missing": "no translation: run `looplab i18n extract`, then write its `zh`",
               "untranslated": "its `zh` is empty: translate it",
               "changed": "the English changed since it was translated: update `zh`, then copy the new English into `en`",
               "orphan": "the notebook has no such markdown cell any more: delete the entry"}[self.what]
        return f"{where}: {fix}" + (f"\n{self.detail}" if self.detail else "")


def problems(notebook: Path, lang: str = "zh") -> list[Problem]:
    """Where the translation of one notebook is missing, empty or older than its English."""
    nb = nbformat.read(notebook, as_version=4)
    entries = load(translation_file(notebook, lang))
    found = []
    ids = set()
    for cell in _markdown_cells(nb):
        ids.add(cell.id)
        entry = entries.get(cell.id)
        if entry is None:
            found.append(Problem(notebook, cell.id, "missing"))
        elif entry.get("en") != cell.source:
            diff = "\n".join(difflib.unified_diff((entry.get("en") or "").splitlines(), cell.source.splitlines(),
                                                  "translated from", "the notebook now", lineterm="", n=0))
            found.append(Problem(notebook, cell.id, "changed", diff))
        elif not (entry.get(lang) or "").strip():
            found.append(Problem(notebook, cell.id, "untranslated"))
    found += [Problem(notebook, key, "orphan") for key in entries if key not in ids]
    return found


# --- translated notebooks --------------------------------------------------------------------------

def translate(nb: Any, notebook: Path, lang: str = "zh") -> Any:
    """A copy of ``nb`` (the notebook at ``notebook``, or an executed copy of it) whose markdown cells
    are in ``lang``; code cells and their outputs are untouched. Refuses an out-of-date translation."""
    trouble = problems(notebook, lang)
    if trouble and not draft():
        raise TranslationError("\n".join(map(str, trouble)))
    stale = {p.cell for p in trouble}
    entries = load(translation_file(notebook, lang))
    out = copy.deepcopy(nb)
    for cell in _markdown_cells(out):
        if cell.id in stale:
            continue  # (a draft: the English stays)
        cell.source = entries[cell.id][lang].rstrip("\n") if not entries[cell.id]["en"].endswith("\n") \
            else entries[cell.id][lang]
    out.metadata["looplab"] = {"lang": lang, "translated_from": _shown(notebook)}
    return out


def target(notebook: Path, lang: str = "zh") -> Path:
    """Where the translated copy of an English notebook is written: ``zh/notebooks/01-...ipynb``."""
    return ROOT / lang / notebook.parent.name / notebook.name


def _rendered(notebook: Path, lang: str) -> dict[Path, str]:
    """The files one English solution or notebook gives in ``lang`` (a solution also gives its lab)."""
    nb = translate(nbformat.read(notebook, as_version=4), notebook, lang)
    del nb.metadata["looplab"]["translated_from"]  # (the path is the file's own business)
    out = {target(notebook, lang): nbformat.writes(nb) + "\n"}
    if notebook.parent.name == "solutions":
        out[ROOT / lang / "labs" / notebook.name] = labs.build_notebook(notebook, translated=nb)
    return out


def build(lang: str = "zh", *, check: bool = False) -> list[Path]:
    """Write ``LANG/notebooks``, ``LANG/solutions`` and ``LANG/labs``; return the files that changed
    (with ``check``, those that would). Raises :class:`TranslationError` on an out-of-date translation."""
    wanted: dict[Path, str] = {}
    for notebook in english_notebooks():
        wanted.update(_rendered(notebook, lang))
    changed = []
    for path, text in wanted.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for folder in (*FOLDERS, "labs"):
        for stray in sorted((ROOT / lang / folder).glob("*.ipynb")):
            if stray not in wanted:
                changed.append(stray)
                if not check:
                    stray.unlink()
    return changed


def all_problems(lang: str = "zh") -> list[Problem]:
    return [p for notebook in english_notebooks() for p in problems(notebook, lang)] + string_problems(lang)


# --- terms -----------------------------------------------------------------------------------------

def terms(lang: str = "zh") -> list[dict[str, Any]]:
    """The term list (``translations/LANG/terms.yml``): one word for one idea, on every page."""
    return _yaml(TRANSLATIONS / lang / "terms.yml")


SEARCH_WORDS = "search-words.txt"


def search_words(lang: str = "zh") -> str:
    """jieba's user dictionary for the site's search (``translations/LANG/search-words.txt``).

    The search index holds the words jieba cuts the Chinese pages into, and the browser finds a word by
    its beginning (Material adds a trailing wildcard) after cutting the query into the index's words.
    So a term stays whole only where cutting it leaves a single character (证书包 -> 证书 / 包: a search
    for 证书包 would also match every word that starts with 包): a term cut into real words is left cut
    (事件循环 -> 事件 / 循环), so that a search for 循环 finds 事件循环, and a search for 事件循环 finds its
    two words side by side. A term marked ``search: whole`` in terms.yml is always kept whole: one that
    jieba cuts wrongly in context (在线程 -> 在线 / 程). Only the Chinese runs of a term count (CA 证书包 -> 证书包)."""
    import re

    import jieba

    cutter = jieba.Tokenizer()  # jieba's own dictionary, whatever a build in this process has loaded
    words = []
    for term in terms(lang):
        for run in re.findall(r"[\u4e00-\u9fff]+", term[lang]):
            pieces = list(cutter.cut(run, HMM=False))
            if term.get("search") == "whole" or (len(pieces) > 1 and min(map(len, pieces)) == 1):
                words.append(run)
    return "".join(f"{w} 1000 n\n" for w in dict.fromkeys(words))


# --- strings of the manifest and the timeline ------------------------------------------------------
# The website builds tables from episodes.yml and timeline.yml; their prose is translated like a
# message catalogue: an entry per English text, looked up by that text, so an English text that
# changes has no translation any more and the check names it.

STRINGS = "strings.yml"


def strings_needed() -> list[str]:
    """Every English text of the manifest, the timeline, the cases of the same bug elsewhere and the lint's
    fixes that the Chinese site shows."""
    from . import episodes, timeline

    manifest = episodes.load()
    out: list[str] = []
    for e in manifest.episodes:
        out += [e.title, e.outcome, *e.questions]
        if e.lab:
            out += [e.lab["title"], *([e.lab["goal"]] if e.lab.get("goal") else [])]
    for agenda in manifest.agendas.values():
        out += [agenda.title, *([agenda.summary] if agenda.summary else []), *agenda.leaves_out.values()]
    out += list(timeline.STAGES.values())
    for event in timeline.events():
        out += [event.what, event.verified]
    for item in timeline.elsewhere():
        out += [item["what"], item["verified"]]
    from ..tools import lint
    from .demos import cases

    for case in cases.CASES:
        out += [case.title, case.pattern]
    out += [fix for _name, fix in lint.RULES.values()]
    return list(dict.fromkeys(text.strip() for text in out))


def _strings_file(lang: str) -> Path:
    return TRANSLATIONS / lang / STRINGS


def strings(lang: str = "zh") -> dict[str, str]:
    """English text -> its translation (read once per version of the file: the site looks up hundreds)."""
    path = _strings_file(lang)
    return dict(_catalogue(path, path.stat().st_mtime_ns if path.exists() else 0, lang))


@functools.lru_cache(maxsize=8)
def _catalogue(path: Path, version: int, lang: str) -> tuple[tuple[str, str], ...]:
    entries = _yaml(path) if version else None
    return tuple((e["en"].strip(), (e.get(lang) or "").strip()) for e in entries or [])


def gettext(text: str, lang: str) -> str:
    """``text`` in ``lang`` (English is itself); a missing translation raises :class:`TranslationError`."""
    if lang == "en":
        return text
    found = strings(lang).get(text.strip())
    if not found and draft():
        return text
    if not found:
        raise TranslationError(f"translations/{lang}/{STRINGS}: no translation of {text.strip()[:80]!r}: "
                               f"run `looplab i18n extract --lang {lang}` and translate it")
    return found


def string_problems(lang: str = "zh") -> list[Problem]:
    have, needed = strings(lang), strings_needed()
    path = _strings_file(lang)
    found = [Problem(path, repr(text[:60]), "missing" if text not in have else "untranslated")
             for text in needed if not have.get(text)]
    found += [Problem(path, repr(text[:60]), "orphan") for text in have if text not in set(needed)]
    return found


def extract_strings(lang: str = "zh") -> int:
    """Add an entry for each English text that has none; keep the others (orphans too)."""
    path = _strings_file(lang)
    have = (_yaml(path) if path.exists() else None) or []
    known = {e["en"].strip() for e in have}
    new = [{"en": text, lang: ""} for text in strings_needed() if text not in known]
    header = ("# The English texts of episodes.yml, looplab/course/timeline.yml, the demo cases and the lint's fixes\n"
              "# that the Chinese site shows,\n"
              "# each with its translation. Looked up by the English text: when that changes, `looplab i18n check`\n"
              "# names it. See translations/zh/STYLE.md.\n")
    path.write_text(header + yaml.dump(have + new, Dumper=_Literal, allow_unicode=True, sort_keys=False, width=1000),
                    encoding="utf-8")
    return len(new)
