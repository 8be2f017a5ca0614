"""What the cost lesson asserts holds on both TLS paths: Linux's CA bundle, and the truststore context
macOS and Windows get (forced here with LOOPLAB_SSL_PLATFORM, on Linux). And the recorded cost table
the website shows was made by the current benchmark, on the current versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import nbformat
import pytest
from nbclient import NotebookClient

from looplab.project import ROOT, locked_versions

MACOS = {"LOOPLAB_SSL_PLATFORM": "Darwin"}


def test_the_cost_notebook_passes_on_the_macos_tls_path(tmp_path, monkeypatch):
    for name, value in MACOS.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(ROOT / "notebooks" / "06-what-the-fix-costs.ipynb", as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "the truststore way" in printed and "'ca_loads': 0" in printed


def test_the_cost_lab_passes_on_the_macos_tls_path(tmp_path):
    result = subprocess.run([sys.executable, "-m", "looplab", "labs", "check",
                             str(ROOT / "solutions" / "lab-06-make-the-fix-fast.ipynb")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, **MACOS})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


RECORDED = ROOT / "docs" / "data" / "strategy-costs.json"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(RECORDED.read_text())


def test_the_recorded_cost_table_is_the_current_benchmarks(recorded):
    assert recorded["ok"] is True and recorded["target"] == "strategies"
    assert [c["condition"] for c in recorded["conditions"]] == ["plain", "tls", "tls, 10 ms RTT"]
    same_python = recorded["machine"]["python"].split(".")[:2] == [str(n) for n in sys.version_info[:2]]
    for package in ("openai", "httpcore2"):  # a version bump must re-record it: its costs may have changed
        assert recorded["versions"][package] in locked_versions()[package], \
            f"re-record docs/data/strategy-costs.json: the lock moved {package}"
        if same_python:  # other Pythons may lock another version (httpcore2 2.14 on 3.10)
            assert recorded["versions"][package] == metadata.version(package), \
                f"re-record docs/data/strategy-costs.json: {package} changed"
    keys = {"strategy", "p50_ms", "p99_ms", "ratio_p50", "ratio_p99", "connections_per_request",
            "handshakes_per_request", "client_cpu_ms_per_request", "errors"}
    for condition in recorded["conditions"]:
        for row in condition["strategies"]:
            assert keys <= row.keys()


def test_the_recorded_counts_are_what_the_lesson_says(recorded):
    for condition in recorded["conditions"]:
        rows = {r["strategy"]: r for r in condition["strategies"]}
        assert all(r["errors"] == 0 for r in rows.values())
        assert rows["per_call"]["connections_per_request"] == rows["per_call_shared_ssl"]["connections_per_request"] == 1
        if condition["tls"]:
            assert rows["per_call"]["handshakes_per_request"] == rows["per_call_shared_ssl"]["handshakes_per_request"] == 1
        for reused in ("per_loop", "lifespan"):  # a pool (refilled when the client's 5 s expiry empties it), not
            assert rows[reused]["connections_per_request"] < 0.5  # one connection per request
