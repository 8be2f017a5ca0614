"""``looplab real-vllm`` and ``looplab real-stack``: the real systems from the command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from ..servers import Server, ServerError


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _stop_on_signals() -> None:
    """Ctrl-C and a plain ``kill`` both end in ``finally`` blocks that stop the servers (and remove
    their folders); SIGINT is restored because a shell starts background jobs with it ignored."""
    def interrupt(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def _serve_until_stopped(start: Callable[[list[Server]], Server], follow: Callable[[Server], None], name: str) -> int:
    """Start servers (``start`` appends each to the list it gets, the one to watch last), follow the
    last one until it exits (1) or Ctrl-C (0), and stop them all whatever happens."""
    _stop_on_signals()
    started: list[Server] = []
    try:
        watched = start(started)
        follow(watched)
        print(watched.log_text()[-3000:], file=sys.stderr)
        print(f"looplab {name}: it exited with code {watched.process.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for server in reversed(started):
            server.stop(timeout=15)
        if started:
            _say("stopped")


class RealVLLMCommand:
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        from ..real.vllm import VLLM_REQUIREMENT

        sub = parser.add_subparsers(dest="real_vllm_command", metavar="STEP", required=True)
        sub.add_parser("setup", help="install and build the model where vLLM can run (run.py setup's step)")
        install = sub.add_parser("install", help=f"build .venv-vllm/ with {VLLM_REQUIREMENT} (minutes, once)")
        install.add_argument("--force", action="store_true", help="rebuild even if it is already there")
        build = sub.add_parser("build-model", help="write the tiny random-weight Llama into .cache/tiny-llama/")
        build.add_argument("--force", action="store_true", help="rebuild even if it is already there")
        serve = sub.add_parser("serve", help="run a real vLLM serving tiny-llama until Ctrl-C")
        serve.add_argument("--port", type=int, default=0, help="port to bind (default: 0, a free one)")
        serve.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 routes")
        serve.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for it to start (default 180)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..real import vllm

        try:
            if args.real_vllm_command == "setup":
                return vllm.setup()
            if args.real_vllm_command == "install":
                vllm.ensure_env(force=args.force)
                return 0
            if args.real_vllm_command == "build-model":
                vllm.build_model(force=args.force)
                return 0
            return RealVLLMCommand._serve(args)
        except (vllm.RealVLLMError, ServerError) as exc:
            print(f"looplab real-vllm: {exc}", file=sys.stderr)
            return 1

    @staticmethod
    def _serve(args: argparse.Namespace) -> int:
        from ..real import vllm

        def start(started: list[Server]) -> Server:
            began = time.monotonic()
            _say("starting a real vLLM (about 25 s)")
            server = vllm.start_real_vllm(args.api_key, timeout=args.timeout, port=args.port or None, progress=_say)
            started.append(server)
            _say(f"real vLLM {vllm.VLLM_VERSION} serving {vllm.MODEL_NAME} on {server.url} (OpenAI base URL "
                 f"{server.base_url}), ready after {time.monotonic() - began:.0f} s, "
                 f"{server.rss_bytes() / 2**30:.1f} GiB resident")
            _say("press Ctrl-C to stop it")
            return server

        return _serve_until_stopped(start, lambda server: server.process.wait(), "real-vllm")


class RealStackCommand:
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        from ..real.envs import CLIENT_ENVS
        from ..real.releases import DEFAULT_MODEL, RELEASES

        parser.description = ("The released Llama Stack server, 0.2.2 (its remote::vllm adapter crashes with "
                              "'Event loop is closed') and 0.2.3 (fixed by PR #1969), against looplab's backend.")
        sub = parser.add_subparsers(dest="real_stack_command", metavar="{install,serve}", required=True)
        install = sub.add_parser("install", help="install the releases (cached: a second run takes a second)",
                                 description="Install releases from the package index into .cache/real-stack/, as "
                                             "overlays on the incident-era environment .venv-incident/ (openai 1.73).")
        install.add_argument("versions", nargs="*", metavar="VERSION",
                             help=f"{' or '.join(RELEASES)} (default: every release on every client environment "
                                  "looplab uses: both on .venv-incident/, 0.2.2 also on .venv-exact/)")
        install.add_argument("--client-env", choices=list(CLIENT_ENVS), default="incident-era",
                             help="the client environment the given versions go on (default: incident-era)")
        serve = sub.add_parser("serve", help="run a release on 127.0.0.1 until Ctrl-C",
                               description="Run a release's own server (bound to 127.0.0.1) against a backend; "
                                           "without --vllm-url, a mock vLLM is started for it.")
        serve.add_argument("version", choices=list(RELEASES), help="the release")
        serve.add_argument("--vllm-url", help="the backend's OpenAI base URL, e.g. http://127.0.0.1:8000/v1 "
                                              "(default: start a mock vLLM on a free port)")
        serve.add_argument("--model", default=DEFAULT_MODEL, help=f"the model to register (default: {DEFAULT_MODEL})")
        serve.add_argument("--api-token", default="fake", help="the backend's API key (default: fake)")
        serve.add_argument("--max-tokens", type=int, default=64, help="the provider's max_tokens (default: 64)")
        serve.add_argument("--port", type=int, help="port to bind on 127.0.0.1 (default: a free one)")
        serve.add_argument("--client-env", choices=list(CLIENT_ENVS), default="incident-era",
                           help="run it on the incident-era client (openai 1.73, httpcore 1.0.8) or on the "
                                "reporter's exact HTTP stack (httpcore 1.0.2) (default: incident-era)")
        serve.add_argument("--diagnostic-no-retries", action="store_true",
                           help="DIAGNOSTIC, not the release's behaviour: AsyncOpenAI defaults to max_retries=0, "
                                "so the crash the retries hid shows as an HTTP 500")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..real import releases

        try:
            base = releases.client_env(args.client_env)
            if args.real_stack_command == "install":
                for version in args.versions:
                    releases.check_version(version)  # all known before any install starts
                builds = [(v, base) for v in args.versions] or releases.BUILDS
                for version, on in builds:
                    releases.ensure_release(version, base=on)
                return 0
            releases.ensure_release(args.version, base=base)
            return RealStackCommand._serve(args)
        except (releases.ReleaseError, ValueError, FileNotFoundError, ServerError) as exc:
            print(f"looplab real-stack: {exc}", file=sys.stderr)
            return 1

    @staticmethod
    def _serve(args: argparse.Namespace) -> int:
        from ..real import releases
        from ..servers import start_mock

        def start(started: list[Server]) -> Server:
            vllm_url = args.vllm_url
            if not vllm_url:
                mock = start_mock(keepalive_s=60, models=[args.model])
                started.append(mock)
                vllm_url = mock.base_url
                _say(f"mock vLLM listening on {mock.url} (serving {args.model})")
            _say(f"starting llama-stack {args.version} against {vllm_url}"
                 + (" with the DIAGNOSTIC no-retries switch" if args.diagnostic_no_retries else ""))
            stack = releases.start_release(args.version, vllm_url, retries=not args.diagnostic_no_retries,
                                           api_token=args.api_token, model=args.model, max_tokens=args.max_tokens,
                                           port=args.port, base=releases.client_env(args.client_env))
            started.append(stack)
            body = json.dumps({"model_id": args.model, "messages": [{"role": "user", "content": "hello"}]})
            print(f"\n  llama-stack {args.version} listening on {stack.url}\n"
                  f"  try: curl -s {stack.url}/v1/inference/chat-completion -H 'content-type: application/json' "
                  f"-d '{body}'\n  Press Ctrl-C to stop. Its log follows.\n", flush=True)
            return stack

        return _serve_until_stopped(start, _follow, "real-stack")


def _follow(server: Server) -> None:
    """Copy the server's log to stdout until it exits (or Ctrl-C)."""
    position = 0
    while True:
        running = server.running
        try:
            with open(server.log_path, "rb") as log:
                log.seek(position)
                chunk = log.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            position += len(chunk)
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
        if not running:
            return
        time.sleep(0.2)  # polling a file, as tail -f does
