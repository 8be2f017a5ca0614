"""One bug, three symptoms: what the broken adapter does on each client stack, measured live.

The same mistake (a client built on the start-up loop, used on uvicorn's loop) looks completely
different depending on the HTTP stack's version and on timing. For every client stack looplab has
(the reporter's, pinned from #1968's traceback; the incident era's; the current pinned one), with
the first request coming *inside* the keep-alive or after it *expired*, with the client's retries
on (its default, 2) or off, this runs the mini stack with the ``broken`` adapter against the mock
and sends four requests. It records, per request, what the caller got and how many times the
backend generated it (from the mock's log), and the frames of the first failure.

"Expired" is reached as the backend's keep-alive timer reaches it: the mock closes its idle
connections (``expire_keepalive``), which the client's pool then finds stale. The adapter's client
times out after :data:`CLIENT_TIMEOUT_S`, so a request that would hang shows as a 504 quickly.

``looplab symptoms`` (``--json`` for the rows) prints the table; ``tests/test_facts.py`` pins it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REQUESTS = 4
CLIENT_TIMEOUT_S = 2.0  # the adapter's client: a hang shows as a 504 after this (times 3 with retries)
CALLER_TIMEOUT_S = 30.0  # the caller's own patience: past it, the status is "timeout"
KEEPALIVE = ("inside", "expired")
RETRIES = (2, 0)  # 2 is the openai client's default; 0 turns retries off
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')


@dataclass(frozen=True)
class ClientStack:
    name: str
    python: str
    what: str


def stacks() -> list[ClientStack]:
    """The client stacks, oldest first (each interpreter must exist: ``python3 run.py setup``)."""
    from ..real.envs import EXACT, INCIDENT

    return [ClientStack("exact", str(EXACT.python), "the reporter's: httpx 0.27.0, httpcore 1.0.2 (#1968)"),
            ClientStack("incident-era", str(INCIDENT.python), "April 2025's: openai 1.73, httpcore 1.0.8"),
            ClientStack("current", sys.executable, "the workshop's pinned openai 3.x on httpcore2")]


_VERSIONS = """
import json, platform
from importlib import metadata
def v(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
core = "httpcore2" if v("httpcore2") else "httpcore"
print(json.dumps({"python": platform.python_version(), "openai": v("openai"), "httpcore_package": core,
                  "httpcore": v(core)}))
"""


def versions(python: str) -> dict[str, str]:
    """The versions that decide the symptom, as that interpreter has them."""
    out = subprocess.run([python, "-c", _VERSIONS], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@dataclass
class Row:
    stack: str
    python: str
    openai: str
    httpcore_package: str
    httpcore: str
    keepalive: str
    retries: int
    statuses: list[int | str] = field(default_factory=list)  # per request: the caller's HTTP status, or "timeout"
    generations: list[int] = field(default_factory=list)  # per request: times the backend generated it
    hangs: list[bool] = field(default_factory=list)  # per request: the client waited until its timeout (504)
    # The first traceback in the stack's log (what an operator reads; httpcore2 hides the earlier read
    # failure with ``raise ... from None``, httpcore 1.0.x prints it first):
    error: str | None = None  # its exception: "RuntimeError: Event loop is closed"
    pool_frames: list[str] = field(default_factory=list)  # its frames inside httpcore: where in the pool it broke
    last_frame: str | None = None  # its innermost frame
    symptom: str = ""


def _short(path: str) -> str:
    return path.split("site-packages/", 1)[-1] if "site-packages/" in path else Path(path).name


def first_failure(log: str) -> tuple[str | None, list[str], str | None]:
    """(error, frames inside httpcore, innermost frame) of the first traceback in a stack's log."""
    start = log.find("Traceback (most recent call last):")
    if start < 0:
        return None, [], None
    block = log[start:]
    end = re.search(r"^(\w[\w.]*(Error|Exception|Cancelled\w*)\b.*)$", block, re.MULTILINE)
    if end:
        block = block[: end.end()]
    frames = [m.groupdict() for m in _FRAME.finditer(block)]
    described = [f"{_short(f['file'])}:{f['line']} {f['function']}" for f in frames]
    pool = [d for f, d in zip(frames, described) if "httpcore" in f["file"]]
    return (end.group(1).strip() if end else None), pool, (described[-1] if described else None)


def classify(row: Row) -> str:
    """The symptom, in a few words."""
    ok = [s == 200 for s in row.statuses]
    if all(ok):
        return "hidden: all 200, request 1 generated twice" if max(row.generations) > 1 else "hidden: a silent retry"
    if not ok[0] and all(ok[1:]):
        return "the first request fails, then it works"
    if not any(ok[1:]):
        return "every request fails: later ones hang"
    return "mixed"


def measure_case(stack: ClientStack, keepalive: str, retries: int, known: dict[str, str] | None = None) -> Row:
    """One row: the mini stack with the broken adapter on ``stack``'s interpreter, four requests."""
    import httpx2

    from ..servers import start_mock, start_stack

    found = known or versions(stack.python)
    row = Row(stack.name, found["python"], found["openai"], found["httpcore_package"], found["httpcore"], keepalive,
              retries)
    with start_mock(keepalive_s=60) as mock, start_stack(
            adapter="broken", vllm_url=mock.base_url, models=["tiny-llama"], python=stack.python,
            max_retries=None if retries == 2 else retries, client_timeout=CLIENT_TIMEOUT_S) as served:
        mock.clear_requests()
        if keepalive == "expired":
            mock.expire_keepalive()
        for n in range(1, REQUESTS + 1):
            body = {"model": "tiny-llama", "messages": [{"role": "user", "content": f"request {n}"}], "user": f"r{n}"}
            try:
                response = httpx2.post(f"{served.base_url}/chat/completions", json=body, timeout=CALLER_TIMEOUT_S)
            except httpx2.TimeoutException:
                row.statuses.append("timeout")
                row.hangs.append(True)
                continue
            row.statuses.append(response.status_code)
            error = response.json().get("error", {}) if response.status_code != 200 else {}
            row.hangs.append(error.get("type") == "backend_timeout")
        records = mock.requests("/v1/chat/completions")
        row.generations = [sum(1 for r in records if r["user"] == f"r{n}" and r["status"] == 200)
                           for n in range(1, REQUESTS + 1)]
        log = served.log_text()
    row.error, row.pool_frames, row.last_frame = first_failure(log)
    row.symptom = classify(row)
    return row


def measure(names: list[str] | None = None, workers: int = 6) -> list[dict[str, Any]]:
    """Every row (stack x keep-alive x retries), measured in parallel; oldest stack first."""
    chosen = [s for s in stacks() if names is None or s.name in names]
    known = {s.name: versions(s.python) for s in chosen}
    cases = [(s, k, r) for s in chosen for k in KEEPALIVE for r in RETRIES]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(lambda case: measure_case(*case, known=known[case[0].name]), cases))
    return [asdict(row) for row in rows]


