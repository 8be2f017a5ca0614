"""``witness``: the lifespan adapter that also records which interpreter runs it.

A lab check hands it to a learner's regression test as one of the fixes: with
``LOOPLAB_WITNESS_FILE`` set, ``initialize()`` appends this process's ``sys.executable`` to that
file, so the check can tell whether the test really started the stack on the client stack it was
asked to test. Without the variable it is just the lifespan adapter.
"""

from __future__ import annotations

import os
import sys

from .lifespan import LifespanAdapter

WITNESS_ENV = "LOOPLAB_WITNESS_FILE"


class WitnessAdapter(LifespanAdapter):
    async def initialize(self) -> None:
        path = os.environ.get(WITNESS_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(sys.executable + "\n")
