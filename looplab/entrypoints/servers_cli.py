"""``looplab mock-vllm``, ``looplab stack`` and ``looplab cleanup``.

Their options are generated from the settings classes (:class:`~looplab.mock_vllm.MockSettings`,
:class:`~looplab.stack.RunConfig`, :class:`~looplab.servers.serve.ServeOptions`), so a knob is
declared once. This module also runs inside the incident-era interpreter (``looplab stack
--python``): it imports only the studied system and the server side of :mod:`looplab.servers`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..servers.options import add_options, from_args, given
from ..servers.serve import ServeOptions


def _fail(command: str, message: str, code: int = 2) -> int:
    print(f"looplab {command}: {message}", file=sys.stderr)
    return code


def _serve_options(args: argparse.Namespace, default_port: int) -> ServeOptions:
    return from_args(ServeOptions, args, **({} if args.port is not None else {"port": default_port}))


class MockCommand:
    DEFAULT_PORT = 8000

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        from ..mock_vllm.settings import MockSettings

        add_options(p, ServeOptions, defaults={"port": MockCommand.DEFAULT_PORT})
        add_options(p, MockSettings)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..mock_vllm import MockSettings, create_app
        from ..mock_vllm.connections import TrackedH11Protocol
        from ..servers.serve import serve

        try:
            where = _serve_options(args, MockCommand.DEFAULT_PORT)
            settings = from_args(MockSettings, args)
        except ValueError as exc:
            return _fail("mock-vllm", str(exc))
        serve(create_app(settings), name="looplab mock-vllm", host=where.host, port=where.port,
              port_file=where.port_file, keepalive_s=settings.keepalive_s, log_level=where.log_level,
              http=TrackedH11Protocol, tls=where.tls)
        return 0


class StackCommand:
    DEFAULT_PORT = 8321

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        from ..stack.config import RunConfig

        p.add_argument("--config", type=Path, metavar="FILE", help="a run config (YAML); the options below override it")
        add_options(p, RunConfig)
        add_options(p, ServeOptions, defaults={"port": StackCommand.DEFAULT_PORT})

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from functools import partial

        from ..servers.serve import serve
        from ..stack.config import ConfigError, RunConfig, load_config

        try:
            where = _serve_options(args, StackCommand.DEFAULT_PORT)
            values = given(RunConfig, args)
            config = load_config(args.config, **values) if args.config else RunConfig.from_values(values, "command line")
        except (ConfigError, ValueError) as exc:
            return _fail("stack", str(exc))
        from ..stack import StartupError, run_stack

        try:
            return run_stack(config, log_level=where.log_level,
                             serve=partial(serve, name="looplab stack", host=where.host, port=where.port,
                                           port_file=where.port_file, log_level=where.log_level))
        except StartupError as exc:
            return _fail("stack", str(exc), 1)


class CleanupCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--session", help="only the servers started under this LOOPLAB_SESSION")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..servers import cleanup, find_tagged
        from ..servers.forked import MARKER

        procs = find_tagged(args.session)
        if not procs:
            print("No looplab servers are running.")
            return 0
        for proc in procs:
            try:
                command = " ".join(proc.cmdline())
                if MARKER in command:  # a forked server shows its fork server's command line: name it instead
                    command = f"looplab {proc.name()} (forked by pid {proc.ppid()})"
                print(f"stopping pid {proc.pid}: {command[:120]}")
            except Exception:  # noqa: BLE001 (it may have exited meanwhile)
                print(f"stopping pid {proc.pid}")
        stopped = cleanup(args.session)
        left = find_tagged(args.session)
        print(f"Stopped {len(stopped)} process(es); {len(left)} left.")
        return 0 if not left else 1
