"""What set-up installs is stated once (docs/data/setup-installs.yml) and rendered everywhere it is
said: the setup page, the facilitator guide, the prerequisites (mkdocs placeholders), the README
(a block this test compares). The sizes are compared with a real wheelhouse in test_wheelhouse.py."""

from __future__ import annotations

import re
import subprocess
import sys

from looplab.course import installs
from looplab.project import ROOT

RUN_PY = (ROOT / "run.py").read_text()


def test_the_readme_states_the_first_setup_as_the_data_file_does(tmp_path):
    assert installs.readme_problem() is None
    stale = tmp_path / "README.md"
    stale.write_text(installs.README.read_text().replace(installs.summary("en"), "The first set-up takes a few minutes."))
    assert "differs from docs/data/setup-installs.yml" in installs.readme_problem(stale)


def test_every_page_that_speaks_of_the_first_setup_renders_it_from_the_data_file():
    for page in ("setup", "instructor/prerequisites"):
        for suffix in (".md", ".zh.md"):
            text = (ROOT / "docs" / f"{page}{suffix}").read_text()
            assert "<!-- looplab:setup-size -->" in text, page + suffix
            assert "a few minutes" not in text and "几分钟" not in text, page + suffix
    for suffix in (".md", ".zh.md"):
        assert "<!-- looplab:setup-installs -->" in (ROOT / "docs" / f"setup{suffix}").read_text()
        assert "<!-- looplab:setup-size-message -->" in (ROOT / "docs" / f"instructor/prerequisites{suffix}").read_text()


def test_the_table_says_which_command_installs_what_as_run_py_does():
    """run.py sets up in full for every command but workshop and room; the data file must agree."""
    assert 'setup(full=command not in ("workshop", "room"))' in RUN_PY
    light = {p["id"] for p in installs.load()["parts"] if set(p["commands"]) & set(installs.LIGHT)}
    assert light == {"uv", "venv", "client-envs", "releases", "mermaid"}
    # the full set-up's extra steps are the vLLM and Chromium rows
    assert re.search(r"if full:\s+setup_real_vllm\(\)\s+setup_chromium\(\)", RUN_PY)
    for lang in ("en", "zh"):
        table = installs.table(lang)
        assert table.count("\n|") == len(installs.load()["parts"]) + 1, table


def test_the_prerequisites_message_stops_the_workshop_before_running_doctor():
    for suffix in (".md", ".zh.md"):
        text = (ROOT / "docs" / f"instructor/prerequisites{suffix}").read_text()
        message = text[text.index("Before the workshop, please:"):]
        assert message.index("press Ctrl-C") < message.index("looplab doctor"), suffix


def test_write_readme_fails_in_one_line_without_its_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no block\n")
    done = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from looplab.course import installs; "
                           "installs.write_readme(Path(sys.argv[1]))", str(readme)], capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr and "no <!-- looplab:setup-size -->" in done.stderr


def test_no_process_builds_jsonschemas_iri_grammars_it_never_uses():
    """jsonschema's optional IRI format checker, rfc3987-syntax 1.1.0, builds 39 Lark parsers when
    it is imported: 1.8 s measured here in every process that imports nbformat or jupyter_events (each
    pytest run, each notebook check, each JupyterLab; python-jsonschema/jsonschema#1428). No schema
    in the environment uses the ``iri`` formats (none of the installed packages' JSON or YAML files
    names them), so pyproject.toml's override keeps the package, and Lark with it, out of every
    set-up and room."""
    assert "overrides = [{ name = \"rfc3987-syntax\", marker = \"sys_platform == 'never'\" }]" in \
        (ROOT / "uv.lock").read_text()
    code = ("import sys, nbformat, jupyter_events.validators, jsonschema; "
            "print(sorted(m for m in ('rfc3987_syntax', 'lark') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def test_a_pytest_run_here_does_not_import_hypothesis():
    """Hypothesis's pytest plugin imports all of Hypothesis (about 1 s of CPU) at the end of every run,
    and the suite starts over a hundred pytest runs: pyproject's addopts turn the plugin off (the
    module that uses Hypothesis imports it itself)."""
    code = ("import sys, pytest; pytest.main(['-q', '--co', '-p', 'no:cacheprovider', 'tests/test_layers.py']); "
            "print('HYPOTHESIS', 'hypothesis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert "HYPOTHESIS False" in out, out[-2000:]
