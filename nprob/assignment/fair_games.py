"""Section 2.4's MNIST GAN and three-player game, with the remedy the sweep chose (derivations/14 results
14.7-14.8), measured by the yardstick as they train.

Both games have section 2's architecture (one hidden layer of ``gan_hidden`` units, a 2-D code); what changes
is the :class:`Remedy`: the discriminator's target, the instance noise on its inputs (annealed to zero over
the run), a decaying step and, for the GAN only, packing or a WGAN-GP critic (the default). Every
``eval_every`` epochs the yardstick measures ``eval_samples`` fresh samples; the per-epoch D(real) and
D(fake) (a critic's mean values) are the training loop's averages.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import backend
from ..models.bigan import BiGAN
from ..models.gan import GAN
from ..training.gan_trainers import BiGANTrainer, Game, GANTrainer
from ..training.loop import fit

KINDS = ("gan", "bigan")


@dataclass(frozen=True)
class Remedy:
    """What keeps the discriminator from winning: its real target (14.8), the instance noise's starting sigma
    (14.7), and, for the GAN only, PacGAN's pack size (derivations/13 result 13.3) or an Earth-Mover critic
    with WGAN-GP's gradient penalty ``penalty`` = lambda (results 13.1-13.2; five critic steps per generator
    step, each on a fifth of the batch); ``lr_decay``: every step falls linearly to this fraction (13.10)."""

    real_label: float = 1.0
    instance_noise: float = 0.0
    pack: int = 1
    penalty: float = 0.0
    lr_decay: float = 1.0


CRITIC_STEPS = 5


def generator_steps(cfg) -> int:
    """Generator steps of the whole run: one per batch of ``batch_size`` images (a critic splits each batch
    into CRITIC_STEPS smaller ones, one per critic step, as the sweep that chose it did)."""
    return cfg.gan_epochs * (cfg.n_train // cfg.batch_size)


def game(cfg, remedy: Remedy) -> Game:
    """The remedy as a Game record; the noise falls to zero over the whole run."""
    steps = generator_steps(cfg)
    if remedy.penalty:
        return Game("critic", cfg.gan_lr, cfg.gan_lr, pack=remedy.pack, penalty=remedy.penalty,
                    critic_steps=CRITIC_STEPS)
    return Game("nonsaturating", cfg.gan_lr, cfg.gan_lr, pack=remedy.pack, real_label=remedy.real_label,
                instance_noise=remedy.instance_noise, noise_steps=steps if remedy.instance_noise else 0)


def make_trainer(cfg, kind: str, remedy: Remedy):
    """A fresh GAN (``kind='gan'``) or three-player game with the given remedy, weights from the seed."""
    rng = backend.host_rng(cfg.seed, "section24 init", kind)
    hidden = (cfg.gan_hidden,)
    schedule = {"decay_steps": generator_steps(cfg) if remedy.lr_decay < 1 else 0,
                "final_lr_fraction": remedy.lr_decay}
    if kind == "gan":
        model = GAN(x_dim=784, z_dim=cfg.z_dim, g_hidden=hidden, d_hidden=hidden, g_output="sigmoid",
                    pack=remedy.pack)
        return GANTrainer(model, *model.init(rng), game(cfg, remedy), **schedule)
    model = BiGAN(x_dim=784, z_dim=cfg.z_dim, g_hidden=hidden, q_hidden=hidden, d_hidden=hidden, g_output="sigmoid")
    remedy = replace(remedy, pack=1, penalty=0.0)          # the three-player game has neither
    return BiGANTrainer(model, *model.init(rng), game(cfg, remedy), **schedule)


def samples(trainer, n: int, seed: int, *stream):
    """n samples (n, 784) of a trained game's generator on the host, from the named noise stream."""
    z = backend.asarray(backend.host_rng(seed, "section24 samples", trainer.name, *stream).standard_normal(
        (n, trainer.model.z_dim)))
    return backend.to_host(trainer.model.generate(trainer.players["g"].params, z))


def train(cfg, kind: str, remedy: Remedy, folder: Path, x_train, yardstick, verbose: bool) -> tuple[object, dict]:
    """Train (or resume) one game with the yardstick measuring its samples every ``eval_every`` epochs."""
    trainer = make_trainer(cfg, kind, remedy)

    def evaluate(tr, epoch):
        return yardstick.flat(samples(tr, cfg.eval_samples, cfg.seed, "eval", epoch))

    config = {"kind": kind, **asdict(remedy), "lr": cfg.gan_lr,
              "hidden": cfg.gan_hidden, "z_dim": cfg.z_dim, "n_train": cfg.n_train, "batch_size": cfg.batch_size,
              "noise_steps": trainer.game.noise_steps, "decay_steps": trainer.players["g"].decay_steps}
    history = fit(trainer, x_train, epochs=cfg.gan_epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                  checkpoint_path=folder / f"{trainer.name}.npz", config=config, evaluate=evaluate,
                  eval_every=cfg.eval_every, verbose=verbose)
    return trainer, history
