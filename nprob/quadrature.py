"""log p(x) for 2-D codes by lattice sums adapted to each image's posterior, with an error bar.

derivations/10-ground-truth.md. A box whose outside provably holds negligible mass (eq. 10.3), a
coarse map of it that finds each image's region (seeded also from points of q), then pairs of
lattices that share no point, refined until the lattice resolves the posterior and the pair
agrees (eqs. 10.1, 10.2 and 10.4). An image that cannot be resolved within its budget gets an
infinite error bar and ``resolved = False``, never a small bar on a wrong value.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

from . import backend, validate
from . import distributions as D
from .lattice_sums import LogJoint, coarse_map, lattice_sums
from .models.helmholtz import HelmholtzMachine
from .params import ParamDict
from .stable import softplus

__all__ = ["LogJoint", "Marginal", "bernoulli_log_joint", "log_marginal", "seeds_from_q"]

BASE_HALF_CELLS = 60      # the first coarse box is [-6, 6]^2 at the default step 0.1
MAX_HALF_CELLS = 500      # [-50, 50]^2: mass beyond it is below e^{-1250} times the likelihood's ceiling
PEAK_FRACTION = 1 / (2 * math.pi)   # a resolved Gaussian at step h = sd puts at most this on one point
BEND = 1.0         # h^2 |d^2 log f| = (h / sd)^2 for a Gaussian: at most 1 wherever the posterior
NEAR = 10.0        # is within NEAR nats of its top: a step of at most one sd in every such mode
MISSED_PEAK = 1.0  # nats: a lattice whose largest value lies further below a value seen elsewhere missed a peak
LEVEL_FACTOR = 2.0  # times the change from the image's previous level: the bar's term for algebraic convergence
ROUNDING = 4 * np.finfo(np.float64).eps   # times D and the terms' magnitude: float64 rounding of log p(x, z)


class Marginal(NamedTuple):
    """Per-image results, host arrays of shape (N,)."""

    log_px: np.ndarray       # eq. (10.4): the pair of lattices (10.1), averaged
    error: np.ndarray        # eq. (10.6); inf where the lattice could not resolve the posterior
    resolved: np.ndarray     # bool: the accepted lattice satisfies eq. (10.5)
    kl_posterior_q: np.ndarray | None   # KL(p(z|x) || q(z|x)), eq. (10.10), when q was given


def bernoulli_log_joint(model: HelmholtzMachine, dec) -> LogJoint:
    """The Helmholtz machine's log p(x | z) + log p(z), eq. (3.6): A = logits, c = sum softplus - log p(z).

    Its ceiling is -sum_d H(x_d), the binary entropy of each pixel: x l - softplus(l) is largest at
    sigmoid(l) = x.
    """
    def points(z):
        logits, _ = model.decode(dec, z)                                                # (P, D)
        return logits, softplus(logits).sum(axis=1) - D.standard_normal_log_density(z)  # (P,)

    def ceiling(x):
        xp = backend.get_array_module(x)
        xlogx = lambda p: xp.where(p > 0, p * xp.log(xp.where(p > 0, p, 1)), 0)       # noqa: E731
        return (xlogx(x) + xlogx(1 - x)).sum(axis=1)
    return LogJoint(points, ceiling)


def seeds_from_q(mu, logvar, eps):
    """Points where q puts its mass, to seed each image's region: its mean and mu + std * eps.

    mu, logvar: (N, 2); eps: (S, N, 2). Returns (N, S + 1, 2) in mu's dtype.
    """
    xp = backend.get_array_module(mu)
    z, _ = D.gaussian_sample(mu, logvar, eps)
    return xp.concatenate([mu[:, None], xp.moveaxis(z, 0, 1)], axis=1)


def _log_tail(ceiling, half_width):
    """log of an upper bound on the mass of p(x, z) outside [-R, R]^2, eq. (10.3): e^{ceiling} P(z outside)."""
    return ceiling + math.log(4) + log_ndtr(-half_width)


def _half_cells_needed(ceiling, log_z, seed_cells, step, tail):
    """Per image, the box half-width in cells whose outside holds at most ``tail`` of the coarse mass."""
    target = np.minimum(log_z + math.log(tail) - ceiling - math.log(4), -1e-300)
    cells = np.ceil(-ndtri_exp(target) / step).astype(np.int64)
    return np.clip(np.maximum(cells, seed_cells), BASE_HALF_CELLS, MAX_HALF_CELLS)


def _check(refine, max_refine, coarse_step, tolerance, threshold, margin, max_points, tail):
    if not (isinstance(refine, int) and refine >= 2 and refine % 2 == 0):
        raise ValueError(f"refine must be an even number of points per cell side, at least 2, got {refine!r}")
    if not (isinstance(max_refine, int) and max_refine >= refine):
        raise ValueError(f"max_refine must be an integer at least refine ({refine}), got {max_refine!r}")
    if not (isinstance(margin, int) and margin >= 1):
        raise ValueError(f"margin must be a positive number of cells, got {margin!r}")
    for name, value in (("coarse_step", coarse_step), ("tolerance", tolerance), ("threshold", threshold),
                        ("max_points", max_points)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not 0 < tail < 1:
        raise ValueError(f"tail must lie in (0, 1), got {tail!r}")


def log_marginal(model: HelmholtzMachine, dec, x, *, q=None, seeds=None, coarse_step: float = 0.1,
                 refine: int = 2, max_refine: int = 128, max_points: int = 1 << 19, tolerance: float = 0.01,
                 threshold: float = 15.0, margin: int = 2, tail: float = 1e-6, log_joint=None) -> Marginal:
    """log p(x) (N,) with its error bar, eqs. (10.1)-(10.6); with ``q = (mu, logvar)`` (N, 2) also eq. (10.10).

    x: (N, D) on the device, in the decoder's dtype; ``seeds`` (N, S, 2): points where the posterior
    may have mass that a coarse map could step over (:func:`seeds_from_q`). Each image starts with
    ``refine`` points per cell side on two lattices that share no point, and doubles them until the
    lattices resolve its posterior (step at most the posterior's smallest standard deviation, and no
    point carries more than 1/(2 pi) of the sum) and agree within ``tolerance`` nats, or until
    ``max_refine`` or ``max_points`` lattice points per image. A :class:`LogJoint` may replace the
    Bernoulli decoder (tests use Gaussian ones whose marginal is known in closed form).
    """
    if model.z_dim != 2:
        raise ValueError("log_marginal integrates over a 2-D latent space only")
    _check(refine, max_refine, coarse_step, tolerance, threshold, margin, max_points, tail)
    validate.batch(x, dec.flat.dtype, "x")
    xp, n = backend.get_array_module(x), x.shape[0]
    # The coarse map only locates mass, so it runs in the decoder's dtype; the sums run in float64,
    # where rounding stays far below the bar.
    mapping = log_joint or bernoulli_log_joint(model, dec)
    log_joint = log_joint or bernoulli_log_joint(model, ParamDict(dec.flat.astype(np.float64), dec.shapes))
    x_map, x = x, x.astype(np.float64)
    q = None if q is None else tuple(xp.asarray(a, dtype=np.float64) for a in q)
    ceiling = backend.to_host(log_joint.ceiling(x)).astype(np.float64)
    seed_top, seed_cells, seed_box = np.full(n, -np.inf), np.zeros(n, dtype=np.int64), None
    if seeds is not None:
        seeds = xp.asarray(seeds, dtype=x_map.dtype)
        if seeds.ndim != 3 or seeds.shape[0] != n or seeds.shape[2] != 2:
            raise ValueError(f"seeds must have shape ({n}, S, 2), got {tuple(seeds.shape)}")
        seed_top, seed_box, seed_cells = _seed_regions(mapping, x_map, seeds, coarse_step, threshold, margin)

    half_cells = np.full(n, BASE_HALF_CELLS)
    coarse = coarse_map(mapping, x_map, BASE_HALF_CELLS, coarse_step, seed_top, threshold, margin)
    need = _half_cells_needed(ceiling, coarse.log_z, seed_cells, coarse_step, tail)
    wider = np.flatnonzero(need > BASE_HALF_CELLS)
    if wider.size:   # the posterior may reach beyond the first box: map a box that holds it
        half_cells[wider] = need[wider].max()
        more = coarse_map(mapping, x_map[xp.asarray(wider)], int(need[wider].max()), coarse_step,
                          seed_top[wider], threshold, margin)
        for name, field in zip(coarse._fields, more):
            getattr(coarse, name)[wider] = field
    region = coarse.region
    if seed_box is not None:   # seeds within the threshold of the top widen the region
        region = np.concatenate([np.minimum(region[:, [0, 2]], seed_box[:, [0, 2]]),
                                 np.maximum(region[:, [1, 3]], seed_box[:, [1, 3]])], axis=1)[:, [0, 2, 1, 3]]
        region = np.clip(region, -half_cells[:, None], half_cells[:, None] - 1)
    centre = xp.asarray((region[:, [0, 2]] + region[:, [1, 3]] + 1) * 0.5 * coarse_step)
    rounding = ROUNDING * x.shape[1] * backend.to_host(log_joint.scale(x, centre))
    fixed = coarse.left_out + np.asarray(rounding, dtype=np.float64)
    return _refine(log_joint, x, q, region, fixed, _log_tail(ceiling, half_cells * coarse_step),
                   coarse.top, coarse_step, refine, max_refine, max_points, tolerance)


def _seed_regions(log_joint, x, seeds, step, threshold, margin):
    """Per image: the seeds' largest log joint, the cells (i0, i1, j0, j1) of the seeds within
    ``threshold`` of it widened by ``margin`` (empty boxes where none), and the half-width in cells
    that contains every seed."""
    xp, n = backend.get_array_module(x), x.shape[0]
    per = max(1, (1 << 22) // (seeds.shape[1] * x.shape[1]))
    lw = xp.concatenate([log_joint.paired(x[s:s + per], seeds[s:s + per]) for s in range(0, n, per)])
    lw, z = backend.to_host(lw).astype(np.float64), backend.to_host(seeds).astype(np.float64)
    top = lw.max(axis=1)
    cells = np.floor(z / step).astype(np.int64)                                          # (N, S, 2)
    near = (lw >= top[:, None] - threshold)[..., None]
    lo = np.where(near, cells, np.iinfo(np.int64).max // 2).min(axis=1) - margin          # (N, 2)
    hi = np.where(near, cells, np.iinfo(np.int64).min // 2).max(axis=1) + margin
    box = np.stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]], axis=1)
    return top, box, np.abs(cells).max(axis=(1, 2)) + margin + 1


def _refine(log_joint, x, q, region, fixed, log_tail, top, step, refine, max_refine, max_points, tolerance):
    """The refinement loop of derivations/10 result 10.1: a pair of lattices per level, eq. (10.4).

    Each image moves to twice its points per cell side, or further when its lattice already spreads
    its mass over many points and the measured spread asks for a finer step; images at the same
    level share one pass.
    """
    n = x.shape[0]
    log_px, error, kl = np.full(n, np.nan), np.full(n, np.inf), np.full(n, np.nan)
    resolved = np.zeros(n, dtype=bool)
    cells = (region[:, 1] - region[:, 0] + 1) * (region[:, 3] - region[:, 2] + 1)
    level, previous = np.full(n, refine), np.full(n, np.inf)
    todo = np.arange(n)
    while todo.size:
        r = int(level[todo].min())
        now = todo[level[todo] == r]
        centred = lattice_sums(log_joint, x, now, region, q, step, r, 0.5, top - NEAR)
        shifted = lattice_sums(log_joint, x, now, region, None, step, r, 0.0)
        a, b = centred.log("full", now), shifted.log("full", now)
        h, sd, peak = step / r, centred.smallest_sd(now), 1 / centred.host("full", now)
        estimate = np.logaddexp(a, b) - math.log(2) + 2 * math.log(h)
        level_change = np.abs(estimate - previous[now])                                   # eq. (10.6)
        log_px[now], previous[now] = estimate, estimate
        resolved[now] = ((sd >= h) & (peak <= PEAK_FRACTION) & (centred.host("bend", now) <= BEND)
                         & (centred.host("top", now) >= top[now] - MISSED_PEAK))
        pair = np.abs(a - b)                                                                 # eq. (10.4)
        ring = a - centred.log("inner", now)
        error[now] = pair + LEVEL_FACTOR * level_change + ring + fixed[now] + np.logaddexp(0, log_tail[now] - log_px[now])
        if q is not None:
            kl[now] = centred.host("kl", now) / centred.host("full", now) - (a + 2 * math.log(h))
        spread = (peak <= PEAK_FRACTION) & (sd > 0)
        wanted = 2 ** np.maximum(np.ceil(np.log2(step / np.where(spread, sd, step))), 0).astype(np.int64)
        level[now] = np.maximum(2 * r, wanted)
        more = ~(resolved[now] & (error[now] <= tolerance))
        more &= (cells[now] * level[now] ** 2 * 2 <= max_points) & (level[now] <= max_refine)
        todo = np.concatenate([np.setdiff1d(todo, now), now[more]])
    error[~resolved] = np.inf
    return Marginal(log_px, error, resolved, kl if q is not None else None)
