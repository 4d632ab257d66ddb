"""Optimisers as small functions with explicit state, one state per parameter dict.

Each ``*_step(params, grads, state, ...)`` updates ``params`` in place to
*decrease* the loss whose gradient is ``grads``. Because parameters and
gradients are views into one flat buffer (:mod:`nprob.params`), a step is a
few passes over one array, on NumPy or CuPy. States are plain dicts of arrays
and ints, so checkpoints can save and restore them.
"""
from __future__ import annotations

import math

from . import backend
from .params import ParamDict


def sgd_state(params: ParamDict) -> dict:
    """State for :func:`sgd_step`: the velocity, zero at the start."""
    return {"velocity": params.zeros_like().flat, "t": 0}


def sgd_step(params: ParamDict, grads: ParamDict, state: dict, lr: float = 1e-2, momentum: float = 0.9):
    """Heavy-ball SGD: v <- momentum * v - lr * g; theta <- theta + v."""
    v = state["velocity"]
    v *= v.dtype.type(momentum)
    v -= v.dtype.type(lr) * grads.flat
    params.flat += v
    state["t"] += 1


def adam_state(params: ParamDict) -> dict:
    """State for :func:`adam_step`: first and second moments, zero, and the step count."""
    return {"m": params.zeros_like().flat, "v": params.zeros_like().flat, "t": 0}


def adam_step(params: ParamDict, grads: ParamDict, state: dict, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """Adam (Kingma and Ba, 2015) with bias correction.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t),
    v_hat = v / (1 - b2^t). The corrections are folded into a step size and an
    epsilon, which is the same update written with one fewer pass:
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and eps_t = eps sqrt(1 - b2^t).
    """
    xp = backend.get_array_module(params.flat)
    state["t"] += 1
    t = state["t"]
    g, m, v = grads.flat, state["m"], state["v"]
    f = g.dtype.type
    m *= f(beta1)
    m += f(1 - beta1) * g
    v *= f(beta2)
    v += f(1 - beta2) * (g * g)
    correction = math.sqrt(1 - beta2**t)
    lr_t = lr * correction / (1 - beta1**t)
    denom = xp.sqrt(v)
    denom += f(eps * correction)
    params.flat -= f(lr_t) * (m / denom)


OPTIMISERS = {"adam": (adam_state, adam_step), "sgd": (sgd_state, sgd_step)}
