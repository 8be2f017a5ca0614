"""Lab 3: read the evidence in the backend's request log: the lost request, and the duplicate a retry caused.

The learner's functions see the real logs of two runs of the mini stack, then a synthetic log made
from the same records (other markers and ports, unmarked requests, listing requests on the start-up
connection): an answer fitted to the first logs, or one that counts what it should not, fails there.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from ...real.envs import incident_python
from ...servers import start_mock
from ..feedback import LabCheckFailed, attempt, passed
from ..helpers import chat
from .common import stack_with

CHAT, MODELS = "/v1/chat/completions", "/v1/models"
Records = list[dict[str, Any]]


def _synthetic(chat_record: dict[str, Any], models_record: dict[str, Any], startup_port: int) -> tuple[Records, int]:
    """A shuffled log: markers a x3, c x2, b x1 on several connections, three unmarked chat requests, two
    listings; chat requests "x" and "y" on a start-up connection. Returns (records, startup port)."""
    other = startup_port + 7
    rows: Records = []

    def add(template: dict[str, Any], **fields: Any) -> None:
        rows.append({**template, **fields})

    for n, (user, port) in enumerate([("a", other), ("a", other + 1), ("a", other + 2), ("b", other),
                                      ("c", other + 3), ("c", other + 4), (None, other), (None, other + 1),
                                      (None, other + 5), ("x", startup_port), ("y", startup_port)]):
        add(chat_record, user=user, client_port=port, request_number=n + 1)
    add(models_record, client_port=startup_port)
    add(models_record, client_port=other)
    order = random.Random(1968).sample(range(len(rows)), len(rows))
    log = [rows[i] for i in order]
    log.sort(key=lambda r: r["path"] != MODELS)  # listings first, as at start-up; the rest shuffled
    return log, startup_port


def _markers(records: Records) -> list[Any]:
    return [r.get("user") for r in records]


def _as_records(exercise: str, result: Any) -> Records:
    """What lost_requests returned, as a list of records; anything else is a hint, not a raw error."""
    if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
        raise LabCheckFailed(exercise, f"lost_requests returned {type(result).__name__} {str(result)[:60]!r}: return a "
                             "list of the records themselves (the dicts from `records`), in log order.")
    found = list(result)
    strangers = [item for item in found if not isinstance(item, dict)]
    if strangers:
        raise LabCheckFailed(exercise, f"lost_requests returned {strangers[:3]!r} ({type(strangers[0]).__name__}) "
                             "where records are expected: return the records themselves (the dicts from "
                             "`records`, as they are), not their markers or ports.")
    return found


def _as_counts(exercise: str, result: Any) -> Any:
    if not isinstance(result, Mapping):
        raise LabCheckFailed(exercise, f"generated_twice returned {type(result).__name__} {str(result)[:60]!r}: return "
                             "a dict {marker: count}, for example {'first': 2}, with the markers received more than "
                             "once and how often each was received.")
    return dict(result)


def log_analysis(lost_requests: Callable[[Records, int], Records],
                 generated_twice: Callable[[Records], dict[str, int]]) -> None:
    """``lost_requests(records, startup_port)`` and ``generated_twice(records)``, on real and synthetic logs."""
    exercise = "Exercise 3 (read the request log)"
    for name, fn in (("lost_requests", lost_requests), ("generated_twice", generated_twice)):
        if not callable(fn):
            raise LabCheckFailed(exercise, f"{name} must be a function; you gave a {type(fn).__name__}.")
    with start_mock(keepalive_s=60) as mock:
        with stack_with("broken", mock, exercise) as stack:
            for marker in ("first", "second"):
                chat(stack.base_url, user=marker)
        crash_records = mock.requests()
        mock.clear_requests()
        with stack_with("broken", mock, exercise, python=incident_python()) as stack:
            for marker in ("first", "second"):
                chat(stack.base_url, user=marker)
        retry_records = mock.requests()
    startup_port = next(r["client_port"] for r in crash_records if r["path"] == MODELS)
    chat_record = next(r for r in crash_records if r["path"] == CHAT)
    models_record = next(r for r in crash_records if r["path"] == MODELS)
    synthetic, synthetic_port = _synthetic(chat_record, models_record, startup_port)

    lost = _as_records(exercise, _call(exercise, lost_requests, crash_records, startup_port))
    if _markers(lost) != ["first"]:
        raise LabCheckFailed(exercise, f"lost_requests returned the requests {_markers(lost)}; expected only the first "
                             "one. Keep the chat completion requests that arrived on the start-up connection (their "
                             "client_port equals startup_port).")
    lost = _as_records(exercise, _call(exercise, lost_requests, synthetic, synthetic_port))
    if _markers(lost) != [r["user"] for r in synthetic if r["path"] == CHAT and r["client_port"] == synthetic_port]:
        raise LabCheckFailed(exercise, f"on another log, lost_requests returned {_markers(lost)}; expected the chat "
                             "requests on the start-up connection, in log order. Select by path and client_port; "
                             "do not rely on positions or on the markers of the first log.")

    twice = _as_counts(exercise, _call(exercise, generated_twice, retry_records))
    if twice != {"first": 2}:
        raise LabCheckFailed(exercise, f"generated_twice returned {twice}; expected {{'first': 2}}. Count chat "
                             "completion requests per `user` marker (a retry goes out on a NEW connection, so "
                             "counting per client_port cannot see it) and keep those seen more than once.")
    twice = _as_counts(exercise, _call(exercise, generated_twice, synthetic))
    if twice != {"a": 3, "c": 2}:
        if None in twice:
            raise LabCheckFailed(exercise, f"on another log, generated_twice returned {twice}: requests without a "
                                 "marker (user None) are different requests, not one request generated several "
                                 "times. Count only marked requests.")
        raise LabCheckFailed(exercise, f"on another log (markers a x3, b x1, c x2, and unmarked requests), "
                             f"generated_twice returned {twice}; expected {{'a': 3, 'c': 2}}. Count every marker's "
                             "chat requests; keep the ones seen more than once, with their counts.")
    passed(exercise, "found the lost request and the duplicate generation, on the real logs and on another")


def _call(exercise: str, fn: Callable[..., Any], *args: Any) -> Any:
    done, result = attempt(exercise, fn, *args)
    if not done:
        raise NotImplementedError("this exercise is still the stub: write your answer in the cell above")
    return result
