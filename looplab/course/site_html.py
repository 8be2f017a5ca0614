"""The built website's HTML, corrected where the tools get it wrong (called by docs/hooks/site.py):
Material's search worker cutting Chinese queries short, the Chinese pages' anchors (the English ones,
heading for heading), and links between notebooks (their rendered pages, not the raw ``.ipynb``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from ..project import ROOT
from . import i18n


class SiteError(Exception):
    """The build must stop: the message says what to change."""


_WORKER_FIXES = (
    ("for(let o=s+1;o<t.length;o++)t.slice(s,o)in e&&(n[s]=o-s)", "for(let o=s+1;o<=t.length;o++)t.slice(s,o)in e&&(n[s]=o-s)"),
    ("n[a]&&a<t.length-1&&(i[s++]=a)", "n[a]&&a<t.length&&(i[s++]=a)"),
    ('[...fe(s,this.index.invertedIndex)].join("* ")', '[...fe(s,this.index.invertedIndex)].join(" ")'),
)


def fix_search_worker(site_dir: Path) -> None:
    workers = sorted((site_dir / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
    if not workers:
        raise SiteError("Material's search worker is not in the built site: looplab/course/site_html.py expects it")
    for worker in workers:
        code = worker.read_text(encoding="utf-8")
        for bug, fixed in _WORKER_FIXES:
            if fixed in code:
                continue
            if code.count(bug) != 1:
                raise SiteError(f"{worker.name}: Material's query segmenter changed; check whether it still cuts a "
                                  "Chinese query short, and update fix_search_worker in looplab/course/site_html.py")
            code = code.replace(bug, fixed)
        worker.write_text(code, encoding="utf-8")


# --- the same anchors in every language ------------------------------------------------------------
# A link shared in one language must open the same section in the other (the facilitator page promises
# it). Hand-written pages give their Chinese headings explicit ids ({ #id }), but generated parts (the
# agendas, the deck, the instructor notes, which repeat the same headings per episode) and notebooks
# (mkdocs-jupyter slugs a Chinese heading to "" or to its digits) cannot. So: the English site is built
# first (mkdocs-static-i18n builds the other languages after it, with this same module), each English
# page's heading anchors are recorded in order, and the page in another language takes them heading for
# heading, in its body and in its table of contents. A page whose headings do not pair up (a heading
# more or fewer, or another level) fails the build: the translation has to keep the English structure.

_HEADING = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1>", re.S)
_ID = re.compile(r'\sid="([^"]*)"')
#: dest_uri of an English page -> its headings' (level, id) in order, and its table of contents' ids
ENGLISH_HEADINGS: dict[str, list[tuple[str, str]]] = {}
ENGLISH_TOC: dict[str, list[str]] = {}


def headings(html: str) -> list[tuple[str, str]]:
    return [(m.group(1), found.group(1)) for m in _HEADING.finditer(html) if (found := _ID.search(m.group(2)))]


def toc_items(toc: Any) -> list[Any]:
    return [entry for item in toc for entry in (item, *toc_items(item.children))]


def take_english_anchors(html: str, page: Any, english: str) -> str:
    wanted, have = ENGLISH_HEADINGS[english], headings(html)
    if [level for level, _ in have] != [level for level, _ in wanted]:
        ours = [f"h{level}" for level, _ in have]
        theirs = [f"h{level}" for level, _ in wanted]
        at = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        raise SiteError(f"{page.file.src_uri}: its headings do not pair up with the English page's "
                          f"({len(ours)} vs {len(theirs)}, first difference at heading {at + 1}, "
                          f"#{wanted[at][1] if at < len(wanted) else '(none)'}): translate heading for heading, "
                          "so that every anchor is the English one")
    ids = iter(anchor for _, anchor in wanted)

    def rename(match: re.Match) -> str:
        found = _ID.search(match.group(2))
        if not found:
            return match.group(0)
        old, new = found.group(1), next(ids)
        attrs = match.group(2)[:found.start()] + f' id="{new}"' + match.group(2)[found.end():]
        inner = match.group(3).replace(f'href="#{old}"', f'href="#{new}"')
        return f"<h{match.group(1)}{attrs}>{inner}</h{match.group(1)}>"
    html = _HEADING.sub(rename, html)
    items, english_toc = toc_items(page.toc), ENGLISH_TOC[english]
    if len(items) != len(english_toc):
        raise SiteError(f"{page.file.src_uri}: its table of contents has {len(items)} entries, the English "
                          f"page's {len(english_toc)}: translate heading for heading")
    for item, anchor in zip(items, english_toc):
        item.id = anchor
    return html


_NOTEBOOK_LINK = re.compile(r'href="((?:\.\./(notebooks|solutions)/)?)([0-9a-z-]+)\.ipynb(#[^"]*)?"')


def notebook_links_to_pages(output: str, folder: str) -> str:
    """A notebook links another as ``01-event-loops.ipynb`` (or ``../notebooks/...``): right in JupyterLab,
    where the files sit side by side, but on the site that is the raw JSON (and, on the Chinese site, a
    404: its copies are ``*.zh.ipynb``). Point such links at the rendered page, in the same language."""
    def page(match: re.Match) -> str:
        prefix, named, stem, anchor = match.groups()
        if not (ROOT / (named or folder) / f"{stem}.ipynb").exists():
            return match.group(0)
        return f'href="{prefix}{stem}.html{anchor or ""}"'
    return _NOTEBOOK_LINK.sub(page, output)


# nbconvert's notebook template loads mermaid with a dynamic import() from a CDN, and hides
# diagrams until that script has drawn them. Offline, Material draws them with the vendored copy.
_NBCONVERT_MERMAID = re.compile(
    r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
    r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid > pre\.mermaid"\);.*?</script>', re.DOTALL)


def notebook_page(output: str, where: str, folder: str) -> str:
    """A notebook's page: mermaid drawn by the site's vendored copy, links to other notebooks to their pages."""
    output, removed = _NBCONVERT_MERMAID.subn("", output)
    if "jp-Mermaid" in output and not removed:
        raise SiteError(f"{where}: nbconvert's mermaid loader changed; update looplab/course/site_html.py")
    output = notebook_links_to_pages(output, folder)
    return output.replace('<div class="jp-Mermaid">', '<div class="jp-Mermaid jp-RenderedMermaid">')


def sitemaps(root: Path, lang: str) -> None:
    """Material's language menu fetches ``sitemap.xml`` beside each alternate it links to (it expects a
    language's home there), and mkdocs-static-i18n links the same page in the other language, so
    every page asked for ``<its folder>/sitemap.xml`` and logged a 404. Put the site's sitemap in every
    folder of this language's pages: the menu then finds one, and its links work as they are."""
    sitemap = root / "sitemap.xml"
    if not sitemap.exists():
        return
    prefix = root if lang == "en" else root / lang
    folders = {page.parent for page in prefix.rglob("*.html")
               if lang != "en" or page.relative_to(root).parts[0] not in i18n.LANGUAGES}
    for folder in sorted(folders - {root}):
        shutil.copy2(sitemap, folder / "sitemap.xml")
