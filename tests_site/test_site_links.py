"""Every link of the built site lands, in both languages: the page exists, the anchor is on it, and a
notebook is linked as its rendered page, not as the raw ``.ipynb`` (which a browser downloads or shows
as JSON). The checker reads the built HTML, so it sees the links the generated parts wrote too."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .conftest import SITE


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, bool]] = []  # (href, marked as a download)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if found.get(name):
                self.ids.add(found[name])
        if tag == "a" and found.get("href") is not None:
            self.links.append((found["href"], "download" in found))


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(errors="replace"))
        cache[path] = page
    return cache[path]


def link_problems(site: Path) -> list[str]:
    """Every broken link, missing anchor, and raw-notebook link (where the page exists) in ``site``."""
    cache: dict[Path, _Page] = {}
    problems = []
    for page_path in sorted(site.rglob("*.html")):
        where = page_path.relative_to(site).as_posix()
        for href, download in _parse(page_path, cache).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue  # leaves the site: not checked here (the browser test blocks the network)
            target = page_path if not parts.path else (
                (site / parts.path.lstrip("/")) if parts.path.startswith("/") else (page_path.parent / unquote(parts.path)))
            target = Path(*_normalised(target.parts))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{where}: {href} leads nowhere")
                continue
            if target.suffix == ".ipynb" and not download:
                rendered = target.parent / (target.name.removesuffix(".ipynb").removesuffix(".zh") + ".html")
                if rendered.exists():
                    problems.append(f"{where}: {href} opens the raw notebook; link {rendered.name}")
            if parts.fragment and target.suffix == ".html":
                anchor = unquote(parts.fragment)
                if anchor not in _parse(target, cache).ids:
                    problems.append(f"{where}: {href}: no id {anchor!r} on {target.relative_to(site).as_posix()}")
    return problems


def _normalised(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


def test_every_link_of_the_built_site_lands_in_both_languages(built_site):
    assert built_site.returncode == 0, built_site.stderr[-3000:]
    assert (SITE / "zh" / "index.html").exists(), "the Chinese site was not built"
    problems = link_problems(SITE)
    assert not problems, f"{len(problems)} broken link(s):\n" + "\n".join(problems[:40])


def test_the_link_checker_catches_each_kind_of_broken_link(tmp_path):
    """The checker itself, on a small site with one of each mistake (and the right forms beside them)."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-a.html").write_text('<h2 id="key-points">Key points</h2>')
    (tmp_path / "notebooks" / "01-a.ipynb").write_text("{}")
    (tmp_path / "zh" / "notebooks").mkdir(parents=True)
    (tmp_path / "zh" / "notebooks" / "01-a.html").write_text("<p>ok</p>")
    (tmp_path / "zh" / "notebooks" / "01-a.zh.ipynb").write_text("{}")
    (tmp_path / "index.html").write_text(
        '<a href="notebooks/01-a.html#key-points">fine</a> <a href="#top">top</a><span id="top"></span>'
        '<a href="notebooks/01-a.ipynb" download>download is fine</a> <a href="https://example.org/x">away</a>'
        '<a href="notebooks/02-b.html">missing page</a> <a href="notebooks/01-a.html#gone">missing anchor</a>'
        '<a href="notebooks/01-a.ipynb">raw notebook</a>')
    (tmp_path / "zh" / "index.html").write_text(
        '<a href="notebooks/01-a.html">fine</a> <a href="notebooks/01-a.ipynb">404</a>'
        '<a href="notebooks/01-a.zh.ipynb">raw Chinese notebook</a>')
    problems = link_problems(tmp_path)
    assert problems == [
        "index.html: notebooks/02-b.html leads nowhere",
        "index.html: notebooks/01-a.html#gone: no id 'gone' on notebooks/01-a.html",
        "index.html: notebooks/01-a.ipynb opens the raw notebook; link 01-a.html",
        "zh/index.html: notebooks/01-a.ipynb leads nowhere",
        "zh/index.html: notebooks/01-a.zh.ipynb opens the raw notebook; link 01-a.html",
    ], problems
