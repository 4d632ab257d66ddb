"""A GAN: generator G(z) and a discriminator (or Earth-Mover critic) on x, both MLPs.

The discriminator outputs a logit a(x) with D(x) = sigmoid(a(x)); a critic
outputs f(x) directly. With ``pack = m`` the discriminator sees m consecutive samples
concatenated (PacGAN, derivations/13 result 13.3); a critic may carry WGAN-GP's gradient
penalty (results 13.1-13.2). One step of each player is a ``*_loss_and_grads``
function here; the alternation and the optimisers live in :mod:`nprob.training.gan_trainers`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend, validate
from ..nn import MLP, init_networks
from ..stable import sigmoid
from . import gan_losses as losses
from . import gradient_penalty


@dataclass(frozen=True)
class GAN:
    """x_dim-dimensional data from z_dim-dimensional N(0, I) noise."""

    x_dim: int = 2
    z_dim: int = 2
    g_hidden: tuple[int, ...] = (128, 128)
    d_hidden: tuple[int, ...] = (128, 128)
    g_output: str = "identity"          # 'sigmoid' for images in [0, 1]
    activation: str = "leaky_relu"
    pack: int = 1                       # samples per discriminator input (PacGAN's m)
    straight_through: bool = False      # binary samples 1[u < G(z)], gradient passed straight through (14.13)

    def __post_init__(self):
        if self.pack < 1:
            raise ValueError(f"pack must be a positive integer, got {self.pack}")
        if self.straight_through and self.g_output != "sigmoid":
            raise ValueError("a straight-through generator draws pixels from probabilities: g_output must be 'sigmoid'")

    @property
    def generator(self) -> MLP:
        return MLP("gen", (self.z_dim, *self.g_hidden, self.x_dim), hidden=self.activation, output=self.g_output)

    @property
    def discriminator(self) -> MLP:
        return MLP("disc", (self.pack * self.x_dim, *self.d_hidden, 1), hidden=self.activation)

    def init(self, rng: np.random.Generator, scheme: str = "glorot", dtype=backend.DTYPE):
        return init_networks((self.generator, self.discriminator), rng, scheme, dtype)

    def generate(self, g, z, u=None):
        """z: (M, z_dim) -> samples (M, x_dim); a straight-through generator needs uniforms u (M, x_dim)."""
        return self._fake(g, z, u)[0]

    def _fake(self, g, z, u):
        """G(z), or with ``straight_through`` the binary draw 1[u < G(z)] (eq. 14.13), and G's cache."""
        x, cache = self.generator.forward(g, z)
        if not self.straight_through:
            return x, cache
        if u is None or u.shape != x.shape:
            raise ValueError(f"a straight-through generator needs uniforms u of shape {x.shape}")
        return (u < x).astype(x.dtype), cache

    def packed(self, x):
        """(M, x_dim) samples as (M / pack, pack * x_dim) packs of consecutive samples (a view)."""
        if x.shape[0] % self.pack:
            raise ValueError(f"{x.shape[0]} samples do not split into packs of {self.pack}")
        return x.reshape(x.shape[0] // self.pack, self.pack * self.x_dim)

    def discriminator_loss_and_grads(self, g, d, x_real, z, critic: bool = False, penalty: float = 0.0, eps=None,
                                     real_label: float = 1.0, instance_noise=None, u=None):
        """One step of the discriminator (or critic, with ``critic=True``) against fixed G.

        x_real: (N, x_dim); z: (M, z_dim). Returns ({'d_loss', 'd_real', 'd_fake'}, grad_d)
        where d_real, d_fake are mean D (or mean f for a critic) on real and fake packs. A critic
        with ``penalty`` = lambda > 0 adds WGAN-GP's term (13.2) at eps * real + (1 - eps) * fake,
        eps: (N / pack, 1) uniforms, and reports the mean input-gradient norm as 'grad_norm'.
        ``real_label`` < 1 smooths the real target (14.8); ``instance_noise`` = (noise_real (N, x_dim),
        noise_fake (M, x_dim)) is added to D's inputs (14.7); u: (M, x_dim) uniforms of a straight-through G.
        """
        validate.batch(x_real, d.flat.dtype, "x_real")
        validate.batch(z, g.flat.dtype, "z")
        x_fake = self._fake(g, z, u)[0]
        if instance_noise is not None:                               # D sees x + sigma n, eq. (14.7)
            x_real, x_fake = x_real + instance_noise[0], x_fake + instance_noise[1]
        real, fake = self.packed(x_real), self.packed(x_fake)
        scalars, grads = discriminator_loss_and_grads(self.discriminator, d, real, fake, critic, real_label)
        loss = scalars["d_loss"]
        if penalty:
            if not critic or eps is None or real.shape != fake.shape:
                raise ValueError("a gradient penalty needs a critic, eps, and as many real as fake samples")
            value, norm, penalty_grads = gradient_penalty.penalty_and_grads(
                self.discriminator, d, eps * real + (1 - eps) * fake, penalty)
            grads.flat += penalty_grads.flat
            scalars.update(d_loss=loss + value, grad_norm=norm)
        return scalars, grads

    def generator_loss_and_grads(self, g, d, z, kind: str, instance_noise=None, u=None):
        """One step of the generator against a fixed discriminator (or critic, ``kind='critic'``).

        The loss's gradient flows back through the discriminator to its input and on
        into G; the discriminator's own parameters get no gradient. Returns ({'g_loss'}, grad_g).
        Added instance noise (M, x_dim) leaves the input gradient as it is, since d(x + sigma n)/dx = I
        (14.7); a straight-through generator passes the gradient at its binary draw to G(z) unchanged (14.13).
        """
        validate.batch(z, g.flat.dtype, "z")
        x_fake, g_cache = self._fake(g, z, u)
        seen = x_fake if instance_noise is None else x_fake + instance_noise
        a_fake, d_cache = self.discriminator.forward(d, self.packed(seen))
        if kind == "critic":
            loss, da = losses.critic_generator_loss(a_fake)
        else:
            loss, da = losses.generator_loss(a_fake, kind)
        dx = self.discriminator.backward(da, d_cache, None).reshape(x_fake.shape)   # packs back to samples
        grads = g.empty_like()
        self.generator.backward(dx, g_cache, grads, need_dx=False, accumulate=False)
        return {"g_loss": loss}, grads


def clip_weights(d, bound: float) -> None:
    """Keep every critic parameter in [-bound, bound] (WGAN's crude Lipschitz constraint)."""
    xp = backend.get_array_module(d.flat)
    xp.clip(d.flat, -bound, bound, out=d.flat)


def discriminator_loss_and_grads(net: MLP, d, real, fake, critic: bool = False, real_label: float = 1.0):
    """A discriminator's (or, with ``critic=True``, an Earth-Mover critic's) loss on inputs ``real`` and
    ``fake`` (N, net input) and its gradient in ``d``: eq. (6.1)'s negative, or the critic loss of page 7.

    The core of :meth:`GAN.discriminator_loss_and_grads`, for any samplers (a fixed density needs no G).
    Returns ({'d_loss', 'd_real', 'd_fake'}, grad_d), d_real and d_fake being mean D (or mean f);
    ``real_label`` < 1 is one-sided label smoothing (14.8), for a discriminator only.
    """
    a_real, cache_real = net.forward(d, real)
    a_fake, cache_fake = net.forward(d, fake)
    if critic:
        loss, da_real, da_fake = losses.critic_loss(a_real, a_fake)
        out_real, out_fake = a_real.mean(), a_fake.mean()
    else:
        loss, da_real, da_fake = losses.discriminator_loss(a_real, a_fake, real_label)
        out_real, out_fake = sigmoid(a_real).mean(), sigmoid(a_fake).mean()
    grads = d.empty_like()
    net.backward(da_real, cache_real, grads, need_dx=False, accumulate=False)
    net.backward(da_fake, cache_fake, grads, need_dx=False)
    return {"d_loss": loss, "d_real": out_real, "d_fake": out_fake}, grads
