"""Every public entry point refuses input of the wrong kind with a clear error (issue 22 items 6 and 13):
never a silently wrong number, never a ZeroDivisionError, KeyError or a complaint about another argument."""
import numpy as np
import pytest

from nprob import binarize, bounds
from nprob.models import aevb, binary_estimators, iwae, rws
from nprob.models.binary_helmholtz import BinaryHelmholtzMachine
from nprob.models.gan import GAN
from nprob.models.gradient_penalty import penalty_and_grads
from nprob.models.helmholtz import HelmholtzMachine
from nprob.training.binary_trainers import BinaryRWSTrainer, BinaryWakeSleepTrainer, ScoreFunctionTrainer
from nprob.training.trainers import AEVBTrainer, IWAETrainer, RWSTrainer, WakeSleepTrainer
from nprob.stable import normalised_weights

GAUSS = HelmholtzMachine(x_dim=6, z_dim=2, hidden=(5,), activation="tanh")
BINARY = BinaryHelmholtzMachine(x_dim=6, h_dim=3, hidden=(5,))
CRITIC = GAN(x_dim=2, z_dim=2, g_hidden=(4,), d_hidden=(4,)).discriminator


def gaussian_params():
    return GAUSS.init(np.random.default_rng(0), "glorot")


def binary_params():
    return BINARY.init(np.random.default_rng(0), "he")


def critic_params():
    from nprob.nn import init_networks
    return init_networks((CRITIC,), np.random.default_rng(0), "glorot", np.float32)[0]


X = np.random.default_rng(1).random((4, 6), dtype=np.float32)
EMPTY = np.zeros((0, 6), np.float32)


@pytest.mark.parametrize("estimator", [aevb.loss_and_grads, iwae.loss_and_grads, rws.loss_and_grads])
@pytest.mark.parametrize("x, eps, error, match", [
    (EMPTY, np.zeros((1, 0, 2), np.float32), ValueError, "at least one row"),
    (X, np.zeros((0, 4, 2), np.float32), ValueError, "L >= 1"),              # k = 0 samples
    (X[0], np.zeros((1, 1, 2), np.float32), ValueError, r"x must be a batch"),  # one image without its batch axis
    (X.astype(np.int64), np.zeros((1, 4, 2), np.float32), TypeError, "float32 or float64"),
])
def test_gaussian_estimators_refuse_empty_batches_no_samples_and_integers(estimator, x, eps, error, match):
    with pytest.raises(error, match=match):
        estimator(GAUSS, *gaussian_params(), x, eps)


@pytest.mark.parametrize("make, error", [
    (lambda e, d: AEVBTrainer(GAUSS, e, d, n_samples=0), ValueError),
    (lambda e, d: IWAETrainer(GAUSS, e, d, k=0), ValueError),
    (lambda e, d: IWAETrainer(GAUSS, e, d, k=-1), ValueError),
    (lambda e, d: IWAETrainer(GAUSS, e, d, k=2.5), TypeError),
    (lambda e, d: RWSTrainer(GAUSS, e, d, sleep_samples=0), ValueError),
    (lambda e, d: WakeSleepTrainer(GAUSS, e, d, wake_samples=0), ValueError),
    (lambda e, d: BinaryRWSTrainer(BINARY, *binary_params(), k=0), ValueError),
    (lambda e, d: BinaryWakeSleepTrainer(BINARY, *binary_params(), sleep_samples=0), ValueError),
    (lambda e, d: ScoreFunctionTrainer(BINARY, *binary_params(), samples=0), ValueError),
])
def test_trainers_refuse_sample_counts_below_one(make, error):
    with pytest.raises(error, match="must be"):
        make(*gaussian_params())


def test_normalised_weights_refuse_integers_and_no_samples():
    with pytest.raises(ValueError, match="float array"):
        normalised_weights(np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match="K >= 1"):
        normalised_weights(np.zeros((0, 2), np.float32))


