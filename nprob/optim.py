"""Optimisers as small functions with explicit state, one state per parameter dict.

Each ``*_step(params, grads, state, ...)`` updates ``params`` in place to
*decrease* the loss whose gradient is ``grads``. Because parameters and
gradients are views into one flat buffer (:mod:`nprob.params`), a step is a
few passes over one array, on NumPy or CuPy. States are plain dicts of arrays
and ints, so checkpoints can save and restore them.
"""
from __future__ import annotations

import math

import numpy as np

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
    """State for :func:`adam_step`: the two moments (without their (1 - beta) factors), zero, and the step count.

    ``_scratch`` is working memory, not state: checkpoints skip keys that start with '_'.
    """
    return {"m_sum": params.zeros_like().flat, "v_sum": params.zeros_like().flat, "t": 0,
            "_scratch": params.zeros_like().flat}


FLUSH_EVERY = 100      # steps between flushes of vanishing moments
FLUSH_BELOW = 1e-30    # |m|, v below this are set to 0: their effect on a step is < 1e-22


def adam_step(params: ParamDict, grads: ParamDict, state: dict, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """Adam (Kingma and Ba, 2015) with bias correction, in ten passes over the parameters (NumPy) or one
    fused kernel (CuPy, :data:`ADAM_KERNEL`).

    The textbook update is
        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
    The state holds the decayed sums m_sum = m / (1 - b1) and v_sum = v / (1 - b2),
    whose updates m_sum <- b1 m_sum + g and v_sum <- b2 v_sum + g^2 need one pass
    fewer each; the (1 - b) factors and both bias corrections go into a step size
    and an epsilon:
        theta <- theta - lr_t * m_sum / (sqrt(v_sum) + eps_t),
        lr_t = lr (1 - b1) / sqrt(1 - b2) * sqrt(1 - b2^t) / (1 - b1^t),
        eps_t = eps sqrt(1 - b2^t) / sqrt(1 - b2).
    A test checks this against the textbook form over many steps.

    Every pass writes into existing memory (no temporaries). Moments of weights
    that stop receiving gradient decay geometrically into subnormal floats, which
    are slow on CPUs; every FLUSH_EVERY steps such vanishing moments are set to 0.
    (Measured inside a training step and dropped: splitting the passes across CPU
    threads, cache-sized blocks, and scipy's BLAS axpy, whose own thread pool slowed
    NumPy's matrix products.)
    """
    xp = backend.get_array_module(params.flat)
    state["t"] += 1
    t = state["t"]
    correction = math.sqrt((1 - beta2**t) / (1 - beta2))
    lr_t, eps_t = lr * (1 - beta1) * correction / (1 - beta1**t), eps * correction
    p, g, m, v, tmp = params.flat, grads.flat, state["m_sum"], state["v_sum"], state["_scratch"]
    f = g.dtype.type
    if xp is not np:   # CuPy: the same update as one fused kernel instead of ten launches
        _adam_kernel(xp)(g, f(beta1), f(beta2), f(lr_t), f(eps_t), p, m, v)
    else:
        _adam_passes(xp, p, g, m, v, tmp, f(beta1), f(beta2), f(lr_t), f(eps_t))
    if t % FLUSH_EVERY == 0:
        m[xp.abs(m) < FLUSH_BELOW] = 0
        v[v < FLUSH_BELOW] = 0


def _adam_passes(xp, p, g, m, v, tmp, beta1, beta2, lr_t, eps_t):
    """The update of :func:`adam_step` in ten in-place passes (NumPy: no temporaries)."""
    m *= beta1
    m += g
    v *= beta2
    xp.multiply(g, g, out=tmp)
    v += tmp
    xp.sqrt(v, out=tmp)
    tmp += eps_t
    xp.divide(m, tmp, out=tmp)
    tmp *= lr_t
    p -= tmp


def adam_update(g, beta1, beta2, lr_t, eps_t, p, m, v):
    """The readable form of the fused kernel ADAM_KERNEL: the ten passes as three statements, same order."""
    m *= beta1
    m += g
    v *= beta2
    v += g * g
    p -= m / (backend.get_array_module(v).sqrt(v) + eps_t) * lr_t


# The CUDA form of adam_update: inputs, in-place outputs, and the operation (CuPy's ElementwiseKernel).
ADAM_KERNEL = ("T g, T beta1, T beta2, T lr_t, T eps_t", "T p, T m, T v",
               "m = m * beta1 + g; v = v * beta2 + g * g; p -= m / (sqrt(v) + eps_t) * lr_t;", "nprob_adam")
_KERNELS = {}


def _adam_kernel(xp):
    """One kernel for the CuPy path: ADAM_KERNEL compiled on a GPU; on the CuPy stand-in, which runs no CUDA
    source, :func:`adam_update` as a fused function (one launch, the readable form executed)."""
    if xp not in _KERNELS:
        _KERNELS[xp] = xp.fuse(adam_update) if backend.is_standin(xp) else xp.ElementwiseKernel(*ADAM_KERNEL)
    return _KERNELS[xp]


def rmsprop_state(params: ParamDict) -> dict:
    """State for :func:`rmsprop_step`: the running mean of squared gradients."""
    return {"v": params.zeros_like().flat, "t": 0}


def rmsprop_step(params: ParamDict, grads: ParamDict, state: dict, lr: float = 5e-5,
                 decay: float = 0.99, eps: float = 1e-8):
    """RMSprop: v <- decay v + (1 - decay) g^2; theta <- theta - lr g / (sqrt(v) + eps).

    The optimiser of the original WGAN, which found momentum unstable with weight clipping.
    """
    xp = backend.get_array_module(params.flat)
    g, v = grads.flat, state["v"]
    f = g.dtype.type
    v *= f(decay)
    v += f(1 - decay) * (g * g)
    params.flat -= f(lr) * g / (xp.sqrt(v) + f(eps))
    state["t"] += 1


OPTIMISERS = {"adam": (adam_state, adam_step), "sgd": (sgd_state, sgd_step), "rmsprop": (rmsprop_state, rmsprop_step)}
