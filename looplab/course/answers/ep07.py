"""Notebook 07, regression tests."""

my_prediction = ["broken", "LazyTouchedAtStartup"]
