"""podium benchmarks: `python benchmarks/run.py`."""
