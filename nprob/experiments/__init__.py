"""Experiments of the assignment: each trains, evaluates and writes metrics; none plots."""
from dataclasses import fields


def require_positive(cfg, skip=("seed",)) -> None:
    """Refuse a configuration whose numeric settings (or tuples of them) are not all positive."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        numbers = value if isinstance(value, tuple) else (value,)
        if f.name not in skip and any(isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0
                                      for v in numbers):
            raise ValueError(f"{f.name} must be positive, got {value}")
