"""Notebook 08, the same bug elsewhere."""

my_served = 2

my_connections = [1, 2]
