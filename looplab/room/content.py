"""The learners' copies of the notebooks, labs and ``zh/``: pulled with nbgitpuller from a git repository.

By default the room serves this checkout's committed ``HEAD`` from a bare repository in the room's
home (``content.git``); ``looplab room publish`` pushes a new ``HEAD`` there mid-session (a fix),
and the next time a learner opens the room's link nbgitpuller merges it into their copy. Their
own edits win where both changed the same lines; everything else of the fix arrives. With
``--content URL`` the room pulls from the workshop's public repository instead, as the field does.

nbgitpuller runs as the learner; git refuses a repository owned by another user ("dubious
ownership") unless it is listed in ``safe.directory`` of a protected configuration, so learners get
a read-only global git configuration that lists the room's repository and nothing else.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlencode

TARGET = "looplab"  # the folder in each learner's home


class ContentError(RuntimeError):
    """The content repository cannot be made or updated; the message names the fix."""


def _git(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise ContentError(f"git {' '.join(map(str, args[:2]))} failed: {done.stderr.strip()[-400:]}")
    return done.stdout.strip()


def publish(checkout: Path, bare: Path, branch: str = "main") -> str:
    """Push ``checkout``'s committed HEAD to the room's repository (made if missing); returns the commit."""
    try:
        head = _git("rev-parse", "HEAD", cwd=checkout)
    except (ContentError, FileNotFoundError) as exc:
        raise ContentError(f"{checkout} is not a git checkout with a commit: the room's content is its "
                           "committed HEAD (or give --content URL)") from exc
    if not (bare / "HEAD").exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--bare", "--initial-branch", branch, bare)
    _git("push", "--quiet", "--force", str(bare), f"HEAD:refs/heads/{branch}", cwd=checkout)
    bare.chmod(0o755)
    subprocess.run(["chmod", "-R", "a+rX,go-w", str(bare)], check=True)
    return head


def dirty(checkout: Path) -> bool:
    """Uncommitted changes to what learners get (they get HEAD, not the working tree)."""
    try:
        return bool(_git("status", "--porcelain", "--untracked-files=no", cwd=checkout))
    except ContentError:
        return False


def write_git_config(path: Path, repository: str) -> None:
    """The learners' global git configuration: the room's repository is safe to read."""
    lines = ["[safe]"]
    if repository.startswith("file://"):
        lines.append(f"\tdirectory = {repository.removeprefix('file://')}")
    lines += ["[user]", "\tname = looplab learner", "\temail = learner@looplab.invalid", ""]
    path.write_text("\n".join(lines))
    path.chmod(0o644)


def pull_path(repository: str, branch: str, open_at: str = "lab/tree/looplab/notebooks") -> str:
    """The single-user server's path that clones or updates the learner's copy, then opens JupyterLab."""
    return "/git-pull?" + urlencode({"repo": repository, "branch": branch, "targetpath": TARGET, "urlpath": open_at})
