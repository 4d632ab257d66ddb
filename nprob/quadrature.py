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
from .stable import softplus

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
    """Per image: the mass the region leaves out (relative, host (N,)) and the region (i0, i1, j0, j1) in cells."""
    k = int(round(2 * half_width / step))
    axis = _axis(-half_width, step, k, xp, dtype)
    grid = xp.stack(xp.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    n, prepared = x.shape[0], log_joint.points(grid)
    outside, box = np.empty(n), np.empty((n, 4), dtype=np.int64)
    idx = xp.arange(k)
    edge = xp.ones((k, k), dtype=bool)
    edge[1:-1, 1:-1] = False
    rows = max(1, BUDGET // (k * k))
    for s in range(0, n, rows):
        lw = log_joint(x[s:s + rows], prepared).reshape(-1, k, k)                     # (r, k, k)
        keep = lw >= lw.max(axis=(1, 2), keepdims=True) - dtype.type(threshold)
        weights = xp.exp(lw - lw.max(axis=(1, 2), keepdims=True))
        i_any, j_any = keep.any(axis=2), keep.any(axis=1)                              # (r, k) each
        first = lambda m: xp.argmax(m, axis=1)                                        # noqa: E731
        last = lambda m: k - 1 - xp.argmax(m[:, ::-1], axis=1)                        # noqa: E731
        i0, i1 = xp.maximum(first(i_any) - margin, 0), xp.minimum(last(i_any) + margin, k - 1)
        j0, j1 = xp.maximum(first(j_any) - margin, 0), xp.minimum(last(j_any) + margin, k - 1)
        inside = (((idx[None, :] >= i0[:, None]) & (idx[None, :] <= i1[:, None]))[:, :, None]
                  & ((idx[None, :] >= j0[:, None]) & (idx[None, :] <= j1[:, None]))[:, None, :])
        left_out = (weights * (~inside | edge[None])).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
        outside[s:s + rows] = backend.to_host(left_out)
        box[s:s + rows] = backend.to_host(xp.stack([i0, i1, j0, j1], axis=1))
    return outside, box


class _Sums:
    """Running log-sums per image over the fine lattice: all points, every other point, the region less
    its outer ring, and (with q) the sum of e^{lw} (lw - log q) for eq. (10.5), all scaled by a running max."""

    def __init__(self, n, xp):
        self.xp = xp
        self.top = xp.full(n, -np.inf)
        self.full, self.sub, self.inner, self.kl = (xp.zeros(n) for _ in range(4))

    def add(self, rows, lw, sub, inner, log_q=None):
        """lw: (r, P) log-integrands (-inf outside an image's region); sub: (P,) float 0/1; inner: (r, P) bool."""
        xp = self.xp
        top = lw.max(axis=1)
        e = xp.exp(lw - top[:, None])                                                # one exp per pair
        parts = [e.sum(axis=1), e @ sub, (e * inner).sum(axis=1)]
        if log_q is not None:
            parts.append((e * xp.where(e > 0, lw - log_q, 0)).sum(axis=1))
        new_top = xp.maximum(self.top[rows], top.astype(xp.float64))
        old = xp.exp(self.top[rows] - new_top)
        now = xp.exp(top.astype(xp.float64) - new_top)
        for name, part in zip(("full", "sub", "inner", "kl"), parts):
            acc = getattr(self, name)
            acc[rows] = acc[rows] * old + part.astype(xp.float64) * now
        self.top[rows] = new_top

    def log(self, name, images):
        return np.log(backend.to_host(getattr(self, name))[images]) + backend.to_host(self.top)[images]


def _fine_pass(log_joint, x, images: np.ndarray, box, q, half_width, coarse_step, refine):
    """Eq. (10.1) over each image's region with ``refine`` x ``refine`` points per cell: a filled :class:`_Sums`.

    One row of coarse cells at a time: the decoder runs once on the row's points; images are taken
    in chunks of similar columns, and each chunk's matrix product covers only its columns.
    """
    xp, dtype = backend.get_array_module(x), x.dtype
    k, h = int(round(2 * half_width / coarse_step)), coarse_step / refine
    sums = _Sums(x.shape[0], xp)
    images = images[np.argsort(box[images, 2] + box[images, 3], kind="stable")]   # similar columns together
    width = int(np.median(box[images, 3] - box[images, 2])) + 1
    per_chunk = max(1, min(256, BUDGET // (refine * refine * 2 * width)))
    for i in range(k):
        rows = images[(box[images, 0] <= i) & (box[images, 1] >= i)]
        if rows.size == 0:
            continue
        jlo, jhi = int(box[rows, 2].min()), int(box[rows, 3].max())
        z1 = -half_width + i * coarse_step + h * (np.arange(refine) + 0.5)
        z2 = -half_width + jlo * coarse_step + h * (np.arange((jhi - jlo + 1) * refine) + 0.5)
        a, b = np.meshgrid(np.arange(refine), np.arange(z2.size), indexing="ij")
        z = xp.asarray(np.stack([z1[a], z2[b]], axis=-1).reshape(-1, 2), dtype=dtype)
        A, c = log_joint.points(z)
        A, c = A.reshape(refine, z2.size, -1), c.reshape(refine, z2.size)
        for s in range(0, rows.size, per_chunk):
            r = rows[s:s + per_chunk]
            cj0, cj1 = int(box[r, 2].min()), int(box[r, 3].max())
            cols = slice((cj0 - jlo) * refine, (cj1 - jlo + 1) * refine)
            cell_j = xp.asarray(np.broadcast_to(jlo + b[:, cols] // refine, (refine, cols.stop - cols.start)).ravel())
            sub = xp.asarray(((a[:, cols] % 2 == 0) & (b[:, cols] % 2 == 0)).ravel(), dtype=dtype)
            rd = xp.asarray(r)
            j0, j1 = xp.asarray(box[r, 2])[:, None], xp.asarray(box[r, 3])[:, None]
            lw = log_joint(x[rd], (A[:, cols].reshape(-1, A.shape[-1]), c[:, cols].reshape(-1)))   # (r, P)
            lw = xp.where((cell_j[None] >= j0) & (cell_j[None] <= j1), lw, -np.inf)
            inner = xp.asarray((box[r, 0] < i) & (box[r, 1] > i))[:, None] & (cell_j[None] > j0) & (cell_j[None] < j1)
            log_q = None
            if q is not None:
                zc = z.reshape(refine, z2.size, 2)[:, cols].reshape(1, -1, 2)
                log_q = D.gaussian_log_density(zc, q[0][rd][:, None], q[1][rd][:, None])
            sums.add(rd, lw, sub, inner, log_q)
    return sums


def log_marginal(model: HelmholtzMachine, dec, x, *, q=None, half_width: float = 6.0, coarse_step: float = 0.1,
                 refine: int = 2, max_refine: int = 64, max_points: int = 1 << 18, tolerance: float = 0.01,
                 threshold: float = 20.0, margin: int = 2, log_joint=None) -> Marginal:
    """log p(x) (N,) with its error bar, eqs. (10.1)-(10.2); with ``q = (mu, logvar)`` (N, 2) also eq. (10.5).

    x: (N, D) on the device, in the decoder's dtype. Every image starts with ``refine`` points per
    cell side; those whose step-halving error exceeds ``tolerance`` nats are summed again with twice
    as many, up to ``max_refine`` and as long as the image's region stays within ``max_points``
    lattice points (a wide region with a sharp peak would otherwise cost millions of decoder
    evaluations); an image that stops early keeps its larger, honest error bar. A :class:`LogJoint` may replace the Bernoulli decoder (tests use
    a Gaussian one whose marginal is known in closed form).
    """
    if model.z_dim != 2:
        raise ValueError("log_marginal integrates over a 2-D latent space only")
    if refine < 2 or refine % 2:
        raise ValueError(f"refine must be an even number of points per cell side, got {refine}")
    validate.float_array(x, dec.flat.dtype, "x")
    xp = backend.get_array_module(x)
    q = None if q is None else tuple(xp.asarray(a, dtype=x.dtype) for a in q)
    log_joint = log_joint or bernoulli_log_joint(model, dec)
    outside, box = _coarse_regions(log_joint, x, xp, x.dtype, half_width, coarse_step, threshold, margin)
    n = x.shape[0]
    log_px, error, kl = np.full(n, np.nan), np.full(n, np.inf), np.full(n, np.nan)
    cells = (box[:, 1] - box[:, 0] + 1) * (box[:, 3] - box[:, 2] + 1)
    todo = np.arange(n)
    while todo.size and refine <= max_refine:
        sums = _fine_pass(log_joint, x, todo, box, q, half_width, coarse_step, refine)
        full, sub, inner = (sums.log(name, todo) for name in ("full", "sub", "inner"))
        step_error = np.abs(full - (sub + 2 * math.log(2)))
        log_px[todo] = full + 2 * math.log(coarse_step / refine)
        error[todo] = step_error + (full - inner) + outside[todo]
        if q is not None:
            kl[todo] = backend.to_host(sums.kl)[todo] / backend.to_host(sums.full)[todo] - log_px[todo]
        refine *= 2
        todo = todo[(step_error > tolerance) & (cells[todo] * refine * refine <= max_points)]
    return Marginal(log_px, error, kl if q is not None else None)
