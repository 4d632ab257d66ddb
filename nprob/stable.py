"""Numerically stable elementwise functions, written once and used everywhere.

Each keeps the dtype of its input (constants are made with ``x.dtype.type``),
works for inputs of any size (no overflow in ``exp``), and runs on NumPy or
CuPy arrays alike.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend


def sigmoid(x):
    """1 / (1 + exp(-x)), accurate to a few ulps *relative* to the result in both tails.

    With u = exp(-|x|) (never overflows): 1 / (1 + u) for x >= 0 and u / (1 + u)
    for x < 0. Tiny outputs such as sigmoid(-30) ~ 9.4e-14 keep full relative
    precision, which matters when gradients that vanish like D(G(z)) are measured;
    the shorter 0.5 + 0.5 tanh(x / 2) loses them to cancellation.
    """
    u = backend.get_array_module(x).exp(-backend.get_array_module(x).abs(x))
    return _sigmoid_from(x, u)


def _sigmoid_from(x, u):
    """sigmoid(x) given u = exp(-|x|): 1 / (1 + u) where x >= 0, u / (1 + u) elsewhere.

    The numerator, 1 or u, is max(u, [x >= 0]) because u <= 1; one arithmetic pass,
    where NumPy's ``where`` on an unpredictable mask takes several times longer.
    """
    return backend.get_array_module(x).maximum(u, x >= 0) / (1 + u)


def softplus(x):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): exact for large |x|."""
    xp = backend.get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


# exp(-30) = 9.4e-14, exp(-600) = 2.7e-261: numbers whose products with gradients and weights stay far from subnormal
EXP_FLOOR = {np.dtype(np.float32): -30.0, np.dtype(np.float64): -600.0}


def softplus_and_sigmoid(x):
    """(softplus(x), sigmoid(x)) from one u = exp(-|x|): the pair a Bernoulli likelihood and its gradient need.

    u is computed as exp(max(-|x|, EXP_FLOOR)): in float32 it never falls below 9.4e-14. Unclamped, a
    decoder's background logits (8% of them below -87 after 100 epochs) give subnormal sigmoids, and
    matrix products with subnormal entries, or entries whose products underflow, run far slower on
    x86 CPUs (measured: an AEVB step 2.1 times slower after 100 epochs). The clamp changes softplus
    and sigmoid only where they are below 9.4e-14, by less than that: at most 784 * 9.4e-14 nats in
    a 784-pixel log-likelihood, below float32's resolution of it.
    """
    xp = backend.get_array_module(x)
    u = xp.exp(xp.maximum(-xp.abs(x), x.dtype.type(EXP_FLOOR[x.dtype])))
    return xp.maximum(x, 0) + xp.log1p(u), _sigmoid_from(x, u)


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


def normalised_weights(log_w):
    """w_i / sum_j w_j over the sample axis 0, and log (1/K) sum_i w_i: eq. (11.1). log_w: (K, N).

    Weights below exp(EXP_FLOOR) (9.4e-14 in float32, far below the resolution of a sum of weights
    that is 1) are set to 0: they scale whole rows of the decoder's backward products, and tiny
    entries there underflow to subnormal numbers, which slow those products down several times.
    """
    if getattr(log_w.dtype, "kind", None) != "f" or log_w.ndim < 1 or log_w.shape[0] == 0:
        raise ValueError(f"log_w must be a float array (K, ...) with K >= 1, got {log_w.dtype} {tuple(log_w.shape)}")
    xp = backend.get_array_module(log_w)
    total = logsumexp(log_w, axis=0)                                          # (N,)
    shifted = log_w - total[None]
    w = xp.exp(shifted) * (shifted > log_w.dtype.type(EXP_FLOOR[log_w.dtype]))
    return w, total - log_w.dtype.type(math.log(log_w.shape[0]))
