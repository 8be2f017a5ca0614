"""Lab 03: reading the backend's request log (functions, handed to the check as they are)."""

from __future__ import annotations

from collections import Counter

from . import Wrong

LAB = 3
CHAT = "/v1/chat/completions"


def lost_ok(records, startup_port):
    return [r for r in records if r["path"] == CHAT and r["client_port"] == startup_port]


def twice_ok(records):
    counts = Counter(r["user"] for r in records if r["path"] == CHAT and r["user"])
    return {user: n for user, n in counts.items() if n > 1}


def all_chat(records, startup_port):  # every chat request, wherever it arrived
    return [r for r in records if r["path"] == CHAT]


def lost_by_position(records, startup_port):  # fitted to the first log: its first chat request
    return [r for r in records if r["path"] == CHAT][:1]


def lost_markers(records, startup_port):  # the markers, where the records are asked for
    return [r["user"] for r in records if r["path"] == CHAT and r["client_port"] == startup_port]


def twice_by_port(records):  # a retry goes out on a new connection: per port, nothing repeats
    counts = Counter(r["client_port"] for r in records if r["path"] == CHAT)
    return {str(port): n for port, n in counts.items() if n > 1}


def twice_hard_coded(records):  # fitted to the first log
    return {"first": 2}


def twice_with_unmarked(records):  # requests without a marker counted as one marker, None
    counts = Counter(r.get("user") for r in records if r["path"] == CHAT)
    return {user: n for user, n in counts.items() if n > 1}


def twice_as_a_list(records):  # the markers seen twice, without their counts
    counts = Counter(r["user"] for r in records if r["path"] == CHAT and r["user"])
    return [user for user, n in counts.items() if n > 1]


def analysis(name: str, breaks: str, hint: str, lost, twice) -> Wrong:
    return Wrong(name, breaks, hint, "log_analysis", (lost, twice))


WRONG = [
    analysis("every-chat-request", "R1", "start-up connection", all_chat, twice_ok),
    analysis("lost-by-position", "R1", "on another log, lost_requests", lost_by_position, twice_ok),
    analysis("counted-per-connection", "R2", "per `user` marker", lost_ok, twice_by_port),
    analysis("fitted-to-the-first-log", "R2", "markers a x3, b x1, c x2", lost_ok, twice_hard_coded),
    analysis("unmarked-counted-together", "R3", "requests without a marker", lost_ok, twice_with_unmarked),
    analysis("markers-for-records", "R4", "return the records themselves", lost_markers, twice_ok),
    analysis("a-list-for-a-dict", "R4", "return a dict", lost_ok, twice_as_a_list),
]
