"""``looplab lint PATH...``: the take-home lint, as a looplab command.

The lint itself lives in its own distribution, ``looplab-tools`` (``looplab-tools/`` in this
repository, standard library only), as :mod:`looplab_tools.lint`; this module keeps the workshop's
imports (``from looplab.tools import lint``) and its command working.
"""

from __future__ import annotations

import argparse

from looplab_tools.lint import (CONSTRUCTORS, RULES, Config, ConfigError, Finding, Flake8Checker, check_paths,
                                check_source, is_constructor, python_files)
from looplab_tools.lint.cli import add_arguments
from looplab_tools.lint.cli import run as _run

__all__ = ["CONSTRUCTORS", "RULES", "Config", "ConfigError", "Finding", "Flake8Checker", "add_arguments", "check_paths",
           "check_source", "is_constructor", "main", "python_files", "run"]


def run(args: argparse.Namespace) -> int:
    return _run(args)


def main(argv: list[str] | None = None) -> int:
    from looplab_tools.lint.cli import main as cli_main

    return cli_main(argv, prog="looplab lint")
