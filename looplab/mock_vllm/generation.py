"""Deterministic "generation": a word tokenizer, the output text, and vLLM-shaped bodies.

Nothing here is a model. Output is either the prompt echoed back or words drawn from a fixed
vocabulary with a seed, so tests can predict it exactly; the *shape* of every body follows the
responses captured from real vLLM 0.32.0 (``tests/fixtures/vllm-0.32.0-responses.jsonl``).
"""

from __future__ import annotations

import random
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from typing import Any

from .settings import VLLM_VERSION

_WORD = re.compile(r"\s*\S+")
_VOCAB = (
    "loop event close pool socket async await future task transport client server request "
    "stream chunk token retry timeout keep alive connection handler adapter stack provider "
    "model router worker queue lock signal thread process port buffer header body frame "
    "cancel gather shield sleep yield run start stop open read write flush drain"
).split()
_FINGERPRINT = f"vllm-{VLLM_VERSION}-{secrets.token_hex(4)}"
# Tokens a chat template adds around each message, and once for the assistant's turn.
_PER_MESSAGE, _PER_PROMPT = 3, 2


def tokenize(text: str) -> list[str]:
    """Split text into word tokens, each keeping the white space before it."""
    return _WORD.findall(text)


def token_id(token: str) -> int:
    return 100 + zlib.crc32(token.encode("utf-8", "surrogatepass")) % 31900


def _printable(text: str) -> str:
    # JSON may carry lone surrogates ("\\ud800"); they cannot be encoded back to UTF-8.
    return text.encode("utf-8", "replace").decode("utf-8")


def message_text(content: Any) -> str:
    if isinstance(content, str):
        return _printable(content)
    if isinstance(content, list):  # OpenAI content parts
        return _printable(" ".join(str(part.get("text", "")) for part in content if isinstance(part, dict)))
    return ""


def chat_prompt_tokens(messages: list[Any]) -> int:
    return _PER_PROMPT + sum(_PER_MESSAGE + len(tokenize(message_text(m.content))) for m in messages)


def prompts(prompt: Any) -> list[tuple[str, int, int | None]]:
    """A completions ``prompt`` as vLLM sees it: one or a batch of prompts, each as (text to echo,
    token count, character count or None for token ids)."""
    if isinstance(prompt, str):
        # white space alone is still a token or two to a real tokenizer; only "" is an empty prompt
        return [(_printable(prompt), max(len(tokenize(prompt)), 1 if prompt else 0), len(prompt))]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return [item for p in prompt for item in prompts(p)]
    if isinstance(prompt, list) and prompt and all(isinstance(p, list) for p in prompt):
        return [(" ".join(f"<{t}>" for t in ids), len(ids), None) for ids in prompt]
    if isinstance(prompt, list):
        return [(" ".join(f"<{t}>" for t in prompt), len(prompt), None)]
    return []


@dataclass
class Output:
    tokens: list[str]
    finish_reason: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def generate(source: str, *, mode: str, seed: int, max_tokens: int | None, default_len: int = 16) -> Output:
    """The completion for ``source``: echoed (``echo``) or seeded words (``seeded``)."""
    if mode == "echo":
        words = [" " + w.strip() for w in tokenize(source)] or [" ..."]
    else:
        rng = random.Random(seed)
        words = [" " + rng.choice(_VOCAB) for _ in range(max_tokens if max_tokens is not None else default_len)]
    if max_tokens is not None and max_tokens < len(words):
        return Output(words[:max_tokens], "length")
    return Output(words, "length" if mode == "seeded" and max_tokens is not None else "stop")


def clip(output: Output, room: int) -> Output:
    """Stop at the context length, as vLLM does: at most ``room`` tokens, then ``length``."""
    return output if len(output.tokens) <= room else Output(output.tokens[:room], "length")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def usage(prompt_tokens: int, completion_tokens: int, *, details: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
    }
    if details:
        body["prompt_tokens_details"] = None
        body["completion_tokens_details"] = None
    return body


def chat_completion(rid: str, model: str, outputs: list[Output], prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": out.text, "refusal": None, "annotations": None,
                            "audio": None, "function_call": None, "reasoning": None},
                "logprobs": None,
                "finish_reason": out.finish_reason,
                "stop_reason": None,
                "token_ids": None,
                "routed_experts": None,
            }
            for i, out in enumerate(outputs)
        ],
        "service_tier": None,
        "system_fingerprint": _FINGERPRINT,
        "usage": usage(prompt_tokens, sum(len(o.tokens) for o in outputs)),
        "prompt_logprobs": None,
        "prompt_token_ids": None,
        "prompt_text": None,
        "kv_transfer_params": None,
        "ec_transfer_params": None,
        "metrics": None,
    }


def text_completion(rid: str, model: str, outputs: list[Output], prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "text": out.text, "logprobs": None, "finish_reason": out.finish_reason,
             "stop_reason": None, "token_ids": None, "prompt_logprobs": None, "prompt_token_ids": None,
             "routed_experts": None}
            for i, out in enumerate(outputs)
        ],
        "service_tier": None,
        "system_fingerprint": _FINGERPRINT,
        "usage": usage(prompt_tokens, sum(len(o.tokens) for o in outputs)),
        "kv_transfer_params": None,
        "ec_transfer_params": None,
        "metrics": None,
    }


class ChunkMaker:
    """Builds the frames of one streamed response, in vLLM's order and shapes."""

    def __init__(self, rid: str, model: str, *, chat: bool) -> None:
        self.rid, self.model, self.chat = rid, model, chat
        self.created = int(time.time())

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        obj = "chat.completion.chunk" if self.chat else "text_completion"
        return {"id": self.rid, "object": obj, "created": self.created, "model": self.model,
                "choices": choices, **extra}

    def role(self, index: int) -> dict[str, Any]:
        choice = {"index": index, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                  "finish_reason": None}
        return self._frame([choice], prompt_token_ids=None, prompt_text=None)

    def token(self, index: int, text: str, finish_reason: str | None, *, last_frame: bool) -> dict[str, Any]:
        if self.chat:
            choice: dict[str, Any] = {"index": index, "delta": {"content": text}, "logprobs": None,
                                      "finish_reason": finish_reason}
            if finish_reason is not None:
                choice["stop_reason"] = None
            choice["token_ids"] = None
        else:
            choice = {"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason,
                      "stop_reason": None, "prompt_token_ids": None, "token_ids": None}
        extra = {"system_fingerprint": _FINGERPRINT} if last_frame else {}
        return self._frame([choice], **extra)

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        return self._frame([], usage=usage(prompt_tokens, completion_tokens, details=False),
                           system_fingerprint=_FINGERPRINT)
