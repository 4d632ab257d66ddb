"""Layers as pure forward/backward pairs with explicit caches, and an MLP built from them.

Conventions (CS231n style): ``*_forward(x, ...) -> (y, cache)`` and
``*_backward(dy, cache) -> dx`` (plus parameter gradients for ``linear``),
where ``dX`` always means dLoss/dX. Nothing is stored inside a layer: a network
used twice (a discriminator on real and on fake data) just makes two caches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import backend
from .activations import ACTIVATIONS
from .params import ParamDict

# ----------------------------------------------------------------------------- affine


def linear_forward(x, W, b):
    """y = x W + b.  x: (N, D), W: (D, H), b: (H,); returns y (N, H) and the cache (x, W)."""
    y = x @ W
    y += b
    return y, (x, W)


def linear_backward(dy, cache, need_dx: bool = True, out=None):
    """dy: (N, H); returns dx (N, D) = dy W^T, dW (D, H) = x^T dy, db (H,) = sum_n dy.

    With ``need_dx=False`` (a network's first layer, whose input is data) the
    product for dx is skipped and dx is None. With ``out=(dW, db)`` the parameter
    gradients are written into those arrays instead of new ones.
    """
    x, W = cache
    dx = dy @ W.T if need_dx else None
    if out is None:
        return dx, x.T @ dy, dy.sum(axis=0)
    xp = backend.get_array_module(dy)
    xp.matmul(x.T, dy, out=out[0])
    xp.sum(dy, axis=0, out=out[1])
    return dx, out[0], out[1]


# ----------------------------------------------------------------------------- initialisers


def init_weight(shape, scheme: str, rng: np.random.Generator, std: float = 0.01) -> np.ndarray:
    """A host float64 weight matrix of ``shape`` = (fan_in, fan_out).

    ``gaussian``: N(0, std^2); ``glorot``: N(0, 2 / (fan_in + fan_out));
    ``he``: N(0, 2 / fan_in), suited to ReLU layers.
    """
    fan_in, fan_out = shape
    scales = {"gaussian": std, "glorot": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}
    if scheme not in scales:
        raise ValueError(f"unknown initialiser {scheme!r}; choose one of {', '.join(scales)}")
    return rng.standard_normal(shape) * scales[scheme]


# ----------------------------------------------------------------------------- MLP


@dataclass(frozen=True)
class MLP:
    """A multilayer perceptron: linear layers with ``hidden`` between them and ``output`` last.

    Parameters live in a ParamDict under ``{prefix}.W{i}`` (fan_in, fan_out) and
    ``{prefix}.b{i}`` for i = 1 .. len(sizes) - 1, so that several networks can
    share one dict and each reads its own keys.
    """

    prefix: str
    sizes: tuple[int, ...]
    hidden: str = "relu"
    output: str = "identity"

    def __post_init__(self):
        if len(self.sizes) < 2 or any(int(s) < 1 for s in self.sizes):
            raise ValueError(f"an MLP needs at least two positive layer sizes, got {self.sizes}")
        for act in (self.hidden, self.output):
            if act not in ACTIVATIONS:
                raise ValueError(f"unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)}")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out = {}
        for i in range(1, self.n_layers + 1):
            out[f"{self.prefix}.W{i}"] = (self.sizes[i - 1], self.sizes[i])
            out[f"{self.prefix}.b{i}"] = (self.sizes[i],)
        return out

    def init(self, params: ParamDict, rng: np.random.Generator, scheme: str = "he", std: float = 0.01):
        """Fill this network's weights by ``scheme`` from a host generator; biases are zero."""
        xp = backend.get_array_module(params.flat)
        for i in range(1, self.n_layers + 1):
            W = params[f"{self.prefix}.W{i}"]
            W[...] = xp.asarray(init_weight(W.shape, scheme, rng, std), dtype=W.dtype)
            params[f"{self.prefix}.b{i}"][...] = 0

    def forward(self, params: ParamDict, x):
        """x: (N, sizes[0]) -> y: (N, sizes[-1]), and the list of per-layer caches."""
        caches = []
        h = x
        for i in range(1, self.n_layers + 1):
            a, lin_cache = linear_forward(h, params[f"{self.prefix}.W{i}"], params[f"{self.prefix}.b{i}"])
            act = self.output if i == self.n_layers else self.hidden
            h, act_cache = ACTIVATIONS[act][0](a)
            caches.append((lin_cache, act, act_cache))
        return h, caches

    def backward(self, dy, caches, grads: ParamDict | None, need_dx: bool = True, accumulate: bool = True):
        """dy: (N, sizes[-1]); puts dW, db into ``grads`` and returns dx (N, sizes[0]).

        By default gradients are *added* into ``grads``, so that a network applied
        several times in one loss (a discriminator on real and on fake data)
        collects all its terms. With ``accumulate=False`` they overwrite what is
        there, which saves zeroing the buffer when this is the network's only (or
        first) backward of a step. With ``grads=None`` only the input gradient is
        computed (a generator's loss seen through a fixed discriminator). With
        ``need_dx=False`` the product for the input gradient is skipped and None
        is returned.
        """
        dh = dy
        for i in range(self.n_layers, 0, -1):
            lin_cache, act, act_cache = caches[i - 1]
            da = ACTIVATIONS[act][1](dh, act_cache)
            want_dx = i > 1 or need_dx
            if grads is None:
                dh = da @ lin_cache[1].T if want_dx else None
            elif accumulate:
                dh, dW, db = linear_backward(da, lin_cache, need_dx=want_dx)
                grads[f"{self.prefix}.W{i}"] += dW
                grads[f"{self.prefix}.b{i}"] += db
            else:
                out = (grads[f"{self.prefix}.W{i}"], grads[f"{self.prefix}.b{i}"])
                dh = linear_backward(da, lin_cache, need_dx=want_dx, out=out)[0]
        return dh

def init_networks(networks, rng: np.random.Generator, scheme: str, dtype=backend.DTYPE):
    """One fresh ParamDict per network, on the active backend, weights drawn by ``scheme``."""
    from .params import allocate
    out = []
    for net in networks:
        p = allocate(net.shapes(), dtype)
        net.init(p, rng, scheme)
        out.append(p)
    return tuple(out)
