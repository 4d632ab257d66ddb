"""L_k against the truth: L_1 is the ELBO, L_k rises with k, and log p(x) bounds them all."""
import numpy as np
import pytest

from nprob import backend, bounds
from nprob import distributions as D
from nprob.models import aevb
from nprob.models.helmholtz import HelmholtzMachine
from nprob.stable import logsumexp

MODEL = HelmholtzMachine(x_dim=10, z_dim=2, hidden=(8,), activation="tanh")


@pytest.fixture
def model_and_data(rng):
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    dec.flat *= 3  # a decoder with structure, so that the posterior is not the prior
    x = (rng.random((4, 10)) < 0.5).astype(np.float64)
    return enc, dec, x


def test_l1_is_the_elbo_on_the_same_draws(model_and_data, rng):
    enc, dec, x = model_and_data
    eps = rng.standard_normal((1, 4, 2))
    lw = bounds.log_weights(MODEL, enc, dec, x, eps)[0]
    mu, logvar, _ = MODEL.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)
    logits, _ = MODEL.decode(dec, z)
    elbo_mc = (D.bernoulli_log_likelihood(x, logits) + D.standard_normal_log_density(z)
               - D.gaussian_log_density(z, mu, logvar))[0]
    np.testing.assert_allclose(lw, elbo_mc, rtol=1e-12)
    # in expectation L_1 equals the AEVB estimator with the KL in closed form
    big = rng.standard_normal((20000, 4, 2))
    l1 = bounds.log_weights(MODEL, enc, dec, x, big)
    aevb_elbo = -aevb.loss_and_grads(MODEL, enc, dec, x, big)[0]["loss"]
    se = l1.mean(axis=1).std() / np.sqrt(l1.shape[0])
    assert abs(l1.mean() - aevb_elbo) < 4 * se


def test_bounds_are_ordered_and_below_log_px(model_and_data):
    """ELBO = L_1 <= L_10 <= L_100 <= L_1000 <= log p(x), each mean within 4 standard errors.

    The encoder is random, so q is a poor proposal and single estimates are noisy:
    the comparisons are between means over 40 independent seeds.
    """
    enc, dec, x = model_and_data
    log_px = bounds.log_marginal_grid(MODEL, dec, x, limit=7, n=401)
    mean, se = {}, {}
    for k in (1, 10, 100, 1000):
        est = np.array([bounds.iw_bound(MODEL, enc, dec, x, k, np.random.default_rng(s)) for s in range(40)])
        mean[k], se[k] = est.mean(axis=0), est.std(axis=0) / np.sqrt(len(est))
    for a, b in [(1, 10), (10, 100), (100, 1000)]:
        assert np.all(mean[a] <= mean[b] + 4 * np.hypot(se[a], se[b])), (a, b, mean[a], mean[b])
    assert np.all(mean[1000] <= log_px + 4 * se[1000])
    assert np.all(log_px - mean[1000] < 0.15)            # close to log p(x) with many samples
    assert np.all(log_px - mean[1] > 0.3)                # while the ELBO is clearly below
    assert np.all(mean[1] + 4 * se[1] < mean[1000])      # and the rise is real, not noise


def test_log_marginal_grid_is_a_normalised_density():
    """Summed over all 2^D binary x, p(x) from the grid is 1."""
    model = HelmholtzMachine(x_dim=6, z_dim=2, hidden=(5,), activation="tanh")
    _, dec = model.init(np.random.default_rng(0), "glorot", dtype=np.float64)
    all_x = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(np.float64)
    total = logsumexp(bounds.log_marginal_grid(model, dec, all_x), axis=0)
    assert abs(total) < 1e-6


def test_chunking_is_reproducible_and_unbiased(model_and_data):
    """Same budget and seed: the same numbers. Other chunk shapes draw the noise in another
    order, so they agree in distribution: the means over seeds match within their errors."""
    enc, dec, x = model_and_data
    again = [bounds.iw_bound(MODEL, enc, dec, x, 50, np.random.default_rng(3), element_budget=70) for _ in range(2)]
    np.testing.assert_array_equal(*again)
    by_budget = {}
    for budget in (10**6, 10 * 50, 10 * 7):   # one chunk; one row at a time; 7 samples at a time
        est = np.array([bounds.iw_bound(MODEL, enc, dec, x, 50, np.random.default_rng(s), element_budget=budget)
                        for s in range(60)])
        by_budget[budget] = (est.mean(axis=0), est.std(axis=0) / np.sqrt(len(est)))
    (m0, s0), *others = by_budget.values()
    for m, s in others:
        assert np.all(np.abs(m - m0) < 4 * np.hypot(s, s0))


def test_invalid_k_is_refused(model_and_data):
    enc, dec, x = model_and_data
    with pytest.raises(ValueError, match="positive"):
        bounds.iw_bound(MODEL, enc, dec, x, 0, backend.rng(0))


def test_bounds_on_either_backend(rng, any_backend):
    """On the device: L_100 stays there and is finite; the quadrature log p(x) matches the host value."""
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    dec.flat *= 3
    x_host = (rng.random((4, 10)) < 0.5).astype(np.float64)
    x = backend.asarray(x_host, dtype=np.float64)
    est = bounds.iw_bound(MODEL, enc, dec, x, 100, backend.rng(0, "test"))
    log_px = bounds.log_marginal_grid(MODEL, dec, x, limit=7, n=201)
    assert backend.get_array_module(est) is backend.xp()
    host_dec = type(dec)(backend.to_host(dec.flat), dec.shapes)
    backend.use("numpy")
    np.testing.assert_allclose(backend.to_host(log_px), bounds.log_marginal_grid(MODEL, host_dec, x_host, 7, 201),
                               rtol=1e-10)
    assert est.shape == (4,) and np.all(np.isfinite(backend.to_host(est)))
