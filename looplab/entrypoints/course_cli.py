"""``looplab labs``, ``looplab episodes`` and ``looplab i18n``: build and check the course's notebooks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class LabsCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        actions = p.add_subparsers(dest="labs_command", required=True, metavar="ACTION")
        build = actions.add_parser("build", help="write labs/ from solutions/ (deterministic)")
        build.add_argument("--check", action="store_true", help="only report labs that differ; exit 1 if any")
        check = actions.add_parser("check", help="run lab notebooks in fresh kernels and report each check")
        check.add_argument("paths", nargs="+", type=Path, help="lab notebooks, or folders of them")
        check.add_argument("--timeout", type=float, default=180.0, metavar="SECONDS",
                           help="longest a notebook may run before it counts as hanging (default: 180)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..course import labs

        if args.labs_command == "check":
            return labs.check_command(args.paths, timeout=args.timeout)
        changed = labs.build(check=args.check)
        for path in changed:
            print(f"{'differs' if args.check else 'written'}: {path.relative_to(labs.ROOT)}")
        if args.check and changed:
            print("labs/ is generated: run `looplab labs build` and commit the result", file=sys.stderr)
            return 1
        return 0


class EpisodesCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("action", choices=["sync", "check"])

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..course import episodes

        manifest = episodes.load()
        stale = []
        for episode in manifest.episodes:
            shown = episode.notebook.relative_to(episodes.ROOT)
            if not episode.notebook.exists():
                print(f"missing: {shown} (episode {episode.number})", file=sys.stderr)
                stale.append(episode.notebook)
                continue
            if episodes.sync(episode.notebook, episode, check=args.action == "check"):
                stale.append(episode.notebook)
                print(f"{'out of date' if args.action == 'check' else 'updated'}: {shown}")
        if args.action == "check" and stale:
            print("run `looplab episodes sync` and commit the result", file=sys.stderr)
            return 1
        return 0


class I18nCommand:
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("action", choices=["check", "extract", "build"],
                       help="check: translations up to date and zh/ built from them (exit 1 if not); "
                            "extract: add entries for untranslated cells; build: write zh/")
        p.add_argument("--lang", default="zh", help="the language (default: zh, Simplified Chinese)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ..course import i18n

        if args.lang not in i18n.LANGUAGES:
            print(f"looplab i18n: no language {args.lang!r}; known: {', '.join(i18n.LANGUAGES)}", file=sys.stderr)
            return 2
        try:
            return I18nCommand._run(args, i18n)
        except i18n.TranslationError as error:
            print(f"looplab i18n: {error}", file=sys.stderr)
            return 1

    @staticmethod
    def _run(args: argparse.Namespace, i18n) -> int:  # noqa: ANN001 (the module, imported when the command runs)
        if args.action == "extract":
            for notebook in i18n.english_notebooks():
                added = i18n.extract(notebook, args.lang)
                if added:
                    print(f"{i18n.translation_file(notebook, args.lang).relative_to(i18n.ROOT)}: {added} new "
                          "cell(s) to translate")
            added = i18n.extract_strings(args.lang)
            if added:
                print(f"translations/{args.lang}/{i18n.STRINGS}: {added} new text(s) to translate")
            return 0
        trouble = i18n.all_problems(args.lang)
        for problem in trouble:
            print(problem, file=sys.stderr)
        if trouble:
            print(f"looplab i18n: {len(trouble)} cell(s) to translate or update (translations/{args.lang}/)",
                  file=sys.stderr)
            return 1
        changed = i18n.build(args.lang, check=args.action == "check")
        for path in changed:
            print(f"{'differs' if args.action == 'check' else 'written'}: {path.relative_to(i18n.ROOT)}")
        if args.action == "check" and changed:
            print(f"{args.lang}/ is generated: run `looplab i18n build --lang {args.lang}` and commit the result",
                  file=sys.stderr)
            return 1
        return 0


class DemosCommand:
    """``looplab demos list`` (the cases of the same bug elsewhere) and ``looplab demos run NAME``."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        actions = p.add_subparsers(dest="demos_command", required=True, metavar="ACTION")
        actions.add_parser("list", help="name every case, its fix pattern and the reports it comes from")
        run = actions.add_parser("run", help="run one case, broken then fixed, against the mock (or --base-url)")
        run.add_argument("name", help="a case's name, as `looplab demos list` gives it")
        run.add_argument("--variant", choices=["broken", "fixed", "both"], default="both")
        run.add_argument("--base-url", help="an OpenAI-compatible backend (default: a mock started for the run)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        import contextlib

        from ..course.demos import cases

        if args.demos_command == "list":
            for case in cases.CASES:
                print(f"{case.number}  {case.name:<17} {case.pattern:<15} {case.title}")
                print(f"   {'':<17} {'':<15} seen in {', '.join(case.seen_in)}")
            return 0
        if args.name not in cases.BY_NAME:
            print(f"looplab demos: no case {args.name!r}; `looplab demos list` names them "
                  f"({', '.join(cases.BY_NAME)})", file=sys.stderr)
            return 2
        with contextlib.ExitStack() as stack:
            base_url = args.base_url
            if base_url is None:
                from ..servers import start_mock

                base_url = stack.enter_context(start_mock()).base_url
            for variant in (["broken", "fixed"] if args.variant == "both" else [args.variant]):
                result = cases.run(args.name, variant, base_url)
                print(f"{variant}:")
                for s in result["steps"]:
                    print(f"  {s['step']}: {'ok' if s['outcome'] == 'ok' else s['root']}")
                for ignored in result["ignored"]:
                    print(f"  Exception ignored in {ignored['in'][:60]}: {ignored['root']}")
                if result["resource_warnings"]:
                    print(f"  ResourceWarning: {result['resource_warnings'][0]}")
        return 0
