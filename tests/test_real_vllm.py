"""Against a real vLLM 0.32.0 (CPU build, tiny random-weight Llama): the mock held to it live, the
crash reproduced on it, every fixed strategy proven on it, and nothing left behind.

One real vLLM serves the whole module (start-up takes ~25-50 s). ``python3 run.py setup`` builds
its environment (``looplab.real.vllm.setup``); under ``CI=true`` on Linux x86_64 these tests must
run, so a missing environment fails them. Elsewhere they are skipped, with the reason.

The differential tests send the same requests to the mock and to real vLLM and compare structure
only (status, content type, keys, value types, SSE framing and frame order, error type/code/param,
the ``openai`` client's exception class). Text, ids, timestamps and token counts are never compared.
Deliberate differences, which the comparison allows:

* ``root`` in ``/v1/models``: real vLLM shows the model's folder, the mock the model's name (both str).
* The generated text and its length: the mock echoes, vLLM samples gibberish from random weights;
  with no ``max_tokens`` vLLM stops at the model's ``generation_config.json`` default (16 tokens),
  the mock at the end of the echo. Token counts in ``usage`` differ accordingly (both ints).
* Error messages: compared by ``type``, ``code`` and ``param``; the wording is vLLM's in both, but
  token counts inside it come from different tokenizers (the mock counts words; so the requests
  here are long or short enough for both to land on the same side of every limit).
* Prompt characters: vLLM refuses a text prompt of more than 13 characters per context token before
  tokenizing it, counting the rendered chat template; the mock has no template and counts the
  message contents, a few dozen characters fewer.
* ``n`` above 16: the mock refuses it (a huge ``n`` would let one request hang it); real vLLM 0.32.0
  sets no upper bound. Not sent here.

* ``logprobs``: the mock refuses what vLLM refuses (the request validators and ``--max-logprobs``)
  but does not compute log-probabilities; a valid request for them is not sent here.

The range checks of every sampling parameter (``SAMPLING_RANGES``: temperature, top_p, top_k,
min_p, the three penalties, n with greedy sampling, min_tokens, stop, bad_words, logit_bias and
the logprobs fields) found 30 differences when they were added; the mock now matches all of them
(``looplab/mock_vllm/sampling.py`` and the validators in ``protocol.py``).

Differences this comparison found before, and the mock now matches (see ``looplab/mock_vllm/app.py``):
max_tokens clamped to the room the prompt leaves instead of refused; the prompt-length errors
(``input_text`` by characters, ``input_tokens`` "at least N+1" for text, exact for token ids, and a
prompt filling the context refused as "max_tokens ... got 0"); ``max_completion_tokens`` named in
its error; ``param: null`` for an empty conversation, ``n < 1``, ``prompt: []`` and an empty prompt
in a batch; one choice per prompt of a batch; vLLM's order of checks; compact JSON in SSE frames.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import openai
import psutil
import pytest

from looplab.proofs import verify
from looplab.real import vllm as real_vllm
from looplab.adapters import FIXED
from looplab.proofs.conformance import ShapeMismatch, compare_shape, compare_stream, parse_sse
from looplab.real.releases import RELEASES
from looplab.servers import SESSION_ENV, TAG_ENV, start_mock, start_stack

KEY, MODEL, MAX_LEN = "sekret", "tiny-llama", 512
FIXED_RELEASE = "0.2.3"  # the release with PR #1969
CI = os.environ.get("CI") == "true"
LINUX_X86 = platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")
HELLO = [{"role": "user", "content": "Say hello"}]
LONG = " ".join(f"w{i}" for i in range(1500))  # beyond 512 tokens for either tokenizer


def _need_real_vllm() -> None:
    ok, reason = real_vllm.available()
    if ok and real_vllm.installed():
        return
    if not ok:
        pytest.skip(f"no real vLLM here: {reason}")
    message = (f"{real_vllm.ENV_DIR.name}/ is not installed: run `python3 run.py setup` "
               f"(or `.venv/bin/looplab real-vllm install`). {reason}")
    if CI and LINUX_X86:
        pytest.fail(f"under CI=true on Linux x86_64 the real-vLLM tests must run, but {message}")
    pytest.skip(message)


def _system_temp_entries() -> set[str]:
    entries = set()
    for folder in {Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm")}:
        with contextlib.suppress(OSError):
            entries |= {str(p) for p in folder.iterdir()}
    return entries


def _vllm_processes() -> list[psutil.Process]:
    """vLLM processes started by this test session, found by scanning (command line and tag)."""
    session = os.environ.get(SESSION_ENV)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "name"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "vllm.entrypoints" not in cmdline and not (proc.info["name"] or "").startswith("VLLM"):
                continue
            env = proc.environ()
            if env.get(TAG_ENV) == "real-vllm" and env.get(SESSION_ENV) == session \
                    and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.fixture(scope="module")
def real():
    """One real vLLM for the module. Its teardown proves that stopping it leaves nothing behind (no
    process of its group, no temporary file, no socket file), whichever test ran last."""
    _need_real_vllm()
    temp_before = _system_temp_entries()
    started = time.monotonic()
    server = real_vllm.start_real_vllm(api_key=KEY, timeout=240)
    server.startup_s = time.monotonic() - started
    server.peak_rss = server.rss_bytes()
    try:
        group_before = server.group()
        assert len(group_before) >= 2, group_before  # API server and engine core at least: the scan sees them
        assert _vllm_processes(), "the scan must find the running vLLM, or it proves nothing"
        tmpdir = server.tmpdir
        assert tmpdir is not None and any(tmpdir.iterdir())  # vLLM's socket files live there while it runs
        yield server
    finally:
        server.stop()
    assert_nothing_left(server, group_before, tmpdir, temp_before)


def assert_nothing_left(server, group_before: list[psutil.Process], tmpdir: Path, temp_before: set[str]) -> None:
    """``stop()`` returns once the whole group is gone: nothing may be found right after it."""
    assert not _vllm_processes(), _vllm_processes()
    assert not [p for p in group_before if _alive(p)]
    assert not tmpdir.exists()
    new = {p for p in _system_temp_entries() - temp_before if "vllm" in Path(p).name.lower()
           or Path(p).name.startswith(("psm_", "sem.", "torch", "vllm")) or _is_socket(p)}
    new = {p for p in new if not Path(p).name.startswith("looplab-")}  # the workdirs of looplab's own servers
    assert not new, f"left in the system temp folder: {sorted(new)}"
    assert not Path(server.log_path).parent.exists()  # looplab's own workdir for it is gone too


@pytest.fixture(scope="module")
def mock():
    with start_mock(api_key=KEY, max_model_len=MAX_LEN, models=[MODEL]) as server:
        yield server


# --- differential conformance -------------------------------------------------------------------

def chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": HELLO, **extra}


def completion(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "prompt": "Hello", **extra}


CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"


def _sampling_case(field: str, value: Any, *, endpoint: str = "chat", **more: Any):
    body = chat(max_tokens=4, **{field: value}, **more) if endpoint == "chat" else completion(max_tokens=4, **{field: value},
                                                                                               **more)
    return ("POST", CHAT if endpoint == "chat" else COMPLETIONS, body, True, {})


# The range checks of every sampling parameter the mock accepts, each just inside and just outside
# its bound (vLLM 0.32.0's SamplingParams._verify_args and request validators; see
# looplab/mock_vllm/sampling.py): the status, and the error's type, code and param, must match.
SAMPLING_RANGES = {
    "temperature_2_is_allowed": _sampling_case("temperature", 2.0),
    "temperature_above_2": _sampling_case("temperature", 2.5),
    "temperature_not_finite": _sampling_case("temperature", float("nan")),
    "temperature_0_greedy": _sampling_case("temperature", 0.0),
    "greedy_with_n_2": _sampling_case("n", 2, temperature=0.0),
    "top_p_1_is_allowed": _sampling_case("top_p", 1.0),
    "top_p_above_1": _sampling_case("top_p", 1.5),
    "top_k_minus_1_is_allowed": _sampling_case("top_k", -1),
    "top_k_below_minus_1": _sampling_case("top_k", -2),
    "top_k_not_int": _sampling_case("top_k", 1.5),
    "min_p_bounds_allowed": _sampling_case("min_p", 1.0),
    "min_p_above_1": _sampling_case("min_p", 1.5),
    "presence_penalty_minus_2_allowed": _sampling_case("presence_penalty", -2.0),
    "presence_penalty_below_minus_2": _sampling_case("presence_penalty", -2.5),
    "frequency_penalty_above_2": _sampling_case("frequency_penalty", 2.5),
    "frequency_penalty_not_finite": _sampling_case("frequency_penalty", float("inf")),
    "repetition_penalty_large_allowed": _sampling_case("repetition_penalty", 100.0),
    "repetition_penalty_zero": _sampling_case("repetition_penalty", 0.0),
    "repetition_penalty_not_finite": _sampling_case("repetition_penalty", float("inf")),
    "min_tokens_equal_to_max_tokens": _sampling_case("min_tokens", 4),
    "min_tokens_negative": _sampling_case("min_tokens", -1),
    "min_tokens_above_max_tokens": _sampling_case("min_tokens", 5),
    "min_tokens_null": _sampling_case("min_tokens", None),
    "stop_four_strings_allowed": _sampling_case("stop", ["a", "b", "c", "d"]),
    "stop_five_strings": _sampling_case("stop", ["a", "b", "c", "d", "e"]),
    "stop_empty_string": _sampling_case("stop", ""),
    "bad_words_empty_string": _sampling_case("bad_words", [""]),
    "logit_bias_key_not_an_int": _sampling_case("logit_bias", {"abc": 1.0}),
    "top_logprobs_without_logprobs": _sampling_case("top_logprobs", 2),
    "top_logprobs_negative": _sampling_case("top_logprobs", -5, logprobs=True),
    "top_logprobs_above_max": _sampling_case("top_logprobs", 25, logprobs=True),
    "top_logprobs_above_max_streamed": _sampling_case("top_logprobs", 25, logprobs=True, stream=True),
    "prompt_logprobs_negative": _sampling_case("prompt_logprobs", -5),
    "prompt_logprobs_when_streaming": _sampling_case("prompt_logprobs", 1, stream=True),
    "prompt_logprobs_not_an_integer": _sampling_case("prompt_logprobs", "many"),
    "completion_temperature_above_2": _sampling_case("temperature", 3.0, endpoint="completion"),
    "completion_logprobs_negative": _sampling_case("logprobs", -5, endpoint="completion"),
    "completion_logprobs_above_max": _sampling_case("logprobs", 25, endpoint="completion"),
    "completion_min_p_negative": _sampling_case("min_p", -0.5, endpoint="completion"),
    "completion_greedy_with_n_2": _sampling_case("n", 2, endpoint="completion", temperature=0.0),
}
# name -> (method, path, body or raw text, send the key?, extra headers)
REQUESTS: dict[str, tuple[str, str, Any, bool, dict[str, str]]] = {
    "health": ("GET", "/health", None, False, {}),
    "version": ("GET", "/version", None, False, {}),
    "models": ("GET", "/v1/models", None, True, {}),
    "models_no_key": ("GET", "/v1/models", None, False, {}),
    "models_wrong_key": ("GET", "/v1/models", None, False, {"authorization": "Bearer wrong"}),
    "chat": ("POST", CHAT, chat(max_tokens=8, seed=1), True, {}),
    "chat_default_max_tokens": ("POST", CHAT, chat(), True, {}),
    "chat_max_completion_tokens": ("POST", CHAT, chat(max_completion_tokens=5), True, {}),
    "chat_n2": ("POST", CHAT, chat(max_tokens=4, n=2), True, {}),
    "chat_content_parts": ("POST", CHAT, {"model": MODEL, "max_tokens": 4, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]}, True, {}),
    "chat_system_and_user": ("POST", CHAT, {"model": MODEL, "max_tokens": 4, "messages": [
        {"role": "system", "content": "Be brief."}, *HELLO]}, True, {}),
    "chat_stream": ("POST", CHAT, chat(max_tokens=6, seed=1, stream=True), True, {}),
    "chat_stream_usage": ("POST", CHAT, chat(max_tokens=4, stream=True, stream_options={"include_usage": True}),
                          True, {}),
    "chat_stream_usage_off": ("POST", CHAT, chat(max_tokens=4, stream=True, stream_options={"include_usage": False}),
                              True, {}),
    "completion": ("POST", COMPLETIONS, completion(max_tokens=5, seed=1), True, {}),
    "completion_stream": ("POST", COMPLETIONS, completion(max_tokens=4, stream=True), True, {}),
    "completion_stream_usage": ("POST", COMPLETIONS, completion(max_tokens=4, stream=True,
                                                                stream_options={"include_usage": True}), True, {}),
    "tokenize": ("POST", "/tokenize", {"model": MODEL, "prompt": "Hello world"}, True, {}),
    "tokenize_messages": ("POST", "/tokenize", {"model": MODEL, "messages": HELLO}, True, {}),
    # errors
    "unknown_model": ("POST", CHAT, {"model": "nope", "messages": HELLO}, True, {}),
    "unknown_model_stream": ("POST", CHAT, {"model": "nope", "messages": HELLO, "stream": True}, True, {}),
    "unknown_model_completion": ("POST", COMPLETIONS, {"model": "nope", "prompt": "Hello"}, True, {}),
    "invalid_json": ("POST", CHAT, '{"model": "tiny-llama", "messages": [', True, {}),
    "missing_messages": ("POST", CHAT, {"model": MODEL}, True, {}),
    "messages_not_list": ("POST", CHAT, {"model": MODEL, "messages": "hi"}, True, {}),
    "max_tokens_not_int": ("POST", CHAT, chat(max_tokens="many"), True, {}),
    "max_tokens_too_large": ("POST", CHAT, chat(max_tokens=100000), True, {}),
    "max_tokens_too_large_completion": ("POST", COMPLETIONS, completion(max_tokens=100000), True, {}),
    "prompt_too_long": ("POST", CHAT, {"model": MODEL, "messages": [{"role": "user", "content": LONG}]}, True, {}),
    "stream_options_without_stream": ("POST", CHAT, chat(stream_options={"include_usage": True}), True, {}),
    # found by this comparison, then fixed in the mock: vLLM's context-length rules ...
    "max_tokens_clamped_to_context": ("POST", CHAT, chat(max_tokens=MAX_LEN), True, {}),  # 200: clamped, not refused
    "max_tokens_clamped_completion": ("POST", COMPLETIONS, completion(prompt=[5] * 100, max_tokens=500), True, {}),
    "prompt_fills_the_context": ("POST", COMPLETIONS, completion(prompt=[5] * MAX_LEN), True, {}),  # no room left
    "prompt_token_ids_too_long": ("POST", COMPLETIONS, completion(prompt=[5] * 600), True, {}),
    "prompt_too_many_tokens": ("POST", CHAT, {"model": MODEL, "messages": [{"role": "user", "content": "w1 " * 700}]},
                               True, {}),
    "max_completion_tokens_too_large": ("POST", CHAT, chat(max_completion_tokens=600), True, {}),
    "max_tokens_too_large_before_empty_messages": ("POST", CHAT, {"model": MODEL, "messages": [], "max_tokens": 10**5},
                                                   True, {}),
    # ... its errors without a param ...
    "empty_messages": ("POST", CHAT, {"model": MODEL, "messages": []}, True, {}),
    "unknown_model_before_empty_messages": ("POST", CHAT, {"model": "nope", "messages": []}, True, {}),
    "n_zero": ("POST", CHAT, chat(n=0), True, {}),
    "n_before_max_tokens": ("POST", CHAT, chat(n=0, max_tokens=0), True, {}),
    "temperature_before_max_tokens": ("POST", CHAT, chat(temperature=-1, max_tokens=0), True, {}),
    "top_p_zero": ("POST", CHAT, chat(top_p=0), True, {}),
    "completion_empty_prompt": ("POST", COMPLETIONS, completion(prompt=""), True, {}),
    "completion_no_prompts": ("POST", COMPLETIONS, completion(prompt=[]), True, {}),
    "completion_batch_with_an_empty_prompt": ("POST", COMPLETIONS, completion(prompt=["a", ""], max_tokens=2),
                                              True, {}),
    # ... and batches of prompts: one choice per prompt (times n)
    "completion_batch": ("POST", COMPLETIONS, completion(prompt=["a", "b"], max_tokens=2, n=2), True, {}),
    "completion_token_id_batch": ("POST", COMPLETIONS, completion(prompt=[[1, 2], [3]], max_tokens=2), True, {}),
    "completion_missing_prompt": ("POST", COMPLETIONS, {"model": MODEL}, True, {}),
    **SAMPLING_RANGES,
    "wrong_content_type": ("POST", CHAT, json.dumps(chat()), True, {"content-type": "text/plain"}),
    "unknown_route": ("GET", "/v1/nothing", None, True, {}),
    "wrong_method": ("GET", CHAT, None, True, {}),
}


def send(url: str, name: str) -> httpx2.Response:
    method, path, body, auth, extra_headers = REQUESTS[name]
    headers = {"authorization": f"Bearer {KEY}"} if auth else {}
    headers.update(extra_headers)
    content = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    if content is not None:
        headers.setdefault("content-type", "application/json")
    with httpx2.Client(base_url=url, timeout=60) as client:
        return client.request(method, path, content=content, headers=headers)


def compare_responses(real: httpx2.Response, mock: httpx2.Response) -> None:
    """Raise :class:`ShapeMismatch` where the mock's response differs from real vLLM's in structure."""
    if mock.status_code != real.status_code:
        raise ShapeMismatch(f"status: real vLLM {real.status_code}, mock {mock.status_code}: {mock.text[:200]}")
    real_type, mock_type = real.headers.get("content-type", ""), mock.headers.get("content-type", "")
    if mock_type != real_type:
        raise ShapeMismatch(f"content-type: real vLLM {real_type!r}, mock {mock_type!r}")
    if real_type.startswith("text/event-stream"):
        compare_stream(parse_sse(real.content), parse_sse(mock.content))
        return
    if not real.content:
        if mock.content:
            raise ShapeMismatch(f"body: real vLLM sends none, the mock {mock.content[:80]!r}")
        return
    expected, actual = real.json(), mock.json()
    compare_shape(expected, actual)
    if isinstance(expected, dict) and isinstance(expected.get("choices"), list):  # set by n and the prompts
        if len(actual["choices"]) != len(expected["choices"]):
            raise ShapeMismatch(f"choices: real vLLM {len(expected['choices'])}, mock {len(actual['choices'])}")
    if isinstance(expected, dict) and isinstance(expected.get("error"), dict):
        for field in ("type", "code", "param"):  # what identifies an error, unlike its wording
            if expected["error"][field] != actual["error"][field]:
                raise ShapeMismatch(f"error.{field}: real vLLM {expected['error'][field]!r}, "
                                    f"mock {actual['error'][field]!r}")


@pytest.mark.parametrize("name", list(REQUESTS))
def test_mock_answers_like_real_vllm(real, mock, name):
    compare_responses(send(real.url, name), send(mock.url, name))


# The openai client's view of each error: the exception class, the status and the error body's shape.
def _chat_call(**kwargs: Any):
    return lambda client: client.chat.completions.create(**{"model": MODEL, "messages": HELLO, **kwargs})


OPENAI_ERRORS = {
    "unknown_model": _chat_call(model="nope"),
    "unknown_model_stream": _chat_call(model="nope", stream=True),
    "messages_not_list": _chat_call(messages="hi"),
    "empty_messages": _chat_call(messages=[]),
    "max_tokens_too_large": _chat_call(max_tokens=100000),
    "negative_temperature": _chat_call(temperature=-1.0),
    "prompt_too_long": _chat_call(messages=[{"role": "user", "content": LONG}]),
    "stream_options_without_stream": _chat_call(stream_options={"include_usage": True}),
    "completion_unknown_model": lambda client: client.completions.create(model="nope", prompt="Hello"),
    "completion_max_tokens_too_large": lambda client: client.completions.create(
        model=MODEL, prompt="Hello", max_tokens=100000),
    "wrong_key": "wrong-key",
}


def openai_error(base_url: str, name: str) -> openai.APIStatusError:
    call = OPENAI_ERRORS[name]
    api_key = "wrong" if call == "wrong-key" else KEY
    with openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60) as client:
        with pytest.raises(openai.APIStatusError) as raised:
            if call == "wrong-key":
                client.models.list()
            else:
                result = call(client)
                for _ in result if hasattr(result, "__iter__") else ():
                    pass
    return raised.value


@pytest.mark.parametrize("name", list(OPENAI_ERRORS))
def test_openai_client_raises_the_same_error_for_mock_and_real_vllm(real, mock, name):
    want, got = openai_error(real.base_url, name), openai_error(mock.base_url, name)
    assert (type(got), got.status_code) == (type(want), want.status_code), (str(want), str(got))
    compare_shape(want.body, got.body)


def _stream_kinds(base_url: str, kind: str) -> list[tuple[bool, bool, bool, bool]]:
    """What the openai client yields for a stream, chunk by chunk, by structure only: (has choices,
    carries the role, carries a finish_reason, carries usage), repeated rows collapsed. Text is not
    looked at: real vLLM sometimes sends "" while a multi-byte character is incomplete."""
    with openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=60) as client:
        if kind == "chat":
            stream = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4, stream=True,
                                                    stream_options={"include_usage": True})
        else:
            stream = client.completions.create(model=MODEL, prompt="Hello", max_tokens=4, stream=True,
                                               stream_options={"include_usage": True})
        rows = []
        for chunk in stream:
            choice = chunk.choices[0] if chunk.choices else None
            role = bool(kind == "chat" and choice is not None and choice.delta.role)
            rows.append((choice is not None, role, choice is not None and choice.finish_reason is not None,
                         chunk.usage is not None))
    # Plain content chunks are left out: how many there are depends on the text (the mock's echo of
    # "Hello" is one token, so its only content chunk is also its finish chunk).
    rows = [row for row in rows if row != (True, False, False, False)]
    return [row for i, row in enumerate(rows) if i == 0 or rows[i - 1] != row]


@pytest.mark.parametrize("kind", ["chat", "completion"])
def test_openai_client_reads_mock_and_real_streams_alike(real, mock, kind):
    want, got = _stream_kinds(real.base_url, kind), _stream_kinds(mock.base_url, kind)
    assert got == want
    assert want[-2:] == [(True, False, True, False), (False, False, False, True)]  # finish, then usage alone


# The differential comparison proves itself by breakage: a mock that renamed a key, changed a
# type or answered an error in another shape must fail it (checked against live real-vLLM bodies).
def _broken(response: httpx2.Response, body: Any) -> httpx2.Response:
    return httpx2.Response(response.status_code, headers={"content-type": response.headers["content-type"]},
                           content=json.dumps(body).encode())


def test_differential_comparison_catches_a_changed_key_type_or_error_shape(real):
    chat_response, error_response = send(real.url, "chat"), send(real.url, "unknown_model")
    compare_responses(chat_response, chat_response)
    body, error = chat_response.json(), error_response.json()
    renamed = copy.deepcopy(body)
    renamed["choices"][0]["message"]["text"] = renamed["choices"][0]["message"].pop("content")
    retyped = copy.deepcopy(body)
    retyped["usage"]["prompt_tokens"] = str(retyped["usage"]["prompt_tokens"])
    fastapi_style = {"detail": error["error"]["message"]}
    wrong_type = copy.deepcopy(error)
    wrong_type["error"]["type"] = "BadRequestError"
    for real_response, mutated in [(chat_response, renamed), (chat_response, retyped),
                                   (error_response, fastapi_style), (error_response, wrong_type)]:
        with pytest.raises(ShapeMismatch):
            compare_responses(real_response, _broken(real_response, mutated))
    wrong_status = httpx2.Response(422, headers={"content-type": "application/json"}, content=error_response.content)
    with pytest.raises(ShapeMismatch, match="status"):
        compare_responses(error_response, wrong_status)


# --- the crash, and every fix, on real vLLM ------------------------------------------------------

HI = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}


def test_broken_adapter_crashes_on_its_first_request_to_real_vllm(real):
    with start_stack(adapter="broken", vllm_url=real.base_url, models=[MODEL], api_key=KEY) as stack:
        first = httpx2.post(f"{stack.base_url}/chat/completions", json=HI, timeout=60)
        later = [httpx2.post(f"{stack.base_url}/chat/completions", json=HI, timeout=60) for _ in range(3)]
    assert first.status_code == 500, first.text
    assert first.json()["error"]["message"] == "Event loop is closed"
    assert first.json()["error"]["type"] == "RuntimeError"
    assert [r.status_code for r in later] == [200, 200, 200]  # the stale connection was dropped
    log = stack.log_text()
    assert "_check_closed" in log and "RuntimeError: Event loop is closed" in log


@pytest.mark.parametrize("strategy", FIXED)
def test_fixed_strategy_serves_real_vllm_without_errors(real, strategy):
    with start_stack(adapter=strategy, vllm_url=real.base_url, models=[MODEL], api_key=KEY) as stack:
        results = {
            "concurrent": verify.run_burst(stack.url, 20, concurrent=True, label=f"{strategy}-concurrent"),
            "sequential": verify.run_burst(stack.url, 20, concurrent=False, label=f"{strategy}-sequential"),
        }
    for phase, result in results.items():
        assert not result.errors, f"{phase}: {result.summary()}"
        assert sum(o.stream for o in result.outcomes) == 10  # half streamed, half plain


@pytest.mark.parametrize("version", list(RELEASES))
def test_released_llama_stack_against_real_vllm(real, version):
    """The appendix on real vLLM (retries off, the diagnostic switch, so the crash shows): 0.2.2
    crashes on its first request, 0.2.3 serves every request.

    Measured here: 0.2.2's later requests are refused by vLLM 0.32.0, because 0.2.2 sends
    `tools: []` and vLLM has since started to reject an empty tools array (400, param `tools`).
    The vLLM of April 2025 accepted it, and so does the mock (a deliberate difference: it keeps the
    release of that time talking to it); 0.2.3 does not send the field.
    """
    from looplab.real import releases as real_stack

    real_stack.ensure_release(version, quiet=True)
    with real_stack.start_release(version, real.base_url, retries=False, api_token=KEY) as release:
        replies = [real_stack.chat(release, MODEL, f"request {n}", max_tokens=4) for n in range(3)]
        log = release.log_text()
    if version == FIXED_RELEASE:
        assert [r.status for r in replies] == [200, 200, 200], log[-2000:]
        assert "Event loop is closed" not in log
    else:
        assert replies[0].status == 500 and "RuntimeError: Event loop is closed" in log, log[-2000:]
        assert [r.status for r in replies[1:]] == [500, 500]
        assert "`tools` must not be an empty array" in log


# --- helpers of the teardown check (see the `real` fixture) --------------------------------------

def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _is_socket(path: str) -> bool:
    import stat

    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


# --- /metrics: the dashboard's first series, as real vLLM names and types them -------------------

DASHBOARD = ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:request_success",
             "vllm:prompt_tokens", "vllm:generation_tokens", "vllm:e2e_request_latency_seconds",
             "vllm:time_to_first_token_seconds"]


def _metric_shapes(base_url: str) -> dict[str, tuple[str, frozenset, tuple]]:
    """name -> (type, label names, histogram bucket bounds) after one chat request, read by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    with httpx2.Client(base_url=base_url, timeout=60, headers={"authorization": f"Bearer {KEY}"}) as client:
        client.post("/v1/chat/completions", json=chat(max_tokens=2)).raise_for_status()
        response = client.get("/metrics")
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain"), response.headers["content-type"]
    shapes = {}
    for family in text_string_to_metric_families(response.text):
        if family.name in DASHBOARD:
            labels = frozenset(k for s in family.samples for k in s.labels if k != "le")
            buckets = tuple(sorted({float(s.labels["le"]) for s in family.samples if "le" in s.labels}))
            shapes[family.name] = (family.type, labels, buckets)
    return shapes


