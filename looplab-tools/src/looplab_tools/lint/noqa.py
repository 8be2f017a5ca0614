"""``# noqa`` and ``# noqa: LL001,LL003`` on a finding's line answer it."""

from __future__ import annotations

import re

from .catalogue import Finding

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9, ]+))?", re.IGNORECASE)


def suppressed(finding: Finding, lines: dict[int, str]) -> bool:
    line = lines.get(finding.line, "")
    match = NOQA.search(line)
    return bool(match) and (match["codes"] is None or finding.rule in {c.strip().upper() for c in match["codes"].split(",")})
