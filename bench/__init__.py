"""Benchmarks for the speed and memory targets; run with `scripts/bench` (or `python -m bench`).

They are not part of the test run: timings depend on the machine, so targets are checked here, where
a person reads the numbers, and never by timed unit tests.
"""
