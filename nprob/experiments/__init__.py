"""Experiments of the assignment: each trains, evaluates and writes metrics; none plots."""
