"""Facts that several pages state, each rendered from the one place that decides it.

A page says ``<!-- looplab:fact NAME -->`` (or ``<!-- looplab:fact NAME ARGUMENT -->``) where it states
the fact, and the website's hooks (``docs/hooks/site.py``) put the sentence there, in the page's
language. The sources:

* ``lab05-requests``: the requests lab 05's check sends (the constants of :mod:`.checks.lab05`);
* ``folded-answers``: which guided notebooks have a folded answer (cells tagged ``answer``);
* ``slowest-lab``: which lab's solution ran longest, and how long (the same timings);
* ``run-time NN``: how long notebook NN ran in the test run whose executed copies the site shows
  (``build/executed/timings.json``); ``run-time lab-NN`` for a lab's solution.

Notebooks cannot hold a placeholder (learners read them in JupyterLab), so where a notebook states a
fact, :func:`notebook_quotes` says which words it must contain and tests/test_page_facts.py holds
them to it: a change to the check fails that test until the notebooks say the new number.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from ..project import ROOT

TIMINGS = ROOT / "build" / "executed" / "timings.json"


class FactError(ValueError):
    """A page names a fact this module does not know; the message lists the ones it does."""


def _lab05() -> tuple[int, int, int, int]:
    from .checks import lab05

    return lab05.SENT, lab05.COUNTED, lab05.BURST, lab05.LEAK_BURST


def lab05_requests(lang: str = "en") -> str:
    sent, counted, burst, leak = _lab05()
    if lang == "zh":
        return (f"共 {sent} 个请求：先发 {counted} 个（{burst} 个逐个发，{burst} 个同时发，每隔一个是流式），"
                f"必须全部成功、每个都用自己的连接；再同时发 {leak} 个普通请求和 {leak} 个流式请求，之后不许留下未关闭的客户端")
    return (f"{sent} requests: {counted} ({burst} one at a time, {burst} at once, every other one streamed) that must "
            f"all answer, each on a connection of its own, then {leak} plain and {leak} streamed at once, after "
            "which no client may be left open")


def answered_notebooks() -> list[int]:
    """The guided notebooks with at least one folded answer (a cell tagged ``answer``)."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        if any("answer" in cell.get("metadata", {}).get("tags", []) for cell in cells):
            found.append(int(path.name[:2]))
    return found


def folded_answers(lang: str = "en") -> str:
    numbers = answered_notebooks()
    if not numbers:
        return "没有哪个 Notebook 带折叠的答案" if lang == "zh" else "no notebook has a folded answer"
    total = len(list((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")))
    names = [f"{n:02d}" for n in numbers]
    span = f"{names[0]}–{names[-1]}"
    if lang == "zh":
        return (f"全部 {total} 个 Notebook（{span}）" if len(numbers) == total else
                f"Notebook {'、'.join(names)} ") + "的练习下方都紧跟着折叠的答案"
    if len(numbers) == 1:
        return f"notebook {names[0]} has a folded answer right under its exercise"
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return (f"all {total} notebooks ({span})" if len(numbers) == total else f"notebooks {listed}") \
        + " have a folded answer right under their exercises"


def run_time(which: str, lang: str = "en") -> str:
    """``06`` (notebook 06) or ``lab-06`` (lab 06's solution): its run time in the last test run, or "not measured"."""
    folder, prefix = ("solutions", f"lab-{which[4:]}-") if which.startswith("lab-") else ("notebooks", f"{which}-")
    paths = sorted((ROOT / folder).glob(f"{prefix}*.ipynb"))
    if len(paths) != 1:
        raise FactError(f"run-time {which}: no {folder}/{prefix}*.ipynb (write 06 for a notebook, lab-06 for a lab)")
    try:
        seconds = json.loads(TIMINGS.read_text()).get(f"{folder}/{paths[0].name}")
    except (FileNotFoundError, ValueError):
        seconds = None
    if seconds is None:
        return "未测量" if lang == "zh" else "not measured"
    return f"{seconds:.0f} 秒" if lang == "zh" else f"{seconds:.0f} s"


def slowest_lab(lang: str = "en") -> str:
    """The lab whose solution, checks included, ran longest in the last test run."""
    try:
        timings = json.loads(TIMINGS.read_text())
    except (FileNotFoundError, ValueError):
        timings = {}
    labs = {name: seconds for name, seconds in timings.items() if name.startswith("solutions/lab-")}
    if not labs:
        return "未测量" if lang == "zh" else "not measured"
    name, seconds = max(labs.items(), key=lambda item: item[1])
    number = name.removeprefix("solutions/lab-")[:2]
    return f"{seconds:.0f} 秒（实验 {number}）" if lang == "zh" else f"{seconds:.0f} s (lab {number})"


FACTS = {"lab05-requests": lambda lang, arg: lab05_requests(lang),
         "slowest-lab": lambda lang, arg: slowest_lab(lang),
         "folded-answers": lambda lang, arg: folded_answers(lang),
         "run-time": lambda lang, arg: run_time(arg, lang)}


def render(spec: str, lang: str = "en") -> str:
    """``"lab05-requests"`` or ``"run-time 06"`` -> the sentence, in ``lang``."""
    name, _, arg = spec.strip().partition(" ")
    if name not in FACTS:
        raise FactError(f"unknown fact {name!r} (one of {', '.join(sorted(FACTS))})")
    if name == "run-time" and not arg:
        raise FactError("run-time needs the notebook: `<!-- looplab:fact run-time 06 -->`")
    return FACTS[name](lang, arg)


def notebook_quotes() -> dict[Path, list[str]]:
    """Words each notebook that states a fact must contain (it cannot hold a placeholder)."""
    sent, counted, burst, leak = _lab05()
    lab05 = next((ROOT / "solutions").glob("lab-05-*.ipynb"))
    return {lab05: [f"the check sends {sent} requests", f"{counted} connections for its first {counted} requests"],
            ROOT / "zh" / "solutions" / lab05.name: [f"检查会发送 {sent} 个请求", f"前 {counted} 个请求用了 {counted} 个连接"]}
