"""Benchmarks of nprob: run ``python -m benchmarks --help``."""
