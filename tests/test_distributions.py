"""Gradients of every log-density and of the KL, the closed-form KL against Monte Carlo."""
import numpy as np
import pytest

from nprob import distributions as D
from nprob.gradcheck import numerical_gradient, relative_error


@pytest.fixture
def gauss(rng):
    return rng.standard_normal((4, 3)), 0.5 * rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


def test_reparameterised_sample_backward(gauss, rng):
    mu, logvar, _ = gauss
    eps = rng.standard_normal((2, 4, 3))  # two samples per row
    dz = rng.standard_normal((2, 4, 3))
    z, std = D.gaussian_sample(mu, logvar, eps)
    np.testing.assert_allclose(z, mu + np.sqrt(np.exp(logvar)) * eps)
    dmu, dlogvar = D.gaussian_sample_backward(dz, std, eps)
    f = lambda: np.sum(D.gaussian_sample(mu, logvar, eps)[0] * dz)  # noqa: E731
    assert relative_error(numerical_gradient(lambda _: f(), mu), dmu) < 1e-8
    assert relative_error(numerical_gradient(lambda _: f(), logvar), dlogvar) < 1e-8


def test_gaussian_log_density_value_and_grads(gauss):
    from scipy.stats import norm
    mu, logvar, z = gauss
    ref = norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(axis=1)
    np.testing.assert_allclose(D.gaussian_log_density(z, mu, logvar), ref, rtol=1e-12)
    dz, dmu, dlogvar = D.gaussian_log_density_grads(z, mu, logvar)
    f = lambda: D.gaussian_log_density(z, mu, logvar).sum()  # noqa: E731
    for arg, g in [(z, dz), (mu, dmu), (logvar, dlogvar)]:
        assert relative_error(numerical_gradient(lambda _: f(), arg), g) < 1e-8


def test_standard_normal_is_the_special_case(gauss):
    _, _, z = gauss
    np.testing.assert_allclose(D.standard_normal_log_density(z),
                               D.gaussian_log_density(z, np.zeros_like(z), np.zeros_like(z)))


def test_kl_grads(gauss):
    mu, logvar, _ = gauss
    dmu, dlogvar = D.kl_to_standard_normal_grads(mu, logvar)
    f = lambda: D.kl_to_standard_normal(mu, logvar).sum()  # noqa: E731
    assert relative_error(numerical_gradient(lambda _: f(), mu), dmu) < 1e-8
    assert relative_error(numerical_gradient(lambda _: f(), logvar), dlogvar) < 1e-8


def test_closed_form_kl_equals_monte_carlo(rng):
    mu, logvar = np.array([[0.7, -1.2]]), np.array([[-0.6, 0.9]])
    eps = rng.standard_normal((400_000, 1, 2))
    z, _ = D.gaussian_sample(mu, logvar, eps)
    samples = D.gaussian_log_density(z, mu, logvar) - D.standard_normal_log_density(z)
    mc, se = samples.mean(), samples.std() / np.sqrt(samples.size)
    exact = D.kl_to_standard_normal(mu, logvar)[0]
    assert abs(mc - exact) < 4 * se, (mc, exact, se)
    assert D.kl_to_standard_normal(np.zeros((1, 2)), np.zeros((1, 2)))[0] == 0


def test_bernoulli_log_likelihood_and_grad(rng):
    x = rng.random((3, 5))  # grey levels in [0, 1]
    logits = rng.standard_normal((3, 5)) * 3
    p = 1 / (1 + np.exp(-logits))
    ref = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(D.bernoulli_log_likelihood(x, logits), ref, rtol=1e-12)
    ll, g = D.bernoulli_log_likelihood_and_grad(x, logits)
    np.testing.assert_allclose(ll, ref, rtol=1e-12)
    num = numerical_gradient(lambda _: D.bernoulli_log_likelihood(x, logits).sum(), logits)
    assert relative_error(num, g) < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_log_likelihood_is_finite_for_huge_logits(dtype):
    x = np.array([[1.0, 0.0, 1.0, 0.0, 0.5]], dtype=dtype)
    logits = np.array([[1e4, -1e4, -1e4, 1e4, 1e4]], dtype=dtype)
    ll = D.bernoulli_log_likelihood(x, logits)
    # exact: 0 (right and sure), 0, -1e4 (wrong and sure), -1e4, and 0.5 * 1e4 - 1e4
    np.testing.assert_allclose(ll, [-2.5e4], rtol=1e-6)
    assert ll.dtype == dtype
    ll2, grad = D.bernoulli_log_likelihood_and_grad(x, logits)
    np.testing.assert_allclose(ll2, ll, rtol=1e-6)
    np.testing.assert_allclose(grad, [[0, 0, 1, -1, -0.5]], atol=1e-6)


def test_bernoulli_sample_frequency(rng):
    probs = np.full((200_000,), 0.3, dtype=np.float32)
    x = D.bernoulli_sample(probs, rng.random(probs.shape, dtype=np.float32))
    assert x.dtype == np.float32 and set(np.unique(x)) <= {0.0, 1.0}
    assert abs(x.mean() - 0.3) < 0.005
