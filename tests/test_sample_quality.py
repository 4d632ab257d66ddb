"""The yardstick of derivations/14: the classifier's gradients, the Frechet distance against closed forms, and
the label, pixel and edge statistics on images whose answers are known."""
import numpy as np
import pytest
from scipy import linalg

from nprob import backend, sample_quality as sq
from nprob.gradcheck import check_params
from nprob.models.classifier import Classifier

SMALL = Classifier(x_dim=6, hidden=(5, 4), classes=3, activation="tanh")


@pytest.mark.parametrize("seed", range(5))
def test_classifier_gradients_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    c = SMALL.init(rng, dtype=np.float64)
    x, y = rng.standard_normal((7, 6)), rng.integers(3, size=7)
    _, grads = SMALL.loss_and_grads(c, x, y)
    f = lambda: SMALL.loss_and_grads(c, x, y)[0]["loss"]  # noqa: E731
    assert max(check_params(f, c, grads).values()) < 1e-7


def test_cross_entropy_is_minus_the_log_probability_of_the_label(rng, any_backend):
    c = SMALL.init(rng, dtype=np.float64)
    x, y = backend.asarray(rng.standard_normal((9, 6)), np.float64), rng.integers(3, size=9)
    log_p = backend.to_host(SMALL.log_probs(c, x))
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1, rtol=1e-12)
    scalars = SMALL.loss_and_grads(c, x, backend.asarray(y, np.int64))[0]
    assert backend.to_float(scalars["loss"]) == pytest.approx(-log_p[np.arange(9), y].mean(), rel=1e-12)
    assert SMALL.features(c, x).shape == (9, 4)


def test_labels_of_the_wrong_kind_are_refused(rng):
    c = SMALL.init(rng, dtype=np.float64)
    with pytest.raises(ValueError, match="labels"):
        SMALL.loss_and_grads(c, rng.standard_normal((4, 6)), np.zeros(4))


def random_cov(rng, f):
    a = rng.standard_normal((f, f))
    return a @ a.T + 0.1 * np.eye(f)


@pytest.mark.parametrize("seed", range(8))
def test_gaussian_frechet_matches_closed_forms(seed):
    rng = np.random.default_rng(seed)
    f = int(rng.integers(1, 7))
    mu1, mu2 = rng.standard_normal(f), rng.standard_normal(f)
    d1, d2 = rng.uniform(0.1, 3, f), rng.uniform(0.1, 3, f)
    # commuting (diagonal) covariances: sum (sqrt a - sqrt b)^2 plus the squared mean distance
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    assert sq.gaussian_frechet(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected, rel=1e-9, abs=1e-10)
    # general covariances: against the textbook formula with scipy's general matrix square root
    c1, c2 = random_cov(rng, f), random_cov(rng, f)
    textbook = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * linalg.sqrtm(c1 @ c2).real)
    assert sq.gaussian_frechet(mu1, c1, mu2, c2) == pytest.approx(textbook, rel=1e-7, abs=1e-8)
    assert sq.gaussian_frechet(mu1, c1, mu1, c1) == pytest.approx(0, abs=1e-8)
    assert sq.gaussian_frechet(mu1, c1, mu2, c2) == pytest.approx(sq.gaussian_frechet(mu2, c2, mu1, c1), rel=1e-9)


def test_frechet_distance_of_samples_converges_to_the_population_value():
    rng = np.random.default_rng(3)
    c1, c2 = random_cov(rng, 3), random_cov(rng, 3)
    mu2 = np.array([1.0, -1.0, 0.5])
    a = rng.multivariate_normal(np.zeros(3), c1, size=200_000)
    b = rng.multivariate_normal(mu2, c2, size=200_000)
    assert sq.frechet_distance(a, b) == pytest.approx(sq.gaussian_frechet(np.zeros(3), c1, mu2, c2), rel=0.02)
    with pytest.raises(ValueError):
        sq.frechet_distance(a[:1], b)


def test_label_statistics_on_known_predictions():
    confident = np.log(np.full((20, 10), 1e-12))
    confident[np.arange(20), np.arange(20) % 10] = 0.0          # every class twice, with certainty
    s = sq.label_statistics(confident)
    assert s["entropy_per_sample"] == pytest.approx(0, abs=1e-9)
    assert s["entropy_of_mean"] == pytest.approx(np.log(10), abs=1e-9)
    assert s["reverse_kl_to_uniform"] == pytest.approx(0, abs=1e-12) and s["classes_seen"] == 10
    one_class = np.log(np.full((5, 10), 1e-12))
    one_class[:, 3] = 0.0
    s = sq.label_statistics(one_class)
    assert s["reverse_kl_to_uniform"] == pytest.approx(np.log(10)) and s["histogram"][3] == 1.0
    s = sq.label_statistics(np.log(np.full((4, 10), 0.1)))
    assert s["entropy_per_sample"] == pytest.approx(np.log(10))


def test_pixel_entropy_and_edge_energy_on_known_images():
    binary = (np.arange(784)[None, :] % 3 == 0).astype(float).repeat(2, axis=0)
    grey = np.full((2, 784), 0.5)
    assert sq.pixel_entropy(binary) == pytest.approx([0, 0], abs=1e-12)
    assert sq.pixel_entropy(grey) == pytest.approx([np.log(2)] * 2)
    assert sq.edge_energy(grey) == pytest.approx([0, 0])
    board = ((np.arange(28)[:, None] + np.arange(28)[None, :]) % 2).reshape(1, 784).astype(float)
    assert sq.edge_energy(board) == pytest.approx([1.0])        # every neighbouring pair differs by 1
    with pytest.raises(ValueError, match="784"):
        sq.edge_energy(np.zeros((2, 100)))


def test_mean_and_se():
    r = sq.mean_and_se([1.0, 2.0, 3.0, 4.0])
    assert r["mean"] == 2.5 and r["se"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2) and r["n"] == 4


def test_separated_names_a_direction_only_beyond_the_noise():
    a, b = {"mean": 1.0, "se": 0.1}, {"mean": 1.5, "se": 0.1}
    assert sq.separated(a, b) == -1 and sq.separated(b, a) == 1          # 0.5 > 2 * 0.141
    assert sq.separated(a, {"mean": 1.25, "se": 0.1}) == 0                # 0.25 < 0.283
    assert sq.separated(a, {"mean": 1.0, "se": 0.0}) == 0
