"""Notebook 03, reproduce the crash."""

my_prediction = 500
