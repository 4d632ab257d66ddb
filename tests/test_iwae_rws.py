"""IWAE and reweighted wake-sleep (derivations/11): float64 gradient checks with the noise held fixed."""
import numpy as np
import pytest

from nprob import backend
from nprob.gradcheck import check_params
from nprob.models import aevb, iwae, rws
from nprob.models.helmholtz import HelmholtzMachine
from nprob.stable import normalised_weights

MODEL = HelmholtzMachine(x_dim=12, z_dim=2, hidden=(7,), activation="tanh")


@pytest.fixture
def setup(rng, any_backend):
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    dev = lambda a: backend.asarray(a, dtype=np.float64)  # noqa: E731
    return enc, dec, dev(rng.random((5, 12))), dev(rng.standard_normal((4, 5, 2)))


def test_iwae_gradients_match_finite_differences(setup):
    enc, dec, x, eps = setup
    _, (g_enc, g_dec) = iwae.loss_and_grads(MODEL, enc, dec, x, eps)
    loss = lambda: iwae.loss_and_grads(MODEL, enc, dec, x, eps)[0]["loss"]  # noqa: E731
    assert max(check_params(loss, enc, g_enc).values()) < 1e-7
    assert max(check_params(loss, dec, g_dec).values()) < 1e-7


def test_iwae_gradient_is_the_weighted_average_of_per_sample_gradients(setup):
    """(11.2) a second way: grad log w_i from the k = 1 loss at sample i (which is -log w_i / N), weighted by w~_i."""
    enc, dec, x, eps = setup
    _, (g_enc, g_dec) = iwae.loss_and_grads(MODEL, enc, dec, x, eps)
    from nprob import bounds
    weights, _ = normalised_weights(bounds.log_weights(MODEL, enc, dec, x, eps))        # (K, N)
    expect_enc, expect_dec = np.zeros(enc.flat.size), np.zeros(dec.flat.size)
    for n in range(x.shape[0]):                  # one image at a time: its weights differ from the others'
        for i in range(eps.shape[0]):
            _, (ge, gd) = iwae.loss_and_grads(MODEL, enc, dec, x[n:n + 1], eps[i:i + 1, n:n + 1])
            w = float(weights[i, n]) / x.shape[0]
            expect_enc += w * backend.to_host(ge.flat)
            expect_dec += w * backend.to_host(gd.flat)
    np.testing.assert_allclose(backend.to_host(g_enc.flat), expect_enc, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(backend.to_host(g_dec.flat), expect_dec, rtol=1e-9, atol=1e-12)


def test_iwae_with_one_sample_follows_the_elbo(setup):
    """k = 1: the same expectation as AEVB's estimator, whose KL is in closed form; equal in mean, and the
    decoder gradients (which do not involve the KL) are equal draw by draw."""
    enc, dec, x, eps = setup
    _, (_, g_iwae) = iwae.loss_and_grads(MODEL, enc, dec, x, eps[:1])
    _, (_, g_aevb) = aevb.loss_and_grads(MODEL, enc, dec, x, eps[:1])
    np.testing.assert_allclose(backend.to_host(g_iwae.flat), backend.to_host(g_aevb.flat), rtol=1e-10, atol=1e-14)


def test_rws_gradients_match_finite_differences_of_their_surrogates(setup):
    """Weights and codes held fixed: wake-theta is the derivative of -(1/N) sum w~ log p(x|z), wake-phi of (11.4)."""
    enc, dec, x, eps = setup
    _, (g_enc, g_dec) = rws.loss_and_grads(MODEL, enc, dec, x, eps)
    from nprob import bounds
    from nprob import distributions as D
    mu, logvar, _ = MODEL.encode(enc, x)
    z = D.gaussian_sample(mu, logvar, eps)[0].copy()
    w = normalised_weights(bounds.log_weights(MODEL, enc, dec, x, eps))[0].copy()
    n = x.shape[0]

    def wake_theta():
        return -(w * D.bernoulli_log_likelihood(x, MODEL.decode(dec, z)[0])).sum() / n

    def wake_phi():
        m, lv, _ = MODEL.encode(enc, x)
        return -(w * D.gaussian_log_density(z, m, lv)).sum() / n
    assert max(check_params(wake_theta, dec, g_dec).values()) < 1e-7
    assert max(check_params(wake_phi, enc, g_enc).values()) < 1e-7


def test_rws_theta_gradient_equals_iwae_theta_gradient(setup):
    enc, dec, x, eps = setup
    _, (_, g_rws) = rws.loss_and_grads(MODEL, enc, dec, x, eps)
    _, (_, g_iwae) = iwae.loss_and_grads(MODEL, enc, dec, x, eps)
    np.testing.assert_allclose(backend.to_host(g_rws.flat), backend.to_host(g_iwae.flat), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", ["iwae", "rws", "rws_sleep"])
def test_trainers_lower_the_loss_and_resume_exactly(kind, tmp_path, any_backend):
    from nprob.training.loop import fit
    from nprob.training.trainers import IWAETrainer, RWSTrainer
    model = HelmholtzMachine(x_dim=16, z_dim=2, hidden=(8,))

    def make():
        enc, dec = model.init(np.random.default_rng(0), "he")
        if kind == "iwae":
            return IWAETrainer(model, enc, dec, k=5, lr=1e-2)
        return RWSTrainer(model, enc, dec, k=5, lr=1e-2, sleep=kind == "rws_sleep", sleep_samples=7)
    x = backend.asarray(np.random.default_rng(7).random((60, 16)).astype(np.float32))
    run = lambda tr, path, epochs: fit(tr, x, epochs=epochs, batch_size=10, seed=3, checkpoint_path=path,  # noqa: E731
                                       config={"c": 1}, verbose=False)
    straight = make()
    history = run(straight, tmp_path / "a.npz", 4)
    assert history["epochs"][-1]["loss"] < history["epochs"][0]["loss"]
    resumed = make()
    run(resumed, tmp_path / "b.npz", 2)
    run(make(), tmp_path / "b.npz", 4)
    again = make()
    run(again, tmp_path / "b.npz", 4)
    np.testing.assert_array_equal(backend.to_host(straight.players["dec"].params.flat),
                                  backend.to_host(again.players["dec"].params.flat))
