"""The ``looplab`` command: ``mock-vllm``, ``stack``, ``bench``, ``real-vllm``, ``real-stack``, ``labs``, ``episodes``, ``cleanup``, ``doctor``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _add_mock(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mock-vllm", help="run the mock vLLM server (OpenAI-compatible, vLLM 0.32.0's API)",
                       description="Run a mock of vLLM's OpenAI-compatible server as a real uvicorn server.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one and prints it")
    p.add_argument("--port-file", type=Path, help="write the server's URL to this file once bound")
    p.add_argument("--model", action="append", dest="models", metavar="NAME",
                   help="a model name to serve (repeat for several; default: tiny-llama)")
    p.add_argument("--max-model-len", type=int, default=512, help="context length in tokens (default: 512)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 routes, as vLLM does")
    p.add_argument("--output", choices=["echo", "seeded"], default="echo",
                   help="echo the last user message, or seeded words (default: echo)")
    p.add_argument("--seed", type=int, default=0, help="seed for --output seeded when a request has none")
    p.add_argument("--ttft-ms", type=float, default=0.0, help="time to first token, in ms")
    p.add_argument("--itl-ms", type=float, default=0.0, help="inter-token latency, in ms")
    p.add_argument("--keepalive", type=float, default=5.0,
                   help="seconds an idle keep-alive connection stays open (default: 5, as uvicorn and vLLM)")
    p.add_argument("--fault", action="append", dest="faults", default=[], metavar="KIND@WHEN",
                   help="inject faults: KIND is 500, 429, drop or stall; WHEN is request numbers (1,3) "
                        "or rate=P. Repeatable. Example: --fault 500@1,3 --fault drop@rate=0.1")
    p.add_argument("--fault-seed", type=int, default=0, help="seed for rate-based faults")
    p.add_argument("--stall-seconds", type=float, default=30.0, help="how long a stall fault holds a request")
    p.add_argument("--request-log", type=Path, help="append one JSON line per request to this file")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def _run_mock(args: argparse.Namespace) -> int:
    from ._serve import serve
    from .mock_vllm import MockSettings, create_app, parse_fault
    from .mock_vllm.connections import TrackedH11Protocol

    try:
        settings = MockSettings(
            models=args.models or ["tiny-llama"], max_model_len=args.max_model_len, api_key=args.api_key,
            output=args.output, seed=args.seed, ttft_ms=args.ttft_ms, itl_ms=args.itl_ms,
            keepalive_s=args.keepalive, faults=[parse_fault(f) for f in args.faults], fault_seed=args.fault_seed,
            stall_s=args.stall_seconds, request_log=args.request_log)
    except ValueError as exc:
        print(f"looplab mock-vllm: {exc}", file=sys.stderr)
        return 2
    serve(create_app(settings), name="looplab mock-vllm", host=args.host, port=args.port,
          port_file=args.port_file, keepalive_s=settings.keepalive_s, log_level=args.log_level,
          http=TrackedH11Protocol)
    return 0


def _add_stack(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stack", help="run the mini stack: construct under asyncio.run, then serve with uvicorn",
                       description="Run the mini Llama Stack: impls = asyncio.run(construct_stack(config)), then "
                                   "uvicorn serves OpenAI-compatible chat completions through the adapter.")
    p.add_argument("--config", type=Path, help="a run config (YAML); the options below override it")
    p.add_argument("--adapter", help="a strategy (broken, per_call, lazy_once, per_loop, lifespan, "
                                     "per_call_shared_ssl) or an import path module:Class")
    p.add_argument("--vllm-url", help="the backend's OpenAI base URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", action="append", dest="models", metavar="NAME", help="a model to register (repeatable)")
    p.add_argument("--api-key", help="the backend's API key (default: fake)")
    p.add_argument("--max-retries", type=int, help="the client's retries (default: the client's own, 2; 0 = off)")
    p.add_argument("--timeout", type=float, help="the client's timeout per backend request, in seconds (default: 60)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8321, help="port to bind; 0 picks a free one")
    p.add_argument("--port-file", type=Path, help="write the server's URL to this file once bound")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def _run_stack(args: argparse.Namespace) -> int:
    from .stack import ConfigError, RunConfig, load_config, run_stack

    try:
        data = load_config(args.config).to_dict() if args.config else {"inference": {}, "models": []}
        inference = data["inference"]
        for key, value in (("adapter", args.adapter), ("url", args.vllm_url), ("api_token", args.api_key),
                           ("max_retries", args.max_retries), ("timeout", args.timeout)):
            if value is not None:
                inference[key] = value
        if args.models:
            data["models"] = args.models
        config = RunConfig.from_dict(data, str(args.config or "command line"))
    except ConfigError as exc:
        print(f"looplab stack: {exc}", file=sys.stderr)
        return 2
    return run_stack(config, host=args.host, port=args.port, port_file=args.port_file, log_level=args.log_level)


def _run_cleanup(args: argparse.Namespace) -> int:
    from .servers import cleanup, find_tagged

    procs = find_tagged(args.session)
    if not procs:
        print("No looplab servers are running.")
        return 0
    for proc in procs:
        try:
            print(f"stopping pid {proc.pid}: {' '.join(proc.cmdline())[:120]}")
        except Exception:  # noqa: BLE001 (it may have exited meanwhile)
            print(f"stopping pid {proc.pid}")
    stopped = cleanup(args.session)
    left = find_tagged(args.session)
    print(f"Stopped {len(stopped)} process(es); {len(left)} left.")
    return 0 if not left else 1


def _run_labs(args: argparse.Namespace) -> int:
    from . import labs

    if args.labs_command == "check":
        return labs.check_command(args.paths)
    changed = labs.build(check=args.check)
    for path in changed:
        print(f"{'differs' if args.check else 'written'}: {path.relative_to(labs.ROOT)}")
    if args.check and changed:
        print("labs/ is generated: run `looplab labs build` and commit the result", file=sys.stderr)
        return 1
    return 0


def _run_episodes(args: argparse.Namespace) -> int:
    from . import episodes

    manifest = episodes.load()
    stale = []
    for episode in manifest.episodes:
        if not episode.notebook.exists():
            print(f"missing: {episode.notebook.relative_to(episodes.ROOT)} (episode {episode.number})", file=sys.stderr)
            stale.append(episode.notebook)
            continue
        if episodes.sync(episode.notebook, episode, check=args.action == "check"):
            stale.append(episode.notebook)
            print(f"{'out of date' if args.action == 'check' else 'updated'}: {episode.notebook.relative_to(episodes.ROOT)}")
    if args.action == "check" and stale:
        print("run `looplab episodes sync` and commit the result", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="looplab", description="The looplab workshop's toolbox.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_mock(sub)
    _add_stack(sub)
    clean = sub.add_parser("cleanup", help="stop looplab servers left running (found by their process tag)")
    clean.add_argument("--session", help="only the servers started under this LOOPLAB_SESSION")
    episodes = sub.add_parser("episodes", help="write notebook headers from episodes.yml (sync), or check them")
    episodes.add_argument("action", choices=["sync", "check"])
    labs = sub.add_parser("labs", help="generate labs/ from solutions/ (build), or check learners' lab notebooks")
    labs_sub = labs.add_subparsers(dest="labs_command", required=True, metavar="ACTION")
    labs_build = labs_sub.add_parser("build", help="write labs/ from solutions/ (deterministic)")
    labs_build.add_argument("--check", action="store_true", help="only report labs that differ; exit 1 if any")
    labs_check = labs_sub.add_parser("check", help="run lab notebooks in fresh kernels and report each check")
    labs_check.add_argument("paths", nargs="+", type=Path, help="lab notebooks, or folders of them")
    doctor = sub.add_parser("doctor", help="check this machine for the workshop")
    doctor.add_argument("--skip-jupyter", action="store_true", help="do not check the Jupyter kernel")
    from .bench import add_arguments as add_bench

    add_bench(sub.add_parser("bench", help="measure latency: the mock against a bare uvicorn app, or every strategy"))
    from .real_vllm import add_arguments as add_real_vllm

    add_real_vllm(sub.add_parser("real-vllm", help="a real vLLM (CPU build) serving a tiny local model",
                                 description="setup | install | build-model | serve (until Ctrl-C)"))
    from .real_stack import add_arguments as add_real_stack

    add_real_stack(sub.add_parser("real-stack", help="the released llama-stack 0.2.2 (crashes) and 0.2.3 (fixed) "
                                                     "against looplab's backend"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "mock-vllm":
        return _run_mock(args)
    if args.command == "stack":
        return _run_stack(args)
    if args.command == "cleanup":
        return _run_cleanup(args)
    if args.command == "labs":
        return _run_labs(args)
    if args.command == "episodes":
        return _run_episodes(args)
    if args.command == "doctor":
        from .doctor import run

        return run(skip_jupyter=args.skip_jupyter)
    if args.command == "bench":
        from .bench import run as run_bench

        return run_bench(args)
    if args.command == "real-vllm":
        from .real_vllm import run as run_real_vllm

        return run_real_vllm(args)
    if args.command == "real-stack":
        from .real_stack import run as run_real_stack

        return run_real_stack(args)
    raise AssertionError(args.command)
