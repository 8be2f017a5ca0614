"""A room's settings: written by ``looplab room`` (the launcher), read by the checked-in hub
configuration (``jupyterhub_config.py``) and by the facilitator's service.

One JSON file, ``<room home>/room.json``, readable by root only (it holds the session codes). The
hub finds it through ``LOOPLAB_ROOM_SETTINGS``. Standard library only: the hub imports this.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

SETTINGS_ENV = "LOOPLAB_ROOM_SETTINGS"
SERVICE = "looplab-room"  # the facilitator's live view, at /services/looplab-room/
FACILITATOR = "facilitator"  # the admin's login name
USER_PREFIX = "looplab-"  # a learner "ana" runs as the OS user "looplab-ana"
#: Learners' names: short, lowercase, safe as (part of) an OS user name.
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"
#: The session code: what learners type; JupyterHub wants at least 8 characters.
CODE_PATTERN = r"^[A-Za-z0-9-]{8,64}$"
DEFAULT_HOME = Path("/srv/looplab-room")
DEFAULT_INSTALLS = Path("/opt/looplab-room")


def new_session_code() -> str:
    """Easy to read aloud and type: ``loop-7k3m-q9px`` (no 0/o, 1/l)."""
    alphabet = "23456789abcdefghijkmnpqrstuvwxyz"
    return "loop-" + "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(2))


@dataclass
class RoomSettings:
    home: str  # the room's state: hub database, secrets, progress, content, learners' homes
    install: str  # the shared, read-only looplab install the learners' servers run from
    proxy: str  # configurable-http-proxy's executable
    learner_code: str
    facilitator_code: str
    content_repo: str  # what nbgitpuller clones for each learner
    content_branch: str = "main"
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 0
    proxy_api_port: int = 0
    service_port: int = 0
    cert: str = ""
    key: str = ""
    insecure_reason: str = ""  # why the hub serves plain HTTP beyond this machine, if it does
    memory_bytes: int = 2 * 2**30
    tasks: int = 512
    idle_timeout: int = 3600
    session: str = field(default_factory=lambda: f"room-{secrets.token_hex(6)}")

    # --- where things are -------------------------------------------------------------------
    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def homes(self) -> Path:
        return self.home_path / "homes"

    @property
    def python(self) -> str:
        return str(Path(self.install) / ".venv" / "bin" / "python")

    @property
    def bin(self) -> Path:
        return Path(self.install) / ".venv" / "bin"

    @property
    def progress_db(self) -> Path:
        return self.home_path / "progress.sqlite"

    @property
    def git_config(self) -> Path:
        return self.home_path / "gitconfig"

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    def public_url(self, host: str | None = None) -> str:
        shown = host or ("127.0.0.1" if self.ip in ("0.0.0.0", "::", "") else self.ip)  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        return f"{self.scheme}://{shown}:{self.port}/"

    @property
    def bind_url(self) -> str:
        shown = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{shown}:{self.port}/"

    @property
    def service_url(self) -> str:
        """Where learners' kernels report their checks (loopback, straight to the service)."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE}/"

    # --- names ------------------------------------------------------------------------------
    @staticmethod
    def os_user(learner: str) -> str:
        return USER_PREFIX + learner

    # --- the file -----------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.home_path / "room.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(self), out, indent=1)
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> RoomSettings:
        path = Path(path or os.environ[SETTINGS_ENV])
        return cls(**json.loads(path.read_text()))


FACILITATE = f"custom:{SERVICE}:facilitate"


def roles() -> dict[str, dict]:
    """JupyterHub's roles for a room (jupyterhub_config.py, and deploy/kubernetes/values.yaml: tested equal).

    A learner may report to the live view, and a token never has more than its owner, so ``user``
    gets that scope; the live view's pages need the facilitator's custom scope, which learners lack."""
    report = f"access:services!service={SERVICE}"
    return {
        "user": {"scopes": ["self", report]},
        "server": {"scopes": ["users:activity!user", "access:servers!server", report]},
        "facilitator": {"users": [FACILITATOR], "scopes": [report, FACILITATE]},
        f"{SERVICE}-service": {"services": [SERVICE],
                               "scopes": ["list:users", "read:users:name", "read:users:activity", "read:servers"]},
    }


def valid_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None and name != FACILITATOR
