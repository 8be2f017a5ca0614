"""The ``looplab`` command.

Each command lives in the module that owns it, which gives ``add_arguments(parser)`` and
``run(args) -> exit code``; this module imports a command's module only when that command runs
(``looplab mock-vllm`` imports neither the benchmarks nor the real systems). A user's mistake gets
one line that names the fix on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # gives add_arguments(parser) and run(args)
    help: str
    description: str = ""


COMMANDS = [
    Command("mock-vllm", "looplab.entrypoints.servers_cli:MockCommand",
            "run the mock vLLM server (OpenAI-compatible, vLLM 0.32.0's API)",
            "Run a mock of vLLM's OpenAI-compatible server as a real uvicorn server."),
    Command("stack", "looplab.entrypoints.servers_cli:StackCommand",
            "run the mini stack: construct under asyncio.run, then serve with uvicorn",
            "Run the mini Llama Stack: impls = asyncio.run(construct_stack(config)), then uvicorn serves "
            "OpenAI-compatible chat completions through the adapter."),
    Command("bench", "looplab.proofs.bench.cli",
            "measure latency: the mock against a bare uvicorn app, or every strategy"),
    Command("symptoms", "looplab.proofs.symptoms",
            "measure the bug's three symptoms on every client stack (the reporter's, the incident era's, current)"),
    Command("real-vllm", "looplab.entrypoints.real_cli:RealVLLMCommand", "a real vLLM (CPU build) serving a tiny local model",
            "setup | install | build-model | serve (until Ctrl-C)"),
    Command("real-stack", "looplab.entrypoints.real_cli:RealStackCommand",
            "the released llama-stack 0.2.2 (crashes) and 0.2.3 (fixed) against looplab's backend"),
    Command("labs", "looplab.entrypoints.course_cli:LabsCommand",
            "generate labs/ from solutions/ (build), or check learners' lab notebooks"),
    Command("episodes", "looplab.entrypoints.course_cli:EpisodesCommand",
            "write notebook headers from episodes.yml (sync), or check them"),
    Command("i18n", "looplab.entrypoints.course_cli:I18nCommand",
            "the Chinese notebooks: check their translations, extract new cells, build zh/",
            "Translations of the notebooks and solutions live in translations/LANG/ (one file per notebook, "
            "by cell id, each entry with the English it was made from). check: fail on a missing, empty or "
            "out-of-date translation, or on zh/ not matching them; extract: add entries for new cells; "
            "build: write zh/notebooks, zh/solutions and zh/labs."),
    Command("demos", "looplab.entrypoints.course_cli:DemosCommand",
            "the same bug elsewhere: list the cases, or run one broken and fixed"),
    Command("lint", "looplab.tools.lint",
            "find the bug's shapes in Python source (rules LL001-LL005; --json; exit 1 on findings)",
            "Find the two-loop bug's shapes statically: clients made in start-up code, asyncio.run then a server, "
            "caches keyed without the loop, clients never closed, clients crossing asyncio.run calls."),
    Command("cleanup", "looplab.entrypoints.servers_cli:CleanupCommand",
            "stop looplab servers left running (found by their process tag)"),
    Command("doctor", "looplab.entrypoints.doctor", "check this machine for the workshop"),
    Command("room", "looplab.entrypoints.room_cli",
            "a team session on one shared JupyterHub: run, install, publish, export, learner, capacity",
            "A team session on one shared JupyterHub: learners join from a browser with a session code, each gets "
            "their own JupyterLab as their own OS user, and the facilitator sees every lab check live."),
]
_BY_NAME = {c.name: c for c in COMMANDS}


def _load(command: Command):  # noqa: ANN202 (a module or a class with the two functions)
    module_name, _, attribute = command.module.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) one whose sub-commands are named but only ``only`` is built."""
    parser = argparse.ArgumentParser(prog="looplab", description="The looplab workshop's toolbox.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description or command.help)
        if only is None or command.name == only:
            _load(command).add_arguments(p)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in _BY_NAME else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name = _command_in(argv)
    args = build_parser(only=name or "").parse_args(argv)  # an unknown command: argparse's own message, exit 2
    try:
        return _load(_BY_NAME[args.command]).run(args)
    except KeyboardInterrupt:
        print(f"looplab {args.command}: interrupted", file=sys.stderr)
        return 130
