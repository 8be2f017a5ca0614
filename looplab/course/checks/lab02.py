"""Lab 2: build the adapter Llama Stack 0.2.3 shipped (PR #1969): a client created on first use and kept,
registration at start-up on a throwaway client."""

from __future__ import annotations

import httpx2

from ...servers import start_mock
from ..feedback import LabCheckFailed, passed
from ..helpers import chat, error_of
from .common import CRASH, not_attempted_in, refuses_unserved, stack_with


def _register(base_url: str, model_id: str) -> str:
    """``POST /v1/models`` on the stack: registration while serving, on the serving loop."""
    with httpx2.Client(timeout=30) as client:
        return error_of(client.post(f"{base_url}/models", json={"model_id": model_id}))


def lazy_adapter(adapter: str = "lab_lazy:VLLMInferenceAdapter") -> None:
    """Validates at start-up; the first request works; one kept client serves; registering while serving keeps it;
    the start-up client is closed."""
    exercise = "Exercise 2 (the adapter as 0.2.3 shipped it)"
    with start_mock(keepalive_s=60) as mock:
        refuses_unserved(adapter, mock, exercise)
        with stack_with(adapter, mock, exercise) as stack:
            mock.clear_requests()
            with mock.counting_connections() as opened:
                answers = [error_of(chat(stack.base_url)) for _ in range(2)] + [error_of(chat(stack.base_url, stream=True))]
            served = mock.requests("/v1/chat/completions")
            registered = _register(stack.base_url, "tiny-llama")
            after = error_of(chat(stack.base_url))
            warnings = stack.diagnostics(collect=True)["resource_warnings"]
            log = stack.log_text()
    not_attempted_in(log)
    if answers[0] == CRASH:
        raise LabCheckFailed(exercise, "the first request after start-up crashed: the client that serves it was made "
                             "on the start-up loop. initialize() and register_model() run under asyncio.run() at "
                             "start-up; neither may keep a client. Create self.client on first use, in "
                             "chat_completion.")
    if answers[:2] != ["200 OK"] * 2:
        raise LabCheckFailed(exercise, f"plain requests after start-up answered {answers[:2]}; expected 200s. Does "
                             "chat_completion forward model and messages, and return the client's response?")
    if answers[2] != "200 OK":
        raise LabCheckFailed(exercise, f"plain requests work, but the streamed request answered '{answers[2]}'. The "
                             "stack streams what chat_completion returns for stream=True: pass stream on to the "
                             "client, and return the stream it gives.")
    connections = opened.opened
    if connections > 2:
        raise LabCheckFailed(exercise, f"3 requests used {connections} connections: a new client for every call. "
                             "0.2.3 creates the client once, on first use, keeps it in self.client and reuses it.")
    if registered != "200 OK":
        raise LabCheckFailed(exercise, f"registering a model while the stack serves answered '{registered}'. "
                             "register_model must also work after start-up, when self.client exists.")
    if after != "200 OK":
        raise LabCheckFailed(exercise, f"after a model was registered while serving, a request answered '{after}': "
                             "register_model closed the client the requests use. Use self.client when there is "
                             "one; make (and close) a throwaway client only when there is none.")
    if warnings:
        raise LabCheckFailed(exercise, f"{warnings} ResourceWarning(s) in the stack: a client was never closed. 0.2.3 "
                             "left its start-up client open; do better: close the throwaway client (async with).")
    passed(exercise, "validates at start-up, serves from one client made on first use, registers while serving, "
           "leaves nothing open")
