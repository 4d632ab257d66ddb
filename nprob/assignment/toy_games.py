"""The toy games of section 2: seven methods on the ring and grid mixtures, several seeds, side by side.

Methods: the minimax and non-saturating games (derivations/06), a clipped Earth-Mover critic
(07), WGAN-GP and PacGAN with m = 2 and 4 (13), and the three-player game (08). Each run is one
(method, mixture, seed); it checkpoints after every epoch and records mode coverage after every
epoch, which gives the modes-against-steps curves from which the default number of steps is
chosen. Independent runs train in ``cfg.workers`` processes at once on a CPU (one BLAS thread
each, :mod:`nprob.training.threads`); the numbers do not depend on how many.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from .. import backend
from ..models.bigan import BiGAN, inference_metrics
from ..models.gan import GAN
from ..progress import progress_bar
from ..toy_data import MIXTURES, banana, mode_coverage, mode_only_error, sample_mixture
from ..training.gan_trainers import BiGANTrainer, Game, GANTrainer
from ..training.loop import fit
from ..training.workers import map_in_processes, usable_cores
from .settings import for_run

TOY_METHODS = ("minimax", "nonsaturating", "wgan", "wgan_gp", "pacgan2", "pacgan4", "bigan")
TOY_POINTS = 65536   # size of the fixed training sample of each toy data set
EVAL_SAMPLES = 2500
CRITIC_METHODS = ("wgan", "wgan_gp")   # the methods whose toy_game plays against an Earth-Mover critic


def toy_game(cfg, method: str) -> Game:
    """The record of a toy ``method`` other than the three-player game: the table of the section-2 remedies."""
    games = {
        "minimax": Game("minimax", cfg.toy_lr, cfg.toy_lr),
        "nonsaturating": Game("nonsaturating", cfg.toy_lr, cfg.toy_lr),
        "wgan": Game("critic", cfg.wgan_lr, cfg.wgan_lr, clip=cfg.wgan_clip, critic_steps=cfg.wgan_n_critic,
                     optimizer="rmsprop"),
        "wgan_gp": Game("critic", cfg.wgan_gp_lr, cfg.wgan_gp_lr, penalty=cfg.wgan_gp_lambda,
                        critic_steps=cfg.wgan_n_critic, betas=(0.5, 0.9)),   # the betas of Gulrajani et al.
        "pacgan2": Game("nonsaturating", cfg.toy_lr, cfg.toy_lr, pack=2),
        "pacgan4": Game("nonsaturating", cfg.toy_lr, cfg.toy_lr, pack=4),
    }
    return games[method]


def make_toy_trainer(cfg, method: str, seed: int):
    """A fresh trainer for ``method`` on 2-D data with 2-D noise."""
    rng = backend.host_rng(seed, "init", method)
    schedule = {"decay_steps": cfg.toy_steps, "final_lr_fraction": cfg.toy_lr_decay}
    if method == "bigan":
        model = BiGAN(x_dim=2, z_dim=2, g_hidden=cfg.toy_hidden, q_hidden=cfg.toy_hidden, d_hidden=cfg.toy_hidden)
        return BiGANTrainer(model, *model.init(rng), Game("nonsaturating", cfg.toy_bigan_lr, cfg.toy_bigan_lr),
                            **schedule)
    game = toy_game(cfg, method)
    model = GAN(x_dim=2, z_dim=2, g_hidden=cfg.toy_hidden, d_hidden=cfg.toy_hidden, pack=game.pack)
    return GANTrainer(model, *model.init(rng), game, **schedule)


def rows_per_step(cfg, method: str) -> int:
    """Data rows one generator step consumes: a critic takes its critic_steps batches first."""
    return (1 if method == "bigan" else toy_game(cfg, method).critic_steps) * cfg.toy_batch


def toy_plan(cfg, method: str, data_name: str, seed: int, out: Path) -> dict:
    """Where a toy game's checkpoint lives, the configuration it must match, its epochs and rows per step."""
    rows = rows_per_step(cfg, method)
    return {"path": out / "checkpoints" / "gan" / f"{data_name}_{method}_seed{seed}.npz",
            "config": {**for_run(cfg, "toy"), "method": method, "data": data_name, "seed": seed},
            "epochs": math.ceil(cfg.toy_steps * rows / TOY_POINTS), "rows": rows}


def toy_points(data_name: str, seed: int) -> np.ndarray:
    rng = backend.host_rng(seed, "toy-data", data_name)
    if data_name == "banana":
        return banana(rng.standard_normal((TOY_POINTS, 2)))
    return sample_mixture(data_name, TOY_POINTS, rng)


