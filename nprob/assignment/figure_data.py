"""What the report's pictures show, computed after training from the checkpoints and stored for the report.

The report only draws and writes (``*_report.py``); the images and codes it draws, and the statistics of
section 1.6's comparisons, are computed here, on whichever backend the run uses, and stored:
the statistics in ``metrics.json['vae_mnist_analysis']``, the arrays in ``OUT/figure_data/<part>.npz``.

* section 1.6: 100 test digits and their reconstructions, the codes of 5,000 test digits, and a decoded
  20 x 20 grid of prior quantiles, for each trained algorithm, with the statistics the report compares;
* section 2: 2,500 samples of each toy game (first seed), 100 samples of each MNIST game, and the
  three-player game's reconstructions G(Q(x)) and codes Q(x) of the same digits as section 1.6's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import norm

from .. import backend, checkpoint
from ..distributions import bernoulli_log_likelihood
from ..sample_quality import pixel_entropy
from ..stable import sigmoid
from ..toy_data import MIXTURES
from .toy_games import toy_samples

GRID = 20            # the latent manifold is decoded on a GRID x GRID lattice
DIGITS, SCATTER = 100, 5000


def path(out: Path, part: str) -> Path:
    return out / "figure_data" / f"{part}.npz"


def load(out: Path, part: str) -> dict | None:
    """The stored arrays of ``part`` ({name: host array}), or None where none were computed yet."""
    return checkpoint.load(path(out, part))[0] if path(out, part).exists() else None


def picks(seed: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """The test digits every figure shows (DIGITS of them) and the ones whose codes are scattered (SCATTER)."""
    pick = backend.host_rng(seed, "figures")
    return pick.choice(n_test, DIGITS, replace=False), pick.choice(n_test, SCATTER, replace=False)


def _nearest_labels(images: np.ndarray, x_ref: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    """Label of each image's nearest reference image in pixel space (a 1-NN classifier)."""
    d = (images**2).sum(1)[:, None] + (x_ref**2).sum(1)[None, :] - 2 * images @ x_ref.T
    return y_ref[np.argmin(d, axis=1)]


def vae_mnist(trainers: dict, seed: int, mnist, out: Path) -> dict:
    """Section 1.6's pictures and statistics for each trained 2-D model in ``trainers`` ({name: trainer});
    stores the arrays and returns {name: statistics}."""
    digits, scatter = picks(seed, len(mnist.x_test))
    axis = norm.ppf(np.linspace(0.05, 0.95, GRID))            # prior quantiles, as in Kingma & Welling
    grid = np.stack(np.meshgrid(axis, axis[::-1]), axis=-1).reshape(-1, 2).astype(np.float32)
    host = backend.to_host
    arrays, stats = {"digits": digits, "originals": mnist.x_test[digits], "scatter_index": scatter,
                     "scatter_labels": mnist.y_test[scatter]}, {}
    for name, trainer in trainers.items():
        model, enc, dec = trainer.model, trainer.players["enc"].params, trainer.players["dec"].params
        x = mnist.x_test[digits]
        mu, logvar, _ = model.encode(enc, backend.asarray(x))
        logits = host(model.decode(dec, mu)[0])
        recon = sigmoid(logits)
        ce = -bernoulli_log_likelihood(x, logits)                          # -log p(x | z = mu), per digit
        z_scatter, logvar_scatter, _ = model.encode(enc, backend.asarray(mnist.x_test[scatter]))
        z_scatter, logvar_scatter = host(z_scatter), host(logvar_scatter)
        labels = mnist.y_test[scatter]
        _, nbrs = cKDTree(z_scatter).query(z_scatter, k=6)
        votes = labels[nbrs[:, 1:]]
        knn = np.mean([np.bincount(v, minlength=10).argmax() == t for v, t in zip(votes, labels)])
        manifold = sigmoid(host(model.decode(dec, backend.asarray(grid))[0]))
        classes = _nearest_labels(manifold, mnist.x_train[::6], mnist.y_train[::6])
        arrays.update({f"{name}.reconstructions": recon, f"{name}.latents": z_scatter, f"{name}.manifold": manifold})
        stats[name] = {
            "recon_nats": float(ce.mean()), "recon_mse": float(np.mean((recon - x) ** 2)),
            "recon_nats_per_digit": [float(c) for c in ce],
            "latent_5nn_accuracy": float(knn), "latent_5nn_count": int(len(labels)),
            "latent_std_of_means": [float(s) for s in z_scatter.std(axis=0)],
            "aggregate_std": [float(s) for s in np.sqrt(z_scatter.var(axis=0) + np.exp(logvar_scatter).mean(axis=0))],
            "mean_posterior_std": float(np.exp(0.5 * logvar_scatter).mean()),
            "manifold_classes": sorted(int(c) for c in np.unique(classes)),
            "manifold_pixel_entropy": float(pixel_entropy(manifold).mean()),     # derivations/14 (14.5)
            "reconstruction_pixel_entropy": float(pixel_entropy(recon).mean()),
        }
    checkpoint.save(path(out, "vae_mnist"), arrays, {"algorithms": sorted(trainers)})
    return stats


def gans(toy: dict, mnist_games: dict, cfg, mnist, out: Path) -> None:
    """Section 2's pictures: ``toy`` {(mixture, method): trainer} of the first seed, ``mnist_games``
    {name: trainer}; stores the arrays."""
    digits, scatter = picks(cfg.seed, len(mnist.x_test))
    arrays = {f"toy.{data}.{method}": toy_samples(tr, 2500, cfg.seed) for (data, method), tr in toy.items()
              if data in MIXTURES}
    z = backend.host_rng(cfg.seed, "grid-samples").standard_normal((DIGITS, cfg.mnist_z_dim)).astype(np.float32)
    for name, tr in mnist_games.items():
        arrays[f"{name}.samples"] = backend.to_host(tr.model.generate(tr.players["g"].params, backend.asarray(z)))
        if name == "mnist_bigan":
            m, q, g = tr.model, tr.players["q"].params, tr.players["g"].params
            codes = m.infer(q, backend.asarray(mnist.x_test[digits]), backend.xp().zeros((DIGITS, 2), np.float32))[0]
            arrays["mnist_bigan.reconstructions"] = backend.to_host(m.generate(g, codes))
            arrays["mnist_bigan.latents"] = backend.to_host(m.infer(
                q, backend.asarray(mnist.x_test[scatter]), backend.xp().zeros((len(scatter), 2), np.float32))[0])
    arrays["scatter_labels"] = mnist.y_test[scatter]
    checkpoint.save(path(out, "gans"), arrays, {})
