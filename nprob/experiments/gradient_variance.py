"""Two estimators of one recognition gradient on a trained 2-D Gaussian model: derivations/12 result 12.5.

For a fixed batch, many independent draws of the gradient of the negative ELBO in phi by the
reparameterised path (page 3) and by the score function (12.4) with (12.7), with and without a
per-image baseline from independent pilot draws. Their means are compared first (they estimate
the same vector); then their variances, in total and per layer, as functions of L.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import distributions as D
from ..models import aevb
from ..models.helmholtz import HelmholtzMachine

ESTIMATORS = ("reparameterisation", "score function", "score function, baseline")
PILOT = 100   # draws per image for the baseline, independent of the measured draws


def score_function_grads(model: HelmholtzMachine, enc, dec, x, eps, baseline=None):
    """The negative ELBO's phi-gradient with the reconstruction term by (12.4) and (12.7), the KL exact.

    x: (N, D); eps: (L, N, J); baseline: (N,) or None. Returns a ParamDict like ``enc``.
    """
    L, N = eps.shape[0], x.shape[0]
    mu, logvar, cache = model.encode(enc, x)
    z, std = D.gaussian_sample(mu, logvar, eps)
    f = D.bernoulli_log_likelihood(x, model.decode(dec, z)[0])                  # (L, N)
    c = (f if baseline is None else f - baseline[None]) * x.dtype.type(-1.0 / (L * N))
    dmu = (c[..., None] * eps / std[None]).sum(axis=0)                          # (12.7), mu part
    dlogvar = (c[..., None] * (eps * eps - 1)).sum(axis=0) * x.dtype.type(0.5)  # (12.7), v part
    dkl_mu, dkl_logvar = D.kl_to_standard_normal_grads(mu, logvar)
    g = enc.empty_like()
    inv_n = x.dtype.type(1.0 / N)
    model.encode_backward(dmu + dkl_mu * inv_n, dlogvar + dkl_logvar * inv_n, cache, g)
    return g


def recognition_gradients(model: HelmholtzMachine, enc, dec, x, eps, estimator: str, baseline=None):
    """One draw of the phi-gradient of the negative ELBO by ``estimator`` (one of ESTIMATORS), as a ParamDict."""
    if estimator == "reparameterisation":
        return aevb.loss_and_grads(model, enc, dec, x, eps)[1][0]
    return score_function_grads(model, enc, dec, x, eps, baseline if estimator.endswith("baseline") else None)


def pilot_baseline(model: HelmholtzMachine, enc, dec, x, gen):
    """beta(x) (N,): the mean of log p(x|z) over PILOT draws of z from q, independent of later draws."""
    eps = backend.standard_normal(gen, (PILOT, x.shape[0], model.z_dim), x.dtype)
    mu, logvar, _ = model.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)
    return D.bernoulli_log_likelihood(x, model.decode(dec, z)[0]).mean(axis=0)


def moments(model, enc, dec, x, estimator: str, samples: int, draws: int, gen, baseline=None):
    """Mean and variance per coordinate (host float64 (P,)) of ``draws`` independent gradient draws."""
    total = np.zeros(enc.flat.size)
    total_sq = np.zeros(enc.flat.size)
    for _ in range(draws):
        eps = backend.standard_normal(gen, (samples, x.shape[0], model.z_dim), x.dtype)
        g = backend.to_host(recognition_gradients(model, enc, dec, x, eps, estimator, baseline).flat).astype(np.float64)
        total += g
        total_sq += g * g
    mean = total / draws
    return mean, np.maximum(total_sq / draws - mean * mean, 0) * draws / (draws - 1)


def layer_slices(params) -> dict[str, slice]:
    """Where each named tensor sits in ``params.flat``."""
    out, offset = {}, 0
    for key, shape in params.shapes.items():
        size = int(np.prod(shape))
        out[key] = slice(offset, offset + size)
        offset += size
    return out


def mean_agreement(m1, v1, m2, v2, draws: int) -> dict:
    """R = ||m1 - m2||^2 / sum(se1^2 + se2^2), and how far above 1 it may lie by chance.

    With equal means, R is a weighted average of squared standard normals: mean 1, standard deviation
    about sqrt(2 / P_eff) with P_eff = (sum s)^2 / sum s^2 over the per-coordinate variances s of
    m1 - m2. 'tolerance' is three of those deviations; R above 1 + tolerance says the means differ.
    """
    s = (v1 + v2) / draws
    ratio = float(np.sum((m1 - m2) ** 2) / max(np.sum(s), 1e-300))
    effective = float(np.sum(s) ** 2 / max(np.sum(s * s), 1e-300))
    return {"ratio": ratio, "tolerance": 3 * float(np.sqrt(2 / max(effective, 1.0))), "effective_coordinates": effective}


def measure(model: HelmholtzMachine, enc, dec, x, ls, draws: int, seed: int) -> dict:
    """Total and per-layer variance for every estimator and L, and each estimator's mean agreement
    (:func:`mean_agreement`) with the reparameterised one at the largest L, where standard errors are smallest."""
    baseline = pilot_baseline(model, enc, dec, x, backend.rng(seed, "variance", "pilot"))
    slices = layer_slices(enc)
    rows, means = [], {}
    for estimator in ESTIMATORS:
        for samples in ls:
            gen = backend.rng(seed, "variance", estimator, samples)
            mean, var = moments(model, enc, dec, x, estimator, samples, draws, gen, baseline)
            rows.append({"estimator": estimator, "L": samples, "total_variance": float(var.sum()),
                         "layers": {k: float(var[s].sum()) for k, s in slices.items()},
                         "mean_norm": float(np.linalg.norm(mean))})
            means[estimator, samples] = mean, var
    top = max(ls)
    reference = means["reparameterisation", top]
    agreement = {e: mean_agreement(*reference, *means[e, top], draws) for e in ESTIMATORS[1:]}
    return {"images": int(x.shape[0]), "draws": draws, "rows": rows, "mean_agreement_at_L": top,
            "mean_agreement": agreement}
