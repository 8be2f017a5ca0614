"""A project's own settings, from ``[tool.looplab-lint]`` in its ``pyproject.toml``::

    [tool.looplab-lint]
    select = ["LL001", "LL002", "LL003", "LL004", "LL005"]   # default: all
    ignore = ["LL004"]
    extra-constructors = ["ourlib.http.make_client"]     # calls that return an async client
    binds-at-construction = ["ourlib.grpc.Channel"]      # ...that take the running loop when made
    startup-methods = ["warm_up"]                        # methods that run in start-up code
    [tool.looplab-lint.per-file-ignores]
    "tests/*" = ["LL005"]

A mistake in it is a :class:`ConfigError` with one line that names the key and the fix.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .catalogue import RULES

KEYS = {"select", "ignore", "extra-constructors", "binds-at-construction", "startup-methods", "per-file-ignores"}


class ConfigError(ValueError):
    """A user's mistake in options or configuration: the message is one line naming the fix."""


@dataclass
class Config:
    select: frozenset[str] = frozenset(RULES)
    ignore: frozenset[str] = frozenset()
    extra_constructors: frozenset[str] = frozenset()
    binds_at_construction: frozenset[str] = frozenset()
    startup_methods: frozenset[str] = frozenset()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    root: Path = field(default_factory=Path.cwd)  # per-file patterns are relative to it
    source: str = "defaults"

    def wants(self, rule: str, path: str) -> bool:
        if rule not in self.select or rule in self.ignore:
            return False
        if not self.per_file_ignores:
            return True
        try:
            relative = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            relative = PurePath(path).as_posix()
        return not any(rule in rules and (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(PurePath(path).name, pattern))
                       for pattern, rules in self.per_file_ignores)


def rules(value: object, where: str) -> frozenset[str]:
    """``["LL001", "LL3"]`` or ``"LL001,LL002"``: known rule codes (a prefix such as ``LL`` or ``LL00`` selects several)."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{where}: give a list of rule codes such as [\"LL001\", \"LL003\"]")
    chosen = set()
    for item in filter(None, (i.upper() for i in items)):
        matched = {code for code in RULES if code.startswith(item)}
        if not matched:
            raise ConfigError(f"{where}: unknown rule {item!r}; the rules are {', '.join(RULES)}")
        chosen |= matched
    return frozenset(chosen)


def _names(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) and i and " " not in i for i in value):
        raise ConfigError(f"{where}: give a list of dotted names such as [\"ourlib.http.make_client\"]")
    return frozenset(value)


def from_table(table: dict, source: str, root: Path) -> Config:
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r} in [tool.looplab-lint]; the keys are {', '.join(sorted(KEYS))}")
    where = f"{source} [tool.looplab-lint]"
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{where} per-file-ignores: give a table of \"glob\" = [\"LL00N\", ...]")
    return Config(
        select=rules(table["select"], f"{where} select") if "select" in table else frozenset(RULES),
        ignore=rules(table.get("ignore", []), f"{where} ignore"),
        extra_constructors=_names(table.get("extra-constructors", []), f"{where} extra-constructors"),
        binds_at_construction=_names(table.get("binds-at-construction", []), f"{where} binds-at-construction"),
        startup_methods=_names(table.get("startup-methods", []), f"{where} startup-methods"),
        per_file_ignores=tuple((p, rules(r, f"{where} per-file-ignores {p!r}")) for p, r in per_file.items()),
        root=root, source=source)


def find_pyproject(start: Path) -> Path | None:
    folder = start.resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def load(path: Path | None) -> Config:
    """The settings in ``path`` (a pyproject.toml), or the defaults when it has none or there is no file."""
    if path is None:
        return Config()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            text = path.read_text(encoding="utf-8")
            if "[tool.looplab-lint" in text:
                raise ConfigError(f"{path}: reading [tool.looplab-lint] needs Python 3.11+ (or `pip install tomli`)") from None
            return Config(root=path.parent)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}); fix or remove the file, or pass --config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file, or pass --config") from None
    table = data.get("tool", {}).get("looplab-lint")
    if table is None:
        return Config(root=path.parent, source=str(path))
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.looplab-lint] must be a table")
    return from_table(table, str(path), path.parent)
