"""Findings as text (one per line, ``path:line:col: RULE name: message (fix: ...)``), JSON, or SARIF 2.1.0
for code scanning (GitHub's, or any SARIF viewer)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .catalogue import RULES, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def text(findings: list[Finding]) -> str:
    return "".join(f"{f}\n" for f in findings)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], indent=1) + "\n"


def sarif(findings: list[Finding], version: str) -> str:
    rules = [{"id": code, "name": name, "shortDescription": {"text": name.replace("-", " ")},
              "help": {"text": f"fix: {fix} (the rules are explained on the workshop's 'The same bug elsewhere' page)"},
              "defaultConfiguration": {"level": "warning"}} for code, (name, fix) in RULES.items()]
    order = list(RULES)
    results = [{
        "ruleId": f.rule, "ruleIndex": order.index(f.rule), "level": "warning",
        "message": {"text": f"{f.message} (fix: {f.fix})"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": Path(f.path).as_posix(), **({} if Path(f.path).is_absolute() else {"uriBaseId": "%SRCROOT%"})},
            "region": {"startLine": f.line, "startColumn": f.col + 1}}}],
    } for f in findings]
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "looplab-lint", "version": version, "rules": rules}},
        "results": results}]}
    return json.dumps(log, indent=1) + "\n"
