"""The lint measured on real code: docs/data/lint-corpus.yml (every finding over seven public
repositories, classified by hand, and the known incidents at their pre-fix commits), summed up for
the "same bug elsewhere" page (``<!-- looplab:lint-corpus -->``) and checked by the tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..project import ROOT

DATA = ROOT / "docs" / "data" / "lint-corpus.yml"
VERDICTS = ("bug", "true", "fp")


@lru_cache(maxsize=2)
def _load(path: Path, mtime: int) -> dict[str, Any]:  # noqa: ARG001 (the cache key)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load(path: Path = DATA) -> dict[str, Any]:
    return _load(path, path.stat().st_mtime_ns)


def counts(data: dict[str, Any]) -> dict[str, Counter]:
    """Verdicts per repository, and over all of them (key ``"all"``)."""
    per: dict[str, Counter] = {r["repo"]: Counter() for r in data["repositories"]}
    for f in data["findings"]:
        per[f["repo"]][f["verdict"]] += 1
    per["all"] = sum(per.values(), Counter())
    return per


def precision(data: dict[str, Any]) -> float:
    total = counts(data)["all"]
    return 1 - total["fp"] / max(1, sum(total.values()))


def same(text: str) -> str:
    return text


def markdown(lang: str = "en", translate: Callable[[str], str] = same) -> str:  # noqa: ARG001
    data, zh = load(), lang == "zh"
    per = counts(data)
    head = ("| 仓库 | 提交 | Python 文件 | 发现 | bug | 属实但无害 | 误报 |" if zh else
            "| repository | commit | Python files | findings | bug | true, harmless | false positive |")
    rows = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in data["repositories"]:
        c = per[r["repo"]]
        rows.append(f"| {r['repo']} | `{r['commit'][:10]}` | {r['python_files']} | {r['findings']} | {c['bug']} | "
                    f"{c['true']} | {c['fp']} |")
    total = per["all"]
    rows.append(f"| **{'合计' if zh else 'all'}** | | {sum(r['python_files'] for r in data['repositories'])} | "
                f"**{sum(total.values())}** | **{total['bug']}** | **{total['true']}** | **{total['fp']}** |")
    incidents = [("| 已知事故（修复之前的提交） | 文件:行 | 规则 | 标出 |" if zh else
                  "| known incident (at the commit before its fix) | file:line | rule | flagged |"), "| --- | --- | --- | --- |"]
    for i in data["incidents"]:
        where = f"`{i['file']}:{i['line']}` (`{str(i['commit'])[:10]}`)" if i["line"] else "—"
        flagged = {True: "是" if zh else "yes", False: "否" if zh else "no"}.get(
            i["flagged"], "仅复现（未测真实代码）" if zh else "reproduction only (real code not scanned)")
        incidents.append(f"| {i['zh'] if zh else i['name']} | {where} | {i['rule']} | {flagged} |")
    return "\n".join(rows) + "\n\n" + "\n".join(incidents)
