"""Where the project's own files are: the checkout, its pins (``envs/``) and its caches (``.cache/``);
and where its packages come from (PyPI, or the mirror uv and pip are told to use).

The base of the house: standard library only, importable from every layer except the studied
system (which never needs to know where it is checked out), and by ``run.py`` before anything is
installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where the workshop's repository lives (the site's repo_url, the Kubernetes room's nbgitpuller link:
#: tests/test_room_kubernetes.py holds them to this one value).
REPOSITORY = "https://github.com/looplab/looplab"
ENVS = ROOT / "envs"
CACHE = ROOT / ".cache"
LOCK_FILE = ROOT / "uv.lock"
BIN = "Scripts" if os.name == "nt" else "bin"


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, set[str]]:
    """name -> versions pinned in uv.lock (a package can be locked twice, per Python version)."""
    found: dict[str, set[str]] = {}
    for name, version in re.findall(r'^name = "([^"]+)"\nversion = "([^"]+)"', lock.read_text(), re.MULTILINE):
        found.setdefault(name, set()).add(version)
    return found


def locked_version(name: str) -> str:
    """The one version of ``name`` that uv.lock pins (the ``openai`` client, say)."""
    (version,) = locked_versions()[name]
    return version


# --- the package index uv and pip will use (run.py's set-up and `looplab doctor` both ask) ----------

PYPI = "https://pypi.org/simple"
#: Where each installer's index comes from, first match wins (uv ignores pip's settings, and pip uv's).
UV_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL")
PIP_CONFIG_FILES = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.config/pip/pip.conf", "~/.pip/pip.conf")
UV_CONFIG_FILES = (str(ROOT / "uv.toml"), "~/.config/uv/uv.toml", "/etc/uv/uv.toml")


def redacted(url: str) -> str:
    """An index URL without the password it may carry (``https://user:token@host/simple``)."""
    return re.sub(r"//[^/@]+@", "//***@", url)


def is_mirror(url: str) -> bool:
    return url.rstrip("/") != PYPI


def uv_index() -> tuple[str, str]:
    """(index URL, where it is set) as uv sees it: its environment variables, then its configuration
    files (the checkout's uv.toml, the user's, the system's)."""
    for name in UV_INDEX_VARIABLES:
        if os.environ.get(name):
            return os.environ[name], name
    if os.environ.get("UV_NO_CONFIG"):
        return PYPI, "uv's default (UV_NO_CONFIG)"
    files = [os.environ["UV_CONFIG_FILE"]] if os.environ.get("UV_CONFIG_FILE") else list(UV_CONFIG_FILES)
    for name in files:
        path = Path(name).expanduser()
        try:
            import tomllib  # Python 3.11+; on 3.10 uv's files are not read here

            config = tomllib.loads(path.read_text())
        except (ImportError, OSError, ValueError):
            continue
        default = [i["url"] for i in config.get("index", []) if i.get("default") and i.get("url")]
        url = default[0] if default else config.get("index-url")
        if url:
            return url, str(path)
    return PYPI, "uv's default"


def pip_index() -> tuple[str, str]:
    """(index URL, where it is set) as pip sees it: PIP_INDEX_URL, then its configuration files (last wins)."""
    import configparser

    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"], "PIP_INDEX_URL"
    found = (PYPI, "pip's default")
    files = [os.environ["PIP_CONFIG_FILE"]] if os.environ.get("PIP_CONFIG_FILE") else list(PIP_CONFIG_FILES)
    for name in files:
        config = configparser.ConfigParser()
        try:
            config.read(Path(name).expanduser())
        except configparser.Error:
            continue
        for section in ("global", "install"):
            if config.has_option(section, "index-url"):
                found = (config.get(section, "index-url"), str(Path(name).expanduser()))
    return found
