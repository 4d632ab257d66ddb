"""Trainers: one optimisation step of an algorithm (what a checkpoint keeps of one: :mod:`nprob.training.state`).

A trainer owns its players (each a ParamDict with its own optimiser state and
learning rate), draws the step's noise from the generator it is given, calls
the model's ``loss_and_grads`` and applies the optimisers. It knows nothing of
epochs, files or plots; :mod:`nprob.training.loop` drives it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend, optim, validate
from ..models import aevb, iwae, rws, wake_sleep
from ..models.gaussian_vae import GaussianVAE
from ..models.helmholtz import HelmholtzMachine
from ..params import ParamDict


@dataclass
class Player:
    """A network's parameters with its own optimiser, state and learning rate.

    With ``decay_steps`` = T > 0 the learning rate falls linearly from ``lr`` to ``lr * final_lr_fraction``
    over the player's first T steps and stays there (derivations/13 eq. 13.10). The step count lives in
    the optimiser state, which checkpoints keep, so a resumed run continues the schedule exactly.
    """

    params: ParamDict
    lr: float
    optimizer: str = "adam"
    options: dict = field(default_factory=dict)   # extra optimiser settings, e.g. {'beta1': 0.5}
    state: dict = field(default=None)
    decay_steps: int = 0
    final_lr_fraction: float = 1.0

    def __post_init__(self):
        if self.optimizer not in optim.OPTIMISERS:
            raise ValueError(f"unknown optimiser {self.optimizer!r}; choose one of {', '.join(optim.OPTIMISERS)}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if not 0 < self.final_lr_fraction <= 1:
            raise ValueError(f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}")
        if self.decay_steps < 0:
            raise ValueError(f"decay_steps must be >= 0, got {self.decay_steps}")
        if self.state is None:
            self.state = optim.OPTIMISERS[self.optimizer][0](self.params)

    def lr_at(self, t: int) -> float:
        """The learning rate of the step taken after ``t`` steps, eq. (13.10)."""
        if not self.decay_steps:
            return self.lr
        return self.lr * (1 - (1 - self.final_lr_fraction) * min(t / self.decay_steps, 1.0))

    def step(self, grads: ParamDict) -> None:
        optim.OPTIMISERS[self.optimizer][1](self.params, grads, self.state, lr=self.lr_at(self.state["t"]),
                                            **self.options)


class Trainer:
    """Base class of the contract :mod:`nprob.training.loop` consumes: ``name``, ``players``, ``buffers``,
    ``step(x, rng) -> scalars``."""

    name = "trainer"
    players: dict[str, Player]

    def step(self, x, rng) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def buffers(self) -> dict[str, np.ndarray]:
        """Numbers the next step depends on that are neither parameters nor optimiser moments (none here)."""
        return {}

    def load_buffers(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`buffers` gave; CheckpointError for a missing or damaged one."""


class AEVBTrainer(Trainer):
    """AEVB: one Adam step on both networks per batch, with ``n_samples`` reparameterised draws."""

    name = "aevb"

    def __init__(self, model: HelmholtzMachine, enc, dec, lr=1e-3, n_samples=1, optimizer="adam"):
        self.model, self.n_samples = model, validate.count(n_samples, "n_samples")
        self.players = {"enc": Player(enc, lr, optimizer), "dec": Player(dec, lr, optimizer)}

    def step(self, x, rng):
        dtype = self.players["enc"].params.flat.dtype
        eps = backend.standard_normal(rng, (self.n_samples, x.shape[0], self.model.z_dim), dtype)
        scalars, (g_enc, g_dec) = aevb.loss_and_grads(
            self.model, self.players["enc"].params, self.players["dec"].params, x, eps)
        self.players["enc"].step(g_enc)
        self.players["dec"].step(g_dec)
        return scalars


class GaussianVAETrainer(Trainer):
    """AEVB on a Gaussian decoder (derivations/14 eq. 14.9): one Adam step on both networks per batch."""

    name = "gaussian_vae"

    def __init__(self, model: GaussianVAE, enc, dec, lr=1e-3):
        self.model = model
        self.players = {"enc": Player(enc, lr), "dec": Player(dec, lr)}

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        eps = backend.standard_normal(rng, (x.shape[0], self.model.z_dim), enc.flat.dtype)
        scalars, (g_enc, g_dec) = self.model.loss_and_grads(enc, dec, x, eps)
        self.players["enc"].step(g_enc)
        self.players["dec"].step(g_dec)
        return scalars


