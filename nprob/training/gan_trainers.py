"""Trainers for the games: alternating steps of the players, each with its own optimiser.

A step receives ``n_disc`` real batches stacked into one array: the
discriminator (or critic) takes one step per batch, then the generator (and,
in the three-player game, the inference network) takes one step. With ``decay_steps`` = T
every player's learning rate falls linearly to ``final_lr_fraction`` of itself over T
generator steps (derivations/13 eq. 13.10; a critic takes n_disc steps per generator step).
"""
from __future__ import annotations

from .. import backend
from ..models.bigan import BiGAN
from ..models.gan import GAN, clip_weights
from .trainers import Player, Trainer

GAN_KINDS = ("minimax", "nonsaturating", "wgan", "wgan_gp")


class GANTrainer(Trainer):
    """``kind``: the generator's loss ('minimax' or 'nonsaturating'), 'wgan' for a clipped critic, or
    'wgan_gp' for a critic with the gradient penalty ``gp_lambda`` (derivations/13) and no clipping.
    A model with ``pack`` > 1 makes it PacGAN."""

    def __init__(self, model: GAN, g, d, kind: str = "nonsaturating", lr_g: float = 1e-3, lr_d: float = 1e-3,
                 n_disc: int = 1, clip: float = 0.01, optimizer: str = "adam", adam_beta1: float = 0.5,
                 adam_beta2: float = 0.999, gp_lambda: float = 10.0, decay_steps: int = 0,
                 final_lr_fraction: float = 1.0):
        if kind not in GAN_KINDS:
            raise ValueError(f"unknown GAN kind {kind!r}; choose one of {', '.join(GAN_KINDS)}")
        self.model, self.kind, self.n_disc, self.clip, self.gp_lambda = model, kind, int(n_disc), clip, gp_lambda
        self.name = (kind if kind.startswith("wgan") else f"gan_{kind}") + (f"_pack{model.pack}" if model.pack > 1
                                                                           else "")
        options = {"beta1": adam_beta1, "beta2": adam_beta2} if optimizer == "adam" else {}
        self.players = {"g": Player(g, lr_g, optimizer, options=options, decay_steps=decay_steps,
                                    final_lr_fraction=final_lr_fraction),
                        "d": Player(d, lr_d, optimizer, options=options, decay_steps=decay_steps * self.n_disc,
                                    final_lr_fraction=final_lr_fraction)}

    def step(self, x, rng):
        g, d = self.players["g"].params, self.players["d"].params
        batch = x.shape[0] // self.n_disc
        critic = self.kind.startswith("wgan")
        penalty = self.gp_lambda if self.kind == "wgan_gp" else 0.0
        dtype = g.flat.dtype
        for k in range(self.n_disc):
            z = backend.standard_normal(rng, (batch, self.model.z_dim), dtype)
            eps = backend.uniform(rng, (batch // self.model.pack, 1), dtype) if penalty else None
            d_scalars, grad_d = self.model.discriminator_loss_and_grads(g, d, x[k * batch:(k + 1) * batch], z, critic,
                                                                        penalty, eps)
            self.players["d"].step(grad_d)
            if self.kind == "wgan":
                clip_weights(d, self.clip)
        z = backend.standard_normal(rng, (batch, self.model.z_dim), dtype)
        g_scalars, grad_g = self.model.generator_loss_and_grads(g, d, z, "critic" if critic else self.kind)
        self.players["g"].step(grad_g)
        return {**d_scalars, **g_scalars}


class BiGANTrainer(Trainer):
    """The three-player game: a D step, then a joint step of G and Q on ``kind``'s loss."""

    def __init__(self, model: BiGAN, g, q, d, kind: str = "nonsaturating", lr: float = 1e-3,
                 lr_d: float = 1e-3, optimizer: str = "adam", adam_beta1: float = 0.5, decay_steps: int = 0,
                 final_lr_fraction: float = 1.0):
        self.model, self.kind, self.name = model, kind, f"bigan_{kind}"
        schedule = {"options": {"beta1": adam_beta1} if optimizer == "adam" else {}, "decay_steps": decay_steps,
                    "final_lr_fraction": final_lr_fraction}
        self.players = {"g": Player(g, lr, optimizer, **schedule), "q": Player(q, lr, optimizer, **schedule),
                        "d": Player(d, lr_d, optimizer, **schedule)}

    def _noise(self, rng, n):
        dtype = self.players["g"].params.flat.dtype
        z = backend.standard_normal(rng, (n, self.model.z_dim), dtype)
        eps = backend.standard_normal(rng, (n, self.model.z_dim), dtype) if self.model.stochastic_q else None
        return z, eps

    def step(self, x, rng):
        g, q, d = (self.players[k].params for k in ("g", "q", "d"))
        z, eps = self._noise(rng, x.shape[0])
        d_scalars, grad_d = self.model.discriminator_loss_and_grads(g, q, d, x, z, eps)
        self.players["d"].step(grad_d)
        z, eps = self._noise(rng, x.shape[0])
        gq_scalars, (grad_g, grad_q) = self.model.generator_inference_loss_and_grads(g, q, d, x, z, self.kind, eps)
        self.players["g"].step(grad_g)
        self.players["q"].step(grad_q)
        return {**d_scalars, **gq_scalars}
