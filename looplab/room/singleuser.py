"""A learner's server: ``looplab doctor`` in the background (its result goes to the live view), then
JupyterHub's own ``jupyterhub-singleuser`` in this process, with the arguments the hub gave.

The hub's spawner runs this as the learner, inside the learner's limits (``python -m
looplab.room.singleuser --port=...``), so the doctor checks exactly the environment the learner's
kernels get.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> None:
    bin_dir = Path(sys.executable).parent
    subprocess.Popen([sys.executable, "-m", "looplab", "doctor", "--room-report"],  # noqa: S603
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    server = str(bin_dir / "jupyterhub-singleuser")
    os.execv(server, [server, *sys.argv[1:]])  # noqa: S606


if __name__ == "__main__":
    main()
