"""Trainers for the games: alternating steps of the players, each with its own optimiser.

A step receives ``n_disc`` real batches stacked into one array: the
discriminator (or critic) takes one step per batch, then the generator (and,
in the three-player game, the inference network) takes one step. With ``decay_steps`` = T
every player's learning rate falls linearly to ``final_lr_fraction`` of itself over T
generator steps (derivations/13 eq. 13.10; a critic takes n_disc steps per generator step).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import backend, validate
from ..models.bigan import BiGAN
from ..models.gan import GAN, clip_weights, discriminator_loss_and_grads
from ..progress import progress_bar
from .trainers import Player, Trainer

LOSSES = ("minimax", "nonsaturating", "critic")


@dataclass(frozen=True)
class Game:
    """One GAN game as a record: its trainer, its run name and its label all follow from these fields, and a
    new remedy is a new field. ``loss``: the generator's loss against a discriminator ('minimax' or
    'nonsaturating', derivations/06) or against an Earth-Mover ``critic`` (derivations/07), which either has
    its weights clipped at ``clip`` or pays WGAN-GP's gradient ``penalty`` (derivations/13 results 13.1-13.2);
    ``pack`` > 1 is PacGAN (result 13.3); ``critic_steps`` discriminator steps precede each generator step.
    """

    loss: str = "nonsaturating"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    pack: int = 1
    clip: float = 0.0                  # a critic's weights are clipped to [-clip, clip] (0: not clipped)
    penalty: float = 0.0               # WGAN-GP's lambda (0: no penalty)
    critic_steps: int = 1
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.5, 0.999)   # Adam's (beta1, beta2); other optimisers take none
    real_label: float = 1.0            # < 1: one-sided label smoothing of D's real target (derivations/14 eq. 14.8)
    instance_noise: float = 0.0        # sigma of the Gaussian noise added to every input of D (eq. 14.7)
    noise_steps: int = 0               # sigma falls linearly to 0 over this many generator steps (0: constant)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown generator loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.loss != "critic" and (self.clip or self.penalty):
            raise ValueError("clipping and the gradient penalty apply to an Earth-Mover critic only")
        if self.clip and self.penalty:
            raise ValueError("a critic is either clipped or penalised, not both")
        validate.count(self.pack, "pack")
        validate.count(self.critic_steps, "critic_steps")
        if not 0.5 < self.real_label <= 1 or (self.real_label < 1 and self.loss == "critic"):
            raise ValueError(f"real_label smooths a discriminator's target: a number in (0.5, 1], "
                             f"got {self.real_label}")
        validate.number(self.instance_noise, "instance_noise", minimum=0)
        if self.noise_steps < 0:
            raise ValueError(f"noise_steps must be >= 0, got {self.noise_steps}")

    def noise_at(self, t: int) -> float:
        """The instance noise's sigma after ``t`` generator steps: linear to 0 over ``noise_steps``, eq. (14.7)."""
        if not self.noise_steps:
            return self.instance_noise
        return self.instance_noise * max(0.0, 1 - t / self.noise_steps)

    @property
    def name(self) -> str:
        """The run's name, which keys its noise streams: gan_minimax, gan_nonsaturating_pack2, wgan, wgan_gp."""
        if self.loss == "critic":
            return "wgan_gp" if self.penalty else "wgan"
        return (f"gan_{self.loss}" + (f"_pack{self.pack}" if self.pack > 1 else "")
                + (f"_smooth{self.real_label:g}" if self.real_label < 1 else "")
                + (f"_noise{self.instance_noise:g}" if self.instance_noise else ""))

    @property
    def label(self) -> str:
        if self.loss == "critic":
            return "WGAN-GP" if self.penalty else "clipped critic (WGAN)"
        label = f"PacGAN, m = {self.pack}" if self.pack > 1 else self.loss.replace("nonsat", "non-sat")
        return (label + (f", labels smoothed to {self.real_label:g}" if self.real_label < 1 else "")
                + (f", instance noise {self.instance_noise:g}" if self.instance_noise else ""))


def instance_noise(game: Game, player: Player, rng, shapes, dtype):
    """Gaussian noise of the current sigma (eq. 14.7) for each shape, or None for a game without it; the
    schedule follows the generator's step count, which checkpoints keep."""
    if not game.instance_noise:
        return None
    sigma = dtype.type(game.noise_at(player.state["t"]))
    return [backend.standard_normal(rng, shape, dtype) * sigma for shape in shapes]


