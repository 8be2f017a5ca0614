"""What ``python3 run.py`` installs, for which command, and how much it downloads: one data file
(``docs/data/setup-installs.yml``), rendered into the setup page, the facilitator guide, the
prerequisites and the README, so that they cannot disagree.

* ``<!-- looplab:setup-installs -->``: the table, part by part.
* ``<!-- looplab:setup-size -->``: one sentence, the first set-up's download and time.
* ``<!-- looplab:setup-size-message -->``: the same in a few words, for the prerequisites' message.

The README is not built by mkdocs: it holds the sentence between ``<!-- looplab:setup-size -->`` and
``<!-- /looplab:setup-size -->``, written by ``python -m looplab.course.installs --write-readme`` and
compared by ``tests/test_setup_installs.py``. The download sizes are the files ``python3 run.py
wheelhouse`` fetched (its ``wheelhouse.json``), which the wheelhouse test compares with this file.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from ..project import ROOT
from .i18n import in_language as _zh

DATA = ROOT / "docs" / "data" / "setup-installs.yml"
README = ROOT / "README.md"
LIGHT = ("workshop", "room")  # setup(full=False) in run.py
FULL = ("setup", "test", "site")
_README_BLOCK = re.compile(r"(<!-- looplab:setup-size -->\n)(.*?)(\n<!-- /looplab:setup-size -->)", re.DOTALL)


def load(path: Path = DATA) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _mb(value: float) -> str:
    return f"{value:,.0f} MB"


def _duration(seconds: float, lang: str) -> str:
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return _zh(lang, f"{rest} s", f"{rest} 秒")
    return _zh(lang, f"{minutes} min {rest:02d} s", f"{minutes} 分 {rest:02d} 秒")


def totals(data: dict[str, Any], commands: tuple[str, ...]) -> tuple[float, float]:
    """Download (MB) and time (s) of the parts the commands install, as measured."""
    parts = [p for p in data["parts"] if set(p["commands"]) & set(commands)]
    return sum(p["download_mb"] for p in parts), sum(p.get("seconds") or 0 for p in parts)


def summary(lang: str = "en", data: dict[str, Any] | None = None) -> str:
    data = data or load()
    m = data["measured"]
    light_mb, light_s = totals(data, LIGHT)
    full_mb, full_s = totals(data, FULL)
    return _zh(lang,
               f"The first `python3 run.py workshop` downloads about {_mb(light_mb)} and took "
               f"{_duration(light_s, lang)} from a fresh clone with an empty uv cache ({m['machine']}, {m['date']}); "
               f"run again, it took {_duration(m['later_seconds'], lang)}. `setup`, `test` and `site` also install a real vLLM and Chromium: about "
               f"{_mb(full_mb)} and {_duration(full_s, lang)} in all (Chromium not timed: it was installed already).",
               f"第一次运行 `python3 run.py workshop` 约下载 {_mb(light_mb)}，从全新克隆、空的 uv 缓存开始用了 "
               f"{_duration(light_s, lang)}（{m['machine_zh']}，{m['date']}）；再次运行用了 {_duration(m['later_seconds'], lang)}。`setup`、`test` 和 "
               f"`site` 还会安装真实的 vLLM 和 Chromium：合计约 {_mb(full_mb)}、{_duration(full_s, lang)}"
               f"（Chromium 未计时：这台机器上已经装好）。")


def message_note(data: dict[str, Any] | None = None) -> str:
    """The first set-up in a few words, for the message learners get (English on both sites, as the message)."""
    mb, seconds = totals(data or load(), LIGHT)
    return f"the first time: about {_mb(mb)} to download, {_duration(seconds, 'en')} on our machine"


def _files(part: dict[str, Any], lang: str) -> str:
    if "files_mb" not in part:
        return ""
    return _zh(lang, f" ({_mb(part['files_mb'])} of it package files)", f"（其中软件包文件 {_mb(part['files_mb'])}）")


def table(lang: str = "en", data: dict[str, Any] | None = None) -> str:
    data = data or load()
    yes, warns, no = _zh(lang, "yes", "是"), _zh(lang, "yes; only warns if it fails", "是；失败只会警告"), _zh(lang, "no", "否")
    rows = [_zh(lang, "| what | where | `workshop`, `room` | `setup`, `test`, `site` | download | first install |",
                "| 内容 | 位置 | `workshop`、`room` | `setup`、`test`、`site` | 下载量 | 首次安装用时 |"),
            "| --- | --- | --- | --- | --- | --- |"]
    for part in data["parts"]:
        light = (warns if part.get("optional") else yes) if set(part["commands"]) & set(LIGHT) else no
        full = yes if set(part["commands"]) & set(FULL) else no
        seconds = part.get("seconds")
        where = ", ".join(f"`{w}`" if w.endswith("/") else _zh(lang, w, part.get("where_zh", w)) for w in part["where"])
        rows.append(f"| {part[lang]} | {where} | {light} | {full} | "
                    f"{_mb(part['download_mb'])}{_files(part, lang)}{part.get('download_note_' + lang, '')} | "
                    f"{_duration(seconds, lang) if seconds else _zh(lang, 'not timed', '未计时')} |")
    m = data["measured"]
    rows += ["", _zh(lang, f"Measured {m['date']} on {m['machine']}. {m['how_en']}",
                     f"测量于 {m['date']}，{m['machine_zh']}。{m['how_zh']}")]
    return "\n".join(rows)


#: The parts of docs/data/setup-installs.yml, as the parts of a wheelhouse.json (run.py's prepare_wheelhouse).
WHEELHOUSE_PARTS = {
    "uv": ["uv and the build tools"],
    "venv": [".venv (uv.lock)"],
    "client-envs": ["envs/incident-era.txt", "envs/incident-exact.txt{exact}"],
    "releases": ["envs/llama-stack-0.2.2.txt", "envs/llama-stack-0.2.3.txt", "envs/llama-stack-0.2.2-exact.txt{exact}"],
    "mermaid": ["mermaid", "iframe-worker"],
}


def downloads_from_wheelhouse(folder: Path, exact_on_310: bool) -> dict[str, float]:
    """What each part adds to the download (MB), from a wheelhouse (``wheelhouse.json`` names each part's
    files): a file fetched for a part
    above is not fetched again (uv's cache). ``exact_on_310``: the machine builds .venv-exact/ on 3.10.
    The build tools are left out but uv itself (pip fetches only uv; uv fetches hatchling, a few kB)."""
    manifest = json.loads((folder / "wheelhouse.json").read_text())
    seen: set[str] = set()
    out = {}
    for part, names in WHEELHOUSE_PARTS.items():
        files: list[str] = []
        for name in names:
            files += manifest["parts"][name.format(exact=" (Python 3.10)" if exact_on_310 else "")]["files"]
        if part == "uv":
            files = [f for f in files if f.startswith("uv-")]
        out[part] = sum((folder / f).stat().st_size for f in set(files) - seen) / 1e6
        seen |= set(files)
    return out


def readme_problem(readme: Path = README) -> str | None:
    """Why the README's set-up sentence differs from the data file (None when it does not)."""
    match = _README_BLOCK.search(readme.read_text())
    if match is None:
        return f"{readme.name} has no <!-- looplab:setup-size --> ... <!-- /looplab:setup-size --> block"
    if match[2] != summary("en"):
        return (f"{readme.name}'s set-up sentence differs from {DATA.relative_to(ROOT)}: run "
                "`.venv/bin/python -m looplab.course.installs --write-readme`")
    return None


def write_readme(readme: Path = README) -> None:
    text = readme.read_text()
    if _README_BLOCK.search(text) is None:
        raise SystemExit(readme_problem(readme))
    readme.write_text(_README_BLOCK.sub(lambda m: m[1] + summary("en") + m[3], text))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-readme"]:
        raise SystemExit("usage: python -m looplab.course.installs --write-readme")
    write_readme()
