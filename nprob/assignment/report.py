"""Figures and ``report.md`` for section 1.6, computed from ``metrics.json`` and the checkpoints.

Nothing here trains: run it on a finished (or half-finished) results folder
and it redraws every figure and rewrites the report. Every comparison in the
report is computed from measured numbers, which also go to ``summary.json``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import norm

from .. import backend, checkpoint
from ..data import load_mnist
from .vae_mnist import ALGORITHMS, HelmholtzConfig, make_trainer
from ..stable import sigmoid
from . import bound_training_report as report_iw
from . import plots
from . import discrete_latents_report as report_section14
from . import ground_truth_report as report_truth

GRID = 20   # the latent manifold is decoded on a GRID x GRID lattice


def load_config(metrics: dict) -> HelmholtzConfig:
    return HelmholtzConfig.from_json(metrics["config"])


def _load_networks(cfg: HelmholtzConfig, name: str, out: Path):
    path = out / "checkpoints" / f"{name}.npz"
    if not path.exists():
        return None
    trainer = make_trainer(cfg, name)
    arrays, meta = checkpoint.load(path)
    trainer.load_state_arrays(arrays)
    return trainer.model, trainer.players["enc"].params, trainer.players["dec"].params, meta["epoch"]


def _mean_pixel_entropy(p: np.ndarray) -> float:
    """Average Bernoulli entropy (nats) of decoded pixels: 0 for crisp images, log 2 for grey mush."""
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return float(np.mean(-(q * np.log(q) + (1 - q) * np.log(1 - q))))


def _nearest_labels(images: np.ndarray, x_ref: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    """Label of each image's nearest reference image in pixel space (a 1-NN classifier)."""
    d = (images**2).sum(1)[:, None] + (x_ref**2).sum(1)[None, :] - 2 * images @ x_ref.T
    return y_ref[np.argmin(d, axis=1)]


def analyse(cfg: HelmholtzConfig, out: Path, mnist) -> dict:
    """Reconstructions, latent codes and manifolds of each trained algorithm, with their statistics."""
    backend.use("numpy")   # figures are small: compute them on the host whatever trained the model
    pick = backend.host_rng(cfg.seed, "figures")
    digits = pick.choice(len(mnist.x_test), 100, replace=False)
    scatter = pick.choice(len(mnist.x_test), 5000, replace=False)
    axis = norm.ppf(np.linspace(0.05, 0.95, GRID))            # prior quantiles, as in Kingma & Welling
    grid = np.stack(np.meshgrid(axis, axis[::-1]), axis=-1).reshape(-1, 2).astype(np.float32)
    result = {"digits": digits, "originals": mnist.x_test[digits]}
    for name in ALGORITHMS:
        nets = _load_networks(cfg, name, out)
        if nets is None or cfg.z_dim != 2:
            continue
        model, enc, dec, epoch = nets
        x = mnist.x_test[digits]
        mu, logvar, _ = model.encode(enc, x)
        logits, _ = model.decode(dec, mu)
        recon = sigmoid(logits)
        ce = np.sum(np.logaddexp(0, logits) - x * logits, axis=1)         # -log p(x | z = mu), per digit
        z_scatter, logvar_scatter, _ = model.encode(enc, mnist.x_test[scatter])
        labels = mnist.y_test[scatter]
        _, nbrs = cKDTree(z_scatter).query(z_scatter, k=6)
        votes = labels[nbrs[:, 1:]]
        knn = np.mean([np.bincount(v, minlength=10).argmax() == t for v, t in zip(votes, labels)])
        manifold = sigmoid(model.decode(dec, grid)[0])
        classes = _nearest_labels(manifold, mnist.x_train[::6], mnist.y_train[::6])
        result[name] = {
            "epoch": epoch, "reconstructions": recon, "latents": z_scatter, "manifold": manifold,
            "stats": {
                "recon_nats": float(ce.mean()), "recon_mse": float(np.mean((recon - x) ** 2)),
                "recon_nats_per_digit": [float(c) for c in ce],
                "latent_5nn_accuracy": float(knn), "latent_5nn_count": int(len(labels)),
                "latent_std_of_means": [float(s) for s in z_scatter.std(axis=0)],
                "aggregate_std": [float(s) for s in np.sqrt(z_scatter.var(axis=0) + np.exp(logvar_scatter).mean(axis=0))],
                "mean_posterior_std": float(np.exp(0.5 * logvar_scatter).mean()),
                "manifold_classes": sorted(int(c) for c in np.unique(classes)),
                "manifold_pixel_entropy": _mean_pixel_entropy(manifold),
                "reconstruction_pixel_entropy": _mean_pixel_entropy(recon),
            }}
    result["scatter_labels"] = mnist.y_test[scatter]
    result["scatter_index"] = scatter
    return result


