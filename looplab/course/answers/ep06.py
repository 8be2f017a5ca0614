"""Notebook 06, what the fix costs."""

my_prediction = 1.0
