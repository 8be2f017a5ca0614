"""Per-learner limits: one learner's runaway cell (memory, processes, CPU) must not take the room down.

Each learner's single-user server, and everything it starts (kernels, mock servers, a fork bomb),
runs in the learner's own control group: ``looplab-room/<os user>`` under the memory, pids and cpu
controllers (cgroup v1, as on this machine) or one group with ``memory.max``, ``pids.max`` and
``cpu.weight`` (cgroup v2). A memory hog is killed by the kernel inside its own group, a fork bomb
hits ``pids.max``, and CPU is shared per learner, not per process. Where control groups cannot be
written (a container without them), the fallback is per-user resource limits: ``RLIMIT_NPROC``
(counted per OS user, so per learner) and ``RLIMIT_AS`` (per process, a weaker memory cap); the room
says so when it starts.

Standard library only: this runs inside the hub, in the preexec function of each spawn.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "looplab-room"
V1_CONTROLLERS = ("memory", "pids", "cpu")


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    tasks: int  # processes and threads
    cpu_weight: int = 100  # the same share for every learner

    def describe(self) -> str:
        return f"{self.memory_bytes / 2**30:.1f} GiB of memory and {self.tasks} processes/threads per learner"


def cgroup_mode(root: Path = CGROUP_ROOT) -> str | None:
    """"v2", "v1" or None: which control groups this machine lets us write."""
    if (root / "cgroup.controllers").exists():
        controllers = (root / "cgroup.controllers").read_text().split()
        if {"memory", "pids"} <= set(controllers) and os.access(root, os.W_OK):
            return "v2"
        return None
    if all((root / c).is_dir() and os.access(root / c, os.W_OK) for c in V1_CONTROLLERS):
        return "v1"
    return None


class LearnerGroup:
    """The control group of one learner (``looplab-room/<os user>``), or the rlimit fallback."""

    def __init__(self, user: str, limits: Limits, root: Path = CGROUP_ROOT) -> None:
        self.user, self.limits, self.root = user, limits, root
        self.mode = cgroup_mode(root)

    def _dirs(self) -> list[Path]:
        if self.mode == "v1":
            return [self.root / c / GROUP / self.user for c in V1_CONTROLLERS]
        if self.mode == "v2":
            return [self.root / GROUP / self.user]
        return []

    def create(self) -> None:
        """Make the group and set its limits (idempotent; limits are re-applied on every spawn)."""
        if self.mode == "v2":
            parent = self.root / GROUP
            parent.mkdir(exist_ok=True)
            for folder in (self.root, parent):  # let the children use the controllers
                _write(folder / "cgroup.subtree_control", "+memory +pids +cpu", missing_ok=True)
            group = parent / self.user
            group.mkdir(exist_ok=True)
            _write(group / "memory.max", str(self.limits.memory_bytes))
            _write(group / "memory.swap.max", "0", missing_ok=True)
            _write(group / "pids.max", str(self.limits.tasks))
            _write(group / "cpu.weight", str(self.limits.cpu_weight), missing_ok=True)
        elif self.mode == "v1":
            for folder in self._dirs():
                folder.mkdir(parents=True, exist_ok=True)
            memory, pids, cpu = self._dirs()
            _write(memory / "memory.limit_in_bytes", str(self.limits.memory_bytes))
            _write(memory / "memory.memsw.limit_in_bytes", str(self.limits.memory_bytes), missing_ok=True)
            _write(pids / "pids.max", str(self.limits.tasks))
            _write(cpu / "cpu.shares", str(1024 * self.limits.cpu_weight // 100), missing_ok=True)

    def enter(self) -> None:
        """Called in the child between fork and exec, as root: join the group (or set the rlimits)."""
        pid = str(os.getpid())
        for folder in self._dirs():
            with open(folder / "cgroup.procs", "w") as procs:  # noqa: PTH123 (no pathlib between fork and exec)
                procs.write(pid)
        if not self.mode:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.limits.tasks, self.limits.tasks))
            resource.setrlimit(resource.RLIMIT_AS, (self.limits.memory_bytes, self.limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashed kernel leaves no core file in a home

    def pids(self) -> set[int]:
        """Every process in the group; in the fallback, every process of the learner's OS user."""
        if not self.mode:
            return _pids_of_user(self.user)
        found: set[int] = set()
        for folder in self._dirs():
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                continue
        return found

    def usage(self) -> dict[str, int]:
        """Memory in bytes and tasks, as the control group counts them (empty in the fallback)."""
        if self.mode == "v1":
            memory, pids, _cpu = self._dirs()
            return {"memory": _read_int(memory / "memory.usage_in_bytes"), "peak": _read_int(memory / "memory.max_usage_in_bytes"),
                    "tasks": _read_int(pids / "pids.current"), "peak_tasks": _read_int(pids / "pids.peak")}
        if self.mode == "v2":
            (group,) = self._dirs()
            return {"memory": _read_int(group / "memory.current"), "peak": _read_int(group / "memory.peak"),
                    "tasks": _read_int(group / "pids.current"), "peak_tasks": _read_int(group / "pids.peak")}
        return {}

    def remove(self) -> None:
        """Remove the (empty) group's folders."""
        for folder in self._dirs():
            try:
                folder.rmdir()
            except OSError:
                pass

    def kill_all(self) -> int:
        """SIGKILL every process left in the group (after the server was stopped); returns how many."""
        killed = 0
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed


def _pids_of_user(user: str) -> set[int]:
    import pwd

    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return set()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _write(path: Path, value: str, missing_ok: bool = False) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        if not missing_ok:
            raise
    except OSError:
        if not missing_ok:
            raise


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
