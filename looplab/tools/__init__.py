"""What a team takes home, as the workshop imports it. The tools are their own distribution,
``looplab-tools`` (``looplab-tools/`` here, standard library only); these modules re-export them.

* :mod:`.lint`: ``looplab lint PATH...`` (``looplab-lint`` when installed alone; also ``flake8 --select LL``).
* :mod:`.loopguard`: the runtime guard (``pytest --loop-guard``, or ``with guard():``).
"""