@pytest.mark.parametrize("x, lam, error, match", [
    (np.ones((5, 2), np.int64), 10.0, TypeError, "float32 or float64"),
    (np.ones((5, 2), np.float64), 10.0, TypeError, "parameters are float32"),
    (np.ones((5, 2), np.float32), -1.0, ValueError, "at least 0"),
    (np.ones((5, 2), np.float32), float("nan"), ValueError, "finite"),
    (np.ones((0, 2), np.float32), 10.0, ValueError, "at least one row"),
])
def test_the_gradient_penalty_refuses_wrong_points_and_weights(x, lam, error, match):
    with pytest.raises(error, match=match):
        penalty_and_grads(CRITIC, critic_params(), x, lam)


@pytest.mark.parametrize("x, u, error, match", [
    (np.full((3, 6), 255.0, np.float32), None, ValueError, "grey levels in"),      # raw pixels
    (np.full((3, 6), np.nan, np.float32), None, ValueError, "no NaN"),
    (np.zeros((3, 6), np.uint8), None, TypeError, "scale integer images"),
    (X[:3], np.full(6, 0.5), ValueError, "one draw per pixel"),                     # one draw for every image
    (X[:3], np.full((3, 6), np.nan), ValueError, "Uniform"),
])
def test_binarisation_refuses_raw_pixels_nan_and_shared_noise(x, u, error, match):
    with pytest.raises(error, match=match):
        if u is None:
            binarize.fixed(x, 0, "test")
        else:
            binarize.draw(x, u)


def test_binary_exact_quantities_refuse_integer_images():
    enc, gen = binary_params()
    raw = (X * 255).astype(np.uint8)
    for call in (lambda: BINARY.log_marginal(gen, raw), lambda: BINARY.exact_elbo(enc, gen, raw.astype(np.int64)),
                 lambda: bounds.binary_iw_bound(BINARY, enc, gen, raw, 5, np.random.default_rng(0))):
        with pytest.raises(TypeError, match="float32 or float64"):
            call()
    with pytest.raises(ValueError, match="k must be at least 1"):
        bounds.binary_iw_bound(BINARY, enc, gen, X, 0, np.random.default_rng(0))


@pytest.mark.parametrize("u, baseline, match", [
    (np.full((1, 4, 3), np.nan, np.float32), 0.0, "Uniform"),
    (np.full((1, 4, 3), 1.5, np.float32), 0.0, "Uniform"),
    (np.full((1, 4, 3), 0.5, np.float32), float("nan"), "baseline"),
    (np.full((1, 4, 3), 0.5, np.float32), float("inf"), "baseline"),
])
def test_binary_estimators_refuse_bad_noise_and_baselines(u, baseline, match):
    enc, gen = binary_params()
    with pytest.raises(ValueError, match=match):
        binary_estimators.score_function_loss_and_grads(BINARY, enc, gen, X, u, baseline)
    if baseline == 0.0:
        for estimator in (binary_estimators.wake_loss_and_grads, binary_estimators.rws_loss_and_grads):
            with pytest.raises(ValueError, match=match):
                estimator(BINARY, enc, gen, X, u)


def test_binary_estimators_refuse_an_empty_batch():
    enc, gen = binary_params()
    u = np.zeros((1, 0, 3), np.float32)
    for estimator in (binary_estimators.wake_loss_and_grads, binary_estimators.rws_loss_and_grads):
        with pytest.raises(ValueError, match="at least one row"):
            estimator(BINARY, enc, gen, EMPTY, u)
    with pytest.raises(ValueError, match="at least one row"):
        binary_estimators.score_function_loss_and_grads(BINARY, enc, gen, EMPTY, u, 0.0)


@pytest.mark.parametrize("kwargs, error", [({"h_dim": 2.5}, TypeError), ({"h_dim": 0}, ValueError),
                                           ({"hidden": (0,)}, ValueError), ({"x_dim": True}, TypeError)])
def test_a_binary_machine_of_impossible_sizes_is_refused(kwargs, error):
    with pytest.raises(error, match="must be"):
        BinaryHelmholtzMachine(**kwargs)
