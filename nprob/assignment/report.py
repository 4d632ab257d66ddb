"""Figures and ``report.md`` from ``metrics.json`` and the stored figure data; the report's entry point.

Nothing here trains or computes a number: run it on a finished (or half-finished) results folder and it
redraws every figure and rewrites the report from what the experiments stored (``metrics.json``,
``figure_data/``, :mod:`nprob.assignment.figure_data`). Section 1.6's comparison statistics are also
copied to ``summary.json``.
"""
from __future__ import annotations

from pathlib import Path

from .. import checkpoint
from . import (bound_training_report, discrete_latents_report, figure_data, ground_truth_report, gans_report, plots,
               vae_vs_gan_report)
from .report_text import write_report
from .vae_mnist import ALGORITHMS, HelmholtzConfig


def draw(metrics: dict, arrays: dict | None, cfg: HelmholtzConfig, figures: Path) -> list[Path]:
    """Section 1.6's figures: bounds and losses from the metrics, pictures from the stored arrays."""
    drawn = [plots.bound_curves(metrics, cfg.k, figures / "bounds.png")]
    if metrics.get("aevb", {}).get("epochs"):
        drawn.append(plots.loss_curves(metrics["aevb"], {"loss": "$-\\tilde{\\mathcal{L}}$ (nats)",
                                                         "kl": "KL term (nats)"},
                                       "AEVB training loss per epoch", figures / "aevb_losses.png"))
    if metrics.get("wake_sleep", {}).get("epochs"):
        drawn.append(plots.loss_curves(metrics["wake_sleep"], {"wake": "wake loss $-\\log p_\\theta(x|z)$",
                                                               "sleep": "sleep loss $-\\log q_\\phi(z|x)$"},
                                       "Wake-Sleep training losses per epoch", figures / "wake_sleep_losses.png"))
    if arrays is None:
        return drawn
    drawn.append(plots.digit_grid(arrays["originals"], "100 test digits", figures / "originals.png"))
    latents = {}
    for name in ALGORITHMS:
        if f"{name}.latents" not in arrays:
            continue
        label = plots.LABELS[name]
        drawn.append(plots.digit_grid(arrays[f"{name}.reconstructions"], f"{label}: reconstructions",
                                      figures / f"reconstructions_{name}.png"))
        drawn.append(plots.digit_grid(arrays[f"{name}.manifold"], f"{label}: decoded latent grid",
                                      figures / f"manifold_{name}.png"))
        latents[name] = arrays[f"{name}.latents"]
    if latents:
        drawn.append(plots.latent_scatter(latents, arrays["scatter_labels"], figures / "latent_scatter.png"))
    return drawn


def build(out: Path, verbose: bool = True) -> Path:
    """Redraw every figure and rewrite ``report.md`` and ``summary.json`` in ``out``."""
    metrics_path = out / "metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path} does not exist: train first (run_all.py without --plots-only)")
    metrics = checkpoint.read_json_object(metrics_path)
    figures, summary, cfg = [], metrics.get("vae_mnist_analysis", {}), None
    vae_arrays = figure_data.load(out, "vae_mnist")
    if "config" in metrics:
        cfg = HelmholtzConfig.from_json(metrics["config"])
        figures += draw(metrics, vae_arrays, cfg, out / "figures")
        figures += ground_truth_report.draw(metrics, out, out / "figures", cfg.k, plots.LABELS)
        checkpoint.write_json(out / "summary.json", summary)
    iw_lines = []
    if "iw" in metrics:
        iw_lines = bound_training_report.lines(metrics)
        figures += bound_training_report.draw(metrics, out / "figures")
    if "section14" in metrics:
        iw_lines += discrete_latents_report.lines(metrics)
        figures += discrete_latents_report.draw(metrics, out / "figures")
    gan_lines = []
    if "gan" in metrics:
        aevb = vae_arrays.get("aevb.latents") if vae_arrays is not None else None
        figures += gans_report.draw(metrics, figure_data.load(out, "gans"), out / "figures", aevb)
        gan_lines = gans_report.text(metrics)
    if "section24" in metrics:
        gan_lines += vae_vs_gan_report.lines(metrics)
        figures += vae_vs_gan_report.draw(metrics, figure_data.load(out, "section24"), out / "figures")
    path = write_report(out, metrics, cfg, summary, [f.relative_to(out) for f in figures], iw_lines + gan_lines)
    if verbose:
        print(f"[nprob] report written to {path}")
    return path