# --- looplab symptoms -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Measure the three symptoms of one bug: the broken adapter on each client stack (the "
                     "reporter's httpcore 1.0.2, the incident era's 1.0.8, the current httpcore2), first request "
                     "inside or after the keep-alive, retries on or off. Needs `python3 run.py setup`.")
    p.add_argument("--stack", action="append", choices=["exact", "incident-era", "current"], dest="stacks",
                   help="only these client stacks (repeatable; default: all three)")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON list")


def _render(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"One bug, three symptoms: the broken adapter, {REQUESTS} requests after start-up")
    for column in ("client stack", "keep-alive", "retries", "caller got", "generated", "symptom"):
        table.add_column(column)
    for r in rows:
        table.add_row(f"{r['stack']}: {r['httpcore_package']} {r['httpcore']}", r["keepalive"],
                      str(r["retries"]), " ".join(map(str, r["statuses"])), " ".join(map(str, r["generations"])),
                      r["symptom"])
    console = Console(width=max(Console().width, 140))
    console.print(table)
    console.print(f"504 = the adapter's client gave up after {CLIENT_TIMEOUT_S:.0f} s (x3 with retries): the request "
                  "hung in the pool. 'generated': how many times the backend produced each answer (the mock's log).")


def run(args: argparse.Namespace) -> int:
    from ..servers import ServerError

    try:
        rows = measure(args.stacks)
    except FileNotFoundError as exc:
        print(f"looplab symptoms: {exc}", file=sys.stderr)
        return 1
    except ServerError as exc:
        print(f"looplab symptoms: a server did not start: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows))
    else:
        _render(rows)
    return 0
