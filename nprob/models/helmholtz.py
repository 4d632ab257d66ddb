"""The Helmholtz machine: a recognition network q(z|x) and a generative network p(x|z).

q(z|x) = N(z; mu(x), diag(exp(logvar(x)))), an MLP whose last layer has 2J
outputs, the first J being mu and the last J logvar (the same as two linear
heads on a shared trunk). p(x|z) = Bernoulli(sigmoid(f(z))) with f an MLP,
and the prior p(z) = N(0, I). The two algorithms that train it live in
:mod:`nprob.models.aevb` and :mod:`nprob.models.wake_sleep`; both use the
forward and backward passes defined here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend
from ..nn import MLP, init_networks


@dataclass(frozen=True)
class HelmholtzMachine:
    """Network shapes: x_dim-hidden..-2*z_dim for q, z_dim-..hidden-x_dim for p."""

    x_dim: int = 784
    z_dim: int = 2
    hidden: tuple[int, ...] = (512,)
    activation: str = "relu"

    @property
    def encoder(self) -> MLP:
        return MLP("enc", (self.x_dim, *self.hidden, 2 * self.z_dim), hidden=self.activation)

    @property
    def decoder(self) -> MLP:
        return MLP("dec", (self.z_dim, *reversed(self.hidden), self.x_dim), hidden=self.activation)

    def init(self, rng: np.random.Generator, scheme: str = "he", dtype=backend.DTYPE):
        """Fresh (enc, dec) ParamDicts on the active backend, weights drawn on the host by ``scheme``."""
        return init_networks((self.encoder, self.decoder), rng, scheme, dtype)

    # ------------------------------------------------------------------ recognition q(z|x)

    def encode(self, enc, x):
        """x: (N, x_dim) -> mu, logvar: (N, z_dim), and the cache for :meth:`encode_backward`."""
        out, cache = self.encoder.forward(enc, x)
        return out[:, :self.z_dim], out[:, self.z_dim:], cache

    def encode_backward(self, dmu, dlogvar, cache, grads) -> None:
        """Write dLoss/d(enc params) into ``grads`` given dLoss/dmu and dLoss/dlogvar (N, z_dim)."""
        xp = backend.get_array_module(dmu)
        self.encoder.backward(xp.concatenate([dmu, dlogvar], axis=1), cache, grads, need_dx=False, accumulate=False)

    # ------------------------------------------------------------------ generation p(x|z)

    def decode(self, dec, z):
        """z: (..., z_dim) -> logits of p(x|z): (..., x_dim), and the cache."""
        lead = z.shape[:-1]
        logits, cache = self.decoder.forward(dec, z.reshape(-1, self.z_dim))
        return logits.reshape(*lead, self.x_dim), (lead, cache)

    def decode_backward(self, dlogits, cache, grads, need_dz: bool = True):
        """Write dLoss/d(dec params) into ``grads``; return dLoss/dz (..., z_dim) or None."""
        lead, net_cache = cache
        dz = self.decoder.backward(dlogits.reshape(-1, self.x_dim), net_cache, grads, need_dx=need_dz,
                                   accumulate=False)
        return None if dz is None else dz.reshape(*lead, self.z_dim)