def draw(metrics: dict, analysis: dict, cfg: HelmholtzConfig, figures: Path) -> list[Path]:
    drawn = [plots.bound_curves(metrics, cfg.k, figures / "bounds.png")]
    if metrics.get("aevb", {}).get("epochs"):
        drawn.append(plots.loss_curves(metrics["aevb"], {"loss": "$-\\tilde{\\mathcal{L}}$ (nats)",
                                                         "kl": "KL term (nats)"},
                                       "AEVB training loss per epoch", figures / "aevb_losses.png"))
    if metrics.get("wake_sleep", {}).get("epochs"):
        drawn.append(plots.loss_curves(metrics["wake_sleep"], {"wake": "wake loss $-\\log p_\\theta(x|z)$",
                                                               "sleep": "sleep loss $-\\log q_\\phi(z|x)$"},
                                       "Wake-Sleep training losses per epoch", figures / "wake_sleep_losses.png"))
    drawn.append(plots.digit_grid(analysis["originals"], "100 test digits", figures / "originals.png"))
    latents = {}
    for name in ALGORITHMS:
        if name not in analysis:
            continue
        a, label = analysis[name], plots.LABELS[name]
        drawn.append(plots.digit_grid(a["reconstructions"], f"{label}: reconstructions",
                                      figures / f"reconstructions_{name}.png"))
        drawn.append(plots.digit_grid(a["manifold"], f"{label}: decoded latent grid",
                                      figures / f"manifold_{name}.png"))
        latents[name] = a["latents"]
    if latents:
        drawn.append(plots.latent_scatter(latents, analysis["scatter_labels"], figures / "latent_scatter.png"))
    return drawn


def build(out: Path, verbose: bool = True) -> Path:
    """Redraw every figure and rewrite ``report.md`` and ``summary.json`` in ``out``."""
    from . import gans_report as report_gan
    from .report_text import write_report
    metrics_path = out / "metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path} does not exist: train first (run_all.py without --plots-only)")
    metrics = checkpoint.read_json_object(metrics_path)
    mnist = load_mnist(verbose=verbose)
    figures, summary, cfg, analysis = [], {}, None, {}
    if "config" in metrics:
        cfg = load_config(metrics)
        analysis = analyse(cfg, out, mnist)
        figures += draw(metrics, analysis, cfg, out / "figures")
        figures += report_truth.draw(metrics, out, out / "figures", cfg.k, plots.LABELS)
        summary = {name: analysis[name]["stats"] for name in ALGORITHMS if name in analysis}
        checkpoint.write_json(out / "summary.json", summary)
    iw_lines = []
    if "iw" in metrics:
        iw_lines = report_iw.lines(metrics)
        figures += report_iw.draw(metrics, out / "figures")
    if "section14" in metrics:
        iw_lines += report_section14.lines(metrics)
        figures += report_section14.draw(metrics, out / "figures")
    gan_lines = []
    if "gan" in metrics:
        seed = cfg.seed if cfg else report_gan.load_config(metrics).seed
        pick = backend.host_rng(seed, "figures")
        digits = analysis.get("digits", pick.choice(len(mnist.x_test), 100, replace=False))
        scatter = analysis.get("scatter_index", pick.choice(len(mnist.x_test), 5000, replace=False))
        aevb = analysis.get("aevb", {}).get("latents")
        figures += report_gan.draw(metrics, out, out / "figures", mnist, digits, aevb, scatter)
        gan_lines = report_gan.text(metrics)
    path = write_report(out, metrics, cfg, summary, [f.relative_to(out) for f in figures], iw_lines + gan_lines)
    if verbose:
        print(f"[nprob] report written to {path}")
    return path
