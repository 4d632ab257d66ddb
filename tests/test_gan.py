"""Whole-model float64 gradient checks of every player of every game (both backends), and the losses' limits."""
import numpy as np
import pytest

from nprob import backend
from nprob.gradcheck import check_params
from nprob.models import gan_losses
from nprob.models.bigan import BiGAN
from nprob.models.gan import GAN, clip_weights

GAN_MODEL = GAN(x_dim=3, z_dim=2, g_hidden=(5,), d_hidden=(6,), activation="tanh")
TOL = 1e-7


def dev(a):
    """A float64 array on the active backend."""
    return backend.asarray(a, dtype=np.float64)


@pytest.fixture
def gan_setup(rng, any_backend):
    g, d = GAN_MODEL.init(rng, dtype=np.float64)
    return g, d, dev(rng.standard_normal((4, 3))), dev(rng.standard_normal((5, 2)))


@pytest.mark.parametrize("critic", [False, True])
def test_discriminator_and_critic_gradients(critic, gan_setup):
    g, d, x, z = gan_setup
    _, grads = GAN_MODEL.discriminator_loss_and_grads(g, d, x, z, critic=critic)
    f = lambda: GAN_MODEL.discriminator_loss_and_grads(g, d, x, z, critic=critic)[0]["d_loss"]  # noqa: E731
    assert max(check_params(f, d, grads).values()) < TOL


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating", "critic"])
def test_generator_gradients_through_the_discriminator(kind, gan_setup):
    g, d, _, z = gan_setup
    _, grads = GAN_MODEL.generator_loss_and_grads(g, d, z, kind)
    f = lambda: GAN_MODEL.generator_loss_and_grads(g, d, z, kind)[0]["g_loss"]  # noqa: E731
    assert max(check_params(f, g, grads).values()) < TOL


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_three_player_gradients(kind, stochastic, rng, any_backend):
    model = BiGAN(x_dim=3, z_dim=2, g_hidden=(5,), q_hidden=(4,), d_hidden=(6,), activation="tanh",
                  stochastic_q=stochastic)
    g, q, d = model.init(rng, dtype=np.float64)
    x, z = dev(rng.standard_normal((4, 3))), dev(rng.standard_normal((5, 2)))
    eps = dev(rng.standard_normal((4, 2))) if stochastic else None
    _, grad_d = model.discriminator_loss_and_grads(g, q, d, x, z, eps)
    fd = lambda: model.discriminator_loss_and_grads(g, q, d, x, z, eps)[0]["d_loss"]  # noqa: E731
    assert max(check_params(fd, d, grad_d).values()) < TOL
    _, (grad_g, grad_q) = model.generator_inference_loss_and_grads(g, q, d, x, z, kind, eps)
    fgq = lambda: model.generator_inference_loss_and_grads(g, q, d, x, z, kind, eps)[0]["gq_loss"]  # noqa: E731
    assert max(check_params(fgq, g, grad_g).values()) < TOL
    assert max(check_params(fgq, q, grad_q).values()) < TOL


def test_minimax_gradient_saturates_and_nonsaturating_does_not():
    """As D(G(z)) = sigmoid(a) -> 0, d/da log(1 - D) = -sigmoid(a) -> 0 while d/da [-log D] -> -1."""
    a = np.array([[-1.0], [-5.0], [-10.0], [-20.0]])
    _, g_minimax = gan_losses.generator_loss(a, "minimax")
    _, g_ns = gan_losses.generator_loss(a, "nonsaturating")
    per_sample_minimax, per_sample_ns = np.abs(g_minimax[:, 0]) * 4, np.abs(g_ns[:, 0]) * 4
    np.testing.assert_allclose(per_sample_minimax, 1 / (1 + np.exp(-a[:, 0])), rtol=1e-12)
    assert per_sample_minimax[-1] < 1e-8 and per_sample_ns[-1] > 1 - 1e-8
    with pytest.raises(ValueError, match="unknown generator loss"):
        gan_losses.generator_loss(a, "hinge")


def test_losses_are_finite_for_huge_logits():
    a = np.array([[1e4], [-1e4]])
    loss, da_r, da_f = gan_losses.discriminator_loss(a, a)
    assert np.isfinite(loss) and np.all(np.isfinite(da_r)) and np.all(np.isfinite(da_f))


def test_weight_clipping(gan_setup):
    _, d, _, _ = gan_setup
    d.flat[:] = dev(np.linspace(-1, 1, d.flat.size))
    clip_weights(d, 0.01)
    assert float(abs(d.flat).max()) == 0.01 and float(d["disc.W1"].max()) <= 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_side_and_nonsaturating_gradients_keep_precision_in_the_tail(dtype):
    """d softplus(-a)/da = -sigmoid(-a): written so, it keeps full relative precision where D is sure
    (as 1 - sigmoid(a) it would be exactly 0 in float32 from a of about 17 on)."""
    a = np.array([[-30.0], [-5.0], [5.0], [17.0], [25.0], [40.0], [80.0]], dtype=dtype)
    exact = -1 / (1 + np.exp(a.astype(np.float64))) / len(a)       # -sigmoid(-a) / N
    tol = 1e-6 if dtype == np.float32 else 1e-14
    _, da_real, _ = gan_losses.discriminator_loss(a, a)
    _, da_ns = gan_losses.generator_loss(a, "nonsaturating")
    for grad in (da_real, da_ns):
        assert grad.dtype == dtype and np.all(grad < 0)
        np.testing.assert_allclose(grad, exact, rtol=tol)
