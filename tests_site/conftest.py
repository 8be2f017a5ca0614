"""The website's tests run after the notebooks' first run (pyproject's testpaths order; ``run.py test``
runs them beside the restart pass, which writes no notebook): the site is built from the notebooks
the same test run has just executed."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"


@pytest.fixture(scope="session")
def built_site() -> subprocess.CompletedProcess:
    """``mkdocs build --strict``, once per run."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life notice (May 2027), known
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, env=env)
    return result


@pytest.fixture(scope="session")
def site_url(built_site):
    """The built site, served from a local HTTP server on a free port (in this process)."""
    assert built_site.returncode == 0, built_site.stderr[-3000:]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)
