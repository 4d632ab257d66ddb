"""Bounds on log p(x): the importance-weighted L_k and, for 2-D latents, log p(x) by quadrature.

L_k(x) = E[ log (1/k) sum_i w_i ],  w_i = p(x, z_i) / q(z_i | x),  z_i ~ q(z | x),
derivations/05-iw-bound.md eq. (5.1). L_1 is the ELBO, L_k rises with k and
never exceeds log p(x) (eqs. 5.3 and 5.6).

Memory stays bounded for any k and any data size: the data are taken in
chunks of rows, the k samples in chunks too, and the per-row sums of weights
are combined across sample chunks with a running logsumexp.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from . import distributions as D
from . import validate
from .models.binary_estimators import log_joint as binary_log_joint
from .models.binary_helmholtz import BinaryHelmholtzMachine
from .models.helmholtz import HelmholtzMachine
from .stable import log_mean_exp, logsumexp

DEFAULT_ELEMENT_BUDGET = 1 << 23   # floats of decoder output held at once (32 MiB in float32)


def log_weights(model: HelmholtzMachine, enc, dec, x, eps):
    """log w = log p(x | z) + log p(z) - log q(z | x) for z = mu + std * eps.

    x: (N, D); eps: (K, N, J). Returns (K, N).
    """
    mu, logvar, _ = model.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)
    logits, _ = model.decode(dec, z)
    return (D.bernoulli_log_likelihood(x, logits) + D.standard_normal_log_density(z)
            - D.gaussian_log_density(z, mu, logvar))


def iw_bound(model: HelmholtzMachine, enc, dec, x, k: int, rng, element_budget: int = DEFAULT_ELEMENT_BUDGET,
             return_sd: bool = False):
    """Per-row estimates of L_k (N,) on the device of x, in bounded memory.

    x: (N, D); ``rng`` is a generator from :func:`nprob.backend.rng`. The noise
    for row chunk c and sample chunk s is drawn in a fixed order, so the
    result depends only on ``rng``'s seed and the chunk sizes. With ``return_sd``
    also each estimate's Monte Carlo standard deviation (N,) from the same weights,
    derivations/10-ground-truth.md eq. (10.8): biased low for heavy-tailed weights, a diagnostic only.
    """
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    validate.batch(x, enc.flat.dtype, "x")
    xp = backend.get_array_module(x)
    n, d = x.shape
    k_chunk = max(1, min(k, element_budget // d))
    rows = max(1, min(n, element_budget // (k_chunk * d)))
    out, sq = xp.empty(n, dtype=x.dtype), xp.empty(n, dtype=x.dtype)
    for start in range(0, n, rows):
        xc = x[start:start + rows]
        acc = xp.full(xc.shape[0], -np.inf, dtype=x.dtype)   # running log sum_i w_i
        acc2 = xp.full(xc.shape[0], -np.inf, dtype=x.dtype)  # running log sum_i w_i^2
        for s in range(0, k, k_chunk):
            eps = backend.standard_normal(rng, (min(k_chunk, k - s), xc.shape[0], model.z_dim), x.dtype)
            lw = log_weights(model, enc, dec, xc, eps)
            acc = xp.logaddexp(acc, logsumexp(lw, axis=0))
            if return_sd:
                acc2 = xp.logaddexp(acc2, logsumexp(2 * lw, axis=0))
        out[start:start + rows] = acc - x.dtype.type(math.log(k))
        sq[start:start + rows] = acc2 - 2 * acc + x.dtype.type(math.log(k))   # log(mean(w^2) / mean(w)^2)
    if not return_sd:
        return out
    return out, xp.sqrt(xp.maximum(xp.exp(sq) - 1, 0) / k)                     # eq. (10.8)


def elbo(model: HelmholtzMachine, enc, dec, x, samples: int, rng):
    """The ELBO E_q[log w] per image by Monte Carlo with ``samples`` draws (a multiple of 10, drawn 10 at a
    time from ``rng``), and its standard error: host float64 arrays (N,), sums taken in float64."""
    samples = validate.count(samples, "samples", minimum=10)
    total, total_sq = 0.0, 0.0
    for _ in range(samples // 10):
        eps = backend.standard_normal(rng, (10, x.shape[0], model.z_dim), x.dtype)
        lw = log_weights(model, enc, dec, x, eps).astype(np.float64)
        total, total_sq = total + lw.sum(axis=0), total_sq + (lw * lw).sum(axis=0)
    n = (samples // 10) * 10
    mean = backend.to_host(total / n)
    var = np.maximum(backend.to_host(total_sq / n) - mean**2, 0)
    return mean, np.sqrt(var / n)


def binary_iw_bound(model: BinaryHelmholtzMachine, enc, gen, x, k: int, rng, chunk: int = 100):
    """L_k per image (N,) of the binary-latent machine with k codes from q (derivations/05 eq. (5.1)),
    ``chunk`` images at a time; ``gen`` is the generative ParamDict, ``rng`` a :func:`nprob.backend.rng`."""
    validate.batch(x, gen.flat.dtype, "x")
    k, chunk = validate.count(k, "k"), validate.count(chunk, "chunk")
    xp = backend.get_array_module(x)
    out = []
    for i in range(0, x.shape[0], chunk):
        xb = x[i:i + chunk]
        a, _ = model.recognition(enc, xb)
        h = model.sample(a, backend.uniform(rng, (k, *a.shape), a.dtype))
        out.append(log_mean_exp(binary_log_joint(model, gen, xb, h)[0] - model.log_q(a, h), axis=0))
    return xp.concatenate(out)


def midpoint_codes(limit: float, n: int, xp, dtype):
    """The n x n midpoints z_j (n * n, 2) of [-limit, limit]^2 with step h = 2 limit / n, and the log of each
    one's midpoint-rule weight in the prior, log p(z_j) + 2 log h (n * n,)."""
    step = 2 * limit / n
    axis = -limit + step * (np.arange(n) + 0.5)
    z = xp.asarray(np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2), dtype=dtype)
    return z, D.standard_normal_log_density(z) + z.dtype.type(2 * math.log(step))


def log_marginal_grid(model: HelmholtzMachine, dec, x, limit: float = 6.0, n: int = 301):
    """log p(x) = log integral p(x|z) p(z) dz by the midpoint rule on a 2-D grid.

    For z_dim = 2 only. Accurate when the posterior is wider than the grid step
    2 * limit / n; used by tests as the truth the bounds must stay below.
    x: (N, D) -> (N,).
    """
    if model.z_dim != 2:
        raise ValueError("log_marginal_grid integrates over a 2-D latent space only")
    validate.batch(x, dec.flat.dtype, "x")
    z, log_weight = midpoint_codes(limit, n, backend.get_array_module(x), x.dtype)
    logits, _ = model.decode(dec, z)                                      # (G, D)
    log_joint = D.bernoulli_log_likelihood(x[None, :, :], logits[:, None, :]) + log_weight[:, None]   # (G, N)
    return logsumexp(log_joint, axis=0)
