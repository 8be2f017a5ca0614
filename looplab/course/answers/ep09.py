"""Notebook 09, the real releases."""

my_prediction = 6
