"""Notebook 02, rebuild the adapter."""

my_prediction = [500, 200, 200]
