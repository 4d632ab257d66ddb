"""The theory of derivations/01, 02 and 05 on models whose log p(x) and posterior are known exactly.

The model: p(z) = N(0, 1), p(x | z) = N(x; a z, s^2). Then p(x) = N(x; 0, a^2 + s^2) and the
posterior is N(m*, v*) with v* = 1 / (1 + a^2 / s^2), m* = v* a x / s^2.
"""
import numpy as np
import pytest
from scipy import optimize, stats

from nprob.stable import log_mean_exp

A, S, X = 1.5, 0.7, 1.3
LOG_PX = stats.norm.logpdf(X, 0, np.sqrt(A**2 + S**2))
V_POST = 1 / (1 + A**2 / S**2)
M_POST = V_POST * A * X / S**2


def log_joint(z):
    return stats.norm.logpdf(X, A * z, S) + stats.norm.logpdf(z)


def bound_draws(k, n_draws, q, rng):
    """n_draws independent estimates of log (1/k) sum_i w_i with z_i ~ q (a frozen scipy distribution)."""
    z = q.rvs(size=(k, n_draws), random_state=rng)
    return log_mean_exp(log_joint(z) - q.logpdf(z), axis=0)


def test_linear_gaussian_bounds_against_exact_log_px(rng):
    q = stats.norm(M_POST + 0.5, np.sqrt(2 * V_POST))   # off-centre, wider than the posterior
    # the ELBO in closed form equals log p(x) - KL(q || posterior), eq. (1.3)
    mq, vq = q.mean(), q.var()
    elbo = (stats.norm.logpdf(X, A * mq, S) - A**2 * vq / (2 * S**2) - 0.5 * (np.log(2 * np.pi) + mq**2 + vq)
            + 0.5 * np.log(2 * np.pi * np.e * vq))
    kl = 0.5 * (vq / V_POST + (mq - M_POST) ** 2 / V_POST - 1 + np.log(V_POST / vq))
    assert np.isclose(elbo, LOG_PX - kl, rtol=1e-12)
    means, errs = [], []
    for k in (1, 10, 100, 10_000):
        d = bound_draws(k, 2000 if k < 10_000 else 200, q, rng)
        means.append(d.mean())
        errs.append(d.std() / np.sqrt(d.size))
    assert abs(means[0] - elbo) < 4 * errs[0]                       # L_1 is the ELBO
    assert all(m1 < m2 for m1, m2 in zip(means, means[1:]))         # rises with k
    assert all(m <= LOG_PX + 4 * e for m, e in zip(means, errs))    # never above log p(x)
    assert LOG_PX - means[-1] < 2e-3 < LOG_PX - means[0]            # and closes the gap


def test_exact_posterior_makes_every_bound_tight(rng):
    q = stats.norm(M_POST, np.sqrt(V_POST))
    for k in (1, 7, 1000):
        np.testing.assert_allclose(bound_draws(k, 5, q, rng), LOG_PX, rtol=0, atol=1e-12)


@pytest.mark.parametrize("x_value", [0.0, 1.3])
def test_bound_stays_open_when_q_misses_posterior_mass(x_value, rng):
    """A = 1, S = 1, and q the posterior truncated to z > 0: every weight is p(x) * Phi(x / sqrt 2)."""
    m, sd = x_value / 2, np.sqrt(0.5)
    q = stats.truncnorm((0 - m) / sd, np.inf, loc=m, scale=sd)
    log_px = stats.norm.logpdf(x_value, 0, np.sqrt(2))
    stuck = log_px + stats.norm.logcdf(x_value / np.sqrt(2))
    for k in (1, 100, 10_000):
        z = q.rvs(size=(k, 3), random_state=rng)
        lw = stats.norm.logpdf(x_value, z, 1) + stats.norm.logpdf(z) - q.logpdf(z)
        np.testing.assert_allclose(log_mean_exp(lw, axis=0), stuck, atol=1e-9)
    assert log_px - stuck > 0.15  # a gap that no k closes (log 2 at x = 0, 0.20 at x = 1.3)


