"""The episodes manifest (``episodes.yml``) and what is generated from it.

Each notebook's first cell (tagged ``episode-header``)
is written from the manifest by ``looplab episodes sync``; ``--check`` fails when a notebook
disagrees, so CI catches a header edited by hand. The site's navigation and the agendas read the
same manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ..project import ROOT

MANIFEST = ROOT / "episodes.yml"
HEADER_TAG = "episode-header"


@dataclass
class Episode:
    number: int
    slug: str
    title: str
    outcome: str
    teaching: int
    exercises: int
    agendas: list[str]
    questions: list[str] = field(default_factory=list)
    lab: dict[str, Any] | None = None

    @property
    def stem(self) -> str:
        return f"{self.number:02d}-{self.slug}"

    @property
    def notebook(self) -> Path:
        return ROOT / "notebooks" / f"{self.stem}.ipynb"

    @property
    def minutes(self) -> int:
        return self.teaching + self.exercises


@dataclass
class Manifest:
    episodes: list[Episode]
    agendas: dict[str, dict[str, Any]]

    def episode(self, number: int) -> Episode:
        for episode in self.episodes:
            if episode.number == number:
                return episode
        raise KeyError(f"no episode {number} in {MANIFEST.name}")


def load(path: Path = MANIFEST) -> Manifest:
    data = yaml.safe_load(path.read_text())
    episodes = [Episode(**item) for item in data["episodes"]]
    numbers = [e.number for e in episodes]
    if numbers != list(range(1, len(episodes) + 1)):
        raise ValueError(f"{path.name}: episodes must be numbered 1..N in order, got {numbers}")
    for episode in episodes:
        unknown = set(episode.agendas) - set(data["agendas"])
        if unknown:
            raise ValueError(f"{path.name}: episode {episode.number} names unknown agendas {sorted(unknown)}")
    return Manifest(episodes, data["agendas"])


def header_markdown(episode: Episode, *, kind: str = "Episode") -> str:
    questions = "".join(f"\n- {q}" for q in episode.questions)
    return (f"# {episode.number:02d} · {episode.title}\n\n"
            f"**{kind} {episode.number}** · teaching {episode.teaching} min · exercises {episode.exercises} min\n\n"
            f"**You will be able to:** {episode.outcome}\n\n"
            f"**Questions:**{questions}\n\n"
            "**You need:** `python3 run.py workshop` running (it set up everything); nothing else. "
            "This notebook starts and stops its own servers. It uses the bundled mock vLLM unless "
            "`VLLM_BASE_URL` points at a real one.")


def _sync_cell(nb: Any, tag: str, source: str, *, first: bool) -> bool:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    if cells:
        if cells[0].source == source:
            return False
        cells[0].source = source
        return True
    cell = nbformat.v4.new_markdown_cell(source, metadata={"tags": [tag]})
    nb.cells.insert(0 if first else len(nb.cells), cell)
    return True


ANSWER_TAG = "answer"


def _sync_answers(nb: Any) -> bool:
    """Cells tagged ``answer`` hold a folded copy of an answer in :mod:`looplab.course.answers`, named by
    their ``looplab.answer`` metadata: written from there, so the answer shown is the answer tested."""
    from .exercises import folded_answer

    changed = False
    for cell in nb.cells:
        if ANSWER_TAG in cell.get("metadata", {}).get("tags", []):
            source = folded_answer(cell.metadata["looplab"]["answer"])
            if cell.source != source:
                cell.source, changed = source, True
    return changed


def sync(path: Path, episode: Episode, *, check: bool = False, kind: str = "Episode") -> bool:
    """Write the header (and the folded answers) into the notebook; True if it changed (or would, with ``check``)."""
    nb = nbformat.read(path, as_version=4)
    changed = _sync_cell(nb, HEADER_TAG, header_markdown(episode, kind=kind), first=True)
    changed = _sync_answers(nb) or changed
    if changed and not check:
        nbformat.write(nb, path)
    return changed
