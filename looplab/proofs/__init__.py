"""Proofs and measurements: what shows that a stack serves correctly, and what it costs.

=====================  ==========================================================================
:mod:`.verify`         bursts of requests, delivery counts from the mock's log, polling deadlines
:mod:`.conformance`    responses compared by structure (the mock against real vLLM)
``bench/``             ``looplab bench``: measurements, reported, never asserted by a test
=====================  ==========================================================================

May import the studied system and :mod:`looplab.servers`.
"""
