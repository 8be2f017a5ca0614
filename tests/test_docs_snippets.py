"""Every code snippet the website shows lives in a file, and runs here (as FastAPI's docs do)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from looplab.servers import start_mock, start_stack
from looplab.stack import load_config
from looplab.course.helpers import chat, error_of

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_crash_in_ten_lines_crashes_on_the_second_loop():
    script = DOCS / "snippets" / "crash_in_ten_lines.py"
    assert len([line for line in script.read_text().splitlines() if line.strip()]) <= 10
    with start_mock(keepalive_s=60) as mock:
        run = subprocess.run([sys.executable, str(script), mock.base_url], capture_output=True, text=True, timeout=60)
    assert "loop 1:" in run.stdout and "loop 2:" not in run.stdout
    assert run.stderr.strip().endswith("RuntimeError: Event loop is closed")


def test_the_run_config_on_the_reference_page_loads_and_serves(tmp_path):
    config = load_config(DOCS / "snippets" / "run.yaml")
    assert config.adapter == "lifespan" and config.models == ["tiny-llama"] and config.vllm.max_retries == 0
    with start_mock(keepalive_s=60) as mock:
        data = yaml.safe_load((DOCS / "snippets" / "run.yaml").read_text())
        data["inference"]["url"] = mock.base_url
        local = tmp_path / "run.yaml"
        local.write_text(yaml.safe_dump(data))
        with start_stack(adapter=config.adapter, vllm_url=mock.base_url, config=local) as stack:
            assert error_of(chat(stack.base_url)) == "200 OK"


def test_snippet_sections_the_site_includes_exist():
    for path, section in (("looplab/adapters/per_call.py", "stream"), ("looplab/adapters/base.py", "protocol")):
        text = (DOCS.parent / path).read_text()
        assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text


def test_notebook_01_writes_exactly_the_snippet_the_site_shows():
    """The ten lines appear twice (notebook cell, site page): one text, checked here, so they cannot drift."""
    import nbformat

    nb = nbformat.read(DOCS.parent / "notebooks" / "01-event-loops.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.source.startswith("%%writefile crash_in_ten_lines.py")]
    written = cell.source.split("\n", 1)[1]
    assert written.strip() == (DOCS / "snippets" / "crash_in_ten_lines.py").read_text().strip()
