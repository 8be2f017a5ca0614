"""The room: a team session on one shared JupyterHub (``looplab room``, ``python3 run.py room``).

========================  ======================================================================
:mod:`.settings`          one room's settings (ports, codes, paths), written by the launcher
:mod:`.install`           the shared, read-only install learners run from, and the proxy (npm)
:mod:`.launch`            start the hub, print where to go, stop everything on Ctrl-C
:mod:`.jupyterhub_config` the checked-in hub configuration (JupyterHub's own parts, configured)
:mod:`.spawner`           JupyterHub's LocalProcessSpawner + an OS user and limits per learner
:mod:`.limits`            per-learner control groups (memory, processes, CPU)
:mod:`.content`           learners' copies through nbgitpuller; publishing a fix mid-session
:mod:`.progress`          the progress database and the board (standard library)
:mod:`.service`           the facilitator's live view, a JupyterHub service
:mod:`.singleuser`        a learner's server: doctor in the background, then jupyterhub-singleuser
:mod:`.capacity`          simulated learners driving real kernels through the hub
========================  ======================================================================

May import the course (the lab checks it shows), process handling and the base.
"""