def test_mock_metrics_have_real_vllms_names_types_labels_and_buckets(real, mock):
    real_shapes, mock_shapes = _metric_shapes(real.url), _metric_shapes(mock.url)
    assert set(real_shapes) == set(DASHBOARD), f"real vLLM no longer serves {set(DASHBOARD) - set(real_shapes)}"
    for name in DASHBOARD:
        assert mock_shapes.get(name) == real_shapes[name], name


# --- the setup page's *Using a real vLLM*, as a reader follows it --------------------------------

@pytest.mark.timeout(900)  # vLLM's start-up, then a notebook given up to 600 s
def test_the_setup_pages_real_vllm_serves_the_notebooks_through_vllm_base_url():
    """`looplab real-vllm serve` (no key, as the page gives it), then a notebook with
    ``VLLM_BASE_URL`` set to the address it prints: notebook 03's crash and fix cells against it."""
    import re
    import signal
    import subprocess
    import sys

    _need_real_vllm()
    others = {p.pid for p in _vllm_processes()}  # the module's shared server may be up: not this test's
    root = Path(__file__).resolve().parents[1]
    cli = subprocess.Popen([sys.executable, "-m", "looplab", "real-vllm", "serve"], cwd=root, text=True,  # noqa: S603
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base_url, seen = None, []
        assert cli.stdout is not None
        for line in cli.stdout:
            seen.append(line)
            found = re.search(r"OpenAI base URL (http://127\.0\.0\.1:\d+/v1)", line)
            if found:
                base_url = found[1]
                break
        assert base_url, "looplab real-vllm serve printed no address:\n" + "".join(seen[-30:])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        notebook = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",  # noqa: S603
                                   "notebooks/03-reproduce-the-crash.ipynb"], cwd=root, capture_output=True, text=True,
                                  env={**env, "VLLM_BASE_URL": base_url}, timeout=600)
        assert notebook.returncode == 0, notebook.stdout[-4000:]
        metrics = httpx2.get(base_url.removesuffix("/v1") + "/metrics", timeout=30).text
        served = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith("vllm:request_success_total{"))
        assert served > 0, "the notebook passed without a request reaching the real vLLM: VLLM_BASE_URL was ignored"
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGINT)  # Ctrl-C, as the page's reader stops it
            try:
                cli.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(cli.pid, signal.SIGKILL)
                cli.wait()
    assert cli.returncode == 0 and not [p for p in _vllm_processes() if p.pid not in others]
