"""A learner, driven by a program: log in through the hub's login page, wait for their JupyterLab,
pull their copy of the workshop with nbgitpuller, and run notebook cells in real kernels through the
hub's proxy (Jupyter's REST API and kernel websocket, as JupyterLab uses them).

The capacity measurement and the room's tests use it; everything goes through the same doors a
browser does (the login form, the proxy, the learner's own server), so what it measures is what a
room gets.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import requests
import websocket

from .content import TARGET


class LearnerError(RuntimeError):
    """The hub refused, or a server did not come up, or a cell did not finish in time."""


class KernelDied(LearnerError):
    """The kernel stopped while a cell ran (killed by the learner's memory limit, say)."""


@dataclass
class Result:
    """What one cell did: its status, what it printed, its error (if any)."""

    status: str = ""
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    outputs: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def text(self) -> str:
        """Everything the learner saw, as text (streams, results, the error's traceback)."""
        shown = [self.stdout, self.stderr]
        for output in self.outputs:
            if output.get("output_type") in ("execute_result", "display_data"):
                shown.append(output.get("data", {}).get("text/plain", ""))
        return "\n".join(filter(None, [*shown, self.error]))


class Learner:
    def __init__(self, base_url: str, name: str, code: str, verify: bool | str = True) -> None:
        self.base, self.name, self.code = base_url.rstrip("/") + "/", name, code
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy in the environment must not override the room's
        self.http.verify = verify
        self.token = ""

    # --- the hub --------------------------------------------------------------------------------
    def login(self) -> requests.Response:
        """The login form, as a browser submits it; returns the hub's answer (a redirect when accepted)."""
        self.http.get(self.base + "hub/login", timeout=30)
        reply = self.http.post(self.base + "hub/login", timeout=60, allow_redirects=False,
                               data={"username": self.name, "password": self.code, "_xsrf": self.http.cookies.get("_xsrf", "")})
        if reply.status_code != 302:
            raise LearnerError(f"{self.name}: the hub refused the login ({reply.status_code})")
        return reply

    def api_token(self) -> str:
        """A token for this learner, asked from the hub with the login cookie (as JupyterLab's token page does)."""
        reply = self.http.post(self.base + f"hub/api/users/{self.name}/tokens", json={"note": "looplab room learner"},
                               headers={"X-XSRFToken": self.http.cookies.get("_xsrf", "")}, timeout=30)
        reply.raise_for_status()
        self.token = reply.json()["token"]
        return self.token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def start_server(self, timeout: float = 240.0) -> float:
        """Ask for this learner's server and wait until it answers; returns the seconds it took."""
        began = time.monotonic()
        reply = self.http.post(self.base + f"hub/api/users/{self.name}/server", headers=self.headers(), timeout=60)
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise LearnerError(f"{self.name}: the hub did not start the server ({reply.status_code}: {reply.text[:200]})")
        while time.monotonic() - began < timeout:
            model = self.http.get(self.base + f"hub/api/users/{self.name}", headers=self.headers(), timeout=30).json()
            server = (model.get("servers") or {}).get("", {})
            if server.get("ready"):
                return time.monotonic() - began
            time.sleep(0.25)  # polling the hub's API until the spawn is done (JupyterLab's spawn page does too)
        raise LearnerError(f"{self.name}: the server did not start within {timeout:.0f} s")

    def join(self, repo: str, branch: str = "main") -> float:
        """Log in, get a token, start the server, pull the workshop; returns the seconds until ready."""
        began = time.monotonic()
        self.login()
        self.api_token()
        self.start_server()
        self.pull(repo, branch)
        return time.monotonic() - began

    # --- the learner's server -------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + f"user/{self.name}/" + path.lstrip("/")

    def pull(self, repo: str, branch: str = "main", timeout: float = 180.0) -> list[str]:
        """nbgitpuller's own API (what its page streams): clone or merge the learner's copy."""
        reply = self.http.get(self.url("git-pull/api?" + urlencode({"repo": repo, "branch": branch, "targetpath": TARGET})),
                              headers=self.headers(), stream=True, timeout=timeout)
        reply.raise_for_status()
        said = []
        for line in reply.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                said.append(event.get("output") or event.get("message") or event.get("phase", ""))
                if event.get("phase") == "error":
                    raise LearnerError(f"{self.name}: nbgitpuller failed: {event.get('message')}: {''.join(said)[-500:]}")
                if event.get("phase") == "finished":
                    return said
        raise LearnerError(f"{self.name}: nbgitpuller's stream ended without finishing")

    def contents(self, path: str) -> dict:
        reply = self.http.get(self.url(f"api/contents/{path}"), headers=self.headers(), timeout=30)
        reply.raise_for_status()
        return reply.json()

    def save_notebook(self, path: str, notebook: dict) -> None:
        reply = self.http.put(self.url(f"api/contents/{path}"), headers=self.headers(), timeout=30,
                              json={"type": "notebook", "format": "json", "content": notebook})
        reply.raise_for_status()

    def session(self, notebook_path: str) -> Kernel:
        """A kernel for ``notebook_path`` (its folder is the kernel's working folder), as JupyterLab opens one."""
        reply = self.http.post(self.url("api/sessions"), headers=self.headers(), timeout=120,
                               json={"path": notebook_path, "type": "notebook", "name": notebook_path.rsplit("/", 1)[-1],
                                     "kernel": {"name": "python3"}})
        reply.raise_for_status()
        model = reply.json()
        return Kernel(self, model["id"], model["kernel"]["id"])


class Kernel:
    def __init__(self, learner: Learner, session_id: str, kernel_id: str) -> None:
        self.learner, self.session_id, self.id = learner, session_id, kernel_id
        url = urlparse(learner.url(f"api/kernels/{kernel_id}/channels"))
        scheme = "wss" if url.scheme == "https" else "ws"
        options = {}
        if scheme == "wss":
            verify = learner.http.verify
            options = {"sslopt": {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": verify} if isinstance(verify, str)
                       else {"cert_reqs": ssl.CERT_REQUIRED if verify else ssl.CERT_NONE}}
        try:  # a room under load (every learner starting kernels at once) can take a while to answer
            self.ws = websocket.create_connection(f"{scheme}://{url.netloc}{url.path}",
                                                  header=[f"Authorization: token {learner.token}"], timeout=180, **options)
        except (websocket.WebSocketException, OSError) as exc:
            raise LearnerError(f"{learner.name}: the kernel's websocket did not open: {exc}") from None

    def execute(self, code: str, timeout: float = 300.0) -> Result:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.learner.name,
                                            "session": self.session_id, "version": "5.3", "date": ""},
                                 "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                                 "content": {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        result, began, replied, idle = Result(), time.monotonic(), False, False
        while not (replied and idle):
            remaining = timeout - (time.monotonic() - began)
            if remaining <= 0:
                raise LearnerError(f"{self.learner.name}: a cell did not finish within {timeout:.0f} s")
            self.ws.settimeout(remaining)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except websocket.WebSocketConnectionClosedException:
                raise LearnerError(f"{self.learner.name}: the kernel's connection closed (the kernel died?)") from None
            if message.get("msg_type") == "status" and message["content"].get("execution_state") in ("restarting", "dead"):
                raise KernelDied(f"{self.learner.name}: the kernel died while running a cell (and is restarting)")
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                setattr(result, content["name"], getattr(result, content["name"]) + content["text"])
            elif kind in ("execute_result", "display_data"):
                result.outputs.append({"output_type": kind, "data": content.get("data", {})})
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                result.status, replied = content["status"], True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        result.seconds = time.monotonic() - began
        return result

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.learner.http.delete(self.learner.url(f"api/sessions/{self.session_id}"), headers=self.learner.headers(),
                                     timeout=60)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def code_cells(notebook: dict) -> list[tuple[str, str]]:
    """(cell id, source) of every code cell, in order."""
    return [(cell.get("id", ""), "".join(cell["source"])) for cell in notebook["cells"] if cell["cell_type"] == "code"]
