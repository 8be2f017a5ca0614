"""Compare two HTTP responses by structure: status, keys, nesting, value types, SSE framing.

Used to hold the mock to real vLLM (captured responses, or a live server). Text, ids and
timestamps differ from run to run, so values are never compared, only their shape.
"""

from __future__ import annotations

import json
from typing import Any


class ShapeMismatch(AssertionError):
    """Two bodies differ in structure; the message names the path where they part."""


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "object"}.get(
        type(value), type(value).__name__)


def compare_shape(expected: Any, actual: Any, path: str = "$") -> None:
    """Raise :class:`ShapeMismatch` unless ``actual`` has ``expected``'s keys and value types, recursively.

    Lists: an empty expected list must stay empty; otherwise every actual element must have the
    shape of the expected element at the same index (or of the first, past the expected length).
    """
    if _type(expected) != _type(actual):
        raise ShapeMismatch(f"{path}: expected {_type(expected)}, got {_type(actual)} ({actual!r:.80})")
    if isinstance(expected, dict):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing or extra:
            raise ShapeMismatch(f"{path}: keys differ; missing {missing}, unexpected {extra}")
        for key in expected:
            compare_shape(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if not expected and actual:
            raise ShapeMismatch(f"{path}: expected an empty list, got {len(actual)} items")
        if expected and not actual:
            raise ShapeMismatch(f"{path}: expected a non-empty list, got an empty one")
        for i, item in enumerate(actual):
            compare_shape(expected[i] if i < len(expected) else expected[0], item, f"{path}[{i}]")


def parse_sse(raw: bytes) -> list[Any]:
    """Split an SSE body into frames, checking vLLM's framing: ``data: <payload>\\n\\n`` only."""
    text = raw.decode("utf-8")
    if not text.endswith("\n\n"):
        raise ShapeMismatch("SSE body does not end with a blank line")
    frames = []
    for block in text[:-2].split("\n\n"):
        if not block.startswith("data: ") or "\n" in block:
            raise ShapeMismatch(f"SSE frame is not a single 'data: ' line: {block[:80]!r}")
        payload = block.removeprefix("data: ")
        frames.append(payload if payload == "[DONE]" else json.loads(payload))
    return frames


def frame_kind(frame: Any) -> str:
    """role | content | finish | usage | done: what a stream frame is, by vLLM's chunk layout."""
    if frame == "[DONE]":
        return "done"
    choices = frame.get("choices", [])
    if not choices:
        return "usage"
    choice = choices[0]
    if "role" in choice.get("delta", {}):
        return "role"
    return "finish" if choice.get("finish_reason") is not None else "content"


def _collapse(kinds: list[str]) -> list[str]:
    out: list[str] = []
    for kind in kinds:
        if not out or out[-1] != kind:
            out.append(kind)
    return out


def compare_stream(expected: list[Any], actual: list[Any]) -> None:
    """Same order of frame kinds and the same shape per kind.

    Content frames form one run whose length depends on the text (a one-token answer has none
    before its finish frame), so the order is compared with that run collapsed and optional.
    """
    def order(frames: list[Any]) -> list[str]:
        return [kind for kind in _collapse([frame_kind(f) for f in frames]) if kind != "content"]

    want, got = order(expected), order(actual)
    if want != got:
        raise ShapeMismatch(f"stream frames differ: expected {want}, got {got}")
    examples: dict[str, Any] = {}
    for frame in expected:
        examples.setdefault(frame_kind(frame), frame)
    for i, frame in enumerate(actual):
        kind = frame_kind(frame)
        if kind not in examples:
            raise ShapeMismatch(f"frame[{i}]: a {kind} frame where real vLLM sends none")
        compare_shape(examples[kind], frame, f"frame[{i}]")
