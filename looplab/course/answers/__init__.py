"""Answers to the guided notebooks' exercises, one module per notebook (``ep04`` for notebook 04).

Each notebook folds its answer away under the check (``looplab episodes sync`` writes that cell
from here), and ``tests/test_exercises.py`` proves every check passes on these answers.
"""
