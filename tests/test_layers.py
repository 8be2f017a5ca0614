"""The house in layers, enforced: which folder may import which, no cycles, no private names
across folders, and code that runs in other interpreters importing only what those have.

The rules are written for people in ``looplab/README.md``; this test holds the code to them by
reading every module's imports (the AST, function-level imports included), and by importing the
code that runs elsewhere in the interpreter it runs in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from looplab.project import ROOT
from looplab.real.envs import incident_python
from looplab.real.vllm import installed as vllm_installed
from looplab.real.vllm import python as vllm_python

PACKAGE = ROOT / "looplab"
STUDIED = {"mock_vllm", "stack", "adapters"}
#: a module's layer -> the layers it may import (besides itself and the standard library)
ALLOWED = {
    "studied": set(),
    "base": set(),
    "servers": {"studied"},
    "proofs": {"studied", "servers", "base", "real"},  # measurements also run on the real systems' interpreters
    "real": {"studied", "servers", "base", "inside"},
    "inside": {"serve", "tools"},  # the loop guard (standard library) for the demos; the release wrapper watches its parent with looplab.servers.serve
    "serve": set(),  # the server side of servers/: standard library and uvicorn (and its own folder)
    "course": {"studied", "servers", "proofs", "real", "base", "inside", "tools"},
    "room": {"course", "servers", "base", "serve"},  # the shared JupyterHub: shows the course's checks, starts processes
    "entrypoints": {"studied", "servers", "proofs", "real", "course", "base", "inside", "serve", "tools", "room"},
    "root": {"studied", "servers", "proofs", "real", "course", "entrypoints", "base", "inside", "serve", "tools", "room"},
    "hooks": {"course", "entrypoints", "base"},
    "tools": set(),  # what a team takes home: nothing else of looplab
}
for _layer in ALLOWED.values():  # the server side of process handling is part of it
    if "servers" in _layer:
        _layer.add("serve")
#: third-party packages each interpreter-bound module may import (beyond the standard library)
INSIDE_PACKAGES = {
    "looplab.real.inside.tiny_model": {"torch", "transformers", "tokenizers"},
    "looplab.real.inside.release_wrapper": {"uvicorn", "openai", "llama_stack", "looplab"},
    "looplab.course.demos": {"openai", "anyio", "looplab"},  # looplab: the loop guard only (standard library)
    "looplab.tools": {"looplab_tools"},  # re-exports of the take-home tools' own distribution (standard library only)
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module == "looplab.servers.serve":
        return "serve"
    if parts[0] == "docs":
        return "hooks"
    if len(parts) == 1 or parts[1] == "__main__":
        return "root"
    top = parts[1]
    if top in STUDIED:
        return "studied"
    if top == "project":
        return "base"
    if parts[1:3] in (["real", "inside"], ["course", "demos"]):
        return "inside"
    return top


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    found["docs.hooks.site"] = ROOT / "docs" / "hooks" / "site.py"
    return found


MODULES = modules()


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    is_package = MODULES[importer].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in ``module``, except under TYPE_CHECKING."""
    tree = ast.parse(MODULES[module].read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            taken = [n for n in names if f"{target}.{n}" not in MODULES]
            if taken or not submodules:  # `from . import module` depends on the module, not on the package
                found.append((target, taken, node.lineno))
            found += [(sub, [], node.lineno) for sub in submodules]
    return found


def looplab_imports(module: str) -> list[tuple[str, list[str], int]]:
    return [(target, names, line) for target, names, line in imports(module)
            if target == "looplab" or target.startswith("looplab.")]


def folder_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def test_every_module_imports_only_the_layers_below_it():
    wrong = []
    for module in MODULES:
        mine = layer_of(module)
        for target, _, line in looplab_imports(module):
            theirs = layer_of(target)
            if folder_of(target) != folder_of(module) and theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_crosses_a_folder():
    wrong = []
    for module in MODULES:
        for target, names, line in looplab_imports(module):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and folder_of(target) != folder_of(module):
                wrong.append(f"{module}:{line} takes {private} from {target}")
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_cycle():
    graph = {m: {t for t, _, _ in looplab_imports(m) if t in MODULES and t != m} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, cycles


def test_the_layer_test_sees_a_wrong_import():
    """The checks above prove themselves: the layer map puts a proof importing the course above it."""
    assert "course" not in ALLOWED[layer_of("looplab.proofs.verify")]
    assert layer_of("looplab.real.inside.tiny_model") == "inside"
    assert layer_of("looplab.mock_vllm.app") == "studied" and not ALLOWED["studied"]
    fake = ast.parse("from ..course.helpers import chat\nfrom ..adapters.per_call_shared_ssl import _HttpClient\n")
    resolved = [_resolve("looplab.proofs.verify", node) for node in fake.body]  # type: ignore[arg-type]
    assert resolved == ["looplab.course.helpers", "looplab.adapters.per_call_shared_ssl"]


@pytest.mark.parametrize("module", sorted(INSIDE_PACKAGES))
def test_code_for_other_interpreters_imports_the_standard_library_and_what_they_have(module):
    paths = [p for name, p in MODULES.items() if name == module or name.startswith(module + ".")]
    wrong = []
    for name in (n for n, p in MODULES.items() if p in paths):
        for target, _, line in imports(name):
            top = target.split(".")[0]
            if target.startswith(module) or top in sys.stdlib_module_names or top == "__future__":
                continue
            allowed = INSIDE_PACKAGES[module]
            if top not in allowed or (top == "looplab" and target not in ("looplab.servers.serve", "looplab.tools.loopguard")):
                wrong.append(f"{name}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


CHECK_IMPORTS = """
import sys, importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'httpx2', 'rich', 'nbformat', 'matplotlib', 'mkdocs',
                                                       'jupyter_client', 'nbclient'})
print(','.join(heavy))
"""


def test_what_runs_in_the_incident_era_interpreter_imports_there():
    """``looplab stack --python .venv-incident/bin/python`` runs the studied system, the server side
    and the CLI there, and the demos and the release wrapper run there too: all must import with only
    that environment's packages (openai 1.73 on httpx, no httpx2, no rich)."""
    wanted = ["looplab.entrypoints.cli", "looplab.entrypoints.servers_cli", "looplab.stack.main",
              "looplab.mock_vllm.app", "looplab.adapters.per_call_shared_ssl", "looplab.servers.serve",
              "looplab.course.demos.two_loops", "looplab.real.inside.release_wrapper"]
    result = subprocess.run([str(incident_python()), "-c", CHECK_IMPORTS, *wanted], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout}"
    # The release wrapper must import nothing that imports openai: the release configures logging
    # (dictConfig, which disables every logger that exists by then) when it starts, and openai's
    # "Retrying request" log line, the proof of the hidden retry, would be lost.
    early = subprocess.run([str(incident_python()), "-c", "import sys, looplab.real.inside.release_wrapper; "
                            "print(sorted(m for m in ('openai', 'httpx', 'fastapi') if m in sys.modules))"],
                           capture_output=True, text=True, timeout=120)
    assert early.returncode == 0 and early.stdout.strip() == "[]", early.stdout + early.stderr[-2000:]
    for command in ("stack", "mock-vllm"):
        helped = subprocess.run([str(incident_python()), "-m", "looplab", command, "--help"], capture_output=True,
                                text=True, timeout=120)
        assert helped.returncode == 0 and "--port" in helped.stdout, helped.stderr[-2000:]


def test_the_tiny_model_builder_imports_in_vllms_interpreter():
    if not vllm_installed():
        pytest.skip("no .venv-vllm/ here (run `python3 run.py setup`)")
    path = MODULES["looplab.real.inside.tiny_model"]
    code = (f"import importlib.util as u; s = u.spec_from_file_location('tiny_model', {str(path)!r}); "
            "m = u.module_from_spec(s); s.loader.exec_module(m); print(callable(m.main))")
    result = subprocess.run([str(vllm_python()), "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"})
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-2000:]


def test_the_cli_imports_a_command_only_when_it_runs():
    code = ("import sys; from looplab.entrypoints import cli; cli.build_parser(only='mock-vllm'); "
            "print(sorted(m for m in sys.modules if m.startswith(('looplab.proofs', 'looplab.real', 'looplab.course'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_is_a_monolith():
    sizes = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()}
    assert max(sizes.values()) <= 450, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
