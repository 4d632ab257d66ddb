"""Low-dimensional data sets whose densities are known, for the GAN experiments.

Each sampler takes a NumPy generator and a count and returns host float32 arrays.
"""
from __future__ import annotations

import numpy as np


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres of the ring mixture: (n_modes, 2) on a circle."""
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def grid_modes() -> np.ndarray:
    """Centres of the grid mixture: the 25 points of {-4, -2, 0, 2, 4}^2."""
    axis = np.arange(-4.0, 5.0, 2.0)
    return np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)


MIXTURES = {  # name -> (mode centres, std of each component), as in the VEEGAN / PacGAN protocol
    "ring8": (ring_modes(), 0.02),
    "grid25": (grid_modes(), 0.05),
}


def sample_mixture(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n, 2) from an equal-weight mixture of isotropic Gaussians."""
    modes, std = MIXTURES[name]
    which = rng.integers(len(modes), size=n)
    return (modes[which] + std * rng.standard_normal((n, 2))).astype(np.float32)


def nearest_modes(samples: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """For samples (n, 2): the index of each one's nearest mode of mixture ``name`` and the distance to it."""
    dist = np.linalg.norm(samples[:, None, :] - MIXTURES[name][0][None, :, :], axis=2)
    return dist.argmin(axis=1), dist.min(axis=1)


def mode_only_error(z: np.ndarray, samples: np.ndarray, name: str) -> float:
    """Mean ||z - m(z)||, m(z) the mean of the codes whose samples G(z) share z's nearest mode.

    z: (n, z_dim) codes, samples: (n, 2) = G(z). The code-cycle error ||Q(G(z)) - z|| of an inverse
    Q that returns the mean code of G(z)'s nearest mode, i.e. that knows the mode and nothing about
    where within it G(z) lies: the error to compare with when a generator squeezes a whole region
    of codes into each mode.
    """
    which = nearest_modes(samples, name)[0]
    sums = np.zeros((len(MIXTURES[name][0]), z.shape[1]))
    np.add.at(sums, which, z)
    means = sums / np.maximum(np.bincount(which, minlength=len(sums)), 1)[:, None]
    return float(np.linalg.norm(z - means[which], axis=1).mean())


STRICT = 20   # nprob's criterion: a mode is captured with at least this many high-quality samples


def mode_coverage(samples: np.ndarray, name: str) -> dict:
    """Mode-coverage measures of generated samples (n, 2) on mixture ``name``.

    A sample is high quality when it lies within 3 std of its nearest mode. A mode is captured
    by the published criterion (VEEGAN, PacGAN) when at least one high-quality sample is nearest
    to it ('modes_published'), and by nprob's strict one with at least STRICT ('modes').
    'reverse_kl' is KL(p || uniform) = log K - H(p), where p is the histogram of all samples over
    their nearest of the K modes (PacGAN reports this measure): 0 for an even spread, log K when
    every sample is nearest to one mode. It measures balance, not quality.
    """
    modes, std = MIXTURES[name]
    nearest, closest = nearest_modes(samples, name)
    good = closest < 3 * std
    counts = np.bincount(nearest[good], minlength=len(modes))
    spread = np.bincount(nearest, minlength=len(modes))
    p = spread[spread > 0] / spread.sum()
    reverse_kl = float(np.log(len(modes)) + np.sum(p * np.log(p)))
    return {"modes": int((counts >= STRICT).sum()), "modes_published": int((counts >= 1).sum()), "of": len(modes),
            "high_quality": float(good.mean()), "reverse_kl": reverse_kl}


def parallel_lines(theta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n, 2) of (theta, U(0, 1)): P is theta = 0 (the assignment's section 2.2)."""
    return np.stack([np.full(n, theta), rng.random(n)], axis=1).astype(np.float32)


def banana(z: np.ndarray) -> np.ndarray:
    """A known invertible map of N(0, I) codes to data: x = (z1, z2 + (z1^2 - 1) / 2)."""
    return np.stack([z[:, 0], z[:, 1] + 0.5 * (z[:, 0] ** 2 - 1)], axis=1).astype(np.float32)