def test_kl_directions_differ_on_a_bimodal_posterior():
    """The best single Gaussian for each KL direction, against p = (N(-2, 0.5^2) + N(2, 0.5^2)) / 2."""
    grid = np.linspace(-8, 8, 8001)
    dz = grid[1] - grid[0]
    p = 0.5 * stats.norm.pdf(grid, -2, 0.5) + 0.5 * stats.norm.pdf(grid, 2, 0.5)

    def kl(a, b):
        mask = a > 1e-300
        return np.sum(a[mask] * (np.log(a[mask]) - np.log(np.maximum(b[mask], 1e-300)))) * dz

    def q_of(theta):
        return stats.norm.pdf(grid, theta[0], np.exp(theta[1]))

    forward = optimize.minimize(lambda t: kl(p, q_of(t)), [0.5, 0.0], method="Nelder-Mead").x   # sleep's KL(p||q)
    reverse = optimize.minimize(lambda t: kl(q_of(t), p), [0.5, 0.0], method="Nelder-Mead").x   # ELBO's KL(q||p)
    assert abs(forward[0]) < 0.05 and np.exp(forward[1]) > 1.9      # mass-covering: one wide Gaussian
    assert abs(reverse[0] - 2) < 0.05 and np.exp(reverse[1]) < 0.6  # mode-seeking: sits on one mode


def test_bound_closes_with_unbounded_weights(rng):
    """derivations/05 eq. (5.7): a proposal narrower than the posterior has unbounded weights
    (log w grows like z^2 (1/v_q - 1/v*) / 2 in the tails), yet L_k still rises to log p(x)."""
    q = stats.norm(M_POST + 0.2 * np.sqrt(V_POST), np.sqrt(0.6 * V_POST))
    assert q.var() < V_POST                         # narrower: sup_z w(z) is infinite
    gaps, errs = [], []
    for k in (1, 10, 100, 10_000):
        d = bound_draws(k, 4000 if k < 10_000 else 300, q, rng)
        gaps.append(LOG_PX - d.mean())
        errs.append(d.std() / np.sqrt(d.size))
    for (g1, e1), (g2, e2) in zip(zip(gaps, errs), zip(gaps[1:], errs[1:])):
        assert g2 < g1 + 4 * np.hypot(e1, e2)       # the gap shrinks with k ...
    assert gaps[0] > 0.05 and abs(gaps[-1]) < 0.005 + 4 * errs[-1]   # ... from a clear gap to nearly none
    assert all(g > -4 * e for g, e in zip(gaps, errs))               # and never opens below log p(x)


def test_average_elbo_decomposes_as_eq_9_1(rng):
    """derivations/09 eq. (9.1): E_pd[ELBO] = -H(p_d) - KL(p_d || p_theta) - E_pd KL(q(z|x) || p_theta(z|x)),
    on the linear-Gaussian model with Gaussian data p_d = N(MD, SD^2) and an imperfect q(z|x) = N(C x + B, VQ)."""
    MD, SD, C, B, VQ = 0.4, 0.8, 0.3, -0.2, 0.5 * V_POST
    x = MD + SD * rng.standard_normal(400_000)
    z = C * x + B + np.sqrt(VQ) * rng.standard_normal(x.size)
    integrand = stats.norm.logpdf(x, A * z, S) + stats.norm.logpdf(z) - stats.norm.logpdf(z, C * x + B, np.sqrt(VQ))
    lhs, se = integrand.mean(), integrand.std() / np.sqrt(x.size)
    var_model = A**2 + S**2
    entropy = 0.5 * np.log(2 * np.pi * np.e * SD**2)
    kl_data = 0.5 * np.log(var_model / SD**2) + (SD**2 + MD**2) / (2 * var_model) - 0.5
    alpha = C - V_POST * A / S**2                      # q's mean minus the posterior mean is alpha x + B
    mean_sq = alpha**2 * SD**2 + (alpha * MD + B) ** 2
    kl_posterior = 0.5 * (VQ / V_POST + mean_sq / V_POST - 1 + np.log(V_POST / VQ))
    rhs = -entropy - kl_data - kl_posterior
    assert kl_posterior > 0.05                         # the gap term is really there ...
    assert abs(lhs - rhs) < 4 * se                     # ... and subtracted, not added
    assert abs(lhs - (-entropy - kl_data + kl_posterior)) > 20 * se
