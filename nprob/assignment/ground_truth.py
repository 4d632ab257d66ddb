"""Ground truth for the trained 2-D models: log p(x) on every test image, the bound hierarchy, true posteriors against q.

derivations/10-ground-truth.md. Everything here evaluates trained networks; nothing trains.
Results go to ``metrics.json['ground_truth']`` and the posterior grids of the figure to
``ground_truth_posteriors.npz``, so the report and figures can be redrawn without recomputing.
"""
from __future__ import annotations

import time

import numpy as np

from .. import backend, bounds, checkpoint, quadrature

ELBO_SAMPLES = 100   # Monte Carlo samples of log w per image for the ELBO row
FIGURE_DIGITS = 12
FIGURE_GRID = 101


SEEDS = 16          # draws from q per image that seed the quadrature's regions (derivations/10 result 10.3)
REPEATS = 100       # fresh draws of L_k for an image whose estimate lies above log p(x)
DRAWS = 2           # independent estimates of L_k per image, for the measured standard error (10.9)
TRACK_TOLERANCE = 0.1   # nats: the tracked curves decide 1-nat changes, so their bars may be this wide
FINER = {"coarse_step": 0.05, "max_points": 1 << 21}   # the second integration of a flagged image


def _summary(values: np.ndarray, se: float | None) -> dict:
    """Mean, spread across images, and the Monte Carlo standard error of the mean (measured, or None)."""
    return {"mean": float(values.mean()), "std_across_images": float(values.std()), "mc_se": se}


def integrate(model, enc, dec, x, rng, seeds: int = SEEDS, **settings) -> quadrature.Marginal:
    """log p(x) by quadrature (derivations/10), its regions seeded from q's mean and ``seeds`` draws of q."""
    mu, logvar, _ = model.encode(enc, x)
    eps = backend.standard_normal(rng, (seeds, x.shape[0], model.z_dim), x.dtype)
    return quadrature.log_marginal(model, dec, x, q=(mu, logvar), seeds=quadrature.seeds_from_q(mu, logvar, eps),
                                   **settings)


def tracked(model, enc, dec, x, estimates, rng) -> dict:
    """log p(x) and the gap log p(x) - L_k on the tracked images x (n, D), both over the images the
    quadrature resolved, with L_k's per-image ``estimates`` (n,) on the device: derivations/10 result 10.9."""
    truth = integrate(model, enc, dec, x, rng, tolerance=TRACK_TOLERANCE)
    ok = truth.resolved
    if not ok.any():
        return {"logpx": float("nan"), "gap": float("nan"), "unresolved": int(ok.size)}
    est = backend.to_host(estimates).astype(np.float64)[ok]
    return {"logpx": float(truth.log_px[ok].mean()), "gap": float(truth.log_px[ok].mean() - est.mean()),
            "unresolved": int((~ok).sum())}


def marginal_summary(truth: quadrature.Marginal, seconds: float | None = None) -> dict:
    """log p(x) over the resolved images (mean, spread, the standard error of the mean across images),
    the largest and mean bar among them, and how many images are unresolved."""
    ok = truth.resolved
    values = truth.log_px[ok]
    out = {"mean": float(values.mean()) if ok.any() else None,
           "std_across_images": float(values.std()) if ok.any() else None,
           "se_across_images": float(values.std(ddof=1) / np.sqrt(ok.sum())) if ok.sum() > 1 else None,
           "max_error": float(truth.error[ok].max()) if ok.any() else None,
           "mean_error": float(truth.error[ok].mean()) if ok.any() else None,
           "images": int(ok.size), "unresolved": int((~ok).sum())}
    return out if seconds is None else {**out, "seconds": seconds}


def repeated_bound(model, enc, dec, x, k, rng, draws: int = DRAWS):
    """``draws`` independent estimates of L_k per image (host float64): their mean (N,), each image's
    variance of one estimate (N,), unbiased, for the measured standard error (10.9), and the first
    draw's delta-method sd (10.8), a flag only."""
    runs, sd = [], None
    for _ in range(draws):
        est, spread = bounds.iw_bound(model, enc, dec, x, k, rng, return_sd=True)
        runs.append(backend.to_host(est).astype(np.float64))
        sd = backend.to_host(spread).astype(np.float64) if sd is None else sd
    runs = np.stack(runs)
    return runs.mean(axis=0), runs.var(axis=0, ddof=1), sd


def measured_se(variance: np.ndarray, draws: int) -> float:
    """Standard error of a mean over images of per-image means of ``draws`` estimates, eq. (10.9)."""
    return float(np.sqrt(np.sum(variance / draws)) / variance.size)


def _still_above(model, enc, dec, x, k, flagged, truth, rng) -> np.ndarray:
    """The flagged images whose mean over REPEATS fresh draws of L_k stays above log p(x)."""
    if flagged.size == 0:
        return flagged
    xf = x[backend.xp().asarray(flagged)]
    draws = np.stack([backend.to_host(bounds.iw_bound(model, enc, dec, xf, k, rng)) for _ in range(REPEATS)])
    mean, se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(REPEATS)
    return flagged[mean - truth.log_px[flagged] > 3 * se + truth.error[flagged]]


def _integrate_again(model, enc, dec, x, images, truth, rng) -> None:
    """Integrate ``images`` again with a finer coarse map, more seeds and a larger budget; write the
    results into ``truth`` (derivations/10 result 10.7)."""
    again = integrate(model, enc, dec, x[backend.xp().asarray(images)], rng, seeds=16 * SEEDS, **FINER)
    for name in ("log_px", "error", "resolved", "kl_posterior_q"):
        getattr(truth, name)[images] = getattr(again, name)


