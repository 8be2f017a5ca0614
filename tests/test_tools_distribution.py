"""The take-home tools installed alone: the looplab-tools wheel, built from this repository into a
temporary folder and installed into a fresh virtual environment with nothing else, works as a
command, through flake8 itself, as a pre-commit hook against a local repository, and as pytest's
--loop-guard. Offline: the wheel has no dependencies (--no-index); flake8, pytest and pre-commit,
when a test needs them, are the workshop's own (locked in uv.lock), lent to the fresh environment
through a .pth file that lists only their folders, never looplab's."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from looplab.project import ROOT

BUGGY = textwrap.dedent("""
    import aiohttp


    class Adapter:
        def __init__(self):
            self.session = aiohttp.ClientSession()
    """)


def _uv() -> str:
    for candidate in (ROOT / ".tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise AssertionError("uv is missing: `python3 run.py setup` installs it into .tools/")


def _run(*cmd, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN002, ANN003
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> Path:
    """A fresh venv holding the looplab-tools wheel and nothing else; its python."""
    root = tmp_path_factory.mktemp("alone")
    built = _run(_uv(), "build", "--wheel", "--offline", "--out-dir", root / "dist", ROOT / "looplab-tools")
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (root / "dist").glob("looplab_tools-*.whl")
    made = _run(sys.executable, "-m", "venv", "--without-pip", root / "venv")
    assert made.returncode == 0, made.stderr
    python = root / "venv" / "bin" / "python"
    installed = _run(_uv(), "pip", "install", "--offline", "--no-index", "--python", python, wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return python


def _site(python: Path) -> Path:
    return Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())


def _lend(python: Path, *names: str) -> None:
    """Make the workshop's installed ``names`` (and what they require) importable in ``python``'s venv,
    by a .pth of symlinks: their packages and dist-info only (so their entry points are seen too)."""
    folder = python.parent.parent / "lent"
    folder.mkdir(exist_ok=True)
    todo, seen = [Requirement(n) for n in names], set()
    while todo:
        requirement = todo.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen or name == "looplab-tools" or requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        todo += [Requirement(r) for r in dist.requires or []]
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists():
                (folder / top).symlink_to(source)
    (_site(python) / "lent.pth").write_text(f"{folder}\n")


def test_installing_the_tools_installs_nothing_else(alone):
    listed = _run(_uv(), "pip", "list", "--python", alone, "--format", "json")
    assert [p["name"] for p in json.loads(listed.stdout)] == ["looplab-tools"]
    no_looplab = _run(alone, "-c", "import looplab", cwd=alone.parent)
    assert no_looplab.returncode != 0 and "No module named 'looplab'" in no_looplab.stderr


def test_the_command_from_the_wheel_finds_the_bug_and_says_a_users_mistake_in_one_line(alone, tmp_path):
    (tmp_path / "adapter.py").write_text(BUGGY)
    command = alone.parent / "looplab-lint"
    found = _run(command, "--format", "sarif", tmp_path)
    assert found.returncode == 1, found.stderr
    [result] = json.loads(found.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "LL001" and result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    wrong = _run(command, "--select", "LL009", tmp_path)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr and wrong.stderr.count("\n") == 1
    assert "unknown rule 'LL009'" in wrong.stderr


def test_flake8_runs_the_rules_through_the_wheels_entry_point(alone, tmp_path):
    _lend(alone, "flake8")
    (tmp_path / "adapter.py").write_text(BUGGY)
    run = _run(alone, "-m", "flake8", "--select", "LL", "adapter.py", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert re.fullmatch(r"adapter\.py:7:9: LL001 client-made-at-startup: ClientSession made in __init__\(\).*\n", run.stdout)
    quiet = _run(alone, "-m", "flake8", "--select", "LL", "--extend-ignore", "LL001", "adapter.py", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == ""
    (tmp_path / "adapter.py").write_text(BUGGY.replace("ClientSession()", "ClientSession()  # noqa: LL001"))
    assert _run(alone, "-m", "flake8", "--select", "LL", "adapter.py", cwd=tmp_path).returncode == 0


def test_pytest_loop_guard_from_the_wheel_is_off_until_asked(alone, tmp_path):
    """The wheel's pytest11 entry point: loaded by pytest itself (no -p), off until --loop-guard; then a
    client used on two loops (httpx, with a mock transport: no network) fails with the guard's error."""
    _lend(alone, "pytest", "httpx")
    (tmp_path / "test_two_loops.py").write_text(textwrap.dedent("""
        import asyncio
        import httpx

        client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200)))

        def test_first_loop():
            assert asyncio.run(client.get("http://test/")).status_code == 200

        def test_second_loop():
            assert asyncio.run(client.get("http://test/")).status_code == 200
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    pytest_ = [alone, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_two_loops.py"]
    off = _run(*pytest_, env=env, cwd=tmp_path)
    assert off.returncode == 0 and "2 passed" in off.stdout, off.stdout[-2000:]
    on = _run(*pytest_, "--loop-guard", env=env, cwd=tmp_path)
    assert on.returncode == 1 and "1 failed, 1 passed" in on.stdout, on.stdout[-2000:]
    assert "LoopAffinityError: AsyncClient made at" in on.stdout and "test_two_loops.py:5" in on.stdout
    header = _run(alone, "-m", "pytest", "-p", "no:cacheprovider", "--loop-guard", "--co", "test_two_loops.py",
                  env=env, cwd=tmp_path)
    assert "loop guard: on for httpx.AsyncClient" in header.stdout, header.stdout


def test_the_pre_commit_hook_runs_from_a_local_copy_of_this_repository(tmp_path):
    """pre-commit clones the hook repository (a local git repository here, made of this checkout's
    hook files) and runs the hook on a project's staged files: a finding fails the commit."""
    hooks = tmp_path / "hooks"
    shutil.copytree(ROOT / "looplab-tools", hooks / "looplab-tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "hooks"]):
        assert _run(*git, *cmd, cwd=hooks).returncode == 0
    rev = _run("git", "rev-parse", "HEAD", cwd=hooks).stdout.strip()
    project = tmp_path / "project"
    project.mkdir()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: looplab-lint\n")
    (project / "adapter.py").write_text(BUGGY)
    (project / "clean.py").write_text("x = 1\n")
    assert _run(*git, "init", "-q", cwd=project).returncode == 0
    assert _run(*git, "add", "-A", cwd=project).returncode == 0
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    pre_commit = [sys.executable, "-m", "pre_commit"]
    failed = _run(*pre_commit, "run", "--all-files", cwd=project, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "adapter.py:7:9: LL001" in failed.stdout and "clean.py" not in failed.stdout
    (project / "adapter.py").write_text(BUGGY.replace("ClientSession()", "ClientSession()  # noqa: LL001"))
    passed = _run(*pre_commit, "run", "--all-files", cwd=project, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_the_distribution_imports_only_the_standard_library_and_keeps_modules_small():
    """What `dependencies = []` promises, read off every module's imports (the AST, nested ones too);
    and the 450-line limit the workshop's own modules keep (tests/test_layers.py)."""
    import ast

    wrong, sizes = [], {}
    for path in sorted((ROOT / "looplab-tools" / "src").rglob("*.py")):
        source = path.read_text()
        sizes[path.name] = len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            wrong += [f"{path.name}: {n}" for n in names
                      if n.split(".")[0] not in sys.stdlib_module_names | {"looplab_tools", "tomli"}]
    assert not wrong, wrong  # tomli: only tried on Python 3.10, where tomllib is missing
    assert max(sizes.values()) <= 450, sizes
