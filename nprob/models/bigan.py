"""The three-player game (BiGAN / ALI): generator G, inference network Q, discriminator on (x, z) pairs.

Real pairs are (x, Q(x)) with x from the data; fake pairs are (G(z), z) with z
from the prior. D(x, z) = sigmoid(a(x, z)) with a an MLP on the concatenation
[x, z]. D maximises the value of eq. (14) of the assignment,
V = mean log D(x, Q(x)) + mean log(1 - D(G(z), z)), derivations/08-third-player.md
eq. (8.1); G and Q minimise it together, or, in the non-saturating variant, minimise
the loss with the labels swapped, eq. (8.7). Gradients flow through D's input into
both G (the x half of fake pairs) and Q (the z half of real pairs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend, validate
from .. import distributions
from ..nn import MLP, init_networks
from ..stable import sigmoid
from . import gan_losses as losses


@dataclass(frozen=True)
class BiGAN:
    """The three-player game: generator G(z), inference network Q(x), discriminator D on (x, z) pairs."""

    x_dim: int = 2
    z_dim: int = 2
    g_hidden: tuple[int, ...] = (128, 128)
    q_hidden: tuple[int, ...] = (128, 128)
    d_hidden: tuple[int, ...] = (128, 128)
    g_output: str = "identity"
    activation: str = "leaky_relu"
    stochastic_q: bool = False   # Q(x) = mu(x) + exp(logvar(x) / 2) * eps instead of a point

    @property
    def generator(self) -> MLP:
        return MLP("gen", (self.z_dim, *self.g_hidden, self.x_dim), hidden=self.activation, output=self.g_output)

    @property
    def inference(self) -> MLP:
        out = 2 * self.z_dim if self.stochastic_q else self.z_dim
        return MLP("inf", (self.x_dim, *self.q_hidden, out), hidden=self.activation)

    @property
    def discriminator(self) -> MLP:
        return MLP("disc", (self.x_dim + self.z_dim, *self.d_hidden, 1), hidden=self.activation)

    def init(self, rng: np.random.Generator, scheme: str = "glorot", dtype=backend.DTYPE):
        return init_networks((self.generator, self.inference, self.discriminator), rng, scheme, dtype)

    def generate(self, g, z):
        return self.generator.forward(g, z)[0]

    def infer(self, q, x, eps=None):
        """x: (N, x_dim) -> codes (N, z_dim) and the cache; ``eps`` (N, z_dim) for a stochastic Q."""
        out, cache = self.inference.forward(q, x)
        if not self.stochastic_q:
            return out, (cache, None)
        mu, logvar = out[:, :self.z_dim], out[:, self.z_dim:]
        z, std = distributions.gaussian_sample(mu, logvar, eps)
        return z, (cache, (std, eps))

    def _infer_backward(self, dz, cache, grads):
        net_cache, sample = cache
        if sample is not None:
            dmu, dlogvar = distributions.gaussian_sample_backward(dz, *sample)
            dz = backend.get_array_module(dz).concatenate([dmu, dlogvar], axis=1)
        self.inference.backward(dz, net_cache, grads, need_dx=False, accumulate=False)

    def _logits(self, g, q, d, x, z, eps, instance_noise):
        validate.batch(x, d.flat.dtype, "x")
        validate.batch(z, g.flat.dtype, "z")
        xp = backend.get_array_module(x)
        x_fake, g_cache = self.generator.forward(g, z)
        z_real, q_cache = self.infer(q, x, eps)
        x_seen, fake_seen = (x, x_fake) if instance_noise is None else (x + instance_noise[0],
                                                                        x_fake + instance_noise[1])
        a_real, real_cache = self.discriminator.forward(d, xp.concatenate([x_seen, z_real], axis=1))   # (14.7)
        a_fake, fake_cache = self.discriminator.forward(d, xp.concatenate([fake_seen, z], axis=1))
        return a_real, a_fake, (g_cache, q_cache, real_cache, fake_cache)

    def discriminator_loss_and_grads(self, g, q, d, x, z, eps=None, real_label: float = 1.0, instance_noise=None):
        """D's step: x (N, x_dim) data, z (M, z_dim) prior draws. Returns ({'d_loss', 'd_real', 'd_fake'}, grad_d).
        ``real_label`` < 1 smooths the real target (14.8); ``instance_noise`` = (noise for x (N, x_dim), noise
        for G(z) (M, x_dim)) is added to the image half of D's inputs (14.7)."""
        a_real, a_fake, (_, _, real_cache, fake_cache) = self._logits(g, q, d, x, z, eps, instance_noise)
        loss, da_real, da_fake = losses.discriminator_loss(a_real, a_fake, real_label)
        grads = d.empty_like()
        self.discriminator.backward(da_real, real_cache, grads, need_dx=False, accumulate=False)
        self.discriminator.backward(da_fake, fake_cache, grads, need_dx=False)
        return {"d_loss": loss, "d_real": sigmoid(a_real).mean(), "d_fake": sigmoid(a_fake).mean()}, grads

    def generator_inference_loss_and_grads(self, g, q, d, x, z, kind: str, eps=None, instance_noise=None):
        """G's and Q's joint step against fixed D. Returns ({'gq_loss'}, (grad_g, grad_q)).

        ``minimax``: minimise V itself, eq. (8.1); ``nonsaturating``: minimise
        -mean log(1 - D(x, Q(x))) - mean log D(G(z), z), eq. (8.7).
        """
        a_real, a_fake, (g_cache, q_cache, real_cache, fake_cache) = self._logits(g, q, d, x, z, eps, instance_noise)
        if kind == "minimax":
            d_loss, da_real, da_fake = losses.discriminator_loss(a_real, a_fake)
            loss, da_real, da_fake = -d_loss, -da_real, -da_fake
        elif kind == "nonsaturating":
            loss, da_fake, da_real = losses.discriminator_loss(a_fake, a_real)   # labels swapped
        else:
            raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(losses.GENERATOR_LOSSES)}")
        d_in_real = self.discriminator.backward(da_real, real_cache, None)
        d_in_fake = self.discriminator.backward(da_fake, fake_cache, None)
        grad_g, grad_q = g.empty_like(), q.empty_like()
        self.generator.backward(d_in_fake[:, :self.x_dim], g_cache, grad_g, need_dx=False, accumulate=False)
        self._infer_backward(d_in_real[:, self.x_dim:], q_cache, grad_q)
        return {"gq_loss": loss}, (grad_g, grad_q)


def _distance_summary(a, b) -> float:
    """Mean Euclidean distance between matching rows of a and b (host floats)."""
    xp = backend.get_array_module(a)
    return backend.to_float(xp.sqrt(((a - b) ** 2).sum(axis=1)).mean())


def inference_metrics(model: BiGAN, g, q, x, z) -> dict:
    """How close Q is to G^{-1}: cycle errors in code and data space, next to the typical distances."""
    xp = backend.get_array_module(x)
    n = min(x.shape[0], z.shape[0])
    x, z = x[:n], z[:n]
    z_cycle = model.infer(q, model.generate(g, z), xp.zeros_like(z))[0]   # the mean code for a stochastic Q
    x_cycle = model.generate(g, model.infer(q, x, xp.zeros_like(z))[0])
    return {"z_cycle": _distance_summary(z_cycle, z), "z_typical": _distance_summary(z, xp.roll(z, 1, axis=0)),
            "x_cycle": _distance_summary(x_cycle, x), "x_typical": _distance_summary(x, xp.roll(x, 1, axis=0))}
