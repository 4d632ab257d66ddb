"""Checks at the public entry points: data of the wrong kind get a clear error, never silent nonsense.

Integer or boolean images would make every loss constant a wrong number (1/N
rounds to 0 in an integer dtype; -1/N is True in bool), and float64 data with
float32 parameters would silently mix precisions. Each check costs a few
attribute reads, nothing per element.
"""
from __future__ import annotations


def float_array(a, dtype, name: str):
    """``a`` must be a floating-point array of ``dtype`` (the parameters' dtype); returns it."""
    kind = getattr(getattr(a, "dtype", None), "kind", None)
    if kind != "f":
        got = getattr(a, "dtype", type(a).__name__)
        raise TypeError(f"{name} must be a float32 or float64 array, got {got}; scale integer images "
                        "to [0, 1] first, e.g. x.astype(np.float32) / 255")
    if a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the parameters are {dtype}; convert one to the other")
    return a


def noise(eps, n: int, j: int, name: str = "eps"):
    """Noise for n rows and j latent units: (L, n, j), or (n, j) taken as L = 1. Returns the 3-D view."""
    if eps.ndim == 2:
        eps = eps[None]
    if eps.ndim != 3 or eps.shape[1:] != (n, j):
        raise ValueError(f"{name} must have shape (L, {n}, {j}) or ({n}, {j}), got {tuple(eps.shape)}")
    return eps
