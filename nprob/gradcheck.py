"""Gradient checking by central differences in float64: a public tool, not a test trick.

Use it on any formula of your own:

>>> import numpy as np
>>> from nprob.gradcheck import numerical_gradient, relative_error
>>> x = np.random.default_rng(0).standard_normal(5)
>>> num = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
>>> bool(relative_error(num, np.cos(x)) < 1e-8)
True

float32 cannot resolve a finite difference below ~1e-3 relative error, so the
helpers refuse arrays of any other dtype than float64.
"""
from __future__ import annotations

import numpy as np

from . import backend


def _require_float64(a, what):
    if a.dtype != np.float64:
        raise TypeError(f"{what} must be float64 for a finite-difference check, got {a.dtype}")


def numerical_gradient(f, x, h: float = 1e-5):
    """Central-difference gradient of the scalar function ``f()`` w.r.t. the array ``x``.

    ``f`` takes ``x`` (and reads it, possibly through views); ``x`` is perturbed
    in place one entry at a time and restored. Returns an array shaped like x.
    """
    _require_float64(x, "x")
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)  # a view for contiguous x
    if not np.shares_memory(flat, x) and flat.size:
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + h
        plus = float(f(x))
        flat[i] = old - h
        minus = float(f(x))
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b, floor: float = 1e-8) -> float:
    """max |a - b| / max(max |a| + max |b|, floor).

    Scale-free for ordinary gradients; the ``floor`` keeps a gradient that is
    exactly zero in theory (and ~1e-11 by finite differences) from counting as a
    100% error, the same convention as CS231n's check.
    """
    a = backend.to_host(a).astype(np.float64)
    b = backend.to_host(b).astype(np.float64)
    num = np.max(np.abs(a - b)) if a.size else 0.0
    den = max(np.max(np.abs(a)) + np.max(np.abs(b)) if a.size else 0.0, floor)
    return float(num / den)


def check_params(f, params, grads, h: float = 1e-5) -> dict[str, float]:
    """Compare the analytic ``grads`` of ``f(params)`` with central differences, tensor by tensor.

    params, grads: float64 ParamDicts (views into one buffer); ``f()`` must read
    ``params`` (it is perturbed in place). Returns {name: relative error}, each
    tensor's error measured against the larger of its own scale and the scale of
    the whole gradient, so that a tensor whose gradient is exactly zero in theory
    (a critic's output bias) is judged by the same yardstick as the others.
    """
    _require_float64(params.flat, "params")
    scale = float(np.max(np.abs(backend.to_host(grads.flat)))) if grads.flat.size else 0.0
    return {k: relative_error(numerical_gradient(lambda _: f(), params[k], h), grads[k], floor=max(scale, 1e-8))
            for k in params}


def check_direction(f, params, grads, rng: np.random.Generator, h: float = 1e-5) -> float:
    """Check a whole ParamDict along one random unit direction d (Chainer's test).

    Compares (f(theta + h d) - f(theta - h d)) / 2h with <grads, d>. One check
    costs two evaluations whatever the size of the model. Returns the relative error.
    """
    _require_float64(params.flat, "params")
    xp = backend.get_array_module(params.flat)
    d = rng.standard_normal(params.flat.size)
    d /= np.linalg.norm(d)
    d = xp.asarray(d)
    params.flat += h * d
    plus = float(f())
    params.flat -= 2 * h * d
    minus = float(f())
    params.flat += h * d
    numeric = (plus - minus) / (2 * h)
    analytic = float(xp.sum(grads.flat * d))
    return relative_error(np.array([numeric]), np.array([analytic]))
