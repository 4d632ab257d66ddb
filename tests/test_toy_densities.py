"""The 2-D densities of derivations/14: the Gaussian-decoder VAE's gradients and lattice p(x), a generator's
push-forward masses, and the lattice divergences, each against a case whose answer is known in closed form."""
import numpy as np
import pytest
from scipy import stats

from nprob import backend
from nprob.gradcheck import check_params
from nprob.lattice_divergences import Lattice, density_masses, divergences, mixture_masses, pushforward_masses
from nprob.models.gaussian_vae import GaussianVAE


@pytest.mark.parametrize("seed", range(4))
def test_gaussian_vae_gradients_with_the_noise_held_fixed(seed):
    rng = np.random.default_rng(seed)
    model = GaussianVAE(x_dim=2, z_dim=2, hidden=(5, 4), activation="tanh")
    enc, dec = model.init(rng, dtype=np.float64)
    x, eps = rng.standard_normal((6, 2)), rng.standard_normal((3, 6, 2))
    _, (g_enc, g_dec) = model.loss_and_grads(enc, dec, x, eps)
    f = lambda: model.loss_and_grads(enc, dec, x, eps)[0]["loss"]  # noqa: E731
    assert max(check_params(f, enc, g_enc).values()) < 1e-7
    assert max(check_params(f, dec, g_dec).values()) < 1e-7


def linear_decoder(rng, model, sigma):
    """Decoder weights making p(x|z) = N(z A + b, sigma^2 I): the model's p(x) is N(b, A^T A + sigma^2 I)."""
    _, dec = model.init(rng, dtype=np.float64)
    a, b = rng.uniform(0.3, 1.2) * np.linalg.qr(rng.standard_normal((2, 2)))[0], rng.standard_normal(2)
    dec["dec.W1"][...] = np.concatenate([a, np.zeros((2, 2))], axis=1)
    dec["dec.b1"][...] = np.concatenate([b, np.full(2, 2 * np.log(sigma))])
    return dec, b, a.T @ a + sigma ** 2 * np.eye(2)


@pytest.mark.parametrize("seed", range(4))
def test_lattice_log_density_of_a_linear_decoder_is_the_gaussian_marginal(seed):
    rng = np.random.default_rng(seed)
    model = GaussianVAE(x_dim=2, z_dim=2, hidden=())
    dec, mean, cov = linear_decoder(rng, model, sigma=rng.uniform(0.2, 0.6))
    x = mean + np.clip(rng.standard_normal((50, 2)), -2.5, 2.5) @ np.linalg.cholesky(cov).T   # the model's bulk
    exact = stats.multivariate_normal(mean, cov).logpdf(x)
    # the midpoint rule converges fast on Gaussians; what is left is the prior mass beyond |z| = 6
    np.testing.assert_allclose(backend.to_host(model.log_density(dec, x, limit=6.0, n=241)), exact, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_pushforward_of_a_linear_generator_is_the_gaussian_law(seed):
    """G(z) = z A + b with A = s R (R a rotation) sends N(0, I) to N(b, s^2 I), whose cell masses are exact."""
    rng = np.random.default_rng(seed)
    s, b = rng.uniform(0.4, 1.0), rng.uniform(-0.5, 0.5, 2)
    a = s * np.linalg.qr(rng.standard_normal((2, 2)))[0]
    lattice = Lattice(half_width=4.0, n=60)
    pushed = pushforward_masses(lattice, lambda z: z @ a + b, z_n=600)
    exact = mixture_masses(lattice, b[None, :], s)
    assert 0.5 * np.abs(pushed - exact).sum() < 0.01          # total variation
    assert divergences(exact, pushed)["jsd"] < 1e-3


def test_density_masses_of_a_gaussian_sum_to_one_and_match_the_cdf():
    lattice = Lattice(half_width=4.0, n=80)
    masses = density_masses(lattice, lambda x: stats.multivariate_normal(np.zeros(2), 0.5 * np.eye(2)).logpdf(x))
    np.testing.assert_allclose(masses, mixture_masses(lattice, np.zeros((1, 2)), np.sqrt(0.5)), atol=2e-5)


def test_divergences_against_hand_computed_values():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    r = divergences(p, q)
    assert r["kl_pq"] == pytest.approx(0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1))
    assert r["kl_qp"] == pytest.approx(0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5))
    m = (p + q) / 2
    assert r["jsd"] == pytest.approx(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))
    disjoint = divergences(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert disjoint["kl_pq"] == np.inf and disjoint["jsd"] == pytest.approx(np.log(2))
    assert disjoint["p_mass_where_q_empty"] == 1.0
    assert divergences(p, p)["kl_pq"] == 0.0
    with pytest.raises(ValueError):
        divergences(p, np.array([1.2, -0.2]))
