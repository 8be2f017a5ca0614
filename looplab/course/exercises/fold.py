"""Folded answers: a guided notebook shows an exercise's answer one click away, written from
:mod:`looplab.course.answers` (``looplab episodes sync``), so the answer shown is the answer tested."""

from __future__ import annotations


def answer_source(name: str) -> str:
    """The source of an answer in :mod:`looplab.course.answers` (``"ep04:consistent"``), for a folded cell."""
    import importlib
    import inspect

    module, _, attribute = name.partition(":")
    found = getattr(importlib.import_module(f"looplab.course.answers.{module}"), attribute)
    return inspect.getsource(found).rstrip() if callable(found) else f"{attribute} = {found!r}"


def folded_answer(name: str) -> str:
    """A Markdown cell that folds an answer away (``<details>``): one click, not the next cell."""
    return ("<details><summary>Show an answer</summary>\n\n```python\n" + answer_source(name) +
            "\n```\n\n</details>")
