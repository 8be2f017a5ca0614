"""The room page's capacity tables, from ``docs/data/room-capacity.json`` (written by ``looplab room
capacity --json``): what was measured, and a planning table that says which of its numbers are
measured and which are extrapolated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from ..project import ROOT
from .i18n import in_language as _zh

DATA = ROOT / "docs" / "data" / "room-capacity.json"
PLAN_FOR = (12, 30)
HEADROOM = 1.25  # memory: a quarter more than the worst learner measured
SLOWDOWN_OK = 1.5  # cores: a lab may take up to 1.5x as long as for a learner alone


def planning(data: dict) -> list[dict]:
    """Cores and memory for 12 and 30 learners, from the largest N measured."""
    results = sorted(data["results"], key=lambda r: r["learners"])
    alone, most = results[0], results[-1]
    per_learner_mib = max(r["peak_memory_mib_max"] for r in results)
    slowdown = most["lab_p50"] / alone["lab_p50"] if alone["lab_p50"] else 1.0
    cores_measured = data["machine"]["cores"]
    rows = []
    for n in PLAN_FOR:
        memory_gib = (n * per_learner_mib * HEADROOM + most.get("hub_rss_mib", 0)) / 1024
        cores = max(cores_measured, math.ceil(cores_measured * slowdown / SLOWDOWN_OK * n / most["learners"]))
        rows.append({"learners": n, "cores": cores, "memory_gib": math.ceil(memory_gib),
                     "measured": n <= most["learners"], "from_n": most["learners"], "slowdown": slowdown})
    return rows


def markdown(lang: str, translate: Callable[[str], str] = str, path: Path = DATA) -> str:
    del translate
    if not path.exists():
        return _zh(lang, "*Not measured yet: run `looplab room capacity --json docs/data/room-capacity.json`.*",
                   "*尚未测量：运行 `looplab room capacity --json docs/data/room-capacity.json`。*")
    data = json.loads(path.read_text())
    machine, results = data["machine"], sorted(data["results"], key=lambda r: r["learners"])
    alone = results[0]["lab_p50"] or 1.0
    out = [_zh(lang, f"Measured on {machine['date']}: {machine['cores']} cores, {machine['memory_gib']} GiB, "
                     f"{machine['platform']}; every lab ({', '.join(f'{n:02d}' for n in data['labs'])}). Reproduce: "
                     f"`sudo .venv/bin/{data['command']}`.",
               f"测量于 {machine['date']}：{machine['cores']} 核、{machine['memory_gib']} GiB，{machine['platform']}；"
               f"全部实验（{', '.join(f'{n:02d}' for n in data['labs'])}）。复现：`sudo .venv/bin/{data['command']}`。"), "",
           _zh(lang, "| learners at once | every verdict right | joining (p50 / p95) | a lab (p50 / p95) | against one learner "
                     "| memory per learner (peak, worst) | processes and threads per learner (peak) |",
               "| 同时在线学员 | 判定全部正确 | 加入用时（p50 / p95） | 每个实验（p50 / p95） | 相对单个学员 "
               "| 每位学员内存（峰值，最大） | 每位学员进程和线程（峰值） |"),
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        right = _zh(lang, "yes", "是") if r["verdicts_right"] else _zh(lang, f"**no** ({len(r['wrong_verdicts']) + len(r['errors'])})",
                                                                        f"**否**（{len(r['wrong_verdicts']) + len(r['errors'])}）")
        out.append(f"| {r['learners']} | {right} | {r['join_p50']} s / {r['join_p95']} s | {r['lab_p50']} s / {r['lab_p95']} s "
                   f"| {r['lab_p50'] / alone:.1f}× | {r['peak_memory_mib_max']} MiB | {r['peak_tasks_max']} |")
    notes = [_zh(lang, f"- {o['en']}", f"- {o['zh']}") for o in data.get("observations", [])]
    if notes:
        out += ["", _zh(lang, "**Seen while measuring**:", "**测量中观察到**："), "", *notes]
    rows = planning(data)
    out += ["", _zh(lang, "**Planning**: what to give a room. Memory: learners × the worst learner's peak "
                          f"× {HEADROOM} + the hub's own. Cores: enough that a lab takes at most {SLOWDOWN_OK}× as long as "
                          "for a learner alone, assuming the work grows in proportion to the learners.",
                    "**规划**：教室需要多少资源。内存：学员数 × 最坏学员的峰值 "
                    f"× {HEADROOM} + hub 自身。CPU 核数：让一个实验最多比单个学员慢 {SLOWDOWN_OK} 倍，假设负载与学员数成正比。"), "",
            _zh(lang, "| learners | cores | memory | |", "| 学员 | CPU 核数 | 内存 | |"), "| --- | --- | --- | --- |"]
    for row in rows:
        how = (_zh(lang, f"memory measured at {row['from_n']} learners; cores extrapolated from a {row['slowdown']:.1f}× slowdown on "
                         f"{machine['cores']} cores", f"内存按 {row['from_n']} 位学员实测；CPU 核数由 {machine['cores']} 核上 "
                         f"{row['slowdown']:.1f} 倍的变慢推算")
               if row["measured"] else
               _zh(lang, f"extrapolated from {row['from_n']} learners (not measured)", f"由 {row['from_n']} 位学员推算（未实测）"))
        out.append(f"| {row['learners']} | {row['cores']} | {row['memory_gib']} GiB | {how} |")
    return "\n".join(out)
