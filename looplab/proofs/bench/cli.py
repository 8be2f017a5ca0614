"""The ``looplab bench`` command: ``--target mock`` (the mock's overhead), ``--target strategies`` or
``--target startup`` (what starting a server costs, forked or exec'd)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .report import emit, guarded

TARGETS = ("mock", "strategies", "startup")


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = "count"  # argparse names the type in some messages
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``looplab bench``."""
    p.description = ("Measure the latency a looplab server adds over a bare uvicorn app, on loopback "
                     "(--target mock), or what every adapter strategy costs against a reused client "
                     "(--target strategies), or what starting a mock and a stack costs, forked or exec'd "
                     "(--target startup).")
    p.add_argument("--target", choices=TARGETS, default="mock",
                   help="mock: the mock against a bare uvicorn app; strategies: every adapter strategy "
                        "against a reused client; startup: mock-and-stack pairs started forked and exec'd "
                        "(default: mock)")
    p.add_argument("--pairs", type=_at_least(1), metavar="N",
                   help="startup: mock-and-stack pairs started one after the other, per run (default: 10)")
    p.add_argument("--requests", type=_at_least(1), metavar="N",
                   help="sequential requests measured per server or strategy (default: 300 for mock, 200 for strategies)")
    p.add_argument("--concurrency", type=_at_least(1), metavar="C",
                   help="concurrent requests (default: 500 streams for mock; 20 per round for strategies)")
    p.add_argument("--vllm-url", help="strategies: measure against this backend instead of a fresh mock")
    p.add_argument("--plot", type=Path, metavar="PNG", help="strategies: also save a chart to this file")
    p.add_argument("--strategies", metavar="LIST",
                   help="strategies: comma-separated names or import paths (module:Class) to measure after "
                        "'reused' (default: all of looplab's)")
    p.add_argument("--tls", action="store_true", help="strategies: the mock serves HTTPS (a certificate made at "
                   "start-up, trusted through SSL_CERT_FILE)")
    p.add_argument("--rtt-ms", type=float, default=0.0, metavar="MS",
                   help="strategies: this much round-trip time of network between the clients and the mock (a "
                        "latency proxy; each direction gets half)")
    p.add_argument("--conditions", action="store_true",
                   help="strategies: run plain HTTP, HTTPS, and HTTPS with --rtt-ms (default 10) one after the "
                        "other, side by side")
    p.add_argument("--warmup", type=_at_least(0), default=20, metavar="W",
                   help="sequential warm-up requests per server, not counted (default: 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    """Run ``looplab bench``: 0 when every request succeeded (and the mock's log is exact), else 1."""
    if args.pairs is not None and args.target != "startup":
        print("looplab bench: --pairs goes with --target startup", file=sys.stderr)
        return 2
    if args.target == "strategies":
        return _run_strategies(args)
    if args.target == "startup":
        return _run_startup(args)
    if args.vllm_url or args.plot or args.strategies or args.tls or args.rtt_ms or args.conditions:
        print("looplab bench: --vllm-url, --plot, --strategies, --tls, --rtt-ms and --conditions go with --target "
              "strategies", file=sys.stderr)
        return 2
    from rich.console import Console

    from . import mock_overhead

    report = guarded(lambda: mock_overhead.measure(args.requests or 300, args.concurrency or 500, args.warmup,
                                                   Console(stderr=True)))
    if isinstance(report, int):
        return report
    return emit(report, args.json, lambda: mock_overhead.render(report, Console()))


def _run_strategies(args: argparse.Namespace) -> int:
    if args.plot is not None and not args.plot.parent.is_dir():
        print(f"looplab bench: cannot write the plot: the folder {args.plot.parent} does not exist", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.progress import Progress

    from . import strategies

    rounds = 5
    names = strategies.STRATEGIES
    if args.strategies:
        names = ("reused", *[n.strip() for n in args.strategies.split(",") if n.strip() and n.strip() != "reused"])
    console = Console(stderr=True)

    options = {"vllm_url": args.vllm_url, "requests": args.requests or 200, "concurrency": args.concurrency or 20,
               "rounds": rounds, "names": names}
    runs = 3 if args.conditions else 1

    def measure_all() -> dict:
        with Progress(console=console, transient=True, disable=args.json or not console.is_terminal) as progress:
            task = progress.add_task("strategies", total=runs * rounds * len(names))
            tick = lambda: progress.advance(task)  # noqa: E731
            if args.conditions:
                return strategies.measure_conditions(rtt_ms=args.rtt_ms or 10.0, tick=tick, **options)
            return strategies.measure(**options, tls=args.tls, rtt_ms=args.rtt_ms, tick=tick)

    report = guarded(measure_all)
    if isinstance(report, int):
        return report
    if args.plot:
        report["plot"] = str(strategies.plot(report.get("conditions", [report])[0], args.plot))
    return emit(report, args.json, lambda: strategies.render(report, Console(width=max(Console().width, 150))))


def _run_startup(args: argparse.Namespace) -> int:
    others = {"--requests": args.requests, "--concurrency": args.concurrency, "--vllm-url": args.vllm_url,
              "--plot": args.plot, "--strategies": args.strategies, "--tls": args.tls, "--rtt-ms": args.rtt_ms,
              "--conditions": args.conditions}
    if given := [name for name, value in others.items() if value]:
        verb = "does" if len(given) == 1 else "do"
        print(f"looplab bench: {', '.join(given)} {verb} not go with --target startup (it takes --pairs)",
              file=sys.stderr)
        return 2
    from rich.console import Console

    from . import startup

    report = guarded(lambda: startup.measure(args.pairs or 10, None if args.json else Console(stderr=True)))
    if isinstance(report, int):
        return report
    return emit(report, args.json, lambda: startup.render(report, Console()))
