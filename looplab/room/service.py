"""The facilitator's live view: a JupyterHub service (``/services/looplab-room/``), admins only.

    GET  /                 the board (refreshes itself every few seconds)     facilitator
    GET  /board            the board's table alone (what the page refreshes)   facilitator
    GET  /board.json       the board as data                                   facilitator
    GET  /export.csv       the board as CSV, for the end of the session        facilitator
    POST /api/attempts     a check's result, from a learner's kernel           that learner's token
    POST /api/doctor       a learner's ``doctor`` result, when their server starts

Who is who is JupyterHub's business: the page is behind the hub's OAuth and needs the custom scope
only the facilitator's role holds, so learners are refused; a report is filed under the name the hub
gives for the token that sent it, so no learner can write another's row. Run by the hub
(``python -m looplab.room.service``), as configured in ``jupyterhub_config.py``.
"""

from __future__ import annotations

import html
import json
import os
import time
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from ..course.checks import columns as check_columns
from .progress import Board, BadReport, Progress, ago, to_csv
from .settings import FACILITATE, FACILITATOR, SERVICE, RoomSettings

REPORT = f"access:services!service={SERVICE}"


class _Handler(HubOAuthenticated, web.RequestHandler):
    @property
    def progress(self) -> Progress:
        return self.settings["progress"]

    @property
    def columns(self) -> list[tuple[str, str]]:
        return self.settings["columns"]

    async def board(self) -> Board:
        return self.progress.board(self.columns, await learners(self.settings["hub_api"]))


class Page(_Handler):
    hub_scopes = {FACILITATE}

    @web.authenticated
    async def get(self) -> None:
        board = await self.board()
        self.write(PAGE.format(table=render(board), refresh=url_path_join(self.settings["prefix"], "board"),
                               csv=url_path_join(self.settings["prefix"], "export.csv"),
                               xsrf=html.escape(self.xsrf_token.decode())))


class Fragment(_Handler):
    hub_scopes = {FACILITATE}

    @web.authenticated
    async def get(self) -> None:
        self.write(render(await self.board()))


class BoardData(_Handler):
    hub_scopes = {FACILITATE}

    @web.authenticated
    async def get(self) -> None:
        board = await self.board()
        self.write({"columns": [f"{lab}.{check}" for lab, check in board.columns],
                    "callouts": [{"check": f"{c.column[0]}.{c.column[1]}", "hint": c.hint, "learners": c.learners}
                                 for c in board.callouts],
                    "rows": [{"learner": r.learner, "doctor": r.doctor_ok, "doctor_summary": r.doctor_summary,
                              "last_attempt": r.last_attempt,
                              "cells": {f"{lab}.{check}": {"verdict": cell.verdict, "hint": cell.hint}
                                        for (lab, check), cell in r.cells.items()}}
                             for r in board.rows]})


class Export(_Handler):
    hub_scopes = {FACILITATE}

    @web.authenticated
    async def get(self) -> None:
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="looplab-room-{time.strftime("%Y%m%d-%H%M")}.csv"')
        self.write(to_csv(await self.board()))


class Report(_Handler):
    """A learner's kernel or server reports; the learner is whoever the hub says owns the token."""

    hub_scopes = {REPORT}

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body is not a JSON object")
        return body

    def learner(self) -> str:
        user = self.current_user
        if user.get("kind", "user") != "user" or user["name"] == FACILITATOR:
            raise web.HTTPError(403, "only learners report results")
        return user["name"]


class Attempts(Report):
    @web.authenticated
    def post(self) -> None:
        body = self.json_body()
        try:
            self.progress.record(self.learner(), str(body.get("lab", "")), str(body.get("check", "")),
                                 str(body.get("verdict", "")), str(body.get("hint", "")), str(body.get("exercise", "")),
                                 columns=self.columns)
        except BadReport as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.set_status(201)


class Doctor(Report):
    @web.authenticated
    def post(self) -> None:
        body = self.json_body()
        self.progress.record_doctor(self.learner(), bool(body.get("ok")), str(body.get("summary", "")))
        self.set_status(201)


