"""Notebook 08, the real releases."""

my_prediction = 6
