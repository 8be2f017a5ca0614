"""Settings dataclasses as command-line options: each option declared once, in its field.

A settings class declares an option in a field's metadata, as plain data (so the studied system,
which owns the settings, imports nothing from here)::

    ttft_ms: float = field(default=0.0, metadata={"flag": "--ttft-ms", "help": "time to first token, in ms"})

Metadata keys: ``flag`` (required to be an option), ``help``, ``metavar``, ``choices``, ``parse``
(a function from the text to the value; default: the field's type), ``repeat`` (a list field whose
flag may be given several times). Fields without ``flag`` are not options.

* :func:`add_options` adds the options to an argparse parser (values stay ``None`` unless given);
* :func:`given` collects the options a user gave, :func:`from_args` builds the settings from them;
* :func:`to_argv` writes settings (or some of their values) back as a command line, so a parent
  process validates settings first and its child parses the very same options.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of a settings dataclass that are command-line options, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "flag" in f.metadata]


def _field_type(cls: type, field: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    kind = hints[field.name]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(args) == 1:
        kind = args[0]  # X | None -> X
    return kind


def _item_type(cls: type, field: dataclasses.Field) -> Any:
    kind = _field_type(cls, field)
    if field.metadata.get("repeat"):
        (kind,) = typing.get_args(kind) or (str,)
    return kind


def _parser_of(cls: type, field: dataclasses.Field) -> Any:
    if "parse" not in field.metadata:
        kind = _item_type(cls, field)
        return kind if kind in (int, float, str, Path) else str
    parse = field.metadata["parse"]

    def parse_option(text: str) -> Any:  # argparse shows an ArgumentTypeError's own message
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse_option.__name__ = parse.__name__
    return parse_option


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def add_options(parser: argparse.ArgumentParser, cls: type, *, defaults: Mapping[str, Any] | None = None,
                skip: Iterable[str] = ()) -> None:
    """Add ``cls``'s options to ``parser``. ``defaults`` overrides the defaults shown in the help."""
    skipped = set(skip)
    for field in option_fields(cls):
        if field.name in skipped:
            continue
        meta = field.metadata
        default = (defaults or {}).get(field.name, _default(field))
        shown = "" if default in (dataclasses.MISSING, None, [], False) else f" (default: {default})"
        kwargs: dict[str, Any] = {"dest": field.name, "default": None, "help": f"{meta.get('help', '')}{shown}"}
        if _field_type(cls, field) is bool:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = _parser_of(cls, field)
            kwargs["metavar"] = meta.get("metavar")
            if "choices" in meta:
                kwargs["choices"] = meta["choices"]
            if meta.get("repeat"):
                kwargs["action"] = "append"
        parser.add_argument(meta["flag"], **kwargs)


def given(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``cls`` that were given on the command line, as ``{field name: value}``."""
    values = {}
    for field in option_fields(cls):
        value = getattr(args, field.name, None)
        if value is not None and value is not False:
            values[field.name] = value
    return values


def from_args(cls: type, args: argparse.Namespace, **extra: Any) -> Any:
    """Build ``cls`` from the parsed options (the dataclass's defaults for those not given)."""
    return cls(**{**given(cls, args), **extra})


def _text(value: Any) -> str:
    return str(value)


def to_argv(cls: type, values: Mapping[str, Any] | Any, *, always: Iterable[str] = ()) -> list[str]:
    """The command line that gives ``values`` (a ``cls`` instance, or some of its fields by name).

    Values equal to the field's default are left out, except the fields named in ``always`` (for
    a command whose own default differs). Unknown names raise ``TypeError``."""
    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
    fields = {f.name: f for f in option_fields(cls)}
    unknown = sorted(set(values) - fields.keys() - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise TypeError(f"{cls.__name__} has no option {', '.join(unknown)}; "
                        f"its options are {', '.join(fields)}")
    argv: list[str] = []
    for name, field in fields.items():
        if name not in values:
            continue
        value, flag = values[name], field.metadata["flag"]
        if value is None or (value == _default(field) and name not in always):
            continue
        if field.metadata.get("repeat"):
            for item in value:
                argv += [flag, _text(item)]
        elif value is True:
            argv.append(flag)
        elif value is not False:
            argv += [flag, _text(value)]
    return argv
