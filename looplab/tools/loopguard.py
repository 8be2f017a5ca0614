"""The loop guard, as the workshop has always imported it (``from looplab.tools.loopguard import guard``).

It lives in its own distribution, ``looplab-tools`` (standard library only), as
:mod:`looplab_tools.loopguard`, whose pytest plugin is installed as an entry point: ``pytest
--loop-guard`` needs no ``-p``. ``pytest -p looplab.tools.loopguard --loop-guard`` still works: this
module names the guard's objects and registers no hooks of its own (the entry point's do the work).
"""

from looplab_tools.loopguard import TARGETS, Guard, LoopAffinityError, LoopGuardWarning, guard

__all__ = ["TARGETS", "Guard", "LoopAffinityError", "LoopGuardWarning", "guard"]
