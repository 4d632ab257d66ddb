"""The two passes of the quadrature of derivations/10-ground-truth.md: a coarse map that finds each
image's region, and lattice sums over that region.

Cells are indexed globally: cell (i, j) is the square [i h0, (i+1) h0) x [j h0, (j+1) h0), so images
whose boxes differ share one indexing. The decoder runs once per lattice point for all the images
that need it; the log joint of every (image, point) pair is one matrix product (:class:`LogJoint`).
Images and points are taken in chunks, so memory stays bounded.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import backend
from . import distributions as D

BUDGET = 1 << 23   # (image, point) log-integrands held at once


class LogJoint(NamedTuple):
    """log p(x, z) = x . A(z) - c(z) + e(x), with z ~ N(0, I) a priori and log p(x | z) <= ceiling(x).

    ``points(z (P, 2)) -> (A (P, D), c (P,))`` runs once per lattice point; ``rows(x) -> e (n,)`` or
    None; ``ceiling(x) -> (n,)`` bounds log p(x | z) over all z, which bounds the mass outside any box
    (eq. 10.3 of derivations/10).
    """

    points: object
    ceiling: object
    rows: object = None

    def __call__(self, x, prepared):
        """(n, P) log joints of n images at the P prepared points."""
        a, c = prepared
        out = x @ a.T - c
        return out if self.rows is None else out + self.rows(x)[:, None]

    def paired(self, x, z):
        """log p(x_n, z_ns) for each image's own points: x (n, D), z (n, S, 2) -> (n, S)."""
        a, c = self.points(z.reshape(-1, 2))
        out = (x[:, None, :] * a.reshape(z.shape[0], z.shape[1], -1)).sum(axis=2) - c.reshape(z.shape[:2])
        return out if self.rows is None else out + self.rows(x)[:, None]

    def scale(self, x, z):
        """Sum of the magnitudes of the terms of log p(x_n, z_n), which bounds its rounding: (n, D), (n, 2) -> (n,)."""
        xp = backend.get_array_module(x)
        a, c = self.points(z)
        out = (xp.abs(x) * xp.abs(a)).sum(axis=1) + xp.abs(c)
        return out if self.rows is None else out + xp.abs(self.rows(x))


class Coarse(NamedTuple):
    """Per image (host arrays): log of the coarse sum (N,), the region (N, 4) as global cell indices
    (i0, i1, j0, j1), the log of one plus the coarse mass outside the region over the mass inside (N,),
    and the largest log-integrand seen (N,), at a cell centre or a seed."""

    log_z: np.ndarray
    region: np.ndarray
    left_out: np.ndarray
    top: np.ndarray


def _local_maxima(lw, xp):
    """True where a coarse value is at least each of its eight neighbours: (r, k, k) -> bool (r, k, k)."""
    pad = xp.full((lw.shape[0], lw.shape[1] + 2, lw.shape[2] + 2), -np.inf, dtype=lw.dtype)
    pad[:, 1:-1, 1:-1] = lw
    k = lw.shape[1]
    peak = xp.ones(lw.shape, dtype=bool)
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            if (di, dj) != (1, 1):
                peak &= lw >= pad[:, di:di + k, dj:dj + k]
    return peak


