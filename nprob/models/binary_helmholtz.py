"""A Helmholtz machine with binary latent units, small enough for exact log p(x): derivations/12.

p(h) = prod_j Bernoulli(sigmoid(b_j)), p(x|h) = Bernoulli(sigmoid(l(h))) with l an MLP, and
q(h|x) = prod_j Bernoulli(sigmoid(a_j(x))) with a an MLP; eq. (12.1). The generative parameters
theta (the decoder and the prior logits ``prior.b``) share one ParamDict, the recognition
parameters phi another, so each algorithm has the two players of the Gaussian machine.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import backend, validate
from ..nn import MLP, init_networks
from ..params import ParamDict
from ..stable import logsumexp, sigmoid, softplus

PRIOR = "prior.b"


@dataclass(frozen=True)
class BinaryHelmholtzMachine:
    """x_dim-hidden..-h_dim for q's logits, h_dim-..hidden-x_dim for p(x|h)'s, and h_dim prior logits."""

    x_dim: int = 784
    h_dim: int = 12
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"

    def __post_init__(self):
        sizes = {"x_dim": self.x_dim, "h_dim": self.h_dim, **{f"hidden[{i}]": w for i, w in enumerate(self.hidden)}}
        for name, value in sizes.items():
            validate.count(value, name)
        if not 1 <= self.h_dim <= 20:
            raise ValueError(f"h_dim must be in 1..20 (log p(x) enumerates 2^h_dim codes), got {self.h_dim}")

    @property
    def encoder(self) -> MLP:
        return MLP("benc", (self.x_dim, *self.hidden, self.h_dim), hidden=self.activation)

    @property
    def decoder(self) -> MLP:
        return MLP("bdec", (self.h_dim, *reversed(self.hidden), self.x_dim), hidden=self.activation)

    def init(self, rng: np.random.Generator, scheme: str = "he", dtype=backend.DTYPE):
        """Fresh (enc, gen) ParamDicts; ``gen`` holds the decoder and the prior logits (zero: p(h_j = 1) = 1/2)."""
        enc, dec = init_networks((self.encoder, self.decoder), rng, scheme, dtype)
        xp = backend.get_array_module(dec.flat)
        gen = ParamDict(xp.concatenate([dec.flat, xp.zeros(self.h_dim, dtype=dtype)]),
                        {**dec.shapes, PRIOR: (self.h_dim,)})
        return enc, gen

    # ------------------------------------------------------------------ recognition q(h|x)

    def recognition(self, enc, x):
        """x: (N, D) -> q's logits a: (N, J), and the cache for :meth:`recognition_backward`."""
        return self.encoder.forward(enc, x)

    def recognition_backward(self, da, cache, grads) -> None:
        """Write dLoss/d(enc params) into ``grads`` given dLoss/da (N, J)."""
        self.encoder.backward(da, cache, grads, need_dx=False, accumulate=False)

    @staticmethod
    def log_q(a, h):
        """log q(h|x) = sum_j h_j a_j - softplus(a_j), eq. (12.1). a: (N, J); h: (..., N, J) -> (..., N)."""
        xp = backend.get_array_module(a)
        return xp.sum(h * a - softplus(a), axis=-1)

    @staticmethod
    def sample(logits, u):
        """Binary codes 1[u < sigmoid(logits)] in logits' dtype; u: uniforms of any shape ending like logits."""
        return (u < sigmoid(logits)).astype(logits.dtype)

    # ------------------------------------------------------------------ generation p(h) p(x|h)

    def log_prior(self, gen, h):
        """log p(h) = sum_j h_j b_j - softplus(b_j), eq. (12.1). h: (..., J) -> (...)."""
        xp = backend.get_array_module(h)
        b = gen[PRIOR]
        return xp.sum(h * b, axis=-1) - xp.sum(softplus(b))

    def decode(self, gen, h):
        """h: (..., J) -> logits of p(x|h): (..., D), and the cache."""
        lead = h.shape[:-1]
        logits, cache = self.decoder.forward(gen, h.reshape(-1, self.h_dim))
        return logits.reshape(*lead, self.x_dim), (lead, cache)

    def decode_backward(self, dlogits, cache, grads) -> None:
        """Write dLoss/d(decoder params) into ``grads`` (the prior's entry is left alone)."""
        lead, net_cache = cache
        self.decoder.backward(dlogits.reshape(-1, self.x_dim), net_cache, grads, need_dx=False, accumulate=False)

    # ------------------------------------------------------------------ exact quantities by enumeration

    def codes(self, dtype=backend.DTYPE):
        """All 2^J codes as rows (2^J, J) on the active backend, in binary counting order."""
        table = np.array(list(itertools.product((0, 1), repeat=self.h_dim)), dtype=dtype)
        return backend.asarray(table, dtype=dtype)

    def joint_table(self, gen, x, chunk: int = 512):
        """log p(x_n, h_c) for every image and every code: (N, 2^J), eq. (12.2), one product X Lambda^T.

        x must be binary for p(x|h) to be a normalised probability (grey levels give the unnormalised
        cross-entropy of derivations/03). Images are taken ``chunk`` at a time.
        """
        validate.batch(x, gen.flat.dtype, "x")
        xp = backend.get_array_module(x)
        h = self.codes(x.dtype)
        lam, _ = self.decode(gen, h)                                                  # (C, D)
        per_code = self.log_prior(gen, h) - xp.sum(softplus(lam), axis=1)             # (C,)
        return xp.concatenate([x[i:i + chunk] @ lam.T + per_code[None] for i in range(0, x.shape[0], chunk)])

    def log_marginal(self, gen, x):
        """log p(x) (N,) by summing over all 2^J codes, eq. (12.2)."""
        return logsumexp(self.joint_table(gen, x), axis=1)

    def exact_elbo(self, enc, gen, x):
        """The ELBO (N,) summed over every code, eq. (12.3): sum_c q(h_c|x) (log p(x, h_c) - log q(h_c|x))."""
        validate.batch(x, enc.flat.dtype, "x")
        xp = backend.get_array_module(x)
        h = self.codes(x.dtype)
        a, _ = self.recognition(enc, x)
        log_q = a @ h.T - xp.sum(softplus(a), axis=1, keepdims=True)                   # (N, C)
        return xp.sum(xp.exp(log_q) * (self.joint_table(gen, x) - log_q), axis=1)
