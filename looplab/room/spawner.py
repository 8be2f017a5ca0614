"""JupyterHub's own LocalProcessSpawner, with what a workshop room adds: an OS user per learner, made
on first login, and that learner's limits.

A learner who logs in as ``ana`` runs as the OS user ``looplab-ana`` (never as an existing account:
the prefix keeps ``root`` or ``admin`` out of reach), with a private home under the room's home
(mode 0700: no learner reads or changes another's files), a private ``TMPDIR``, and everything
they start inside their control group (:mod:`.limits`). Stopping their server also kills whatever
is left in that group, so a stopped room leaves no learner's kernel or mock server behind.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

from .limits import LearnerGroup, Limits
from .settings import RoomSettings


def ensure_os_user(name: str, home: str) -> pwd.struct_passwd:
    """The learner's OS user, made if missing: no password, no login shell, a private home."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run([useradd, "--create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group",
                    "--comment", "looplab room learner", name], check=True, capture_output=True, timeout=60)
    entry = pwd.getpwnam(name)
    os.chmod(home, 0o700)  # noqa: PTH101
    return entry


class RoomSpawner(LocalProcessSpawner):
    """One learner's JupyterLab, as their own OS user, inside their own limits."""

    @property
    def room(self) -> RoomSettings:
        if not hasattr(self, "_room"):
            self._room = RoomSettings.load()
        return self._room

    @property
    def os_user(self) -> str:
        return self.room.os_user(self.user.name)

    def group(self) -> LearnerGroup:
        return LearnerGroup(self.os_user, Limits(self.room.memory_bytes, self.room.tasks))

    async def start(self):  # noqa: ANN201 (JupyterHub's signature)
        entry = ensure_os_user(self.os_user, str(self.room.homes / self.os_user))
        tmp = os.path.join(entry.pw_dir, ".tmp")
        os.makedirs(tmp, exist_ok=True)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
        os.chmod(tmp, 0o700)  # noqa: PTH101
        self.group().create()
        return await super().start()

    def make_preexec_fn(self, name: str):  # noqa: ANN201, ARG002 (the hub passes the hub user's name)
        become = set_user_setuid(self.os_user)
        group = self.group()

        def preexec() -> None:
            group.enter()  # as root, before dropping to the learner
            become()

        return preexec

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        entry = pwd.getpwnam(self.os_user)
        env.update(USER=entry.pw_name, LOGNAME=entry.pw_name, HOME=entry.pw_dir, SHELL="/bin/bash",
                   TMPDIR=os.path.join(entry.pw_dir, ".tmp"))
        return env

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)
        left = self.group().kill_all()  # kernels and mock servers run in their own sessions
        if left:
            self.log.info("stopped %d process(es) left in %s's group", left, self.user.name)
