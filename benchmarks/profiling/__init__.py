"""Diagnostics that explain benchmark numbers (not part of `run.py`)."""