class WakeSleepTrainer(Trainer):
    """Wake-Sleep: a wake step on the generator, then a sleep step on the recognition net."""

    name = "wake_sleep"

    def __init__(self, model: HelmholtzMachine, enc, dec, wake_lr=1e-3, sleep_lr=1e-3,
                 wake_samples=1, sleep_samples=100, optimizer="adam"):
        self.model = model
        self.wake_samples = validate.count(wake_samples, "wake_samples")
        self.sleep_samples = validate.count(sleep_samples, "sleep_samples")
        self.players = {"enc": Player(enc, sleep_lr, optimizer), "dec": Player(dec, wake_lr, optimizer)}

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        dtype = enc.flat.dtype
        eps = backend.standard_normal(rng, (self.wake_samples, x.shape[0], self.model.z_dim), dtype)
        wake, g_dec = wake_sleep.wake_loss_and_grads(self.model, enc, dec, x, eps)
        self.players["dec"].step(g_dec)
        z = backend.standard_normal(rng, (self.sleep_samples, self.model.z_dim), dtype)
        u = backend.uniform(rng, (self.sleep_samples, self.model.x_dim), dtype)
        x_dream = wake_sleep.dream(self.model, dec, z, u)
        sleep, g_enc = wake_sleep.sleep_loss_and_grads(self.model, enc, z, x_dream)
        self.players["enc"].step(g_enc)
        return {**wake, **sleep}


class IWAETrainer(Trainer):
    """IWAE: one Adam step on both networks per batch with the gradient of -L_k, eq. (11.2); k samples per
    image. ``name`` (default 'iwae') names the run's noise streams."""

    def __init__(self, model: HelmholtzMachine, enc, dec, k: int = 5, lr=1e-3, optimizer="adam", name: str = "iwae"):
        self.model, self.k, self.name = model, validate.count(k, "k"), name
        self.players = {"enc": Player(enc, lr, optimizer), "dec": Player(dec, lr, optimizer)}

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        eps = backend.standard_normal(rng, (self.k, x.shape[0], self.model.z_dim), enc.flat.dtype)
        scalars, (g_enc, g_dec) = iwae.loss_and_grads(self.model, enc, dec, x, eps)
        self.players["enc"].step(g_enc)
        self.players["dec"].step(g_dec)
        return scalars


class RWSTrainer(Trainer):
    """Reweighted wake-sleep: wake-theta and wake-phi on the data (derivations/11 result 11.2), and with
    ``sleep=True`` also Wake-Sleep's sleep update of the recognition network, as Bornschein and Bengio allow."""

    def __init__(self, model: HelmholtzMachine, enc, dec, k: int = 5, lr=1e-3, sleep: bool = False,
                 sleep_samples: int = 100, optimizer="adam", name: str = "rws"):
        self.model, self.k, self.sleep, self.name = model, validate.count(k, "k"), sleep, name
        self.sleep_samples = validate.count(sleep_samples, "sleep_samples")
        self.players = {"enc": Player(enc, lr, optimizer), "dec": Player(dec, lr, optimizer)}

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        dtype = enc.flat.dtype
        eps = backend.standard_normal(rng, (self.k, x.shape[0], self.model.z_dim), dtype)
        scalars, (g_enc, g_dec) = rws.loss_and_grads(self.model, enc, dec, x, eps)
        self.players["dec"].step(g_dec)
        self.players["enc"].step(g_enc)
        if self.sleep:
            z = backend.standard_normal(rng, (self.sleep_samples, self.model.z_dim), dtype)
            u = backend.uniform(rng, (self.sleep_samples, self.model.x_dim), dtype)
            x_dream = wake_sleep.dream(self.model, dec, z, u)
            sleep, g_sleep = wake_sleep.sleep_loss_and_grads(self.model, enc, z, x_dream)
            self.players["enc"].step(g_sleep)
            scalars = {**scalars, **sleep}
        return scalars
