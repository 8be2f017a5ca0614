"""Request bodies the mock accepts, typed like vLLM 0.32.0's own (lax pydantic, extra fields allowed).

FastAPI validates them; ``errors.py`` turns a validation failure into vLLM's 400 body. The checks
vLLM runs *before* field validation (its ``model_validator(mode="before")``: the logprobs rules) run
here the same way, first, raising vLLM's ``BadRequestError`` (an :class:`~.errors.APIError`, which
pydantic does not wrap). The sampling parameters' ranges are checked later, in vLLM's order, by
:mod:`.sampling`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .errors import bad_request

# vLLM bounds a seed by a C long, and a stop list by VLLM_MAX_STOP_STRINGS (4).
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
MAX_STOP_STRINGS = 4
StopParam = Union[str, Annotated[list[str], Field(max_length=MAX_STOP_STRINGS)], None]


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


class StreamOptions(_Request):
    include_usage: bool | None = True
    continuous_usage_stats: bool | None = False


class ChatMessage(_Request):
    role: str
    content: Union[str, list[dict[str, Any]], None] = None
    name: str | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_logprob_fields(data: Any, fields: tuple[str, ...]) -> None:
    """vLLM's ``check_logprobs``: integer fields, ``-1`` or a positive value, none when streaming."""
    if not isinstance(data, dict):
        return
    for name in ("prompt_logprobs", *fields):
        value = data.get(name)
        if value is not None and not _is_number(value):
            raise bad_request(f"`{name}` must be an integer. (parameter={name}, value={value})", name)
    prompt = data.get("prompt_logprobs")
    if prompt is not None:
        if data.get("stream") and (prompt > 0 or prompt == -1):
            raise bad_request("`prompt_logprobs` are not available when `stream=True`. (parameter=prompt_logprobs)",
                              "prompt_logprobs")
        if prompt < 0 and prompt != -1:
            raise bad_request(f"`prompt_logprobs` must be a positive value or -1. (parameter=prompt_logprobs, "
                              f"value={prompt})", "prompt_logprobs")


class _Sampling(_Request):
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    n: int = 1
    seed: int | None = Field(default=None, ge=_LONG_MIN, le=_LONG_MAX)
    stop: StopParam = None
    min_tokens: int = 0
    logit_bias: dict[str, float] | None = None
    bad_words: list[str] = Field(default_factory=list)
    prompt_logprobs: int | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage]
    max_completion_tokens: int | None = None
    logprobs: bool | None = False
    top_logprobs: Annotated[int, BeforeValidator(lambda value: 0 if value is None else value)] = 0

    @model_validator(mode="before")
    @classmethod
    def check_logprobs(cls, data: Any) -> Any:
        _check_logprob_fields(data, ("top_logprobs",))
        if isinstance(data, dict) and data.get("top_logprobs") is not None:
            top = data["top_logprobs"]
            if top < 0 and top != -1:
                raise bad_request(f"`top_logprobs` must be a positive value or -1. (parameter=top_logprobs, "
                                  f"value={top})", "top_logprobs")
            if (top == -1 or top > 0) and not data.get("logprobs"):
                raise bad_request("when using `top_logprobs`, `logprobs` must be set to true. "
                                  "(parameter=top_logprobs)", "top_logprobs")
        return data


class CompletionRequest(_Sampling):
    prompt: Union[str, list[str], list[int], list[list[int]], None] = None
    max_tokens: int | None = 16
    echo: bool | None = False
    logprobs: int | None = None

    @model_validator(mode="before")
    @classmethod
    def check_logprobs(cls, data: Any) -> Any:
        _check_logprob_fields(data, ("logprobs",))
        if isinstance(data, dict) and data.get("logprobs") is not None:
            value = data["logprobs"]
            if value < 0 and value != -1:
                raise bad_request(f"`logprobs` must be a positive value or -1. (parameter=logprobs, value={value})",
                                  "logprobs")
        return data


class TokenizeRequest(_Request):
    model: str | None = None
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    add_special_tokens: bool = True
    return_token_strs: bool | None = False
