"""log p(x) for 2-D codes by a lattice rule adapted to each image's posterior, with an error bar.

derivations/10-ground-truth.md: a coarse pass over the box [-R, R]^2 finds where each
image's posterior lives; a fine pass sums eq. (10.1) over that region only; eq. (10.2) is
the error bar. The decoder runs once per lattice point for all images, and the Bernoulli
log-likelihood of every (image, point) pair is one matrix product X A^T minus a per-point
constant, eq. (3.6). Images and points are taken in chunks, so memory stays bounded.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import backend, validate
from . import distributions as D
from .models.helmholtz import HelmholtzMachine
from .stable import logsumexp, softplus

BUDGET = 1 << 23   # (image, point) log-integrands held at once


class Marginal(NamedTuple):
    """Per-image results, host float64 arrays of shape (N,)."""

    log_px: np.ndarray       # log Z_h, eq. (10.1)
    error: np.ndarray        # eq. (10.2)
    kl_posterior_q: np.ndarray | None   # KL(p(z|x) || q(z|x)), eq. (10.5), when q was given


class LogJoint(NamedTuple):
    """log p(x, z) = x . A(z) - c(z) + e(x): ``points(z) -> (A (P, D), c (P,))`` once per lattice row,
    then one matrix product per chunk of images; ``rows(x) -> e (n,)`` or None."""

    points: object
    rows: object = None

    def __call__(self, x, prepared):
        a, c = prepared
        out = x @ a.T - c
        return out if self.rows is None else out + self.rows(x)[:, None]


def bernoulli_log_joint(model: HelmholtzMachine, dec) -> LogJoint:
    """The Helmholtz machine's log p(x | z) + log p(z), eq. (3.6): A = logits, c = sum softplus - log p(z)."""
    def points(z):
        logits, _ = model.decode(dec, z)                                                # (P, D)
        return logits, softplus(logits).sum(axis=1) - D.standard_normal_log_density(z)  # (P,)
    return LogJoint(points)


def _axis(start: float, step: float, count: int, xp, dtype):
    return xp.asarray(start + step * (np.arange(count) + 0.5), dtype=dtype)


