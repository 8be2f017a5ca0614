"""vLLM 0.32.0's range checks of the sampling parameters, in its order (``SamplingParams._verify_args``).

Each check raises vLLM's error: HTTP 400, ``BadRequestError``, with ``param`` the field's name for
``temperature``, ``top_p``, ``max_tokens`` and ``logit_bias`` (their messages end in
``(parameter=..., value=...)``) and ``null`` for the rest, as real vLLM does. The differential test
(``tests/test_real_vllm.py``) holds this module to a live vLLM, check by check.

One deliberate difference: ``n`` is bounded at :data:`MAX_N` (16; vLLM allows 16384), so that one
request cannot make the mock generate for minutes.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import bad_request

MAX_N = 16
MAX_LOGPROBS = 20  # vLLM's default --max-logprobs
GREEDY = 1e-5  # below this temperature vLLM samples greedily


def _with_value(message: str, param: str, value: Any) -> Any:
    return bad_request(f"{message} (parameter={param}, value={value})", param)


def _in(value: float | None, low: float, high: float) -> bool:
    return value is None or low <= value <= high  # NaN is in no range


def check(req: Any, max_tokens: int) -> None:
    """Validate ``req``'s sampling fields; ``max_tokens`` is the effective one (after clamping to the room)."""
    invalid = [key for key in (req.logit_bias or {}) if not _int_key(key)]
    if invalid:
        raise _with_value(f"logit_bias contains key(s) that cannot be converted to integer token IDs: {invalid!r}",
                          "logit_bias", invalid)
    if req.n < 1:
        raise bad_request(f"n must be at least 1, got {req.n}.")
    if req.n > MAX_N:  # the mock's own bound (see the module's docstring)
        raise _with_value(f"n must be at most {MAX_N}, got {req.n}.", "n", req.n)
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(req, name)
        if not _in(value, -2.0, 2.0):
            raise bad_request(f"{name} must be in [-2, 2], got {value}.")
    penalty = req.repetition_penalty
    if penalty is not None and not math.isfinite(penalty):
        raise bad_request(f"repetition_penalty must be a finite number, got {penalty}.")
    if penalty is not None and penalty <= 0.0:
        raise bad_request(f"repetition_penalty must be greater than zero, got {penalty}.")
    temperature = req.temperature
    if temperature is not None:
        if not math.isfinite(temperature):
            raise _with_value(f"temperature must be a finite number, got {temperature}.", "temperature", temperature)
        if temperature < 0.0:
            raise _with_value(f"temperature must be non-negative, got {temperature}.", "temperature", temperature)
        if temperature > 2.0:
            raise _with_value(f"temperature must be in [0, 2], got {temperature}.", "temperature", temperature)
    if req.top_p is not None and not 0.0 < req.top_p <= 1.0:
        raise _with_value(f"top_p must be in (0, 1], got {req.top_p}.", "top_p", req.top_p)
    if req.top_k is not None and req.top_k < -1:
        raise bad_request(f"top_k must be 0 (disable), or at least 1, got {req.top_k}.")
    if not _in(req.min_p, 0.0, 1.0):
        raise bad_request(f"min_p must be in [0, 1], got {req.min_p}.")
    if max_tokens < 1:
        raise _with_value(f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens", max_tokens)
    if req.min_tokens < 0:
        raise bad_request(f"min_tokens must be greater than or equal to 0, got {req.min_tokens}.")
    if req.min_tokens > max_tokens:
        raise bad_request(f"min_tokens must be less than or equal to max_tokens={max_tokens}, got {req.min_tokens}.")
    stops = [req.stop] if isinstance(req.stop, str) else (req.stop or [])
    if "" in stops:
        raise bad_request("stop cannot contain an empty string.")
    if "" in req.bad_words:
        raise bad_request(f"bad_words cannot contain an empty string. Got bad_words={sorted(set(req.bad_words))}")
    if temperature is not None and temperature < GREEDY and req.n > 1:
        raise bad_request(f"n must be 1 when using greedy sampling, got {req.n}.")


def _int_key(key: str) -> bool:
    try:
        int(key)
    except ValueError:
        return False
    return True


def logprobs_error(req: Any, chat: bool) -> Any | None:
    """The engine's check, run when the request is processed (a stream has already answered 200 then):
    more sample or prompt logprobs than ``--max-logprobs`` allows. None when there is nothing to refuse."""
    sample = (req.top_logprobs if req.logprobs else None) if chat else req.logprobs
    for value in (sample, req.prompt_logprobs):
        if value is not None and value > MAX_LOGPROBS:
            return bad_request(f"Requested sample logprobs of {value}, which is greater than max allowed: "
                               f"{MAX_LOGPROBS} (parameter=logprobs, value={value})", "logprobs")
    return None
