"""Ground truth for the trained 2-D models: the bound hierarchy, true posteriors against q, and why a bound falls.

derivations/10-ground-truth.md. Everything here evaluates trained networks; nothing trains.
Results go to ``metrics.json['ground_truth']`` and the posterior grids of the figure to
``ground_truth_posteriors.npz``, so the report and figures can be redrawn without recomputing.
"""
from __future__ import annotations

import numpy as np

from .. import backend, bounds, checkpoint, quadrature

ELBO_SAMPLES = 100   # Monte Carlo samples of log w per image for the ELBO row
FIGURE_DIGITS = 12
FIGURE_GRID = 101


def _summary(values: np.ndarray, sds: np.ndarray | None) -> dict:
    """Mean, spread across images, and the Monte Carlo standard error of the mean."""
    se = float(np.sqrt(np.sum(sds**2)) / len(values)) if sds is not None else None
    return {"mean": float(values.mean()), "std_across_images": float(values.std()), "mc_se": se}


def elbo(model, enc, dec, x, gen, samples: int = ELBO_SAMPLES):
    """Per-image ELBO by Monte Carlo, E_q[log w], and its standard error (host arrays (N,))."""
    total, total_sq = 0.0, 0.0
    for _ in range(samples // 10):
        eps = backend.standard_normal(gen, (10, x.shape[0], model.z_dim), x.dtype)
        lw = bounds.log_weights(model, enc, dec, x, eps).astype(np.float64)
        total, total_sq = total + lw.sum(axis=0), total_sq + (lw * lw).sum(axis=0)
    n = (samples // 10) * 10
    mean = backend.to_host(total / n)
    var = np.maximum(backend.to_host(total_sq / n) - mean**2, 0)
    return mean, np.sqrt(var / n)


REPEATS = 100       # fresh draws of L_k for an image whose single estimate lies above log p(x)


def _recheck(model, enc, dec, x, k, flagged, truth, gen) -> int:
    """How many flagged images still lie above log p(x) when L_k is averaged over REPEATS fresh draws."""
    if flagged.size == 0:
        return 0
    xf = x[backend.xp().asarray(flagged)]
    draws = np.stack([backend.to_host(bounds.iw_bound(model, enc, dec, xf, k, gen)) for _ in range(REPEATS)])
    mean, se = draws.mean(axis=0), draws.std(axis=0) / np.sqrt(REPEATS)
    return int(np.sum(mean - truth.log_px[flagged] > 3 * se + truth.error[flagged]))


def hierarchy(model, enc, dec, x, ks, seed: int, name: str) -> dict:
    """ELBO, L_k for each k and log p(x) on images x (N, D), with per-image checks against (10.3).

    A single estimate may lie above log p(x) by chance ((10.3) bounds its mean). Images whose estimate
    does so by more than three Monte Carlo deviations plus the quadrature error are counted, then
    re-estimated from REPEATS fresh draws; an image still above after that would contradict (10.3).
    """
    mu, logvar, _ = model.encode(enc, x)
    truth = quadrature.log_marginal(model, dec, x, q=(mu, logvar))
    rows = {}
    value, se = elbo(model, enc, dec, x, backend.rng(seed, "truth", name, "elbo"))
    sd_log_w = se * np.sqrt((ELBO_SAMPLES // 10) * 10)       # spread of one log w, for L_1's single draw
    rows["ELBO"] = {**_summary(value, se), "above_log_px": int(np.sum(value - truth.log_px > 3 * se + truth.error)),
                    "still_above_after_repeats": 0}
    kl_q_p = truth.log_px - value
    for k in ks:
        gen = backend.rng(seed, "truth", name, k)
        est, sd = bounds.iw_bound(model, enc, dec, x, k, gen, return_sd=True)
        est, sd = backend.to_host(est).astype(np.float64), backend.to_host(sd).astype(np.float64)
        sd = sd_log_w if k == 1 else sd                           # (10.4) needs k >= 2
        flagged = np.flatnonzero(est - truth.log_px > 3 * sd + truth.error)
        rows[f"L_{k}"] = {**_summary(est, sd), "above_log_px": int(flagged.size),
                          "still_above_after_repeats": _recheck(model, enc, dec, x, k, flagged, truth, gen)}
    rows["log p(x)"] = {**_summary(truth.log_px, None), "max_error": float(truth.error.max()),
                        "mean_error": float(truth.error.mean())}
    return {"images": int(x.shape[0]), "rows": rows,
            "kl_q_to_posterior": _summary(kl_q_p, se), "kl_posterior_to_q": _summary(truth.kl_posterior_q, None)}


def posterior_comparison(model, enc, dec, x_host: np.ndarray) -> dict:
    """True posterior on a local grid and q's mean and std, for each of a few images (host arrays)."""
    xp = backend.xp()
    x = backend.asarray(x_host, dtype=dec.flat.dtype)
    mu, logvar, _ = model.encode(enc, x)
    mu, std = backend.to_host(mu), backend.to_host(xp.exp(logvar * logvar.dtype.type(0.5)))
    lj = quadrature.bernoulli_log_joint(model, dec)
    grids, extents = [], []
    for i in range(len(x_host)):
        centre, half = _posterior_window(lj, x[i:i + 1], mu[i], std[i])
        axis = np.linspace(-1, 1, FIGURE_GRID)
        z = np.stack(np.meshgrid(centre[0] + half * axis, centre[1] + half * axis, indexing="ij"), -1).reshape(-1, 2)
        lw = backend.to_host(lj(x[i:i + 1], lj.points(backend.asarray(z, dtype=x.dtype))))[0].astype(np.float64)
        density = np.exp(lw - lw.max())
        grids.append((density / density.sum()).reshape(FIGURE_GRID, FIGURE_GRID))
        extents.append([centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half])
    return {"posterior": np.array(grids), "extent": np.array(extents), "q_mu": mu, "q_std": std}


def _posterior_window(lj, x_one, q_mu, q_std):
    """A square around both the posterior's mode (from a coarse grid) and q's 3-sigma ellipse."""
    axis = np.linspace(-6, 6, 241)
    z = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    lw = backend.to_host(lj(x_one, lj.points(backend.asarray(z, dtype=x_one.dtype))))[0]
    mass = z[lw >= lw.max() - 12]
    lo = np.minimum(mass.min(axis=0), q_mu - 3 * q_std) - 0.1
    hi = np.maximum(mass.max(axis=0), q_mu + 3 * q_std) + 0.1
    return (lo + hi) / 2, float(np.max(hi - lo) / 2)


def run(cfg, out, trainers: dict, x_test_host: np.ndarray, verbose: bool) -> dict:
    """The hierarchy and posterior comparison for each trained model; writes the posterior grids beside metrics."""
    result, grids = {}, {}
    x = backend.asarray(x_test_host[:cfg.truth_images])
    pick = backend.host_rng(cfg.seed, "truth-figure").choice(len(x_test_host), FIGURE_DIGITS, replace=False)
    for name, tr in trainers.items():
        if verbose:
            print(f"[nprob] ground truth: {name} on {x.shape[0]} test images", flush=True)
        enc, dec = tr.players["enc"].params, tr.players["dec"].params
        result[name] = hierarchy(tr.model, enc, dec, x, cfg.truth_ks, cfg.seed, name)
        for key, value in posterior_comparison(tr.model, enc, dec, x_test_host[pick]).items():
            grids[f"{name}.{key}"] = value
    grids["digits"] = pick
    checkpoint.atomic_write(out / "ground_truth_posteriors.npz", lambda f: np.savez(f, **grids))
    return result

