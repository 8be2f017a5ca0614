"""The room's JupyterHub configuration (``jupyterhub -f looplab/room/jupyterhub_config.py``).

Everything here is JupyterHub's own machinery, configured for a workshop:

* **Login**: JupyterHub's shared-password authenticator. A learner types a name of their choice and
  the session code the facilitator gives the room; the facilitator logs in as ``facilitator`` with
  the facilitator's code (an admin).
* **Servers**: :class:`looplab.room.spawner.RoomSpawner` (JupyterHub's LocalProcessSpawner, one OS
  user and one set of limits per learner), running ``jupyterhub-singleuser`` from the room's shared
  read-only install. The first page a learner opens is an nbgitpuller link: it clones their own copy
  of the notebooks, labs and ``zh/`` (or merges the facilitator's latest fixes into it).
* **Proxy**: configurable-http-proxy from npm. TLS when a certificate is given.
* **Services**: the facilitator's live view (``looplab-room``, admins only) and JupyterHub's idle
  culler.

Values that differ per room (ports, codes, paths) come from the room's settings file
(``LOOPLAB_ROOM_SETTINGS``), written by ``looplab room``.
"""

# ruff: noqa: F821 (``get_config`` is given by JupyterHub when it loads this file)
from __future__ import annotations

from looplab.room.content import pull_path
from looplab.room.settings import FACILITATE, FACILITATOR, NAME_PATTERN, SERVICE, SETTINGS_ENV, RoomSettings, roles

room = RoomSettings.load()
c = get_config()  # type: ignore[name-defined]
home = room.home_path

# --- where the hub listens, and what it keeps --------------------------------------------------------
c.JupyterHub.bind_url = room.bind_url
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{room.hub_port}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{room.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [room.proxy]
c.ConfigurableHTTPProxy.auth_token = (home / "proxy_token").read_text().strip()
if room.cert:
    c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = room.cert, room.key
c.JupyterHub.db_url = f"sqlite:///{home / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(home / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(home / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # Ctrl-C stops every learner's server (their work stays on disk)
c.JupyterHub.cleanup_proxy = True

# --- who may log in -----------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = room.learner_code
c.SharedPasswordAuthenticator.admin_password = room.facilitator_code
c.Authenticator.admin_users = {FACILITATOR}
c.Authenticator.allow_all = True
c.Authenticator.username_pattern = NAME_PATTERN
c.JupyterHub.template_vars = {
    "announcement_login": "Type a short name (lowercase letters, digits, '-': e.g. <code>ana</code> or "
                          "<code>li-wei</code>) and the session code your facilitator gave the room. "
                          "输入一个简短的名字（小写字母、数字或 '-'）和讲师给出的课程码。",
}



def landing(handler):  # noqa: ANN001, ANN201 (JupyterHub's callable default_url)
    """After login: the facilitator lands on the live view; a learner on their own JupyterLab (the default)."""
    user = handler.current_user
    return f"{handler.base_url}services/{SERVICE}/" if user is not None and user.name == FACILITATOR else ""


c.JupyterHub.default_url = landing

# --- each learner's JupyterLab ------------------------------------------------------------------------
c.JupyterHub.spawner_class = "looplab.room.spawner.RoomSpawner"
c.Spawner.cmd = [room.python, "-m", "looplab.room.singleuser"]  # doctor, then jupyterhub-singleuser
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = pull_path(room.content_repo, room.content_branch)
c.Spawner.start_timeout = 180  # a room's first minute: twelve servers start at once on two cores
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    "PATH": f"{room.bin}:/usr/local/bin:/usr/bin:/bin",
    "VIRTUAL_ENV": str(room.bin.parent),
    "GIT_CONFIG_GLOBAL": str(room.git_config),  # the room's repository is safe to pull (see content.py)
    "LOOPLAB_SESSION": room.session,  # tags every server a learner's notebooks start
    "LOOPLAB_ROOM_URL": room.service_url,  # where a check cell reports its result
    "PYTHONNOUSERSITE": "1",
}
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.mem_limit = room.memory_bytes  # informational for JupyterLab; RoomSpawner enforces it

# --- roles: what each kind of token may do ------------------------------------------------------------
c.JupyterHub.custom_scopes = {FACILITATE: {"description": "See every learner's progress in the room's live view."}}
c.JupyterHub.load_roles = [{"name": name, **role} for name, role in roles().items()] + [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]

# --- services -----------------------------------------------------------------------------------------
c.JupyterHub.services = [
    {
        "name": SERVICE,
        "display": True,
        "url": f"http://127.0.0.1:{room.service_port}",
        "command": [room.python, "-m", "looplab.room.service"],
        "environment": {SETTINGS_ENV: str(home / "room.json")},
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [FACILITATE],
    },
    {
        "name": "idle-culler",
        "command": [room.python, "-m", "jupyterhub_idle_culler", f"--timeout={room.idle_timeout}"],
    },
]