def hierarchy(model, enc, dec, x, ks, seed: int, name: str) -> dict:
    """ELBO, L_k for each k and log p(x) on images x (N, D), with per-image checks against (10.7).

    Each L_k is the mean of DRAWS independent estimates per image, with a measured standard error
    (10.9). An image whose estimate lies above log p(x) by more than three (10.8) deviations plus the
    quadrature's bar is estimated again from REPEATS fresh draws; one still above is integrated again
    more finely, and if it is still above after that, it is marked unresolved.
    """
    truth = integrate(model, enc, dec, x, backend.rng(seed, "truth", name, "seeds"))
    value, se = bounds.elbo(model, enc, dec, x, ELBO_SAMPLES, backend.rng(seed, "truth", name, "elbo"))
    sd_log_w = se * np.sqrt((ELBO_SAMPLES // 10) * 10)       # spread of one log w, for L_1's flags
    estimates = {"ELBO": (value, se ** 2 * DRAWS, se)}        # (mean, variance of one of DRAWS, flag sd)
    for k in ks:
        est, variance, sd = repeated_bound(model, enc, dec, x, k, backend.rng(seed, "truth", name, k))
        estimates[f"L_{k}"] = (est, variance, (sd_log_w if k == 1 else sd) / np.sqrt(DRAWS))   # (10.8): k >= 2
    flags = {}
    for key, (est, _, sd) in estimates.items():              # (10.7), image by image
        k = 1 if key == "ELBO" else int(key[2:])
        flagged = np.flatnonzero(est - truth.log_px > 3 * sd + truth.error)
        above = _still_above(model, enc, dec, x, k, flagged, truth, backend.rng(seed, "truth", name, key, "again"))
        if above.size:
            _integrate_again(model, enc, dec, x, above, truth, backend.rng(seed, "truth", name, key, "finer"))
            again = _still_above(model, enc, dec, x, k, above, truth, backend.rng(seed, "truth", name, key, "last"))
            truth.resolved[again], truth.error[again] = False, np.inf
        flags[key] = {"above_log_px": int(flagged.size), "integrated_again": int(above.size)}
    ok = truth.resolved                                       # every row on the same, resolved images
    rows = {key: {**_summary(est[ok], measured_se(variance[ok], DRAWS)), **flags[key]}
            for key, (est, variance, _) in estimates.items()}
    rows["log p(x)"] = marginal_summary(truth)
    return {"images": int(x.shape[0]), "resolved_images": int(ok.sum()), "rows": rows,
            "kl_q_to_posterior": _summary(truth.log_px[ok] - value[ok], None),
            "kl_posterior_to_q": _summary(truth.kl_posterior_q[ok], None)}


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
    axis = np.linspace(min(-6.0, float(q_mu.min()) - 1), max(6.0, float(q_mu.max()) + 1), 241)
    z = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    lw = backend.to_host(lj(x_one, lj.points(backend.asarray(z, dtype=x_one.dtype))))[0]
    mass = z[lw >= lw.max() - 12]
    lo = np.minimum(mass.min(axis=0), q_mu - 3 * q_std) - 0.1
    hi = np.maximum(mass.max(axis=0), q_mu + 3 * q_std) + 0.1
    return (lo + hi) / 2, float(np.max(hi - lo) / 2)


def test_set(model, enc, dec, x, seed: int, name: str) -> dict:
    """log p(x) with its bar on every image of x (the whole test set), summarised, with the seconds it took."""
    start = time.perf_counter()
    truth = integrate(model, enc, dec, x, backend.rng(seed, "truth", name, "test set"))
    return marginal_summary(truth, round(time.perf_counter() - start, 1))


QUADRATURE_VERSION = 2   # results of an earlier quadrature (a fixed box, nested step-doubling) are recomputed


def settings(cfg) -> dict:
    """What a stored ground-truth result was computed with; another value means computing it again."""
    return {"epochs": cfg.epochs, "truth_images": cfg.truth_images, "truth_ks": list(cfg.truth_ks),
            "quadrature": QUADRATURE_VERSION, "draws": DRAWS, "test_set": cfg.truth_test_set}


def run(cfg, out, trainers: dict, x_test_host: np.ndarray, verbose: bool) -> dict:
    """The hierarchy, log p(x) on every test image, and the posterior comparison for each trained model;
    writes the posterior grids beside metrics."""
    result, grids = {}, {}
    x = backend.asarray(x_test_host[:cfg.truth_images])
    pick = backend.host_rng(cfg.seed, "truth-figure").choice(len(x_test_host), FIGURE_DIGITS, replace=False)
    for name, tr in trainers.items():
        if verbose:
            print(f"[nprob] ground truth: {name} on {x.shape[0]} test images", flush=True)
        enc, dec = tr.players["enc"].params, tr.players["dec"].params
        result[name] = hierarchy(tr.model, enc, dec, x, cfg.truth_ks, cfg.seed, name)
        if cfg.truth_test_set:
            if verbose:
                print(f"[nprob] log p(x): {name} on all {len(x_test_host)} test images", flush=True)
            result[name]["test_set"] = test_set(tr.model, enc, dec, backend.asarray(x_test_host), cfg.seed, name)
        for key, value in posterior_comparison(tr.model, enc, dec, x_test_host[pick]).items():
            grids[f"{name}.{key}"] = value
    grids["digits"] = pick
    checkpoint.atomic_write(out / "ground_truth_posteriors.npz", lambda f: np.savez(f, **grids))
    return result

