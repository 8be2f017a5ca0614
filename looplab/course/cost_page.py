"""The cost page's table: the strategies in three conditions, from a recorded benchmark run
(``docs/data/strategy-costs.json``), in the language being built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..project import ROOT
from .i18n import in_language as _zh


class CostsMissing(Exception):
    """The recording is missing or broken: the message says how to record it."""


RECORDED_COSTS = ROOT / "docs" / "data" / "strategy-costs.json"


def markdown(lang: str, path: Path = RECORDED_COSTS) -> str:
    """The strategies in three conditions (HTTP, HTTPS, HTTPS across a network), from a recorded run of
    ``looplab bench --target strategies --conditions --json`` (``docs/data/strategy-costs.json``)."""
    try:
        report = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        raise CostsMissing(f"{path.relative_to(ROOT)} is missing or broken: record it with "
                          "`looplab bench --target strategies --conditions --json > docs/data/strategy-costs.json`") from None
    conditions = report["conditions"]
    names = [c["condition"] for c in conditions]
    by_strategy: dict[str, list[dict[str, Any]]] = {}
    for condition in conditions:
        for row in condition["strategies"]:
            by_strategy.setdefault(row["strategy"], []).append(row)
    machine, versions = report["machine"], report["versions"]
    first = conditions[0]
    when, platform = report.get("recorded_at", "")[:10], machine["platform"]
    stack = (f"Python {versions['python']}, openai {versions['openai']}, httpcore2 {versions.get('httpcore2', '?')}")
    command = "`looplab bench --target strategies --conditions`"
    count, concurrent, rounds = first["requests"], first["concurrency"], first["rounds"]
    out = [_zh(lang, f"Recorded {when} on {platform} ({machine['cpus']} CPUs), {stack}: {command}, {count} sequential "
               f"requests per strategy and {concurrent} concurrent per round, {rounds} interleaved rounds, "
               "against the mock; HTTPS with a certificate made at start-up; the network is a proxy adding 10 ms "
               "of round-trip time.",
               f"{when} 录制于 {platform}（{machine['cpus']} 个 CPU），{stack}：{command}，每种策略依次发出 {count} 个"
               f"请求，每轮并发 {concurrent} 个，共 {rounds} 轮交替进行，对象是模拟 vLLM；HTTPS 使用启动时生成的证书；"
               "“网络”是一个给每次往返增加 10 毫秒的代理。"), "",
           _zh(lang, "| strategy | ", "| 策略 | ") + " | ".join(_zh(lang, f"p50 ms, {n} (× reused)", f"p50 毫秒，{n}（相对复用客户端的倍数）")
                                                       for n in names)
           + _zh(lang, " | connections / request | TLS handshakes / request |", " | 每请求连接数 | 每请求 TLS 握手数 |"),
           "| --- | " + " | ".join("---" for _ in names) + " | --- | --- |"]
    for strategy, rows in by_strategy.items():
        cells = [f"{r['p50_ms']:.1f} ({r['ratio_p50']:.2f}×)" for r in rows]
        tls = next((r for r, c in zip(rows, conditions) if c["tls"]), rows[-1])
        out.append(f"| `{strategy}` | " + " | ".join(cells) + f" | {rows[0]['connections_per_request']:.2f} | "
                   f"{tls['handshakes_per_request']:.2f} |")
    return "\n".join(out)
