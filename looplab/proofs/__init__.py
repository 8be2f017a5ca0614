"""Proofs and measurements: what shows that a stack serves correctly, and what it costs.

=====================  ==========================================================================
:mod:`.verify`         bursts of requests, delivery counts from the mock's log, polling deadlines
:mod:`.conformance`    responses compared by structure (the mock against real vLLM)
:mod:`.construction`   what constructing a client does: SSL contexts and CA loads counted, and timed
:mod:`.symptoms`       the bug's three symptoms, measured on every client stack (``looplab symptoms``)
``bench/``             ``looplab bench``: measurements, reported, never asserted by a test
=====================  ==========================================================================

May import the studied system, :mod:`looplab.servers` and :mod:`looplab.real` (the interpreters it measures on).
"""
