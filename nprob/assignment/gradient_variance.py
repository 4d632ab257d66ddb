"""Two estimators of one recognition gradient on a trained 2-D Gaussian model, measured: derivations/12 result 12.5.

For a fixed batch, many independent draws of the gradient of the negative ELBO in phi by the
reparameterised path (page 3) and by the score function (12.4) with (12.7), with and without a
per-image baseline from independent pilot draws. Their means are compared first (they estimate
the same vector); then their variances, in total and per layer, as functions of L. The estimators
themselves are :mod:`nprob.models.aevb` and :mod:`nprob.models.score_function`.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..models import aevb, score_function
from ..models.helmholtz import HelmholtzMachine

ESTIMATORS = ("reparameterisation", "score function", "score function, baseline")
PILOT = 100   # draws per image for the baseline, independent of the measured draws


def recognition_gradients(model: HelmholtzMachine, enc, dec, x, eps, estimator: str, baseline=None):
    """One draw of the phi-gradient of the negative ELBO by ``estimator`` (one of ESTIMATORS), as a ParamDict."""
    if estimator == "reparameterisation":
        return aevb.loss_and_grads(model, enc, dec, x, eps)[1][0]
    return score_function.recognition_grads(model, enc, dec, x, eps,
                                            baseline if estimator.endswith("baseline") else None)


def moments(model, enc, dec, x, estimator: str, samples: int, draws: int, rng, baseline=None):
    """Mean and variance per coordinate (host float64 (P,)) of ``draws`` independent gradient draws."""
    total = np.zeros(enc.flat.size)
    total_sq = np.zeros(enc.flat.size)
    for _ in range(draws):
        eps = backend.standard_normal(rng, (samples, x.shape[0], model.z_dim), x.dtype)
        g = backend.to_host(recognition_gradients(model, enc, dec, x, eps, estimator, baseline).flat).astype(np.float64)
        total += g
        total_sq += g * g
    mean = total / draws
    return mean, np.maximum(total_sq / draws - mean * mean, 0) * draws / (draws - 1)


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
    pilot = backend.standard_normal(backend.rng(seed, "variance", "pilot"), (PILOT, x.shape[0], model.z_dim), x.dtype)
    baseline = score_function.pilot_baseline(model, enc, dec, x, pilot)
    rows, means = [], {}
    for estimator in ESTIMATORS:
        for samples in ls:
            rng = backend.rng(seed, "variance", estimator, samples)
            mean, var = moments(model, enc, dec, x, estimator, samples, draws, rng, baseline)
            rows.append({"estimator": estimator, "L": samples, "total_variance": float(var.sum()),
                         "layers": {k: float(var[s].sum()) for k, s in enc.slices.items()},
                         "mean_norm": float(np.linalg.norm(mean))})
            means[estimator, samples] = mean, var
    top = max(ls)
    reference = means["reparameterisation", top]
    agreement = {e: mean_agreement(*reference, *means[e, top], draws) for e in ESTIMATORS[1:]}
    return {"images": int(x.shape[0]), "draws": draws, "rows": rows, "mean_agreement_at_L": top,
            "mean_agreement": agreement}
