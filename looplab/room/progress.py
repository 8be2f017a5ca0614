"""The room's progress: every check a learner ran, and their ``doctor`` result, in an embedded
database (SQLite, ``<room home>/progress.sqlite``); and the board the facilitator reads from it.

The board has one row per learner and one column per lab check: ✔ passed, ✘ failed (with the hint
the learner is looking at), ○ not attempted; the time since each learner's last attempt; whether
their environment passed ``doctor``. A hint that three or more learners see on the same check is
called out above the table: the helper guidance's rule for explaining it to the whole room.
Standard library only.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

VERDICTS = ("passed", "failed", "not attempted", "error")
MARKS = {"passed": "✔", "failed": "✘", "error": "✘", "not attempted": "○", None: "○"}
ESCALATE_AT = 3  # learners on the same hint (docs/instructor/helpers.md, "When to tell the facilitator")

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    learner TEXT NOT NULL,
    lab TEXT NOT NULL,
    check_name TEXT NOT NULL,
    exercise TEXT NOT NULL DEFAULT '',
    verdict TEXT NOT NULL CHECK (verdict IN ('passed', 'failed', 'not attempted', 'error')),
    hint TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_learner ON attempts (learner, lab, check_name, at);
CREATE TABLE IF NOT EXISTS doctor (
    learner TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,
    summary TEXT NOT NULL,
    at REAL NOT NULL
);
"""


class BadReport(ValueError):
    """A report the board cannot file (unknown check, unknown verdict)."""


@dataclass(frozen=True)
class Cell:
    verdict: str | None = None
    hint: str = ""
    at: float | None = None

    @property
    def mark(self) -> str:
        return MARKS[self.verdict]


@dataclass
class Row:
    learner: str
    cells: dict[tuple[str, str], Cell]
    last_attempt: float | None
    doctor_ok: bool | None
    doctor_summary: str = ""


@dataclass
class Callout:
    column: tuple[str, str]
    hint: str
    learners: list[str]


@dataclass
class Board:
    columns: list[tuple[str, str]]
    rows: list[Row]
    callouts: list[Callout] = field(default_factory=list)
    now: float = 0.0


def same_hint(hint: str) -> str:
    """Hints that differ only in their numbers ("9 calls opened 5 connections") are the same mistake."""
    return re.sub(r"\d+(\.\d+)?", "#", hint.strip())


class Progress:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(self, learner: str, lab: str, check: str, verdict: str, hint: str = "", exercise: str = "",
               at: float | None = None, columns: Sequence[tuple[str, str]] | None = None) -> None:
        if verdict not in VERDICTS:
            raise BadReport(f"unknown verdict {verdict!r} (one of {', '.join(VERDICTS)})")
        if columns is not None and (lab, check) not in columns:
            raise BadReport(f"unknown check {lab}.{check}")
        with self._lock:
            self._db.execute("INSERT INTO attempts (learner, lab, check_name, exercise, verdict, hint, at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (learner, lab, check, exercise[:200], verdict, hint[:2000], at or time.time()))

    def record_doctor(self, learner: str, ok: bool, summary: str, at: float | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO doctor (learner, ok, summary, at) VALUES (?, ?, ?, ?)",
                             (learner, int(ok), summary[:500], at or time.time()))

    def learners(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT learner FROM attempts UNION SELECT learner FROM doctor").fetchall()
        return sorted(r[0] for r in rows)

    def attempts(self) -> list[tuple]:
        with self._lock:
            return self._db.execute("SELECT learner, lab, check_name, exercise, verdict, hint, at FROM attempts "
                                    "ORDER BY at, id").fetchall()

    def board(self, columns: Sequence[tuple[str, str]], learners: Iterable[str] = (), now: float | None = None) -> Board:
        """The latest result of every learner on every check; learners with no attempt yet too."""
        with self._lock:
            latest = self._db.execute(
                "SELECT learner, lab, check_name, verdict, hint, MAX(at) FROM attempts GROUP BY learner, lab, check_name"
            ).fetchall()
            last = dict(self._db.execute("SELECT learner, MAX(at) FROM attempts GROUP BY learner").fetchall())
            doctor = {r[0]: (bool(r[1]), r[2]) for r in self._db.execute("SELECT learner, ok, summary FROM doctor")}
        cells: dict[str, dict[tuple[str, str], Cell]] = {}
        for learner, lab, check, verdict, hint, at in latest:
            cells.setdefault(learner, {})[(lab, check)] = Cell(verdict, hint, at)
        names = sorted(set(learners) | set(cells) | set(doctor))
        rows = [Row(name, cells.get(name, {}), last.get(name), *(doctor.get(name) or (None, ""))) for name in names]
        return Board(list(columns), rows, callouts(rows, columns), now or time.time())


def callouts(rows: Sequence[Row], columns: Sequence[tuple[str, str]]) -> list[Callout]:
    found = []
    for column in columns:
        groups: dict[str, list[Row]] = {}
        for row in rows:
            cell = row.cells.get(column)
            if cell and cell.verdict == "failed" and cell.hint:
                groups.setdefault(same_hint(cell.hint), []).append(row)
        for group in groups.values():
            if len(group) >= ESCALATE_AT:
                found.append(Callout(column, group[0].cells[column].hint, sorted(r.learner for r in group)))
    return found


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def to_csv(board: Board) -> str:
    """One row per learner: doctor, last attempt (UTC), then each check's result and hint."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["learner", "doctor", "doctor_summary", "last_attempt_utc",
                     *[h for lab, check in board.columns for h in (f"{lab}.{check}", f"{lab}.{check} hint")]])
    for row in board.rows:
        doctor = "" if row.doctor_ok is None else ("passed" if row.doctor_ok else "failed")
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.last_attempt)) if row.last_attempt else ""
        cells = []
        for column in board.columns:
            cell = row.cells.get(column, Cell())
            cells += [cell.verdict or "", cell.hint if cell.verdict in ("failed", "error") else ""]
        writer.writerow([row.learner, doctor, row.doctor_summary, when, *cells])
    return out.getvalue()
