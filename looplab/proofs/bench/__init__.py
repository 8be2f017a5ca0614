"""``looplab bench``: measurements, reported, never judged by a test.

==========================  ======================================================================
:mod:`.stats`               percentiles and summaries, in milliseconds
:mod:`.report`              what every report carries (versions, CPU), errors, JSON or tables
:mod:`.baseline`            the bare uvicorn app the mock is compared with (its own process)
:mod:`.mock_overhead`       ``--target mock``: the latency the mock adds over the bare app
:mod:`.strategies`          ``--target strategies``: every adapter strategy against a reused client
:mod:`.startup`             ``--target startup``: mock-and-stack pairs started forked and exec'd
:mod:`.cli`                 the ``looplab bench`` command
==========================  ======================================================================
"""
