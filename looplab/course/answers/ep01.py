"""Notebook 01, event loops and what they own."""

my_prediction = ["ok", "error", "ok"]