async def learners(hub_api: str) -> list[str]:
    """Every learner the hub knows (the facilitator excluded), so learners with no attempt show too."""
    request = HTTPRequest(url_path_join(hub_api, "users"), headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"})
    try:
        reply = await AsyncHTTPClient().fetch(request, raise_error=True)
    except Exception:  # noqa: BLE001 (the board still shows who has reported)
        return []
    return sorted(u["name"] for u in json.loads(reply.body) if u["name"] != FACILITATOR)


def render(board: Board) -> str:
    """The board's HTML: callouts, then the table."""
    esc = html.escape
    parts = []
    for callout in board.callouts:
        parts.append(f'<p class="callout"><strong>{len(callout.learners)} learners see the same hint on '
                     f'{esc(callout.column[0])} · {esc(callout.column[1])}</strong> ({esc(", ".join(callout.learners))}): '
                     f'{esc(callout.hint)}<br>Consider explaining it to the whole room.</p>')
    head = "".join(f"<th>{esc(lab)}<br>{esc(check)}</th>" for lab, check in board.columns)
    parts.append(f'<table><thead><tr><th>learner</th><th>doctor</th><th>last attempt</th>{head}</tr></thead><tbody>')
    if not board.rows:
        parts.append(f'<tr><td colspan="{len(board.columns) + 3}">No learner has joined yet.</td></tr>')
    for row in board.rows:
        doctor = ("○ not yet" if row.doctor_ok is None else "✔ passed" if row.doctor_ok else "✘ failed")
        cells = []
        for column in board.columns:
            cell, key = row.cells.get(column), f'data-check="{esc(column[0])}.{esc(column[1])}"'
            if cell is None or cell.verdict in (None, "not attempted"):
                cells.append(f'<td class="todo" {key}>○</td>')
            elif cell.verdict == "passed":
                cells.append(f'<td class="ok" {key}>✔</td>')
            else:
                cells.append(f'<td class="stuck" {key}>✘ <span class="hint">{esc(cell.hint[:300])}</span></td>')
        since = ago(board.now - row.last_attempt) if row.last_attempt else "never"
        parts.append(f'<tr data-learner="{esc(row.learner)}"><th>{esc(row.learner)}</th>'
                     f'<td title="{esc(row.doctor_summary)}">{doctor}</td><td>{since}</td>{"".join(cells)}</tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>looplab room · live view</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; }}
td.ok {{ background: #e6f4ea; text-align: center; }} td.todo {{ color: gray; text-align: center; }}
td.stuck {{ background: #fdecea; max-width: 22rem; font-size: .85rem; }}
p.callout {{ background: #fff4e5; border-left: 4px solid #f59e0b; padding: .5rem .8rem; }}
</style></head>
<body><h1>looplab room · live view</h1>
<p>✔ passed · ✘ failed (the hint the learner is reading) · ○ not attempted. Refreshes every 3 s.
<a href="{csv}">Export as CSV</a></p>
<div id="board">{table}</div>
<script>
setInterval(async () => {{
  // a fetch is not a page load: JupyterHub's OAuth cookie needs the XSRF token beside it
  const reply = await fetch("{refresh}", {{credentials: "same-origin", headers: {{"X-XSRFToken": "{xsrf}"}}}});
  if (reply.ok) document.getElementById("board").innerHTML = await reply.text();
}}, 3000);
</script></body></html>
"""


def make_app(progress_db: str) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE}/")
    return web.Application(
        [(prefix, Page), (url_path_join(prefix, "board"), Fragment), (url_path_join(prefix, "board.json"), BoardData),
         (url_path_join(prefix, "export.csv"), Export), (url_path_join(prefix, "api/attempts"), Attempts),
         (url_path_join(prefix, "api/doctor"), Doctor), (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler)],
        cookie_secret=os.urandom(32), progress=Progress(progress_db), columns=check_columns(),
        prefix=prefix, hub_api=os.environ["JUPYTERHUB_API_URL"])


def main() -> None:
    """On a room's hub: the database in the room's home. On Kubernetes (deploy/kubernetes/): the
    service runs in its own pod with ``LOOPLAB_ROOM_PROGRESS`` naming the database on its volume."""
    progress_db = os.environ.get("LOOPLAB_ROOM_PROGRESS") or str(RoomSettings.load().progress_db)
    app = make_app(progress_db)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(url.port, url.hostname)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
