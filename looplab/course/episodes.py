"""The episodes manifest (``episodes.yml``) and what is generated from it.

Each notebook's first cell (tagged ``episode-header``)
is written from the manifest by ``looplab episodes sync``; ``--check`` fails when a notebook
disagrees, so CI catches a header edited by hand. The site's navigation and the agendas read the
same manifest.

An agenda is a ``clock`` (the minutes the session has) and an ordered ``plan``: ``intro``,
``episode``, ``lab``, ``break`` and ``wrap-up`` items, and ``setup`` and ``buffer``. An episode's minutes are its teaching plus
its exercises, a lab's its ``lab.minutes``. :meth:`Manifest.schedule` gives each item its start
time; :meth:`Manifest.agenda_problems` says, in words, where a plan does not fit its clock or
disagrees with the episodes (the website refuses to build then; the notebook headers do not care).
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


#: what a plan item may be: ``- setup: 5`` (everyone joins the room or checks their laptop), ``- intro: 5``,
#: ``- episode: 3``, ``- lab: 3``, ``- break: 15``, ``- buffer: 5`` (slack for a room that runs late), ``- wrap-up: 10``
PLAN_KINDS = ("setup", "intro", "episode", "lab", "break", "buffer", "wrap-up")


@dataclass(frozen=True)
class Agenda:
    key: str
    title: str
    clock: int  # the minutes the session has
    plan: list[tuple[str, int]]  # (kind, minutes) for intro/break/wrap-up, (kind, episode number) otherwise
    summary: str = ""
    leaves_out: dict[int, str] = field(default_factory=dict)  # episode number -> why this agenda skips it


@dataclass(frozen=True)
class Slot:
    """One row of an agenda: what, when it starts (minutes into the session) and for how long."""
    kind: str
    start: int
    minutes: int
    episode: Episode | None = None
    coding: int = 0  # of these minutes, how many learners spend writing code

    @property
    def end(self) -> int:
        return self.start + self.minutes


def clock_time(minutes: int) -> str:
    """Minutes into the session as the agenda prints them: 0:00, 0:13, 1:05."""
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass
class Manifest:
    episodes: list[Episode]
    agendas: dict[str, Agenda]

    def episode(self, number: int) -> Episode:
        for episode in self.episodes:
            if episode.number == number:
                return episode
        raise KeyError(f"no episode {number} in {MANIFEST.name}")

    def minutes_fields(self) -> dict[str, int]:
        """The minutes a text may quote by name, so it cannot drift from the manifest: ``{episode7}`` (teaching +
        exercises), ``{lab5}`` (the lab's minutes). The agendas' ``leaves_out`` reasons are formatted with them."""
        fields = {f"episode{e.number}": e.minutes for e in self.episodes}
        fields |= {f"lab{e.number}": int(e.lab["minutes"]) for e in self.episodes if e.lab}
        return fields

    def leaves_out(self, key: str, translate: Any = str) -> dict[int, str]:
        """An agenda's reasons for leaving episodes out, translated, then with the minutes they quote filled in."""
        fields = self.minutes_fields()
        try:
            return {n: translate(why).format(**fields) for n, why in sorted(self.agendas[key].leaves_out.items())}
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"{MANIFEST.name}: agenda {key!r}: a leaves_out reason quotes {error}, which is not "
                             f"one of {{episodeN}} or {{labN}}") from None

    def schedule(self, key: str) -> list[Slot]:
        """The agenda's plan with a running start time."""
        slots, start = [], 0
        for kind, value in self.agendas[key].plan:
            episode = self.episode(value) if kind in ("episode", "lab") else None
            if kind == "episode":
                minutes, coding = episode.minutes, episode.exercises
            elif kind == "lab":
                minutes = coding = int(episode.lab["minutes"])
            else:
                minutes, coding = value, 0
            slots.append(Slot(kind, start, minutes, episode, coding))
            start += minutes
        return slots

    def agenda_problems(self) -> list[str]:
        """Every way an agenda does not fit its clock or disagrees with the episodes, in words."""
        problems = []
        for key, agenda in self.agendas.items():
            name = f"agenda {key!r} ({agenda.title})"
            slots = self.schedule(key)
            total = sum(s.minutes for s in slots)
            if total != agenda.clock:
                over = total - agenda.clock
                sums = " + ".join(f"{_label(s)} {s.minutes}" for s in slots)
                problems.append(
                    f"{name}: the plan adds up to {total} min but its clock is {agenda.clock} min "
                    f"({abs(over)} min {'over' if over > 0 else 'short'}). The plan: {sums}. Episodes count "
                    f"teaching + exercises, labs their lab.minutes: rebalance the plan in {MANIFEST.name} "
                    "(shorten or drop a break, the intro or the wrap-up; or move an episode to leaves_out)")
            taught = [s.episode.number for s in slots if s.kind == "episode"]
            seen: set[int] = set()
            for slot in slots:
                if slot.kind == "lab" and slot.episode.number not in seen:
                    problems.append(f"{name}: lab {slot.episode.number} comes before (or without) its episode "
                                    f"{slot.episode.number}: a lab practises what its notebook taught")
                if slot.kind == "episode":
                    if slot.episode.number in seen:
                        problems.append(f"{name}: episode {slot.episode.number} is in the plan twice")
                    seen.add(slot.episode.number)
            for episode in self.episodes:
                listed = key in episode.agendas
                if listed and episode.number not in taught:
                    problems.append(f"{name}: episode {episode.number} lists {key!r} in its agendas but the "
                                    "plan leaves it out: add it to the plan, or remove the agenda from the episode")
                if not listed and episode.number in taught:
                    problems.append(f"{name}: episode {episode.number} is in the plan but does not list {key!r} "
                                    "in its agendas")
                if episode.number not in taught and episode.number not in agenda.leaves_out:
                    problems.append(f"{name}: the plan leaves out episode {episode.number}: say why under "
                                    "leaves_out (the agenda's intro line tells the facilitator)")
                if episode.number in taught and episode.number in agenda.leaves_out:
                    problems.append(f"{name}: episode {episode.number} is in the plan and in leaves_out")
        return problems


