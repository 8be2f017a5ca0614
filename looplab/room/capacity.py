"""How many learners a machine holds: simulated learners, N at a time, through a real room.

For each N: a room is started as a facilitator starts it; N learners join at once through the login
form (their servers spawn, nbgitpuller clones their copy); then each, at the same time as the
others, runs every lab's worked solution in a real kernel (every check must pass) and one committed
wrong answer per lab (its check must fail with the hint for its mistake). Recorded: whether every
verdict was right, the time each lab took (p50/p95, against N = 1), the time to join, and each
learner's peak memory and processes as their control group counted them. This is the worst case of
a room: everyone runs every check at the same moment.

``looplab room capacity --learners 1,4,8,12 --json docs/data/room-capacity.json``
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..project import ROOT
from .learner import Learner, LearnerError, code_cells
from .limits import LearnerGroup, Limits
from .running import RoomProcess, scratch_home

SOLUTIONS = ROOT / "solutions"


@dataclass
class LabRun:
    lab: int
    seconds: float
    solution_ok: bool
    wrong_ok: bool  # the wrong answer failed with the hint for its mistake
    detail: str = ""


@dataclass
class LearnerRun:
    name: str
    join_seconds: float = 0.0
    labs: list[LabRun] = field(default_factory=list)
    peak_memory: int = 0
    peak_tasks: int = 0
    error: str = ""


def wrong_answers() -> dict[int, tuple[str, str]]:
    """The first committed wrong answer of each lab (``tests/wrong_answers/``): (its name, its hint's words)."""
    sys.path.insert(0, str(ROOT))
    try:
        module = importlib.import_module("tests.wrong_answers")
    finally:
        sys.path.remove(str(ROOT))
    return {lab: (wrongs[0].name, wrongs[0].hint) for lab, wrongs in module.by_lab().items() if wrongs}


#: Run in the learner's kernel: the wrong answer, from the learner's own copy of the repository.
WRONG_IN_KERNEL = """
import importlib.util, os, pathlib, sys, textwrap
from looplab import checks  # the room's installed looplab (the learner's copy of the repository holds one too)
init = os.path.expanduser("~/looplab/tests/wrong_answers/__init__.py")
spec = importlib.util.spec_from_file_location("room_wrong_answers", init, submodule_search_locations=[os.path.dirname(init)])
answers = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(answers)
wrong = next(w for w in answers.by_lab()[{lab}] if w.name == {name!r})
for file, source in wrong.files.items():
    pathlib.Path(file).write_text(textwrap.dedent(source))
getattr(checks, wrong.check)(*wrong.args, **wrong.kwargs)
"""


def run_lab(learner: Learner, lab: int, wrong: tuple[str, str] | None) -> LabRun:
    solution = next(SOLUTIONS.glob(f"lab-{lab:02d}-*.ipynb"))
    began = time.monotonic()
    solution_ok, detail = True, ""
    with learner.session(f"looplab/solutions/{solution.name}") as kernel:
        for cell_id, source in code_cells(json.loads(solution.read_text())):
            result = kernel.execute(source, timeout=600)
            if result.status != "ok":
                solution_ok, detail = False, f"{cell_id}: {result.error[:300]}"
                break
    wrong_ok = True
    if wrong is not None:
        name, hint = wrong
        with learner.session(f"looplab/labs/{solution.name}") as kernel:
            result = kernel.execute(WRONG_IN_KERNEL.format(lab=lab, name=name), timeout=600)
        wrong_ok = result.status == "error" and result.error.startswith("LabCheckFailed") and hint in result.error
        if not wrong_ok:
            detail += f" wrong answer {name}: {result.status} {result.error[:300]}"
    return LabRun(lab, time.monotonic() - began, solution_ok, wrong_ok, detail.strip())


def measure(n: int, labs: list[int], wrongs: dict) -> dict:
    home = scratch_home("looplab-room-capacity-")
    names = [f"c{secrets.token_hex(2)}-{i}" for i in range(n)]
    room = RoomProcess(home, "--port", "0")
    try:
        began = time.monotonic()
        barrier = _Barrier(n)
        with ThreadPoolExecutor(max_workers=n) as pool:
            runs = list(pool.map(lambda name: barrier.run(room, name, labs, wrongs), names))
        wall = time.monotonic() - began
        hub = hub_memory(room)
    finally:
        room.stop()
        room.forget(names)
        logs = ROOT / "build" / "capacity"
        logs.mkdir(parents=True, exist_ok=True)
        if (home / "hub.log").exists():  # every learner's server logs there too: kept for the next look
            shutil.copy(home / "hub.log", logs / f"hub-{n}-learners.log")
        shutil.rmtree(home, ignore_errors=True)
    return {**summarize(n, runs, wall), "hub_rss_mib": round(hub / 2**20)}


def hub_memory(room: RoomProcess) -> int:
    """Resident memory of the room's own processes (hub, proxy, services), learners' excluded."""
    import psutil

    total = 0
    for process in psutil.process_iter(["username", "cmdline", "memory_info"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["username"] == "root" and (room.settings.install in cmdline or room.settings.proxy in cmdline):
            total += process.info["memory_info"].rss if process.info["memory_info"] else 0
    return total


class _Barrier:
    """Learners join at their own pace; the labs start for everyone when the last one has joined."""

    def __init__(self, n: int) -> None:
        import threading

        self.n, self.joined, self.lock, self.ready = n, 0, threading.Lock(), threading.Event()

    def run(self, room: RoomProcess, name: str, labs: list[int], wrongs: dict) -> LearnerRun:
        learner = Learner(room.url, name, room.settings.learner_code)
        run = LearnerRun(name)
        try:
            run.join_seconds = learner.join(room.settings.content_repo)
        except Exception as exc:  # noqa: BLE001
            run.error = f"join: {type(exc).__name__}: {exc}"[:500]
        with self.lock:
            self.joined += 1
            if self.joined == self.n:
                self.ready.set()
        self.ready.wait()
        if not run.error:
            for lab in labs:
                try:
                    run.labs.append(run_lab(learner, lab, wrongs.get(lab)))
                except Exception as exc:  # noqa: BLE001 (one learner's failure is a result, not the end of the measurement)
                    run.error += f"lab {lab:02d}: {type(exc).__name__}: {exc}; "[:500]
        usage = LearnerGroup(room.settings.os_user(name), Limits(room.settings.memory_bytes, room.settings.tasks)).usage()
        run.peak_memory, run.peak_tasks = usage.get("peak", 0), usage.get("peak_tasks", 0)
        return run


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(n: int, runs: list[LearnerRun], wall: float) -> dict:
    lab_times = [lab.seconds for run in runs for lab in run.labs]
    per_lab = {}
    for lab in sorted({lab.lab for run in runs for lab in run.labs}):
        times = [x.seconds for run in runs for x in run.labs if x.lab == lab]
        per_lab[f"lab{lab:02d}"] = {"p50": round(_pct(times, 50), 1), "p95": round(_pct(times, 95), 1)}
    wrong = [f"{run.name} lab{lab.lab:02d}: {lab.detail}" for run in runs for lab in run.labs
             if not (lab.solution_ok and lab.wrong_ok)]
    errors = [f"{run.name}: {run.error}" for run in runs if run.error]
    return {
        "learners": n, "wall_seconds": round(wall, 1),
        "verdicts_right": not wrong and not errors, "wrong_verdicts": wrong, "errors": errors,
        "join_p50": round(_pct([r.join_seconds for r in runs], 50), 1),
        "join_p95": round(_pct([r.join_seconds for r in runs], 95), 1),
        "lab_p50": round(_pct(lab_times, 50), 1), "lab_p95": round(_pct(lab_times, 95), 1), "per_lab": per_lab,
        "peak_memory_mib_max": round(max((r.peak_memory for r in runs), default=0) / 2**20),
        "peak_memory_mib_p50": round(_pct([r.peak_memory for r in runs], 50) / 2**20),
        "peak_tasks_max": max((r.peak_tasks for r in runs), default=0),
        "runs": [asdict(r) for r in runs],
    }


def main(ns: list[int], install: Path, out: Path | None, labs: list[int] | None = None) -> int:
    del install  # RoomProcess's launcher installs (idempotent) and uses the same install
    wrongs = wrong_answers()
    labs = labs or sorted(int(p.name[4:6]) for p in SOLUTIONS.glob("lab-*.ipynb"))
    machine = {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}
    results = []
    for n in ns:
        print(f"==> {n} learner(s): joining, then every lab's solution and one wrong answer each", flush=True)
        result = measure(n, labs, wrongs)
        results.append(result)
        print(f"    verdicts right: {result['verdicts_right']}; join p50 {result['join_p50']} s; lab p50 "
              f"{result['lab_p50']} s, p95 {result['lab_p95']} s; peak memory per learner {result['peak_memory_mib_max']} MiB; "
              f"peak tasks {result['peak_tasks_max']}; {result['wall_seconds']} s in all", flush=True)
        for problem in result["wrong_verdicts"] + result["errors"]:
            print(f"    ✘ {problem}", flush=True)
    report = {"machine": machine, "labs": labs, "results": results,
              "command": "looplab room capacity --learners " + ",".join(map(str, ns))}
    if out:
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {out}")
    return 0 if all(r["verdicts_right"] for r in results) else 1
