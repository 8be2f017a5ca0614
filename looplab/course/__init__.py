"""The course: what the notebooks and labs use, and what builds and checks them.

=====================  ==========================================================================
:mod:`.helpers`        notebook helpers: the backend switch, small requests, tables
:mod:`.checks`         lab checks that run a learner's code against real servers, with hints
:mod:`.labs`           labs generated from solutions; ``looplab labs check``
:mod:`.episodes`       the episodes manifest (``episodes.yml``) and notebook headers
:mod:`.guard`          the loop-affinity guard
``demos/``             small runnable demonstrations, run in subprocesses (any interpreter with openai)
=====================  ==========================================================================

May import every layer below it: the studied system, :mod:`looplab.servers`, :mod:`looplab.proofs`,
:mod:`looplab.real`.
"""
