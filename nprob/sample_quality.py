"""Statistics of a set of images that say how much they look like MNIST: derivations/14 results 14.3-14.6.

Everything here runs on the host in float64 on arrays the caller has already moved there:
the Frechet distance between Gaussians fitted to two feature sets (14.3), the classifier's label
entropies and class histogram (14.4), the pixel entropy (14.5) and the edge energy (14.6) of images.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg


def _host64(a, what: str, rows: int = 2) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < rows or not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be a finite 2-D array with at least {rows} rows, got shape {a.shape}")
    return a


def gaussian_frechet(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + tr(cov1 + cov2 - 2 (cov1^1/2 cov2 cov1^1/2)^1/2), eq. (14.3).

    Both square roots are of symmetric positive semi-definite matrices, taken by eigendecomposition
    (eigenvalues below zero from rounding are set to zero), so the result is real."""
    w1, v1 = linalg.eigh(cov1)
    root1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    middle = linalg.eigvalsh(root1 @ cov2 @ root1)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    diff = np.asarray(mu1) - np.asarray(mu2)
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_root)


def moments(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and unbiased covariance (F, F) of features (N, F)."""
    f = _host64(features, "features")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(features_a, features_b) -> float:
    """Eq. (14.3) between Gaussians fitted to two feature sets (N_a, F) and (N_b, F): the MNIST "FID"."""
    return gaussian_frechet(*moments(features_a), *moments(features_b))


def label_statistics(log_probs) -> dict:
    """From log p(y|x) (N, C) of N samples, eq. (14.4): the mean entropy of p(y|x) (low: confident digits),
    the entropy of the mean prediction (high: diverse digits), the class histogram of the argmax and its
    reverse KL to the uniform distribution, KL(histogram || uniform) = log C - H(histogram)."""
    lp = _host64(log_probs, "log_probs")
    p = np.exp(lp)
    classes = lp.shape[1]
    histogram = np.bincount(lp.argmax(axis=1), minlength=classes) / lp.shape[0]
    mean_p = p.mean(axis=0)
    nonzero = histogram[histogram > 0]
    return {"entropy_per_sample": float(-(p * lp).sum(axis=1).mean()),
            "entropy_of_mean": float(-(mean_p * np.log(mean_p)).sum()),
            "histogram": histogram.tolist(),
            "reverse_kl_to_uniform": float(np.log(classes) + (nonzero * np.log(nonzero)).sum()),
            "classes_seen": int((histogram > 0).sum())}


def pixel_entropy(images) -> np.ndarray:
    """Per image, the mean over pixels of the binary entropy H(x_d) = -x log x - (1 - x) log(1 - x) in nats,
    eq. (14.5): 0 for a black-and-white image, log 2 for one of flat grey. images: (N, D) in [0, 1] -> (N,)."""
    x = np.clip(_host64(images, "images", rows=1), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(x > 0, x * np.log(x), 0.0) - np.where(x < 1, (1 - x) * np.log1p(-x), 0.0)
    return h.mean(axis=1)


def edge_energy(images, side: int = 28) -> np.ndarray:
    """Per image, the mean squared difference of neighbouring pixels, across and down, eq. (14.6): large for
    sharp strokes, small for blurred ones. images: (N, side * side) -> (N,)."""
    x = _host64(images, "images", rows=1)
    if x.shape[1] != side * side:
        raise ValueError(f"images must have {side * side} pixels per row, got {x.shape[1]}")
    x = x.reshape(-1, side, side)
    across, down = np.diff(x, axis=2), np.diff(x, axis=1)
    return ((across ** 2).sum(axis=(1, 2)) + (down ** 2).sum(axis=(1, 2))) / (across[0].size + down[0].size)


def mean_and_se(values) -> dict:
    """{'mean', 'se', 'n'} of independent values (the standard error uses the unbiased variance)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("inf"),
            "n": int(v.size)}


def separated(a: dict, b: dict, z: float = 2.0) -> int:
    """+1 if mean a exceeds mean b by more than ``z`` combined standard errors sqrt(se_a^2 + se_b^2), -1 if it
    falls short by more than that, 0 where the measurement does not separate them (a, b: :func:`mean_and_se`)."""
    gap, noise = a["mean"] - b["mean"], z * float(np.hypot(a["se"], b["se"]))
    return 0 if abs(gap) <= noise else int(np.sign(gap))
