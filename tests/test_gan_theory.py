"""Section 2's claims checked with numbers on cases where the truth is known."""
import math

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.spatial.distance import jensenshannon

from nprob import backend, params
from nprob.assignment import gan_theory
from nprob.assignment.gan_games import inference_metrics
from nprob.models import gan_losses
from nprob.models.bigan import BiGAN
from nprob.nn import MLP
from nprob.training.gan_trainers import fit_discriminator
from nprob.toy_data import parallel_lines

LOG2, LOG4 = math.log(2), math.log(4)


@pytest.mark.slow
def test_trained_discriminator_approaches_the_optimum():
    r = gan_theory.optimal_discriminator(seed=0, steps=2000)
    assert r["mean_abs_gap"] < 0.03
    assert abs(r["value"] - r["theory_value"]) < 0.01
    assert r["value"] <= r["theory_value"] + 1e-3     # no discriminator beats the optimal one


@pytest.mark.parametrize("pd,pg", [((0, 1), (0, 1)), ((0, 1), (1, 1)), ((0, 1), (0.5, 2)), ((-2, 0.5), (2, 0.5))])
def test_reduced_value_is_minus_log4_plus_twice_jsd(pd, pg):
    x = np.linspace(-15, 15, 200001)
    dx = x[1] - x[0]
    p, q = stats.norm.pdf(x, *pd), stats.norm.pdf(x, *pg)
    ok = (p > 0) & (q > 0)
    c = np.sum(p[ok] * np.log(p[ok] / (p[ok] + q[ok])) + q[ok] * np.log(q[ok] / (p[ok] + q[ok]))) * dx   # eq. (6.3)
    jsd = jensenshannon(p, q) ** 2                                                                        # natural log
    assert abs(c - (-LOG4 + 2 * jsd)) < 1e-6
    if pd == pg:
        assert abs(c + LOG4) < 1e-9


def test_generator_gradient_vanishes_only_for_minimax():
    r = gan_theory.saturation(seed=0, d_steps=200, train_steps=1)
    last = r["probe"][-1]
    assert last["d_fake"] < 1e-3
    assert last["grad_minimax"] * 1000 < last["grad_nonsaturating"]
    first = r["probe"][0]
    assert abs(first["grad_minimax"] / first["grad_nonsaturating"] - 1) < 0.2   # alike while D is at chance


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0])
def test_parallel_line_distances_match_the_closed_forms(theta, rng):
    n = 400
    p, q = parallel_lines(0.0, n, rng), parallel_lines(theta, n, rng)
    cost = np.linalg.norm(p[:, None, :] - q[None, :, :], axis=2)
    rows, cols = optimize.linear_sum_assignment(cost)          # the exact optimal transport between samples
    w = cost[rows, cols].mean()
    assert w >= theta - 1e-6           # every pair moves at least |theta| sideways (the lower bound)
    assert w - theta < 0.03            # and the sample's extra cost, from unequal y's, is O(n^-1/2)
    bins = np.linspace(-0.05, 1.05, 12)                        # histograms of x; y is uniform for both
    hp = np.histogram(p[:, 0], bins)[0] / n
    hq = np.histogram(q[:, 0], bins)[0] / n
    assert abs(jensenshannon(hp, hq) ** 2 - (0 if theta == 0 else LOG2)) < 1e-12
    assert stats.entropy(hp, hq) == (0 if theta == 0 else np.inf)


@pytest.mark.slow
def test_trained_estimates_on_parallel_lines():
    row = gan_theory.parallel_line_distances(seed=0, thetas=[0.5], steps=300)["rows"][0]
    assert abs(row["jsd"] - LOG2) < 0.05
    assert abs(row["w"] - 0.5) < 0.1
    assert 10 * abs(row["jsd_grad"]) < abs(row["w_grad"])


def test_jsd_of_sliding_uniforms_has_kinks():
    x = np.linspace(-3, 4, 700001)
    dx = x[1] - x[0]

    def jsd(theta):
        p = ((x >= 0) & (x < 1)).astype(float)
        q = ((x >= theta) & (x < 1 + theta)).astype(float)
        m = 0.5 * (p + q)
        inside = m > 0
        kl = lambda a: np.sum(np.where(a[inside] > 0, a[inside] * np.log(np.maximum(a[inside], 1e-300) / m[inside]), 0)) * dx  # noqa: E731
        return 0.5 * kl(p) + 0.5 * kl(q)

    for theta in (-1.5, -0.3, 0.0, 0.25, 0.7, 2.0):
        assert abs(jsd(theta) - min(abs(theta), 1) * LOG2) < 1e-3
    h = 0.01
    assert abs((jsd(h) - jsd(0)) / h - LOG2) < 0.05
    assert abs((jsd(-h) - jsd(0)) / -h + LOG2) < 0.05


A = np.array([[1.5, 0.4], [-0.3, 0.8]])


def pair_sampler(q_map, rng, batch=256):
    """Real pairs (x, Q(x)) with x = A z, and fake pairs (G(z), z) with G(z) = A z."""
    def real():
        x = rng.standard_normal((batch, 2)) @ A.T
        return backend.asarray(np.concatenate([x, x @ q_map.T], axis=1))

    def fake():
        z = rng.standard_normal((batch, 2))
        return backend.asarray(np.concatenate([z @ A.T, z], axis=1))
    return real, fake


@pytest.mark.slow
@pytest.mark.parametrize("inverse", [True, False])
def test_pairs_match_only_when_q_inverts_g(inverse, rng):
    q_map = np.linalg.inv(A) if inverse else np.linalg.inv(A) + np.array([[0.0, 0.5], [0.3, 0.0]])
    real, fake = pair_sampler(q_map, rng)
    net = MLP("disc", (4, 32, 32, 1), hidden="leaky_relu")
    p = params.allocate(net.shapes())
    net.init(p, rng, "glorot")
    fit_discriminator(net, p, real, fake, steps=1500)
    a_real, a_fake = net.forward(p, real())[0], net.forward(p, fake())[0]
    value = -float(gan_losses.discriminator_loss(a_real, a_fake)[0])
    if inverse:
        assert abs(value + LOG4) < 0.03          # the discriminator can do no better than chance
    else:
        assert value > -LOG4 + 0.3               # mismatched pairs are told apart


def test_cycle_errors_vanish_for_exact_inverses(rng):
    model = BiGAN(x_dim=2, z_dim=2, g_hidden=(), q_hidden=(), d_hidden=(3,))
    g, q, _ = model.init(rng, dtype=np.float64)
    g["gen.W1"][...], g["gen.b1"][...] = A.T, 0
    q["inf.W1"][...], q["inf.b1"][...] = np.linalg.inv(A).T, 0
    z = rng.standard_normal((500, 2))
    x = z @ A.T
    exact = inference_metrics(model, g, q, x, rng.standard_normal((500, 2)))
    assert exact["z_cycle"] < 1e-12 and exact["x_cycle"] < 1e-12 and exact["z_typical"] > 1
    q["inf.W1"][...] = np.eye(2)
    wrong = inference_metrics(model, g, q, x, rng.standard_normal((500, 2)))
    assert wrong["z_cycle"] > 0.3 and wrong["x_cycle"] > 0.3
