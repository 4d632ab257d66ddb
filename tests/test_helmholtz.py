"""Whole-model gradient checks of AEVB and of each Wake-Sleep phase, noise held fixed, on both backends."""
import numpy as np
import pytest

from nprob import backend
from nprob.gradcheck import check_direction, check_params
from nprob.models import aevb, wake_sleep
from nprob.models.helmholtz import HelmholtzMachine

MODEL = HelmholtzMachine(x_dim=12, z_dim=2, hidden=(7,), activation="tanh")


def dev(a):
    """A float64 array on the active backend."""
    return backend.asarray(a, dtype=np.float64)


@pytest.fixture
def setup(rng, any_backend):
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    x = dev(rng.random((5, 12)))
    return enc, dec, x


def test_aevb_gradients_match_finite_differences(setup, rng):
    enc, dec, x = setup
    eps = dev(rng.standard_normal((3, 5, 2)))  # L = 3 samples, held fixed
    _, (g_enc, g_dec) = aevb.loss_and_grads(MODEL, enc, dec, x, eps)
    loss = lambda: aevb.loss_and_grads(MODEL, enc, dec, x, eps)[0]["loss"]  # noqa: E731
    assert max(check_params(loss, enc, g_enc).values()) < 1e-7
    assert max(check_params(loss, dec, g_dec).values()) < 1e-7


def test_aevb_gradients_with_relu_along_random_directions(rng, any_backend):
    model = HelmholtzMachine(x_dim=30, z_dim=2, hidden=(16, 9), activation="relu")
    enc, dec = model.init(rng, "he", dtype=np.float64)
    x, eps = dev(rng.random((8, 30))), dev(rng.standard_normal((1, 8, 2)))
    _, (g_enc, g_dec) = aevb.loss_and_grads(model, enc, dec, x, eps)
    loss = lambda: aevb.loss_and_grads(model, enc, dec, x, eps)[0]["loss"]  # noqa: E731
    for seed in range(3):
        assert check_direction(loss, enc, g_enc, np.random.default_rng(seed)) < 1e-6
        assert check_direction(loss, dec, g_dec, np.random.default_rng(seed)) < 1e-6


def test_aevb_loss_is_kl_plus_reconstruction(setup, rng):
    enc, dec, x = setup
    scalars, _ = aevb.loss_and_grads(MODEL, enc, dec, x, dev(rng.standard_normal((1, 5, 2))))
    assert np.isclose(scalars["loss"], scalars["kl"] + scalars["recon"])
    assert scalars["kl"] > 0 and scalars["recon"] > 0


def test_wake_gradient_touches_only_the_generator(setup, rng):
    enc, dec, x = setup
    eps = dev(rng.standard_normal((2, 5, 2)))
    _, g_dec = wake_sleep.wake_loss_and_grads(MODEL, enc, dec, x, eps)
    loss = lambda: wake_sleep.wake_loss_and_grads(MODEL, enc, dec, x, eps)[0]["wake"]  # noqa: E731
    assert max(check_params(loss, dec, g_dec).values()) < 1e-7
    # and the wake loss does depend on phi, through z, yet no gradient is taken for it:
    before = loss()
    enc.flat += 0.1
    assert loss() != before


def test_sleep_gradient_touches_only_the_recognition_net(setup, rng):
    enc, dec, _ = setup
    z = dev(rng.standard_normal((6, 2)))
    x_dream = wake_sleep.dream(MODEL, dec, z, dev(rng.random((6, 12))))
    assert set(np.unique(backend.to_host(x_dream))) <= {0.0, 1.0}
    _, g_enc = wake_sleep.sleep_loss_and_grads(MODEL, enc, z, x_dream)
    loss = lambda: wake_sleep.sleep_loss_and_grads(MODEL, enc, z, x_dream)[0]["sleep"]  # noqa: E731
    assert max(check_params(loss, enc, g_enc).values()) < 1e-7


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, bool, np.float32])
def test_data_of_the_wrong_dtype_are_refused(dtype, rng):
    """Integer data made every gradient 0 and bool data flipped its sign; now they are refused."""
    from nprob import bounds
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    x = (rng.random((5, 12)) < 0.5).astype(dtype)
    eps = rng.standard_normal((1, 5, 2))
    for call in (lambda: aevb.loss_and_grads(MODEL, enc, dec, x, eps),
                 lambda: wake_sleep.wake_loss_and_grads(MODEL, enc, dec, x, eps),
                 lambda: bounds.iw_bound(MODEL, enc, dec, x, 3, backend.rng(0))):
        with pytest.raises(TypeError, match="float32 or float64|parameters are float64"):
            call()


def test_noise_of_shape_n_by_j_means_one_sample(setup, rng):
    enc, dec, x = setup
    eps = dev(rng.standard_normal((5, 2)))
    for loss in (aevb.loss_and_grads, wake_sleep.wake_loss_and_grads):
        flat, grads_flat = loss(MODEL, enc, dec, x, eps)
        one, grads_one = loss(MODEL, enc, dec, x, eps[None])
        assert float(next(iter(flat.values()))) == float(next(iter(one.values())))
        as_tuple = lambda g: g if isinstance(g, tuple) else (g,)  # noqa: E731
        for a, b in zip(as_tuple(grads_flat), as_tuple(grads_one)):
            np.testing.assert_array_equal(backend.to_host(a.flat), backend.to_host(b.flat))
    with pytest.raises(ValueError, match=r"shape \(L, 5, 2\)"):
        aevb.loss_and_grads(MODEL, enc, dec, x, dev(rng.standard_normal((3, 4, 2))))
