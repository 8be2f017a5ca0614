"""looplab lint, proven on real code: the released llama-stack 0.2.2 and 0.2.3, and the demo cases.

The releases' sources are read from the cached installs of looplab.real.releases (set up by
run.py); each rule also has a small wrong and right example here, so a rule that stops firing,
or starts firing on the fix, fails a test.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from looplab.course.demos import cases
from looplab.real import releases
from looplab.tools import lint

CASES_DIR = Path(cases.__file__).parent
ADAPTER = "llama_stack/providers/remote/inference/vllm/vllm.py"
SERVER = "llama_stack/distribution/server/server.py"


def release_file(version: str, relative: str) -> Path:
    path = releases.overlay_dir(version) / relative
    assert path.exists(), f"{path}: the llama-stack {version} install is missing (python3 run.py setup makes it)"
    return path


def rules_at(findings):
    return sorted((f.rule, f.line) for f in findings)


def test_0_2_2_adapter_makes_its_client_in_initialize_and_start_up_uses_it_in_register_model():
    """The whole release, scanned as one package: the stack calls register_model while it is built
    (construct_stack -> register_resources -> getattr(impl, "register_model")), and 0.2.2's
    register_model lists the models with the client initialize() made: made and used at start-up."""
    package = release_file("0.2.2", ADAPTER).parents[4]
    found = [f for f in lint.check_paths([package])[0] if f.path.endswith(ADAPTER)]
    startup = [f for f in found if f.rule == "LL001"]
    assert len(startup) == 1 and "initialize()" in startup[0].message and "self.client" in startup[0].message
    assert "register_model()" in startup[0].message
    alone = [f for f in lint.check_paths([release_file("0.2.2", ADAPTER)])[0] if f.rule == "LL001"]
    assert alone == [], "the adapter alone does not say that register_model runs at start-up"
    source = release_file("0.2.2", ADAPTER).read_text().splitlines()
    assert "AsyncOpenAI(" in source[startup[0].line - 1]


def test_0_2_3_adapter_is_not_flagged_for_startup_but_for_its_lazy_cache_and_its_unclosed_client():
    found = lint.check_paths([release_file("0.2.3", ADAPTER)])[0]
    assert not [f for f in found if f.rule == "LL001"], found
    by_rule = {f.rule: f for f in found}
    # _lazy_initialize_client: one client, made on the first call's loop, kept for every later one
    assert "LL003" in by_rule and "lazily" in by_rule["LL003"].message
    # register_model's `self._create_client() if self.client is None else self.client`: never closed
    source = release_file("0.2.3", ADAPTER).read_text().splitlines()
    assert "LL004" in by_rule and "_create_client()" in source[by_rule["LL004"].line - 1]


@pytest.mark.parametrize("version", ["0.2.2", "0.2.3"])
def test_both_servers_run_startup_under_asyncio_run_then_uvicorn(version):
    found = [f for f in lint.check_paths([release_file(version, SERVER)])[0] if f.rule == "LL002"]
    assert len(found) == 1 and "uvicorn.run()" in found[0].message and "main()" in found[0].message


#: what the lint must find in each case (rule, and the top-level name it sits in): every broken variant
#: it can see, and nothing in any fixed one
EXPECTED = {
    "cli_reruns": {("LL003", "get_client")},
    "sync_init": {("LL001", "BrokenService")},
    "warm_start": {("LL005", "broken")},
    "task_worker": {("LL005", "broken")},
    "test_fixture": {("LL005", "broken")},
    "preload_fork": {("LL005", "broken")},
    "loop_blind_cache": {("LL003", "cached_client")},
    "late_finalizer": {("LL005", "Session")},  # asyncio.run(self.client.close()) in __del__
}


def _top_level_name(tree: ast.Module, line: int) -> str:
    for node in tree.body:
        if node.lineno <= line <= (node.end_lineno or node.lineno) and hasattr(node, "name"):
            return node.name
    return "<module>"


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_lint_flags_each_broken_case_and_no_fixed_one(case):
    path = CASES_DIR / f"{case.name}.py"
    tree = ast.parse(path.read_text())
    found = {(f.rule, _top_level_name(tree, f.line)) for f in lint.check_paths([path])[0]}
    assert found == EXPECTED[case.name]
    assert not any(name.startswith(("fixed", "Fixed", "Closing", "loop_client", "close_loop")) for _, name in found)


WRONG_AND_RIGHT = {
    "LL001": ("""
        from openai import AsyncOpenAI
        class Adapter:
            async def initialize(self):
                self.client = AsyncOpenAI()
                self.models = await self.client.models.list()
        """, """
        from openai import AsyncOpenAI
        class Adapter:
            async def on_serving_start(self):
                self.client = AsyncOpenAI()
                self.models = await self.client.models.list()
        """),
    "LL002": ("""
        import asyncio, uvicorn
        def main():
            impls = asyncio.run(construct_stack())
            uvicorn.run(app)
        """, """
        import uvicorn
        def main():
            uvicorn.run(app)
        """),
    "LL003": ("""
        import httpx
        _pool = {}
        def client_for(url):
            if url not in _pool:
                _pool[url] = httpx.AsyncClient(base_url=url)
            return _pool[url]
        """, """
        import asyncio, httpx, weakref
        _pool = weakref.WeakKeyDictionary()
        def client_for(url):
            per_loop = _pool.setdefault(asyncio.get_running_loop(), {})
            if url not in per_loop:
                per_loop[url] = httpx.AsyncClient(base_url=url)
            return per_loop[url]
        """),
    "LL004": ("""
        import aiohttp
        async def fetch(url):
            session = aiohttp.ClientSession()
            return await session.get(url)
        """, """
        import aiohttp
        async def fetch(url):
            async with aiohttp.ClientSession() as session:
                return await session.get(url)
        """),
    "LL005": ("""
        import asyncio
        from openai import AsyncOpenAI as Client
        client = Client()
        def handler(event):
            return asyncio.run(answer(client, event))
        """, """
        import asyncio
        from openai import AsyncOpenAI as Client
        async def answer_once(event):
            async with Client() as client:
                return await answer(client, event)
        def handler(event):
            return asyncio.run(answer_once(event))
        """),
}


@pytest.mark.parametrize("rule", sorted(WRONG_AND_RIGHT))
def test_each_rule_fires_on_its_wrong_example_and_not_on_its_fix(rule):
    wrong, right = (textwrap.dedent(s) for s in WRONG_AND_RIGHT[rule])
    assert rule in {f.rule for f in lint.check_source(wrong)}
    assert lint.check_source(right) == []


def test_noqa_answers_a_finding_for_its_rule_only():
    source = "import aiohttp\nsession = aiohttp.ClientSession()  # noqa: LL001\n"
    assert lint.check_source(source) == []
    assert lint.check_source(source.replace("LL001", "LL004"))


def test_the_command_prints_json_and_exits_1_on_findings_0_on_clean_2_on_a_missing_path(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    run = lambda *a: subprocess.run([sys.executable, "-m", "looplab", "lint", *a], capture_output=True, text=True)  # noqa: E731
    found = run("--json", str(CASES_DIR / "warm_start.py"))
    assert found.returncode == 1, found.stderr
    [finding] = json.loads(found.stdout)
    assert set(finding) == {"rule", "name", "path", "line", "col", "message", "fix"} and finding["rule"] == "LL005"
    assert run(str(clean)).returncode == 0
    missing = run(str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "nope.py" in missing.stderr


def test_the_flake8_plugin_reports_the_same_findings():
    path = CASES_DIR / "sync_init.py"
    plugin = lint.Flake8Checker(ast.parse(path.read_text()), str(path))
    reported = [(line, text.split()[0]) for line, _, text, _ in plugin.run()]
    assert reported == [(f.line, f.rule) for f in lint.check_paths([path])[0]]


def test_a_client_put_into_keyword_arguments_is_not_a_cache():
    source = textwrap.dedent("""
        import httpx
        from openai import AsyncOpenAI
        def make(url):
            extra = {}
            extra["http_client"] = httpx.AsyncClient()
            return AsyncOpenAI(base_url=url, **extra)
    """)
    assert [f.rule for f in lint.check_source(source)] == []


def test_a_hidden_folder_given_on_the_command_line_is_read_and_hidden_ones_below_it_are_not(tmp_path):
    root = tmp_path / ".venv"
    (root / ".git").mkdir(parents=True)
    (root / "app.py").write_text("import aiohttp\nsession = aiohttp.ClientSession()\n")
    (root / ".git" / "hook.py").write_text("import aiohttp\nsession = aiohttp.ClientSession()\n")
    assert [Path(f.path).name for f in lint.check_paths([root])[0]] == ["app.py"]
