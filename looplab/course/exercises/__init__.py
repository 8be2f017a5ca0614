"""The guided notebooks' exercises: one check per exercise, with a hint for each classic wrong answer.

A guided notebook runs top to bottom with its exercises untouched (so the website can show it):
a check whose exercise is still the stub prints "not attempted" instead of failing, and the notebook
goes on. Labs are stricter (:mod:`looplab.course.checks`). Every check here is proven in
``tests/test_exercises.py``: the answer in :mod:`looplab.course.answers` passes, each committed wrong
answer fails with its hint. One module per notebook; notebooks call them as ``exercises.<name>(...)``.
"""

from __future__ import annotations

from .ep01 import predict_three_loops
from .ep02 import predict_the_stack
from .ep03 import predict_after_the_keepalive
from .ep04 import date_the_traceback, predict_the_reporters_row
from .ep05 import predict_the_leak
from .ep06 import predict_the_handshakes
from .ep07 import predict_the_failing_adapters
from .ep08 import predict_the_connections, predict_the_served_requests
from .ep09 import predict_the_generations
from .fold import answer_source, folded_answer

__all__ = ["predict_three_loops", "predict_the_stack", "predict_after_the_keepalive", "date_the_traceback",
           "predict_the_reporters_row", "predict_the_leak", "predict_the_handshakes",
           "predict_the_failing_adapters", "predict_the_served_requests", "predict_the_connections", "predict_the_generations", "answer_source", "folded_answer"]
