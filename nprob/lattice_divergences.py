"""Probability masses of 2-D distributions on a lattice of square cells, and the divergences between them:
derivations/14 results 14.11-14.12.

A lattice is ``n`` cells per side on [-half_width, half_width]^2. Three kinds of mass: a Gaussian mixture's,
exact by the normal CDF; a density's (a VAE's p(x)), by the midpoint rule; and a generator's push-forward
(a GAN's law of G(z)), by sending a fine lattice of codes through G and adding each code cell's exact prior
mass to the cell its image falls in (14.11). Everything is float64 on the host.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr


@dataclass(frozen=True)
class Lattice:
    half_width: float = 3.5
    n: int = 140

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(-self.half_width, self.half_width, self.n + 1)

    @property
    def midpoints(self) -> np.ndarray:
        """The cells' centres (n * n, 2), first coordinate slowest, as :meth:`masses` are ordered."""
        e = self.edges
        mid = (e[:-1] + e[1:]) / 2
        return np.stack(np.meshgrid(mid, mid, indexing="ij"), axis=-1).reshape(-1, 2)

    @property
    def cell_area(self) -> float:
        return (2 * self.half_width / self.n) ** 2


def mixture_masses(lattice: Lattice, modes: np.ndarray, std: float) -> np.ndarray:
    """Exact mass of each cell (n, n) under the equal-weight mixture of N(mode, std^2 I):
    a product of normal-CDF differences per component, averaged over components."""
    cdf = ndtr((lattice.edges[None, :] - np.asarray(modes, dtype=np.float64)[:, :1]) / std)   # (K, n + 1) in x1
    cdf2 = ndtr((lattice.edges[None, :] - np.asarray(modes, dtype=np.float64)[:, 1:]) / std)  # (K, n + 1) in x2
    return np.einsum("ki,kj->ij", np.diff(cdf, axis=1), np.diff(cdf2, axis=1)) / len(modes)


def density_masses(lattice: Lattice, log_density) -> np.ndarray:
    """Midpoint-rule mass of each cell (n, n) of a density given as ``log_density(points (M, 2)) -> (M,)``."""
    values = np.asarray(log_density(lattice.midpoints), dtype=np.float64)
    return np.exp(values).reshape(lattice.n, lattice.n) * lattice.cell_area


def pushforward_masses(lattice: Lattice, generate, z_limit: float = 5.0, z_n: int = 1000,
                       chunk: int = 100_000) -> np.ndarray:
    """Mass of each cell (n, n) under the law of G(z), z ~ N(0, I_2), eq. (14.11): the z_n x z_n code cells
    of [-z_limit, z_limit]^2 each carry their exact prior mass to the cell holding G(their midpoint).
    ``generate(z (M, 2)) -> (M, 2)`` on the host. Mass that lands outside the lattice, or lies beyond
    z_limit, is not in any cell: the total falls short of 1 by exactly that much."""
    z_edges = np.linspace(-z_limit, z_limit, z_n + 1)
    z_mid = (z_edges[:-1] + z_edges[1:]) / 2
    z_mass = np.diff(ndtr(z_edges))
    masses = np.zeros((lattice.n, lattice.n))
    rows = np.repeat(np.arange(z_n), z_n)
    cols = np.tile(np.arange(z_n), z_n)
    for lo in range(0, z_n * z_n, chunk):
        r, c = rows[lo:lo + chunk], cols[lo:lo + chunk]
        x = np.asarray(generate(np.stack([z_mid[r], z_mid[c]], axis=1)), dtype=np.float64)
        masses += np.histogram2d(x[:, 0], x[:, 1], bins=[lattice.edges, lattice.edges],
                                 weights=z_mass[r] * z_mass[c])[0]
    return masses


def divergences(p: np.ndarray, q: np.ndarray) -> dict:
    """KL(P || Q), KL(Q || P) and JSD(P, Q) in nats between two arrays of cell masses, eq. (14.12).

    A KL is infinite when the first distribution puts mass on a cell the second leaves empty; the mass
    that does so is reported beside it ('p_mass_where_q_empty', 'q_mass_where_p_empty'). The JSD is always
    finite (at most log 2). Masses outside the lattice are left out of every sum."""
    p, q = np.asarray(p, dtype=np.float64).ravel(), np.asarray(q, dtype=np.float64).ravel()
    if p.shape != q.shape or (p < 0).any() or (q < 0).any():
        raise ValueError("cell masses must be non-negative arrays of one shape")

    def kl(a, b):
        on = a > 0
        if (b[on] == 0).any():
            return float("inf")
        return float(np.sum(a[on] * np.log(a[on] / b[on])))

    m = (p + q) / 2
    return {"kl_pq": kl(p, q), "kl_qp": kl(q, p), "jsd": 0.5 * kl(p, m) + 0.5 * kl(q, m),
            "p_mass_where_q_empty": float(p[q == 0].sum()), "q_mass_where_p_empty": float(q[p == 0].sum()),
            "p_mass": float(p.sum()), "q_mass": float(q.sum())}