def coarse_map(log_joint, x, half_cells: int, step: float, seed_top, threshold: float, margin: int) -> Coarse:
    """Eq. (10.1) at the centres of the cells of the box [-half_cells h0, half_cells h0]^2, per image.

    An image's region is the bounding rectangle of the cells within ``threshold`` nats of its largest
    value (the coarse one or ``seed_top`` (N,), whichever is larger) and of the local maxima within
    twice that, widened by ``margin`` cells and kept inside the box.
    """
    xp, dtype, k = backend.get_array_module(x), x.dtype, 2 * half_cells
    axis = (np.arange(k) - half_cells + 0.5) * step
    grid = xp.asarray(np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2), dtype=dtype)
    prepared = log_joint.points(grid)
    n = x.shape[0]
    log_z, region, left_out, tops = np.empty(n), np.empty((n, 4), dtype=np.int64), np.empty(n), np.empty(n)
    idx = xp.arange(k)
    rows = max(1, BUDGET // (k * k))
    for s in range(0, n, rows):
        lw = log_joint(x[s:s + rows], prepared).reshape(-1, k, k)                         # (r, k, k)
        top = xp.maximum(lw.max(axis=(1, 2)), xp.asarray(seed_top[s:s + rows], dtype=dtype))[:, None, None]
        keep = (lw >= top - dtype.type(threshold)) | (_local_maxima(lw, xp) & (lw >= top - dtype.type(2 * threshold)))
        i_any, j_any = keep.any(axis=2), keep.any(axis=1)                                  # (r, k) each
        first = lambda m: xp.where(m.any(axis=1), xp.argmax(m, axis=1), k // 2)          # noqa: E731
        last = lambda m: xp.where(m.any(axis=1), k - 1 - xp.argmax(m[:, ::-1], axis=1), k // 2 - 1)  # noqa: E731
        i0, i1 = xp.maximum(first(i_any) - margin, 0), xp.minimum(last(i_any) + margin, k - 1)
        j0, j1 = xp.maximum(first(j_any) - margin, 0), xp.minimum(last(j_any) + margin, k - 1)
        inside = (((idx[None, :] >= i0[:, None]) & (idx[None, :] <= i1[:, None]))[:, :, None]
                  & ((idx[None, :] >= j0[:, None]) & (idx[None, :] <= j1[:, None]))[:, None, :])
        peak = lw.max(axis=(1, 2), keepdims=True)
        weights = xp.exp(lw - peak)
        total, kept = weights.sum(axis=(1, 2)), (weights * inside).sum(axis=(1, 2))
        log_z[s:s + rows] = backend.to_host(xp.log(total) + peak[:, 0, 0]).astype(np.float64) + 2 * np.log(step)
        ratio = backend.to_host((total - kept) / xp.where(kept > 0, kept, 1)).astype(np.float64)
        left_out[s:s + rows] = np.where(backend.to_host(kept) > 0, np.log1p(ratio), np.inf)   # no mass kept: unbounded
        region[s:s + rows] = backend.to_host(xp.stack([i0, i1, j0, j1], axis=1)) - half_cells
        tops[s:s + rows] = backend.to_host(top[:, 0, 0])
    return Coarse(log_z, region, left_out, tops)


def _bend(lw, xp):
    """h^2 |d^2 log f| at each lattice point: the larger of the two axes' second differences where the
    log-integrand curves down (0 where a neighbour is missing), (r, a, b) -> (r, a * b); eq. (10.5)."""
    bend = xp.zeros(lw.shape)
    with np.errstate(invalid="ignore"):
        if lw.shape[2] >= 3:
            d = 2 * lw[:, :, 1:-1] - lw[:, :, 2:] - lw[:, :, :-2]
            bend[:, :, 1:-1] = xp.where(xp.isfinite(d), xp.maximum(d, 0), 0)
        if lw.shape[1] >= 3:
            d = 2 * lw[:, 1:-1] - lw[:, 2:] - lw[:, :-2]
            bend[:, 1:-1] = xp.maximum(bend[:, 1:-1], xp.where(xp.isfinite(d), xp.maximum(d, 0), 0))
    return bend.reshape(lw.shape[0], -1)


class Sums:
    """Running sums per image over one lattice, scaled by a running maximum ``top`` (float64, device):
    all points, the region less its outer ring of cells, the first and second moments of z about the
    region's centre (for the posterior's spread), and with q the sum of e^{lw} (lw - log q), eq. (10.10)."""

    NAMES = ("full", "inner", "kl", "z1", "z2", "z11", "z22", "z12", "bend")

    def __init__(self, n, xp):
        self.xp = xp
        self.top = xp.full(n, -np.inf)
        for name in self.NAMES:
            setattr(self, name, xp.zeros(n))

    def add(self, rows, lw, inner, dz, refine, near, log_q=None):
        """lw: (r, P) log-integrands (-inf outside an image's region), P = ``refine`` lattice rows times
        a run of columns; inner: (r, P) bool; dz: (r, P, 2) float64 offsets of the points from each
        image's region centre; near: (r,) the log-integrand above which a point's curvature counts;
        log_q: (r, P) or None."""
        xp = self.xp
        top = lw.max(axis=1).astype(xp.float64)
        e = xp.exp(lw.astype(xp.float64) - top[:, None])                                 # (r, P)
        ez1, ez2 = e * dz[..., 0], e * dz[..., 1]
        bend = _bend(lw.reshape(lw.shape[0], refine, -1), xp)
        self.bend[rows] = xp.maximum(self.bend[rows], xp.where(lw >= near[:, None], bend, 0).max(axis=1))
        parts = {"full": e.sum(axis=1), "inner": (e * inner).sum(axis=1),
                 "z1": ez1.sum(axis=1), "z2": ez2.sum(axis=1), "z11": (ez1 * dz[..., 0]).sum(axis=1),
                 "z22": (ez2 * dz[..., 1]).sum(axis=1), "z12": (ez1 * dz[..., 1]).sum(axis=1)}
        if log_q is not None:
            parts["kl"] = (e * xp.where(e > 0, lw - log_q, 0)).sum(axis=1)
        new_top = xp.maximum(self.top[rows], top)
        old, now = xp.exp(self.top[rows] - new_top), xp.exp(top - new_top)
        for name, part in parts.items():
            acc = getattr(self, name)
            acc[rows] = acc[rows] * old + part * now
        self.top[rows] = new_top

    def host(self, name, images):
        return backend.to_host(getattr(self, name))[images]

    def log(self, name, images):
        """log of the unscaled sum ``name`` for ``images``."""
        return np.log(self.host(name, images)) + backend.to_host(self.top)[images]

    def smallest_sd(self, images):
        """Per image, the smallest standard deviation of the lattice's posterior (sqrt of the least
        eigenvalue of its 2 x 2 covariance)."""
        w = self.host("full", images)
        m1, m2 = self.host("z1", images) / w, self.host("z2", images) / w
        a = self.host("z11", images) / w - m1 * m1
        b = self.host("z22", images) / w - m2 * m2
        c = self.host("z12", images) / w - m1 * m2
        least = 0.5 * (a + b) - np.sqrt(0.25 * (a - b) ** 2 + c * c)
        return np.sqrt(np.maximum(least, 0))


def _chunks(rows, lo, hi, most: int, widest: int):
    """Consecutive runs of ``rows`` (sorted by column) of at most ``most`` images whose columns
    [lo, hi] together span at most ``widest`` cells (or one image): the runs and their spans."""
    chunks, spans, start = [], [], 0
    while start < rows.size:
        end, span_lo, span_hi = start + 1, lo[start], hi[start]
        while (end < rows.size and end - start < most
               and max(span_hi, hi[end]) - min(span_lo, lo[end]) < widest):
            span_lo, span_hi, end = min(span_lo, lo[end]), max(span_hi, hi[end]), end + 1
        chunks.append(rows[start:end])
        spans.append((int(span_lo), int(span_hi)))
        start = end
    return chunks, spans


def lattice_sums(log_joint, x, images: np.ndarray, region, q, step: float, refine: int, offset: float,
                 near=None) -> Sums:
    """Eq. (10.1) over each image's region with ``refine`` x ``refine`` points per cell at (a + offset) h,
    h = step / refine: a filled :class:`Sums`. ``offset`` 0.5 gives the cell-centred lattice, 0 the one
    shifted by (h/2, h/2), which shares none of its points. ``near`` (N,): the log-integrand above which
    a point's curvature enters ``Sums.bend`` (default: every point).

    One row of cells at a time: the decoder runs once on the row's points that some image needs;
    images are taken in chunks of similar columns, and each chunk's matrix product covers only its
    columns.
    """
    xp, dtype, h = backend.get_array_module(x), x.dtype, step / refine
    sums = Sums(x.shape[0], xp)
    images = images[np.argsort(region[images, 2] + region[images, 3], kind="stable")]   # similar columns
    width = int(np.median(region[images, 3] - region[images, 2])) + 1
    per_chunk = max(1, min(256, BUDGET // (refine * refine * 2 * width)))
    centre = xp.asarray((region[:, [0, 2]] + region[:, [1, 3]] + 1) * 0.5 * step)       # (N, 2) float64
    near = xp.asarray(np.full(x.shape[0], -np.inf) if near is None else near)
    for i in range(int(region[images, 0].min()), int(region[images, 1].max()) + 1):
        rows = images[(region[images, 0] <= i) & (region[images, 1] >= i)]
        if rows.size == 0:
            continue
        chunks, spans = _chunks(rows, region[rows, 2], region[rows, 3], per_chunk, 2 * width)
        jlo = min(lo for lo, _ in spans)
        need = np.zeros(max(hi for _, hi in spans) - jlo + 1, dtype=bool)
        for lo, hi in spans:
            need[lo - jlo:hi - jlo + 1] = True
        cells_j = jlo + np.flatnonzero(need)                      # the row's cells some chunk needs
        pos = np.cumsum(need) - 1                                 # their places among the computed cells
        z1 = i * step + h * (np.arange(refine) + offset)
        z2 = (cells_j[:, None] * step + h * (np.arange(refine) + offset)[None]).ravel()
        a, b = np.meshgrid(np.arange(refine), np.arange(z2.size), indexing="ij")
        z64 = np.stack([z1[a], z2[b]], axis=-1)                                            # (refine, cols, 2)
        A, c = log_joint.points(xp.asarray(z64.reshape(-1, 2), dtype=dtype))
        A, c = A.reshape(refine, z2.size, -1), c.reshape(refine, z2.size)
        for r, (cj0, cj1) in zip(chunks, spans):
            cols = slice(pos[cj0 - jlo] * refine, (pos[cj1 - jlo] + 1) * refine)
            cell_j = xp.asarray(cells_j[b[:, cols] // refine].ravel())
            rd = xp.asarray(r)
            j0, j1 = xp.asarray(region[r, 2])[:, None], xp.asarray(region[r, 3])[:, None]
            lw = log_joint(x[rd], (A[:, cols].reshape(-1, A.shape[-1]), c[:, cols].reshape(-1)))   # (r, P)
            lw = xp.where((cell_j[None] >= j0) & (cell_j[None] <= j1), lw, -np.inf)
            inner = xp.asarray((region[r, 0] < i) & (region[r, 1] > i))[:, None] & (cell_j[None] > j0) & (cell_j[None] < j1)
            zc = xp.asarray(z64[:, cols].reshape(-1, 2))                                  # (P, 2) float64
            log_q = None
            if q is not None:
                log_q = D.gaussian_log_density(zc.astype(dtype)[None], q[0][rd][:, None], q[1][rd][:, None])
            sums.add(rd, lw, inner, zc[None] - centre[rd][:, None], refine, near[rd], log_q)
    return sums
