"""What every lab check shares: starting the mini stack with a learner's adapter, the crash's words."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ...servers import MockServer, ServerError, StackServer, start_stack
from ..feedback import LabCheckFailed

CRASH = "500 RuntimeError: Event loop is closed"


def not_attempted_in(text: str) -> None:
    if "NotImplementedError" in text:
        raise NotImplementedError("this exercise is still the stub: write your answer in the cell above")


@contextlib.contextmanager
def stack_with(adapter: str, mock: MockServer, exercise: str, **options: Any) -> Iterator[StackServer]:
    """Start the mini stack with the learner's adapter; turn a failed start into a hint."""
    try:
        stack = start_stack(adapter=adapter, vllm_url=mock.base_url, models=options.pop("models", ["tiny-llama"]),
                            **options)
    except ServerError as exc:
        not_attempted_in(str(exc))
        raise LabCheckFailed(exercise, "the stack did not start with your adapter. The end of its log:\n"
                             + str(exc)[-1500:]) from None
    with stack:
        yield stack


def refuses_unserved(adapter: str, mock: MockServer, exercise: str) -> None:
    """``register_model`` must refuse a model the backend does not serve: the stack must not start with one."""
    try:
        with stack_with(adapter, mock, exercise, models=["not-served"]):
            pass
    except LabCheckFailed as failed:
        if "not-served" not in failed.hint:
            raise
        return
    raise LabCheckFailed(exercise, "register_model accepted a model the backend does not serve. Validate it "
                         "against the backend's list (self._validate_model(client, model_id) raises).")
