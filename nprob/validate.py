"""Checks at the public entry points: data of the wrong kind get a clear error, never silent nonsense.

Integer or boolean images would make every loss constant a wrong number (1/N
rounds to 0 in an integer dtype; -1/N is True in bool), and float64 data with
float32 parameters would silently mix precisions. Most checks cost a few
attribute reads; the two that read values (:func:`unit_interval`,
:func:`uniforms`) guard inputs whose wrong values would pass unnoticed: raw 0..255
pixels binarised to almost all ones, NaN noise that turns every code to 0.
"""
from __future__ import annotations

import math
import numbers


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


def batch(x, dtype, name: str = "x"):
    """``x`` must be a float array of ``dtype`` holding a batch (N, D) with N >= 1; returns it."""
    float_array(x, dtype, name)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a batch of shape (N, D) with at least one row, got {tuple(x.shape)}")
    return x


def noise(eps, n: int, j: int, name: str = "eps"):
    """Noise for n rows and j latent units: (L, n, j) with L >= 1, or (n, j) taken as L = 1. Returns the
    3-D view."""
    if eps.ndim == 2:
        eps = eps[None]
    if eps.ndim != 3 or eps.shape[1:] != (n, j) or eps.shape[0] == 0:
        raise ValueError(f"{name} must have shape (L, {n}, {j}) with L >= 1, or ({n}, {j}); got {tuple(eps.shape)}")
    return eps


def count(value, name: str, minimum: int = 1) -> int:
    """An integer setting (samples k, latent units, a chunk size) of at least ``minimum``; returns it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def number(value, name: str, minimum: float = -math.inf) -> float:
    """A finite real setting (a baseline, a penalty weight) of at least ``minimum``; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < minimum:
        bound = "" if minimum == -math.inf else f" and at least {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def _all(condition) -> bool:
    return bool(condition.all())


def unit_interval(x, name: str = "x"):
    """Grey levels: a float array with every value in [0, 1] (NaN fails); returns it."""
    if getattr(getattr(x, "dtype", None), "kind", None) != "f":
        raise TypeError(f"{name} must be grey levels in [0, 1] as floats, got {getattr(x, 'dtype', type(x).__name__)}; "
                        "scale integer images first, e.g. x.astype(np.float32) / 255")
    if not _all((x >= 0) & (x <= 1)):
        raise ValueError(f"{name} must hold grey levels in [0, 1] and no NaN; scale raw pixels by 1/255 first")
    return x


def uniforms(u, name: str = "u"):
    """Uniform(0, 1) draws: every value in [0, 1) (NaN fails); returns them."""
    if not _all((u >= 0) & (u < 1)):
        raise ValueError(f"{name} must be Uniform(0, 1) draws, every value in [0, 1) and none NaN")
    return u
