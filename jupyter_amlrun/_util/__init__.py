"""Leaf helpers shared by every layer (crash-safe file I/O, process control); they import nothing of the package."""