class GANTrainer(Trainer):
    """Alternating steps of G and D (or a critic) as ``game`` says; the model's ``pack`` must be the game's."""

    def __init__(self, model: GAN, g, d, game: Game, decay_steps: int = 0, final_lr_fraction: float = 1.0):
        if model.pack != game.pack:
            raise ValueError(f"the model packs {model.pack} samples, the game {game.pack}")
        self.model, self.game, self.name = model, game, game.name
        self.n_disc = game.critic_steps          # batches per step, as threads.limit_for reads it
        options = {"beta1": game.betas[0], "beta2": game.betas[1]} if game.optimizer == "adam" else {}
        self.players = {"g": Player(g, game.lr_g, game.optimizer, options=options, decay_steps=decay_steps,
                                    final_lr_fraction=final_lr_fraction),
                        "d": Player(d, game.lr_d, game.optimizer, options=options, decay_steps=decay_steps * self.n_disc,
                                    final_lr_fraction=final_lr_fraction)}

    def step(self, x, rng):
        g, d, game = self.players["g"].params, self.players["d"].params, self.game
        batch = x.shape[0] // self.n_disc
        critic = game.loss == "critic"
        dtype = g.flat.dtype
        samples = (batch, self.model.x_dim)
        for k in range(self.n_disc):
            z = backend.standard_normal(rng, (batch, self.model.z_dim), dtype)
            eps = backend.uniform(rng, (batch // self.model.pack, 1), dtype) if game.penalty else None
            u = backend.uniform(rng, samples, dtype) if self.model.straight_through else None
            noise = instance_noise(game, self.players["g"], rng, (samples, samples), dtype)
            d_scalars, grad_d = self.model.discriminator_loss_and_grads(g, d, x[k * batch:(k + 1) * batch], z, critic,
                                                                        game.penalty, eps, game.real_label, noise, u)
            self.players["d"].step(grad_d)
            if game.clip:
                clip_weights(d, game.clip)
        z = backend.standard_normal(rng, (batch, self.model.z_dim), dtype)
        u = backend.uniform(rng, samples, dtype) if self.model.straight_through else None
        noise = instance_noise(game, self.players["g"], rng, (samples,), dtype)
        g_scalars, grad_g = self.model.generator_loss_and_grads(g, d, z, game.loss, noise[0] if noise else None, u)
        self.players["g"].step(grad_g)
        return {**d_scalars, **g_scalars}


class BiGANTrainer(Trainer):
    """The three-player game: a D step, then a joint step of G and Q on ``game``'s loss ('minimax' or
    'nonsaturating'; Q shares G's learning rate); label smoothing and instance noise as the game says."""

    def __init__(self, model: BiGAN, g, q, d, game: Game, decay_steps: int = 0, final_lr_fraction: float = 1.0):
        if game.loss == "critic" or game.pack > 1 or game.critic_steps > 1:
            raise ValueError("the three-player game has a discriminator, unpacked, one step per generator step")
        self.model, self.game, self.kind = model, game, game.loss
        self.name = "bigan_" + game.name[len("gan_"):]
        schedule = {"options": {"beta1": game.betas[0], "beta2": game.betas[1]} if game.optimizer == "adam" else {},
                    "decay_steps": decay_steps, "final_lr_fraction": final_lr_fraction}
        self.players = {"g": Player(g, game.lr_g, game.optimizer, **schedule),
                        "q": Player(q, game.lr_g, game.optimizer, **schedule),
                        "d": Player(d, game.lr_d, game.optimizer, **schedule)}

    def _noise(self, rng, n):
        dtype = self.players["g"].params.flat.dtype
        z = backend.standard_normal(rng, (n, self.model.z_dim), dtype)
        eps = backend.standard_normal(rng, (n, self.model.z_dim), dtype) if self.model.stochastic_q else None
        return z, eps

    def step(self, x, rng):
        g, q, d = (self.players[k].params for k in ("g", "q", "d"))
        dtype, shapes = g.flat.dtype, (x.shape, x.shape)
        z, eps = self._noise(rng, x.shape[0])
        noise = instance_noise(self.game, self.players["g"], rng, shapes, dtype)
        d_scalars, grad_d = self.model.discriminator_loss_and_grads(g, q, d, x, z, eps, self.game.real_label, noise)
        self.players["d"].step(grad_d)
        z, eps = self._noise(rng, x.shape[0])
        noise = instance_noise(self.game, self.players["g"], rng, shapes, dtype)
        gq_scalars, (grad_g, grad_q) = self.model.generator_inference_loss_and_grads(g, q, d, x, z, self.kind, eps,
                                                                                     noise)
        self.players["g"].step(grad_g)
        self.players["q"].step(grad_q)
        return {**d_scalars, **gq_scalars}


def fit_discriminator(net, d, sample_real, sample_fake, steps: int, lr: float = 1e-3, critic: bool = False,
                      clip: float = 0.01, verbose: bool = False, desc: str = ""):
    """``steps`` steps of a discriminator (Adam, beta1 = 0.5) or of a critic clipped at ``clip`` (RMSprop) with
    parameters ``d`` on fresh batches ``sample_real()`` and ``sample_fake()``; nothing else moves."""
    player = Player(d, lr, "rmsprop" if critic else "adam", options={} if critic else {"beta1": 0.5})
    for _ in progress_bar(range(steps), desc=desc, disable=not verbose, leave=False):
        player.step(discriminator_loss_and_grads(net, d, sample_real(), sample_fake(), critic)[1])
        if critic:
            clip_weights(d, clip)
