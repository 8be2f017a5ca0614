"""Notebook 05, the per-call fix."""

my_prediction = "C"