def toy_samples_from(trainer, z) -> np.ndarray:
    """G(z) on the host for device codes z (n, z_dim)."""
    return backend.to_host(trainer.model.generate(trainer.players["g"].params, z))


def toy_samples(trainer, n: int, seed: int) -> np.ndarray:
    z = backend.host_rng(seed, "samples").standard_normal((n, trainer.model.z_dim))
    return toy_samples_from(trainer, backend.asarray(z))


def train_toy(cfg, method: str, data_name: str, seed: int, out: Path, verbose: bool, evaluate=None, eval_every=None):
    """Train ``method`` on a toy set for cfg.toy_steps generator steps; returns (trainer, history)."""
    trainer = make_toy_trainer(cfg, method, seed)
    plan = toy_plan(cfg, method, data_name, seed, out)
    x = backend.asarray(toy_points(data_name, seed))
    history = fit(trainer, x, epochs=plan["epochs"], batch_size=plan["rows"], seed=seed, verbose=verbose,
                  config=plan["config"], checkpoint_path=plan["path"], evaluate=evaluate,
                  eval_every=eval_every or plan["epochs"])
    return trainer, history


def coverage_run(task) -> dict:
    """One (cfg, method, mixture, seed, out) run, evaluated after every epoch; a top-level function, so that
    a worker process can run it. Returns the evaluations with the generator steps taken at each, and the
    discriminator's (or critic's) mean loss over the last epoch."""
    cfg, method, data_name, seed, out = task
    if backend.name() != cfg.backend:   # a fresh worker process starts on NumPy
        backend.use(cfg.backend)
    steps_per_epoch = TOY_POINTS // rows_per_step(cfg, method)

    def evaluate(tr, epoch):
        cov = mode_coverage(toy_samples(tr, EVAL_SAMPLES, seed), data_name)
        result = {"steps": epoch * steps_per_epoch, **{k: float(v) for k, v in cov.items() if k != "of"}}
        if method == "bigan":   # how close Q is to G^-1 on this mixture (derivations/08)
            rng = backend.host_rng(seed, "inference-eval", data_name)
            x = backend.asarray(sample_mixture(data_name, EVAL_SAMPLES, rng))
            z = backend.asarray(rng.standard_normal((EVAL_SAMPLES, 2)))
            result.update(inference_metrics(tr.model, tr.players["g"].params, tr.players["q"].params, x, z))
            result["z_mode_only"] = mode_only_error(backend.to_host(z), toy_samples_from(tr, z), data_name)
        return result
    _, history = train_toy(cfg, method, data_name, seed, out, False, evaluate, eval_every=1)
    return {"seed": seed, "curve": history["evals"], **history["evals"][-1], "d_loss": history["epochs"][-1]["d_loss"]}


def coverage_runs(tasks: list, workers: int, verbose: bool) -> list[dict]:
    """:func:`coverage_run` of every (cfg, method, mixture, seed, out) task, in up to ``workers`` processes on
    a CPU (never more than its usable cores)."""
    cores = usable_cores()
    if verbose and workers > cores:
        print(f"[nprob] toy games: {workers} workers asked for, {cores} cores usable: running {cores} at once",
              file=sys.stderr)
    workers = min(workers, len(tasks), cores) if all(task[0].backend == "numpy" for task in tasks) else 1
    bar = progress_bar(total=len(tasks), desc="toy games", unit="run", disable=not verbose)
    try:
        if workers > 1:
            runs = map_in_processes(coverage_run, tasks, workers, on_result=bar.update)
        else:
            runs = []
            for task in tasks:
                runs.append(coverage_run(task))
                bar.update()
    except KeyboardInterrupt:
        folder = tasks[0][4] / "checkpoints" / "gan"
        print(f"\n[nprob] toy games: interrupted; each game's checkpoint after its last finished epoch is in "
              f"{folder}. Run the same command again to resume.", file=sys.stderr)
        raise
    finally:
        bar.close()
    return runs


def mode_coverage_experiment(cfg, out: Path, verbose: bool) -> dict:
    """Every method on every mixture and seed: the last evaluation and the whole curve of each run."""
    tasks = [(cfg, method, data_name, seed, out) for data_name in MIXTURES for method in TOY_METHODS
             for seed in range(cfg.seed, cfg.seed + cfg.toy_seeds)]
    runs = coverage_runs(tasks, cfg.workers, verbose)
    result = {data_name: {method: [] for method in TOY_METHODS} for data_name in MIXTURES}
    for (_, method, data_name, _, _), run in zip(tasks, runs):
        result[data_name][method].append(run)
    return result
