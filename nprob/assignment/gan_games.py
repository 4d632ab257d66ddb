"""Trained games beyond the mixtures: inference by the third player on 2-D data, and MNIST.

Every game is trained through :func:`nprob.training.loop.fit`, so it checkpoints after
each epoch and resumes; a finished game is not trained again. The mixtures' games
are in :mod:`nprob.assignment.toy_games`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend
from ..models.bigan import BiGAN, inference_metrics
from ..models.gan import GAN
from ..toy_data import MIXTURES, banana
from ..training.gan_trainers import BiGANTrainer, Game, GANTrainer
from ..training.loop import fit
from ..training.state import read_checkpoint
from .settings import for_run
from .toy_games import TOY_METHODS, toy_plan, train_toy


MNIST_GAMES = ("mnist_gan", "mnist_bigan")   # the MNIST games, named once: the keys of mnist_trainers


def mnist_plan(cfg, name: str, out: Path) -> dict:
    """Where an MNIST game's checkpoint lives, the configuration it must match, and its epochs."""
    return {"path": out / "checkpoints" / "gan" / f"{name}.npz",
            "config": {**for_run(cfg, "mnist"), "game": name}, "epochs": cfg.mnist_epochs}


def check_checkpoints(cfg, out: Path) -> None:
    """Refuse, before anything is written, a checkpoint of any game that this configuration cannot resume."""
    plans = [toy_plan(cfg, method, data_name, seed, out) for data_name in MIXTURES for method in TOY_METHODS
             for seed in range(cfg.seed, cfg.seed + cfg.toy_seeds)]
    plans += [toy_plan(cfg, "bigan", "banana", cfg.seed, out)]
    plans += [mnist_plan(cfg, name, out) for name in ("mnist_gan", "mnist_bigan")]
    for plan in plans:
        read_checkpoint(plan["path"], plan["config"], plan["epochs"])


def inference_toy_experiment(cfg, out: Path, verbose: bool) -> dict:
    def evaluate(tr, epoch):
        rng = backend.host_rng(cfg.seed, "inference-eval")
        z = rng.standard_normal((5000, 2)).astype(np.float32)
        m = tr.model
        return inference_metrics(m, tr.players["g"].params, tr.players["q"].params,
                                 backend.asarray(banana(z)), backend.asarray(rng.standard_normal((5000, 2))))
    _, history = train_toy(cfg, "bigan", "banana", cfg.seed, out, verbose, evaluate)
    return history["evals"][-1]


def mnist_trainers(cfg):
    """The MNIST GAN and three-player game, sharing G's architecture and a 2-D latent space."""
    rng = backend.host_rng(cfg.seed, "init", "mnist")
    hidden = (cfg.mnist_hidden,)
    gan = GAN(x_dim=784, z_dim=cfg.mnist_z_dim, g_hidden=hidden, d_hidden=hidden, g_output="sigmoid")
    bigan = BiGAN(x_dim=784, z_dim=cfg.mnist_z_dim, g_hidden=hidden, q_hidden=hidden, d_hidden=hidden,
                  g_output="sigmoid")
    return dict(zip(MNIST_GAMES, (   # built in this order: both draw their weights from one rng
        GANTrainer(gan, *gan.init(rng), Game("nonsaturating", cfg.mnist_lr, cfg.mnist_lr)),
        BiGANTrainer(bigan, *bigan.init(rng), Game("nonsaturating", cfg.mnist_lr, cfg.mnist_lr)))))


def mnist_experiment(cfg, out: Path, x_train, x_test, verbose: bool) -> dict:
    """Train the MNIST GAN and three-player game; measure the third player's inference."""
    result = {}
    for name, trainer in mnist_trainers(cfg).items():
        def evaluate(tr, epoch, name=name):
            if name != "mnist_bigan":
                return {}
            z = backend.asarray(backend.host_rng(cfg.seed, "mnist-eval").standard_normal((x_test.shape[0], 2)))
            return inference_metrics(tr.model, tr.players["g"].params, tr.players["q"].params, x_test, z)
        plan = mnist_plan(cfg, name, out)
        history = fit(trainer, x_train, epochs=plan["epochs"], batch_size=cfg.mnist_batch, seed=cfg.seed,
                      checkpoint_path=plan["path"], verbose=verbose, config=plan["config"], evaluate=evaluate,
                      eval_every=plan["epochs"])
        result[name] = history
    return result
