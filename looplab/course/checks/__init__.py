"""Lab checks: each runs the learner's code against real servers and says, in plain words, what is
still wrong and which way to look.

A check either prints one success line or raises :class:`LabCheckFailed` whose message is a hint.
An exercise that is still the stub raises ``NotImplementedError`` (reported as "not attempted").
Every check is proven by breakage in ``tests/test_lab_checks.py``: each committed wrong answer (a
classic mistake the lab warns about) must fail it with the intended hint.

One module per lab; the labs call them as ``checks.<name>(...)``.
"""

from __future__ import annotations

from ..feedback import LabCheckFailed
from .lab01 import crash_script, fixed_script
from .lab02 import lazy_adapter
from .lab03 import log_analysis
from .lab05 import per_call_adapter
from .lab06 import fast_adapter, lifecycle
from .lab07 import loop_guard, regression_test
from .lab08 import sync_bridge

__all__ = ["LabCheckFailed", "crash_script", "fixed_script", "lazy_adapter", "log_analysis", "per_call_adapter",
           "fast_adapter", "lifecycle", "loop_guard", "regression_test", "sync_bridge"]

# In a room (the shared JupyterHub), each check's outcome also goes to the facilitator's live view.
from ..progress import lab_of as _lab_of  # noqa: E402
from ..progress import reported as _reported  # noqa: E402

for _name in __all__:
    if _name != "LabCheckFailed":
        globals()[_name] = _reported(globals()[_name])


def columns() -> list[tuple[str, str]]:
    """Every lab check, in the labs' order: (lab, check name), one column each in the room's live view."""
    found = [(_lab_of(globals()[name]), name) for name in __all__ if name != "LabCheckFailed"]
    return sorted(found, key=lambda pair: pair[0])
