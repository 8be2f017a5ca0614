"""The setup page's *Behind a package mirror*, run as the page gives it: UV_DEFAULT_INDEX and
PIP_INDEX_URL (and NPM_CONFIG_REGISTRY) set to a mirror, then ``python3 run.py workshop`` in a
learner's copy with an empty uv cache. The mirror is build/wheelhouse/ served on loopback (PEP 503
for pip and uv, an npm registry for mermaid) inside a network namespace with no other network, so
every file must come through it. Its own file, so that xdist can run it beside the wheelhouse test.
"""

from __future__ import annotations

import pytest

from tests.test_wheelhouse import _assert_installed_and_ran, _install_and_start_offline, _prepared_wheelhouse


pytestmark = pytest.mark.timeout(1800)  # as tests/test_wheelhouse.py: the wheelhouse, then an install


def test_the_mirror_setup_installs_everything_through_the_mirror_and_runs_notebook_01(tmp_path):
    """The setup page's *Behind a package mirror*: UV_DEFAULT_INDEX and PIP_INDEX_URL, then workshop.
    The mirror is the wheelhouse served on loopback; the namespace has no other network."""
    _prepared_wheelhouse()
    room, result, log = _install_and_start_offline(tmp_path, "mirror")
    assert "from the package mirror http://127.0.0.1:" in log, log
    _assert_installed_and_ran(room, result, log)
