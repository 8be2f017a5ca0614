"""looplab-lint as a team drives it: its settings in pyproject.toml, one-line mistakes, the output
formats, --jobs, and fix messages that are right for the code they point at."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from looplab.tools import lint

INCIDENTS = Path(__file__).parent / "fixtures" / "incidents"


def lint_cmd(*args, cwd=None):  # noqa: ANN001, ANN002
    return subprocess.run([sys.executable, "-m", "looplab_tools.lint", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def rules(source: str, **kwargs) -> list[str]:  # noqa: ANN003
    return [f.rule for f in lint.check_source(textwrap.dedent(source), **kwargs)]


def test_a_project_declares_its_own_constructor_and_what_binds_when_made(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        from ourlib.http import make_client
        class Adapter:
            def __init__(self):
                self.client = make_client()
    """))
    assert lint_cmd(tmp_path).returncode == 0  # unknown to the lint: nothing to say
    (tmp_path / "pyproject.toml").write_text('[tool.looplab-lint]\nbinds-at-construction = ["ourlib.http.make_client"]\n')
    found = lint_cmd("--format", "json", tmp_path)
    assert found.returncode == 1 and [f["rule"] for f in json.loads(found.stdout)] == ["LL001"]
    (tmp_path / "pyproject.toml").write_text('[tool.looplab-lint]\nbinds-at-construction = ["ourlib.http.make_client"]\n'
                                             '[tool.looplab-lint.per-file-ignores]\n"app.py" = ["LL001"]\n')
    assert lint_cmd(tmp_path).returncode == 0


def test_select_and_ignore_from_the_command_line_and_the_file(tmp_path):
    folder = INCIDENTS / "llama_stack_0_2_2"
    both = json.loads(lint_cmd("--format", "json", folder).stdout)
    assert sorted(f["rule"] for f in both) == ["LL001", "LL002"]
    only = json.loads(lint_cmd("--format", "json", "--select", "LL002", folder).stdout)
    assert [f["rule"] for f in only] == ["LL002"]
    (tmp_path / "pyproject.toml").write_text('[tool.looplab-lint]\nignore = ["LL002"]\n')
    ignored = json.loads(lint_cmd("--format", "json", "--config", tmp_path / "pyproject.toml", folder).stdout)
    assert [f["rule"] for f in ignored] == ["LL001"]


@pytest.mark.parametrize("setting, says", [
    ('select = ["LL9"]', "unknown rule 'LL9'"),
    ('colour = "red"', "unknown key 'colour'"),
    ("extra-constructors = \"ourlib.make\"", "extra-constructors: give a list of dotted names"),
    ("select = [", "not valid TOML"),
])
def test_a_bad_setting_is_one_line_naming_the_fix_and_exit_2(tmp_path, setting, says):
    (tmp_path / "pyproject.toml").write_text(f"[tool.looplab-lint]\n{setting}\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    run = lint_cmd(tmp_path)
    assert run.returncode == 2 and says in run.stderr and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_bad_options_are_one_line_too(tmp_path):
    for args, says in ((["--jobs", "-1", tmp_path], "--jobs -1"), (["--config", tmp_path / "nope.toml", tmp_path], "no such file"),
                       ([tmp_path / "missing"], "no such file or folder")):
        run = lint_cmd(*args)
        assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_sarif_is_a_valid_log_with_every_rule_and_each_result_located():
    log = json.loads(lint_cmd("--format", "sarif", INCIDENTS / "ogx_6057").stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(lint.RULES)
    located = sorted((r["ruleId"], Path(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name,
                      r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"])
    assert located == [("LL001", "vertexai.py", 13), ("LL002", "server.py", 15)]


def test_jobs_find_the_same_as_one_process():
    one, _ = lint.check_paths([INCIDENTS], jobs=1)
    two, _ = lint.check_paths([INCIDENTS], jobs=2)
    assert one == two and len(one) > 10


def test_start_up_loops_of_every_kind_before_a_server():
    for start in ("anyio.run(construct)", "loop.run_until_complete(construct())",
                  "concurrent.futures.ThreadPoolExecutor().submit(asyncio.run, construct()).result()"):
        source = f"""
            import anyio, asyncio, concurrent.futures, uvicorn
            def main(loop):
                {start}
                uvicorn.run(app)
        """
        assert rules(source) == ["LL002"], start


def test_no_finding_for_a_constructor_inside_pytest_raises():
    assert rules("""
        import httpx, pytest
        async def test_bad_option():
            with pytest.raises(TypeError):
                client = httpx.AsyncClient(no_such_option=1)
    """) == []
    assert rules("""
        import httpx
        async def fetch():
            client = httpx.AsyncClient()
            return await client.get("/")
    """) == ["LL004"]


def test_the_fix_message_never_says_async_with_for_a_stream_or_a_shared_default():
    stream = lint.check_source(textwrap.dedent("""
        from openai import AsyncOpenAI
        async def chat(messages):
            client = AsyncOpenAI()
            return await client.chat.completions.create(model="m", messages=messages, stream=True)
    """))
    assert [f.rule for f in stream] == ["LL004"] and "async with" not in stream[0].fix.split("not with")[0]
    assert "stream ends" in stream[0].fix
    shared = lint.check_source(textwrap.dedent("""
        from openai import AsyncOpenAI
        async def ask(default=None):
            client = default if default else AsyncOpenAI()
            return await client.models.list()
    """))
    assert [f.rule for f in shared] == ["LL004"] and "close only the client this call made" in shared[0].fix
    plain = lint.check_source(textwrap.dedent("""
        from openai import AsyncOpenAI
        async def ask():
            client = AsyncOpenAI()
            return await client.models.list()
    """))
    assert "`async with` the client" in plain[0].fix  # where it is right, it is still said


def test_one_walk_per_file_no_node_is_visited_twice(monkeypatch):
    """The speed contract (at most 2x ast.parse, measured on pydantic-ai: 1.4x) rests on one walk per
    file: the rules read the facts it gathers, they never walk a tree again."""
    import ast

    from looplab_tools.lint import scan

    seen: list[int] = []
    original = scan.Scanner.visit

    def counting(self, node):  # noqa: ANN001, ANN202
        seen.append(id(node))
        return original(self, node)

    monkeypatch.setattr(scan.Scanner, "visit", counting)
    for path in [*INCIDENTS.rglob("*.py"), *Path(lint.__file__).parent.parent.rglob("*.py")]:
        tree = ast.parse(path.read_text())
        seen.clear()
        scan.Scanner(str(path), path.stem).scan(tree)
        nodes = {id(n) for n in ast.walk(tree) if n._fields}  # not the shared Load, Add, Or... singletons
        visited = [n for n in seen if n in nodes]  # (a call's arguments are wrapped in one new Tuple node)
        assert len(visited) == len(set(visited)), path
