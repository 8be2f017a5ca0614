"""What a team takes home: tools for its own code, standard library only (they import nothing else of looplab).

* :mod:`.lint`: ``looplab lint PATH...``, the bug's shapes found statically (also a flake8 plugin).
* :mod:`.loopguard`: a runtime guard for a test suite (``pytest --loop-guard``, or ``with guard():``).
"""