def _coarse_regions(log_joint, x, xp, dtype, half_width, step, threshold, margin):
    """Per image: log Z_h0, the mass left outside its region (relative), and the region (i0, i1, j0, j1)."""
    k = int(round(2 * half_width / step))
    axis = _axis(-half_width, step, k, xp, dtype)
    grid = xp.stack(xp.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    n, prepared = x.shape[0], log_joint.points(grid)
    log_z, outside = np.empty(n), np.empty(n)
    box = np.empty((n, 4), dtype=np.int64)
    rows = max(1, BUDGET // (k * k))
    for s in range(0, n, rows):
        lw = log_joint(x[s:s + rows], prepared).astype(xp.float64).reshape(-1, k, k)   # (r, k, k)
        top = lw.max(axis=(1, 2), keepdims=True)
        weights = xp.exp(lw - top)
        total = weights.sum(axis=(1, 2))
        keep = lw >= top - threshold
        i_any, j_any = keep.any(axis=2), keep.any(axis=1)                            # (r, k) each
        first = lambda m: xp.argmax(m, axis=1)                                      # noqa: E731
        last = lambda m: k - 1 - xp.argmax(m[:, ::-1], axis=1)                      # noqa: E731
        i0, i1 = xp.maximum(first(i_any) - margin, 0), xp.minimum(last(i_any) + margin, k - 1)
        j0, j1 = xp.maximum(first(j_any) - margin, 0), xp.minimum(last(j_any) + margin, k - 1)
        idx = xp.arange(k)
        inside = (((idx[None, :] >= i0[:, None]) & (idx[None, :] <= i1[:, None]))[:, :, None]
                  & ((idx[None, :] >= j0[:, None]) & (idx[None, :] <= j1[:, None]))[:, None, :])
        edge = xp.ones((k, k), dtype=bool)
        edge[1:-1, 1:-1] = False
        left_out = (weights * (~inside | edge[None])).sum(axis=(1, 2)) / total
        log_z[s:s + rows] = backend.to_host(xp.log(total) + top[:, 0, 0]) + 2 * math.log(step)
        outside[s:s + rows] = backend.to_host(left_out)
        box[s:s + rows] = backend.to_host(xp.stack([i0, i1, j0, j1], axis=1))
    return log_z, outside, box


class _Sums:
    """Running log-sums per image over the fine lattice: all points, every other point, the region less
    its outer ring, and (with q) the posterior-weighted mean of log p(x, z) - log q(z | x)."""

    def __init__(self, n, xp):
        self.xp = xp
        self.full, self.sub, self.inner = (xp.full(n, -np.inf) for _ in range(3))
        self.kl_top, self.kl_sum = xp.full(n, -np.inf), xp.zeros(n)

    def add(self, rows, lw, sub_mask, inner_mask, log_q=None):
        xp = self.xp
        for name, mask in (("full", None), ("sub", sub_mask), ("inner", inner_mask)):
            acc = getattr(self, name)
            acc[rows] = xp.logaddexp(acc[rows], logsumexp(lw if mask is None else xp.where(mask, lw, -np.inf), axis=1))
        if log_q is not None:   # sum_i e^{lw_i} (lw_i - log q_i), scaled by a running maximum
            top = xp.maximum(self.kl_top[rows], lw.max(axis=1))
            safe = xp.where(xp.isfinite(top), top, 0)
            w = xp.exp(lw - safe[:, None])
            old = xp.where(xp.isfinite(self.kl_top[rows]), xp.exp(self.kl_top[rows] - safe), 0)
            self.kl_sum[rows] = self.kl_sum[rows] * old + (w * xp.where(w > 0, lw - log_q, 0)).sum(axis=1)
            self.kl_top[rows] = top


def _fine_pass(log_joint, x, images: np.ndarray, box, q, half_width, coarse_step, refine):
    """Eq. (10.1) over each image's region with ``refine`` x ``refine`` points per cell: a filled :class:`_Sums`."""
    xp, dtype = backend.get_array_module(x), x.dtype
    k, h = int(round(2 * half_width / coarse_step)), coarse_step / refine
    sums = _Sums(x.shape[0], xp)
    for i in range(k):                                       # one row of coarse cells at a time
        rows = images[(box[images, 0] <= i) & (box[images, 1] >= i)]
        if rows.size == 0:
            continue
        jlo, jhi = int(box[rows, 2].min()), int(box[rows, 3].max())
        z1 = -half_width + i * coarse_step + h * (np.arange(refine) + 0.5)
        z2 = -half_width + jlo * coarse_step + h * (np.arange((jhi - jlo + 1) * refine) + 0.5)
        a, b = np.meshgrid(np.arange(refine), np.arange(z2.size), indexing="ij")
        z = xp.asarray(np.stack([z1[a], z2[b]], axis=-1).reshape(-1, 2), dtype=dtype)
        cell_j = xp.asarray((jlo + b // refine).reshape(-1))
        sub = xp.asarray(((a % 2 == 0) & (b % 2 == 0)).reshape(-1))
        prepared = log_joint.points(z)
        per_chunk = max(1, BUDGET // z.shape[0])
        for s in range(0, rows.size, per_chunk):
            r = rows[s:s + per_chunk]
            rd = xp.asarray(r)
            lw = log_joint(x[rd], prepared).astype(xp.float64)                   # (r, P)
            j0, j1 = xp.asarray(box[r, 2])[:, None], xp.asarray(box[r, 3])[:, None]
            lw = xp.where((cell_j[None] >= j0) & (cell_j[None] <= j1), lw, -np.inf)
            i_inner = xp.asarray((box[r, 0] < i) & (box[r, 1] > i))[:, None]
            inner = i_inner & (cell_j[None] > j0) & (cell_j[None] < j1)
            log_q = None
            if q is not None:
                f64 = lambda a: a[rd][:, None].astype(xp.float64)   # noqa: E731
                log_q = D.gaussian_log_density(z[None].astype(xp.float64), f64(q[0]), f64(q[1]))
            sums.add(rd, lw, sub[None], inner, log_q)
    return sums


def log_marginal(model: HelmholtzMachine, dec, x, *, q=None, half_width: float = 7.0, coarse_step: float = 0.1,
                 refine: int = 8, max_refine: int = 64, tolerance: float = 0.005, threshold: float = 25.0,
                 margin: int = 2, log_joint=None) -> Marginal:
    """log p(x) (N,) with its error bar, eqs. (10.1)-(10.2); with ``q = (mu, logvar)`` (N, 2) also eq. (10.5).

    x: (N, D) on the device, in the decoder's dtype. Images whose step-halving error exceeds
    ``tolerance`` nats are summed again with twice as many points per cell side, up to
    ``max_refine``. A :class:`LogJoint` may replace the Bernoulli decoder (tests use a Gaussian
    one whose marginal is known in closed form).
    """
    if model.z_dim != 2:
        raise ValueError("log_marginal integrates over a 2-D latent space only")
    if refine < 2 or refine % 2:
        raise ValueError(f"refine must be an even number of points per cell side, got {refine}")
    validate.float_array(x, dec.flat.dtype, "x")
    xp = backend.get_array_module(x)
    q = None if q is None else tuple(xp.asarray(a) for a in q)
    log_joint = log_joint or bernoulli_log_joint(model, dec)
    _, outside, box = _coarse_regions(log_joint, x, xp, x.dtype, half_width, coarse_step, threshold, margin)
    n = x.shape[0]
    log_px, error, kl = np.full(n, np.nan), np.full(n, np.inf), np.full(n, np.nan)
    todo = np.arange(n)
    while todo.size:
        sums = _fine_pass(log_joint, x, todo, box, q, half_width, coarse_step, refine)
        full, sub, inner = (backend.to_host(a)[todo] for a in (sums.full, sums.sub, sums.inner))
        step_error = np.abs(full - (sub + 2 * math.log(2)))
        log_px[todo] = full + 2 * math.log(coarse_step / refine)
        error[todo] = step_error + (full - inner) + outside[todo]
        if q is not None:
            kl[todo] = backend.to_host(sums.kl_sum)[todo] * np.exp(backend.to_host(sums.kl_top)[todo] - full) \
                - log_px[todo]
        todo = todo[step_error > tolerance]
        refine *= 2
        if refine > max_refine:
            break
    return Marginal(log_px, error, kl if q is not None else None)