def _label(slot: Slot) -> str:
    if slot.kind == "episode":
        return f"{slot.episode.number:02d}"
    if slot.kind == "lab":
        return f"lab {slot.episode.number:02d}"
    return slot.kind


def _agenda(key: str, data: dict[str, Any], episodes: list[Episode], path: Path) -> Agenda:
    where = f"{path.name}: agenda {key!r}"
    for required in ("title", "clock", "plan"):
        if required not in data:
            raise ValueError(f"{where} needs {required!r}")
    by_number = {e.number: e for e in episodes}
    plan = []
    for item in data["plan"]:
        if not (isinstance(item, dict) and len(item) == 1):
            raise ValueError(f"{where}: each plan item is one `kind: value` pair, like `- episode: 3`; got {item!r}")
        ((kind, value),) = item.items()
        if kind not in PLAN_KINDS:
            raise ValueError(f"{where}: unknown plan item {kind!r} (one of {', '.join(PLAN_KINDS)})")
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}: `{kind}` needs a whole number, got {value!r}")
        if kind in ("episode", "lab") and value not in by_number:
            raise ValueError(f"{where}: there is no episode {value}")
        if kind == "lab" and not by_number[value].lab:
            raise ValueError(f"{where}: episode {value} has no lab (give it `lab: {{title, minutes}}` first)")
        plan.append((kind, value))
    leaves_out = {int(n): str(why) for n, why in (data.get("leaves_out") or {}).items()}
    return Agenda(key, data["title"], int(data["clock"]), plan, data.get("summary", "").strip(), leaves_out)


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
    agendas = {key: _agenda(key, value, episodes, path) for key, value in data["agendas"].items()}
    return Manifest(episodes, agendas)


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
