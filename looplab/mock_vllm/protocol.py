"""Request bodies the mock accepts, typed like vLLM's own (lax pydantic, extra fields allowed).

FastAPI validates them; ``errors.py`` turns a validation failure into vLLM's 400 body.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field

# vLLM bounds a seed by a C long.
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


class StreamOptions(_Request):
    include_usage: bool | None = True
    continuous_usage_stats: bool | None = False


class ChatMessage(_Request):
    role: str
    content: Union[str, list[dict[str, Any]], None] = None
    name: str | None = None


class _Sampling(_Request):
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int = 1
    seed: int | None = Field(default=None, ge=_LONG_MIN, le=_LONG_MAX)
    stop: Union[str, list[str], None] = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage]
    max_completion_tokens: int | None = None


class CompletionRequest(_Sampling):
    prompt: Union[str, list[str], list[int], list[list[int]], None] = None
    max_tokens: int | None = 16
    echo: bool | None = False


class TokenizeRequest(_Request):
    model: str | None = None
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    add_special_tokens: bool = True
    return_token_strs: bool | None = False
