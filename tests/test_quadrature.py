"""log p(x) by the adapted lattice (derivations/10): against closed forms, the fixed grid and the bounds."""
import math

import numpy as np
import pytest

from nprob import backend, bounds, quadrature
from nprob.models.helmholtz import HelmholtzMachine

DX = 5
MODEL = HelmholtzMachine(x_dim=DX, z_dim=2, hidden=(3,))


def linear_gaussian(W, b, s):
    """x | z ~ N(W z + b, s^2 I), z ~ N(0, I), as a LogJoint: x . A(z) - c(z) + e(x)."""
    xp = backend.xp()
    Wd, bd = backend.asarray(W, np.float64), backend.asarray(b, np.float64)

    def points(z):
        m = z @ Wd.T + bd
        c = 0.5 * (m * m).sum(axis=1) / s**2 + 0.5 * DX * math.log(2 * math.pi * s**2) \
            + 0.5 * (z * z).sum(axis=1) + math.log(2 * math.pi)
        return m / s**2, c
    return quadrature.LogJoint(points, rows=lambda x: -0.5 * (x * x).sum(axis=1) / s**2 + 0 * xp.zeros(1))


def exact_log_px(x, W, b, s):
    cov = W @ W.T + s**2 * np.eye(DX)
    diff = x - b
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff) + logdet + DX * math.log(2 * math.pi))


def posterior(x, W, b, s):
    cov = np.linalg.inv(np.eye(2) + W.T @ W / s**2)
    return (x - b) @ W @ cov.T / s**2, cov


@pytest.mark.parametrize("s", [0.3, 0.05, 0.02])
def test_log_marginal_matches_a_closed_form_within_its_error_bar(s, rng, any_backend):
    W, b = rng.standard_normal((DX, 2)), rng.standard_normal(DX) * 0.3
    z = rng.standard_normal((40, 2)) * 1.5
    x = z @ W.T + b + s * rng.standard_normal((40, DX))
    dec = MODEL.init(rng, dtype=np.float64)[1]
    got = quadrature.log_marginal(MODEL, dec, backend.asarray(x, np.float64), log_joint=linear_gaussian(W, b, s))
    truth = exact_log_px(x, W, b, s)
    assert np.all(np.abs(got.log_px - truth) <= got.error + 1e-9)
    assert got.error.max() < 0.01                      # a hundredth of a nat, for posteriors as narrow as 0.02
    width = np.sqrt(np.linalg.eigvalsh(posterior(x, W, b, s)[1])).min()
    assert width < 0.15 or s == 0.3                    # the narrow cases really are narrower than a coarse cell


def test_lattice_kl_matches_the_gaussian_closed_form(rng):
    s = 0.1
    W, b = rng.standard_normal((DX, 2)), np.zeros(DX)
    x = rng.standard_normal((12, 2)) @ W.T + s * rng.standard_normal((12, DX))
    mean, cov = posterior(x, W, b, s)
    mu = mean + rng.standard_normal(mean.shape) * 0.05
    logvar = np.log(np.diag(cov))[None] + rng.standard_normal(mean.shape) * 0.3
    dec = MODEL.init(rng, dtype=np.float64)[1]
    got = quadrature.log_marginal(MODEL, dec, x, q=(mu, logvar), log_joint=linear_gaussian(W, b, s))
    var_q = np.exp(logvar)
    trace = (np.diag(cov)[None] / var_q).sum(axis=1)
    maha = ((mu - mean) ** 2 / var_q).sum(axis=1)
    exact = 0.5 * (trace + maha - 2 + logvar.sum(axis=1) - np.linalg.slogdet(cov)[1])   # KL(N(mean, cov) || q)
    np.testing.assert_allclose(got.kl_posterior_q, exact, atol=1e-6)


def test_quadrature_agrees_with_the_fixed_grid(rng):
    model = HelmholtzMachine(x_dim=8, z_dim=2, hidden=(6,), activation="tanh")
    _, dec = model.init(rng, "glorot", dtype=np.float64)
    x = (rng.random((7, 8)) < 0.5).astype(np.float64)
    got = quadrature.log_marginal(model, dec, x)
    np.testing.assert_allclose(got.log_px, bounds.log_marginal_grid(model, dec, x, limit=7, n=401), atol=1e-6)
    assert got.error.max() < 1e-6


def test_bounds_of_a_trained_model_stay_below_the_quadrature(rng):
    """A small Bernoulli model fitted to data with structure: L_k rises with k towards the quadrature
    value and never exceeds it by more than its Monte Carlo error, image by image."""
    from nprob.training.trainers import AEVBTrainer
    model = HelmholtzMachine(x_dim=16, z_dim=2, hidden=(32,), activation="tanh")
    centres = rng.random((4, 16)) < 0.5
    data = np.where(rng.random((2000, 16)) < 0.9, centres[rng.integers(4, size=2000)], ~centres[0]).astype(
        np.float64)
    enc, dec = model.init(rng, "glorot", dtype=np.float64)
    trainer = AEVBTrainer(model, enc, dec, lr=3e-3)
    gen = backend.rng(0, "train")
    for step in range(1500):
        trainer.step(data[(step % 20) * 100:(step % 20 + 1) * 100], gen)
    x = data[:50]
    truth = quadrature.log_marginal(model, dec, x)
    assert truth.error.max() < 0.01
    means = []
    for k in (1, 10, 100, 1000):
        est, sd = bounds.iw_bound(model, enc, dec, x, k, backend.rng(1, k), return_sd=True)
        if k > 1:   # one weight gives no spread estimate: (10.4) needs k >= 2
            assert np.all(est <= truth.log_px + 4 * sd + truth.error + 1e-9)
        means.append(est.mean())
    assert means[0] < truth.log_px.mean()
    assert means == sorted(means) and truth.log_px.mean() - means[-1] < 0.1 < truth.log_px.mean() - means[0]


def test_decline_diagnosis_names_the_part_that_moved():
    from nprob.experiments.ground_truth import decline_diagnosis
    evals = lambda rows: {"evals": [{"epoch": 10 * (i + 1), "L100_test": lp - g, "logpx_test": lp, "gap_test": g,  # noqa: E731
                                     "logpx_train": lt, "gap_train": gt} for i, (lp, g, lt, gt) in enumerate(rows)]}
    generator = evals([(-150, 2, -149, 2), (-148, 2, -147, 2), (-152, 2, -151, 2)])
    overfit = evals([(-150, 2, -149, 2), (-148, 2, -147, 2), (-151, 2, -146, 2)])
    recognition = evals([(-150, 2, -149, 2), (-148, 2, -147, 2), (-148, 5, -147, 5)])
    assert decline_diagnosis(generator, 100)["causes"] == ["generator"]
    assert decline_diagnosis(overfit, 100)["causes"] == ["overfitting"]
    assert decline_diagnosis(recognition, 100)["causes"] == ["recognition"]
    assert decline_diagnosis({"evals": generator["evals"][:1]}, 100) is None
