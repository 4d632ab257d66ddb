"""Numerically stable elementwise functions, written once and used everywhere.

Each keeps the dtype of its input (constants are made with ``x.dtype.type``),
works for inputs of any size (no overflow in ``exp``), and runs on NumPy or
CuPy arrays alike.
"""
from __future__ import annotations

import numpy as np

from . import backend


def sigmoid(x):
    """1 / (1 + exp(-x)) computed as 0.5 + 0.5 tanh(x / 2): no overflow for any x."""
    xp = backend.get_array_module(x)
    half = x.dtype.type(0.5)
    return half + half * xp.tanh(half * x)


def softplus(x):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): exact for large |x|."""
    xp = backend.get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def logsumexp(a, axis=-1):
    """log(sum(exp(a), axis)) with the maximum subtracted first.

    a: any shape; returns a with ``axis`` removed. Rows that are all -inf give -inf.
    """
    xp = backend.get_array_module(a)
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = xp.sum(xp.exp(a - m), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for all -inf rows
        return xp.squeeze(m + xp.log(s), axis=axis)


def log_mean_exp(a, axis=0):
    """log(mean(exp(a), axis)) = logsumexp(a, axis) - log(n): the log of an average of weights.

    With ``a`` the log importance weights of k samples (k, N), this is one draw of the
    estimator inside L_k, derivations/05-iw-bound.md eq. (5.1).
    """
    return logsumexp(a, axis=axis) - a.dtype.type(np.log(a.shape[axis]))
