"""Statement 2 of section 2.4 on a 2-D data set whose every density is computable (derivations/14 results
14.9-14.12): a VAE with a Gaussian decoder and a GAN, both with 2-D codes, trained on a ring of eight wide
Gaussians; every ``toy_eval_every`` epochs each model's cell masses on the lattice are set against the
data's exact ones (KL both ways and JSD).

The VAE's masses come from its density (a lattice sum over codes, (14.10)); the GAN's from its push-forward
(14.11), which exists as a mass on cells because codes and data are both 2-D.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend
from ..lattice_divergences import Lattice, density_masses, divergences, mixture_masses, pushforward_masses
from ..models.gan import GAN
from ..models.gaussian_vae import GaussianVAE
from ..toy_data import ring_modes
from ..training.gan_trainers import Game, GANTrainer
from ..training.loop import fit
from ..training.trainers import GaussianVAETrainer

MODELS = ("vae", "gan")


def data(cfg) -> np.ndarray:
    """The training set (toy_n, 2): equal-weight N(mode, toy_std^2 I) around the eight ring modes."""
    rng = backend.host_rng(cfg.seed, "section24 toy data")
    modes = ring_modes()
    return (modes[rng.integers(len(modes), size=cfg.toy_n)]
            + cfg.toy_std * rng.standard_normal((cfg.toy_n, 2))).astype(np.float32)


def make_trainer(cfg, name: str):
    rng = backend.host_rng(cfg.seed, "section24 toy init", name)
    if name == "vae":
        model = GaussianVAE(x_dim=2, z_dim=2, hidden=tuple(cfg.toy_hidden))
        return GaussianVAETrainer(model, *model.init(rng), lr=cfg.toy_lr)
    model = GAN(x_dim=2, z_dim=2, g_hidden=tuple(cfg.toy_hidden), d_hidden=tuple(cfg.toy_hidden))
    steps = cfg.toy_epochs * (cfg.toy_n // cfg.toy_batch)
    return GANTrainer(model, *model.init(rng, "glorot"), Game("nonsaturating", cfg.toy_lr, cfg.toy_lr),
                      decay_steps=steps, final_lr_fraction=0.01)   # the toy games' decaying step (13.10)


def model_masses(cfg, trainer, lattice: Lattice) -> np.ndarray:
    """The trained model's mass on every cell: (14.10) for the VAE, (14.11) for the GAN."""
    if isinstance(trainer, GaussianVAETrainer):
        dec = trainer.players["dec"].params
        return density_masses(lattice, lambda x: backend.to_host(trainer.model.log_density(
            dec, backend.asarray(x, dec.flat.dtype), n=cfg.vae_lattice)))
    g = trainer.players["g"].params
    return pushforward_masses(lattice, lambda z: backend.to_host(trainer.model.generate(
        g, backend.asarray(z, g.flat.dtype))), z_n=cfg.gan_lattice)


def measure(cfg, trainer, lattice: Lattice, truth: np.ndarray) -> dict:
    """The model's divergences from the data's cell masses ``truth`` (14.12), as finite floats."""
    d = divergences(truth, model_masses(cfg, trainer, lattice))
    row = {"jsd": d["jsd"], "data_mass_where_model_empty": d["p_mass_where_q_empty"],
           "model_mass_on_lattice": d["q_mass"]}
    for key, value in (("kl_data_model", d["kl_pq"]), ("kl_model_data", d["kl_qp"])):
        if np.isfinite(value):         # an infinite KL is left out: the report reads its absence as infinity
            row[key] = value
    return row


def train(cfg, name: str, folder: Path, verbose: bool) -> tuple[object, dict]:
    """Train (or resume) the toy ``name`` ('vae' or 'gan'), measuring the divergences as it goes; the history
    also holds the untrained model's divergences under 'initial'."""
    lattice = Lattice(cfg.toy_half_width, cfg.toy_cells)
    truth = mixture_masses(lattice, ring_modes(), cfg.toy_std)
    initial = measure(cfg, make_trainer(cfg, name), lattice, truth)
    trainer = make_trainer(cfg, name)

    def evaluate(tr, epoch):
        return measure(cfg, tr, lattice, truth)

    config = {key: getattr(cfg, key) for key in ("toy_n", "toy_std", "toy_batch", "toy_lr")}
    config["toy_hidden"] = list(cfg.toy_hidden)
    if name == "gan":                  # the step's schedule spans the run: another length is another run
        config["decay_steps"] = trainer.players["g"].decay_steps
    history = fit(trainer, backend.asarray(data(cfg)), epochs=cfg.toy_epochs, batch_size=cfg.toy_batch,
                  seed=cfg.seed, checkpoint_path=folder / f"toy_{name}.npz", config=config, evaluate=evaluate,
                  eval_every=cfg.toy_eval_every, verbose=verbose)
    return trainer, {**history, "initial": {"epoch": 0, **initial}}


def experiment(cfg, folder: Path, verbose: bool) -> tuple[dict, dict]:
    """Both toy models' histories and their final cell masses beside the data's (for the figure)."""
    lattice = Lattice(cfg.toy_half_width, cfg.toy_cells)
    histories, masses = {}, {"data": mixture_masses(lattice, ring_modes(), cfg.toy_std)}
    for name in MODELS:
        trainer, histories[name] = train(cfg, name, folder, verbose)
        masses[name] = model_masses(cfg, trainer, lattice)
    return histories, masses
