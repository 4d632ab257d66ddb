"""Trained games: mode coverage on 2-D mixtures, inference by the third player, MNIST samples.

Every game is trained through :func:`nprob.train.fit`, so it checkpoints after
each epoch and resumes; a finished game is not trained again.
"""
from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import backend
from ..gan_trainers import BiGANTrainer, GANTrainer
from ..models.bigan import BiGAN
from ..models.gan import GAN
from ..toy_data import MIXTURES, banana, mode_coverage, sample_mixture
from ..train import fit, read_checkpoint

TOY_METHODS = ("minimax", "nonsaturating", "wgan", "bigan")
TOY_POINTS = 65536   # size of the fixed training sample of each toy data set


def settings(cfg, *prefixes) -> dict:
    """The settings a game's checkpoint must agree with: the backend and those named by ``prefixes``
    (the number of epochs may grow on resume)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()
            if k == "backend" or (k.startswith(prefixes) and k != "mnist_epochs")}


def make_toy_trainer(cfg, method: str, seed: int):
    """A fresh trainer for ``method`` on 2-D data with 2-D noise."""
    rng = backend.host_rng(seed, "init", method)
    if method == "bigan":
        model = BiGAN(x_dim=2, z_dim=2, g_hidden=cfg.toy_hidden, q_hidden=cfg.toy_hidden, d_hidden=cfg.toy_hidden)
        return BiGANTrainer(model, *model.init(rng), kind="nonsaturating", lr=cfg.toy_lr, lr_d=cfg.toy_lr)
    model = GAN(x_dim=2, z_dim=2, g_hidden=cfg.toy_hidden, d_hidden=cfg.toy_hidden)
    g, d = model.init(rng)
    if method == "wgan":
        return GANTrainer(model, g, d, kind="wgan", lr_g=cfg.wgan_lr, lr_d=cfg.wgan_lr, n_disc=cfg.wgan_n_critic,
                          clip=cfg.wgan_clip, optimizer="rmsprop")
    return GANTrainer(model, g, d, kind=method, lr_g=cfg.toy_lr, lr_d=cfg.toy_lr)


def toy_plan(cfg, method: str, data_name: str, seed: int, out: Path) -> dict:
    """Where a toy game's checkpoint lives, the configuration it must match, its epochs and rows per step."""
    rows = (cfg.wgan_n_critic if method == "wgan" else 1) * cfg.toy_batch   # the critic's batches come first
    return {"path": out / "checkpoints" / "gan" / f"{data_name}_{method}_seed{seed}.npz",
            "config": {**settings(cfg, "toy_", "wgan_"), "method": method, "data": data_name, "seed": seed},
            "epochs": math.ceil(cfg.toy_steps * rows / TOY_POINTS), "rows": rows}


def mnist_plan(cfg, name: str, out: Path) -> dict:
    """Where an MNIST game's checkpoint lives, the configuration it must match, and its epochs."""
    return {"path": out / "checkpoints" / "gan" / f"{name}.npz",
            "config": {**settings(cfg, "mnist_", "n_"), "game": name}, "epochs": cfg.mnist_epochs}


def check_checkpoints(cfg, out: Path) -> None:
    """Refuse, before anything is written, a checkpoint of any game that this configuration cannot resume."""
    plans = [toy_plan(cfg, method, data_name, seed, out) for data_name in MIXTURES for method in TOY_METHODS
             for seed in range(cfg.seed, cfg.seed + cfg.toy_seeds)]
    plans += [toy_plan(cfg, "bigan", "banana", cfg.seed, out)]
    plans += [mnist_plan(cfg, name, out) for name in ("mnist_gan", "mnist_bigan")]
    for plan in plans:
        read_checkpoint(plan["path"], plan["config"], plan["epochs"])


def train_toy(cfg, method: str, data_name: str, seed: int, out: Path, verbose: bool, evaluate=None):
    """Train ``method`` on a toy set for cfg.toy_steps generator steps; returns (trainer, history)."""
    trainer = make_toy_trainer(cfg, method, seed)
    plan = toy_plan(cfg, method, data_name, seed, out)
    x = backend.asarray(_toy_points(data_name, seed))
    history = fit(trainer, x, epochs=plan["epochs"], batch_size=plan["rows"], seed=seed, verbose=verbose,
                  config=plan["config"], checkpoint_path=plan["path"], evaluate=evaluate, eval_every=plan["epochs"])
    return trainer, history


def _toy_points(data_name: str, seed: int) -> np.ndarray:
    rng = backend.host_rng(seed, "toy-data", data_name)
    if data_name == "banana":
        return banana(rng.standard_normal((TOY_POINTS, 2)))
    return sample_mixture(data_name, TOY_POINTS, rng)


def toy_samples(trainer, n: int, seed: int) -> np.ndarray:
    z = backend.asarray(backend.host_rng(seed, "samples").standard_normal((n, trainer.model.z_dim)))
    return backend.to_host(trainer.model.generate(trainer.players["g"].params, z))


def mode_coverage_experiment(cfg, out: Path, verbose: bool) -> dict:
    """Modes captured and high-quality fraction from 2,500 samples, per method, data set and seed."""
    result = {}
    for data_name in MIXTURES:
        result[data_name] = {}
        for method in TOY_METHODS:
            runs = []
            for seed in range(cfg.seed, cfg.seed + cfg.toy_seeds):
                def evaluate(tr, epoch, seed=seed, data_name=data_name):
                    cov = mode_coverage(toy_samples(tr, 2500, seed), data_name)
                    return {k: float(v) for k, v in cov.items() if k != "of"}
                _, history = train_toy(cfg, method, data_name, seed, out, verbose, evaluate)
                runs.append({"seed": seed, **history["evals"][-1]})
            result[data_name][method] = runs
    return result


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
    return {"mnist_gan": GANTrainer(gan, *gan.init(rng), kind="nonsaturating", lr_g=cfg.mnist_lr, lr_d=cfg.mnist_lr),
            "mnist_bigan": BiGANTrainer(bigan, *bigan.init(rng), kind="nonsaturating", lr=cfg.mnist_lr,
                                        lr_d=cfg.mnist_lr)}


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
