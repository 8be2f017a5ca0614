"""What a team takes home from looplab: tools for its own code, standard library only.

* :mod:`looplab_tools.lint`: ``looplab-lint PATH...`` (also ``flake8 --select LL`` and a pre-commit
  hook), the two-loop bug found statically.
* :mod:`looplab_tools.loopguard`: a runtime guard (``pytest --loop-guard``, or ``with guard():``).
"""

__version__ = "0.2.0"
