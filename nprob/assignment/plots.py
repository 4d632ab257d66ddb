"""Figures, each drawn from host arrays or a metrics dict, so any figure can be redrawn without training."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..checkpoint import atomic_write  # noqa: E402

LABELS = {"aevb": "AEVB", "wake_sleep": "Wake-Sleep"}
COLOURS = {"aevb": "tab:blue", "wake_sleep": "tab:orange"}


def _save(fig, path: Path) -> Path:
    """Write the figure atomically (a reader never sees half a PNG) and close it."""
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:], dpi=120, bbox_inches="tight"))
    finally:
        plt.close(fig)
    return path


def bound_curves(metrics: dict, k: int, path: Path) -> Path:
    """L_k on test (solid) and train (dashed) against epoch, one colour per algorithm."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in LABELS:
        evals = metrics.get(name, {}).get("evals", [])
        if not evals:
            continue
        epochs = [e["epoch"] for e in evals]
        for split, style in (("test", "-o"), ("train", "--s")):
            key = f"L{k}_{split}"
            if key in evals[0]:
                ax.plot(epochs, [e[key] for e in evals], style, color=COLOURS[name], ms=4,
                        label=f"{LABELS[name]}, {split}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"$\\mathcal{{L}}_{{{k}}}$ (nats per image)")
    ax.set_title(f"Importance-weighted bound $\\mathcal{{L}}_{{{k}}}$ during training")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def loss_curves(history: dict, keys: dict[str, str], title: str, path: Path) -> Path:
    """One panel per logged training loss (keys maps history key -> axis label) against epoch."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.6), squeeze=False)
    epochs = [e["epoch"] for e in history["epochs"]]
    for ax, (key, label) in zip(axes[0], keys.items()):
        ax.plot(epochs, [e[key] for e in history["epochs"]], "-", color="tab:gray")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def digit_grid(images: np.ndarray, title: str, path: Path, side: int = 28) -> Path:
    """images: (R * C, side * side) in [0, 1], R = C = sqrt(count), tiled into one picture."""
    n = int(round(np.sqrt(images.shape[0])))
    if n * n != images.shape[0]:
        raise ValueError(f"need a square number of images, got {images.shape[0]}")
    tiles = images.reshape(n, n, side, side).transpose(0, 2, 1, 3).reshape(n * side, n * side)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(tiles, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)
    return _save(fig, path)


def latent_scatter(latents: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> Path:
    """One panel per algorithm: latent means (N, 2) coloured by digit label."""
    fig, axes = plt.subplots(1, len(latents), figsize=(5.6 * len(latents), 5), squeeze=False)
    for ax, (name, z) in zip(axes[0], latents.items()):
        points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
        ax.set_title(f"{LABELS.get(name, name)}: $\\mu_\\phi(x)$ of {len(z)} test digits")
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_aspect("equal", adjustable="datalim")
    fig.colorbar(points, ax=axes[0].tolist(), ticks=range(10), label="digit")
    return _save(fig, path)


def line_panels(panels: list[dict], title: str, path: Path) -> Path:
    """Panels of curves. Each panel: {'x', 'series': {label: y}, 'xlabel', 'ylabel', optional 'logx', 'logy'}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for label, y in panel["series"].items():
            style = "--" if label.startswith("theory") else "-o"
            ax.plot(panel.get("xs", {}).get(label, panel["x"]), y, style, ms=3, label=label)
        ax.set_xscale("log" if panel.get("logx") else "linear")
        ax.set_yscale("log" if panel.get("logy") else "linear")
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(panel["ylabel"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def sample_panels(samples: dict[str, np.ndarray], modes: np.ndarray, title: str, path: Path) -> Path:
    """One panel per method: 2-D samples (grey) over the true mode centres (red crosses)."""
    fig, axes = plt.subplots(1, len(samples), figsize=(3.6 * len(samples), 3.6), squeeze=False)
    lim = np.abs(modes).max() + 1.5
    for ax, (label, x) in zip(axes[0], samples.items()):
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:gray")
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", color="tab:red", s=30)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def posterior_panels(panels: dict[str, dict], path: Path) -> Path:
    """One row per algorithm, one column per image: the true posterior's contours and q's 1- and 2-sigma ellipses.

    Each value: {'posterior': (M, G, G) grids (axis 0 along z_1), 'extent': (M, 4), 'q_mu': (M, 2), 'q_std': (M, 2)}.
    """
    from matplotlib.patches import Ellipse
    rows, cols = len(panels), len(next(iter(panels.values()))["posterior"])
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.7 * rows), squeeze=False)
    for r, (label, p) in enumerate(panels.items()):
        for c in range(cols):
            ax = axes[r, c]
            x0, x1, y0, y1 = p["extent"][c]
            ax.contour(np.linspace(x0, x1, p["posterior"].shape[1]), np.linspace(y0, y1, p["posterior"].shape[2]),
                       p["posterior"][c].T, levels=5, colors="tab:blue", linewidths=0.7)
            for k in (1, 2):
                ax.add_patch(Ellipse(p["q_mu"][c], 2 * k * p["q_std"][c][0], 2 * k * p["q_std"][c][1],
                                     fill=False, color="tab:orange", lw=0.8))
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle("True posterior p(z|x) (blue contours) and q(z|x) (orange: 1 and 2 std)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def mass_panels(masses: dict[str, np.ndarray], half_width: float, title: str, path: Path) -> Path:
    """One panel per distribution: cell masses (n, n) on [-half_width, half_width]^2, first index along x, each
    on its own colour scale (its largest cell mass is given in the title)."""
    fig, axes = plt.subplots(1, len(masses), figsize=(3.6 * len(masses), 3.6), squeeze=False)
    for ax, (label, m) in zip(axes[0], masses.items()):
        ax.imshow(m.T, origin="lower", extent=(-half_width, half_width, -half_width, half_width), cmap="magma",
                  vmin=0, vmax=float(m.max()) or 1.0)
        ax.set_title(f"{label} (largest cell {float(m.max()):.2g})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def digit_panels(images: dict[str, np.ndarray], title: str, path: Path, side: int = 28) -> Path:
    """One panel per set of images (R * C, side * side) in [0, 1], each tiled as :func:`digit_grid` does."""
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.5), squeeze=False)
    for ax, (label, x) in zip(axes[0], images.items()):
        n = int(np.sqrt(len(x)))
        tiles = x[:n * n].reshape(n, n, side, side).transpose(0, 2, 1, 3).reshape(n * side, n * side)
        ax.imshow(tiles, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
