"""WGAN-GP's double backward and PacGAN's packing (derivations/13): float64 finite differences on both backends;
the step-size scatter (13.9) by simulation."""
import numpy as np
import pytest

from nprob import backend
from nprob.gradcheck import check_params, numerical_gradient, relative_error
from nprob.models import gradient_penalty as GP
from nprob.models.gan import GAN
from nprob.nn import MLP, init_networks


def dev(a):
    return backend.asarray(a, dtype=np.float64)


@pytest.fixture(params=["tanh", "leaky_relu", "softplus", "sigmoid"])
def critic(request, rng, any_backend):
    net = MLP("crit", (3, 6, 5, 1), hidden=request.param)
    (params,) = init_networks((net,), rng, "glorot", np.float64)
    params.flat[...] += dev(0.1 * rng.standard_normal(params.flat.size))   # non-zero biases
    return net, params, dev(rng.standard_normal((4, 3)))


def test_input_gradient_matches_finite_differences(critic):
    net, params, x = critic
    g, _ = GP.input_gradient(net, params, x)
    host = backend.to_host(x).copy()
    numeric = numerical_gradient(lambda v: backend.to_float(net.forward(params, dev(v))[0].sum()), host)
    assert relative_error(numeric, g) < 1e-8


def test_penalty_gradient_matches_finite_differences(critic):
    """(13.4)-(13.7): every weight and bias, including the sigma'' terms (zero for leaky ReLU)."""
    net, params, x = critic
    _, _, grads = GP.penalty_and_grads(net, params, x, lam=10.0)
    assert max(check_params(lambda: GP.penalty_and_grads(net, params, x, lam=10.0)[0], params, grads).values()) < 1e-7


def test_penalty_is_zero_for_a_unit_gradient_critic(any_backend):
    """f(x) = w . x with ||w|| = 1 has ||grad f|| = 1 everywhere: no penalty, no gradient."""
    net = MLP("crit", (2, 1))
    (params,) = init_networks((net,), np.random.default_rng(0), "glorot", np.float64)
    params["crit.W1"][...] = dev(np.array([[0.6], [0.8]]))
    value, norm, grads = GP.penalty_and_grads(net, params, dev(np.random.default_rng(1).standard_normal((5, 2))), 10.0)
    assert float(value) == pytest.approx(0.0, abs=1e-12) and float(norm) == pytest.approx(1.0)
    assert float(abs(grads.flat).max()) < 1e-12


@pytest.mark.parametrize("pack", [1, 2])
def test_wgan_gp_critic_loss_gradient_matches_finite_differences(pack, rng, any_backend):
    model = GAN(x_dim=3, z_dim=2, g_hidden=(5,), d_hidden=(6,), activation="tanh", pack=pack)
    g, d = model.init(rng, dtype=np.float64)
    x, z = dev(rng.standard_normal((4, 3))), dev(rng.standard_normal((4, 2)))
    eps = dev(rng.random((4 // pack, 1)))
    scalars, grads = model.discriminator_loss_and_grads(g, d, x, z, critic=True, penalty=10.0, eps=eps)
    loss = lambda: model.discriminator_loss_and_grads(g, d, x, z, True, 10.0, eps)[0]["d_loss"]  # noqa: E731
    assert "grad_norm" in scalars and max(check_params(loss, d, grads).values()) < 1e-7


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating", "critic"])
def test_packed_players_gradients_match_finite_differences(kind, rng, any_backend):
    model = GAN(x_dim=3, z_dim=2, g_hidden=(5,), d_hidden=(6,), activation="tanh", pack=4)
    g, d = model.init(rng, dtype=np.float64)
    x, z = dev(rng.standard_normal((8, 3))), dev(rng.standard_normal((8, 2)))
    _, grad_d = model.discriminator_loss_and_grads(g, d, x, z, critic=kind == "critic")
    d_loss = lambda: model.discriminator_loss_and_grads(g, d, x, z, critic=kind == "critic")[0]["d_loss"]  # noqa: E731
    assert max(check_params(d_loss, d, grad_d).values()) < 1e-7
    _, grad_g = model.generator_loss_and_grads(g, d, z, kind)
    g_loss = lambda: model.generator_loss_and_grads(g, d, z, kind)[0]["g_loss"]  # noqa: E731
    assert max(check_params(g_loss, g, grad_g).values()) < 1e-7


def test_a_pack_is_m_consecutive_samples():
    model = GAN(x_dim=2, pack=3)
    x = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(model.packed(x), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    with pytest.raises(ValueError, match="packs of 3"):
        model.packed(x[:5])
    with pytest.raises(ValueError, match="pack"):
        GAN(pack=0)


@pytest.mark.parametrize("kind,pack", [("wgan_gp", 1), ("nonsaturating", 2)])
def test_remedy_trainers_resume_exactly(kind, pack, tmp_path, any_backend):
    from nprob.training.gan_trainers import Game, GANTrainer
    from nprob.training.loop import fit
    model = GAN(x_dim=2, z_dim=2, g_hidden=(8,), d_hidden=(8,), pack=pack)
    game = Game("critic", penalty=10.0, critic_steps=2) if kind == "wgan_gp" else Game(kind, pack=pack)

    def make():
        g, d = model.init(np.random.default_rng(0))
        return GANTrainer(model, g, d, game, decay_steps=6, final_lr_fraction=0.1)   # the schedule ends in epoch 2
    x = backend.asarray(np.random.default_rng(1).standard_normal((64, 2)).astype(np.float32))
    run = lambda tr, path, epochs: fit(tr, x, epochs=epochs, batch_size=16, seed=2, checkpoint_path=path,  # noqa: E731
                                       config={"c": 1}, verbose=False)
    first = make()
    history = run(first, tmp_path / "a.npz", 3)
    assert ("grad_norm" in history["epochs"][0]) == (kind == "wgan_gp")
    run(make(), tmp_path / "b.npz", 1)
    again = make()
    run(again, tmp_path / "b.npz", 3)
    np.testing.assert_array_equal(backend.to_host(first.players["g"].params.flat),
                                  backend.to_host(again.players["g"].params.flat))


def test_step_size_noise_scales_with_the_step():
    """Simulate (13.8) for a rotating, locally stable 2-D game: the settled covariance is eta * C_1 (13.9).

    20,000 independent chains; the sampling error of a covariance entry is about 1%, the O(eta) term
    at most 2%. A scatter growing like sqrt(eta) would miss by a factor of 2 between the two steps.
    """
    from scipy.linalg import solve_continuous_lyapunov
    jac = np.array([[0.5, 1.0], [-1.0, 0.5]])   # eigenvalues 0.5 +- i: rotation with damping
    c1 = solve_continuous_lyapunov(jac, np.eye(2))
    rng = np.random.default_rng(0)
    settled = {}
    for eta in (0.02, 0.005):
        theta = np.zeros((20000, 2))
        for _ in range(int(12 / (0.5 * eta))):   # 12 e-foldings of the damping
            theta = theta - eta * (theta @ jac.T + rng.standard_normal(theta.shape))
        settled[eta] = theta.T @ theta / len(theta)
        np.testing.assert_allclose(settled[eta] / eta, c1, atol=0.06 * np.abs(c1).max())
    assert np.trace(settled[0.02]) / np.trace(settled[0.005]) == pytest.approx(4, rel=0.08)


def test_step_size_noise_scales_with_the_step_under_adam():
    """Result 13.4 with nprob's Adam: on a noisy quadratic (J = 1 per coordinate, noise sd 1), the
    settled variance of the iterates scales with the step (ratio 4 between lr 0.02 and 0.005, where a
    sqrt(lr) scaling would give 2): Adam's diagonal rescaling P changes J into PJ, not the order in lr."""
    from nprob import optim
    from nprob.params import ParamDict
    rng = np.random.default_rng(0)
    settled = {}
    for lr in (0.02, 0.005):
        params = ParamDict(np.zeros(20000), {"theta": (20000,)})
        grads = params.zeros_like()
        state = optim.adam_state(params)
        for _ in range(int(15 / lr)):                         # about 15 e-foldings at P = 1 / sd(noise)
            grads.flat[...] = params.flat + rng.standard_normal(20000)
            optim.adam_step(params, grads, state, lr=lr, beta1=0.5, beta2=0.999)
        settled[lr] = float(np.mean(params.flat ** 2))
    assert settled[0.02] / settled[0.005] == pytest.approx(4, rel=0.12)


def test_each_toy_method_is_one_game_record_whose_name_and_critic_follow_from_it():
    """Issue 23: one record per game; the run names (noise streams) are those the games always had."""
    from nprob.assignment import toy_games
    from nprob.assignment.gans import GANConfig
    from nprob.training.gan_trainers import Game
    cfg = GANConfig()
    names = {m: toy_games.toy_game(cfg, m).name for m in toy_games.TOY_METHODS if m != "bigan"}
    assert names == {"minimax": "gan_minimax", "nonsaturating": "gan_nonsaturating", "wgan": "wgan",
                     "wgan_gp": "wgan_gp", "pacgan2": "gan_nonsaturating_pack2", "pacgan4": "gan_nonsaturating_pack4"}
    assert {m for m in names if toy_games.toy_game(cfg, m).loss == "critic"} == set(toy_games.CRITIC_METHODS)
    with pytest.raises(ValueError, match="critic only"):
        Game("minimax", clip=0.01)
    with pytest.raises(ValueError, match="not both"):
        Game("critic", clip=0.01, penalty=10.0)


# ----------------------------------------------------------------------------- derivations/14 (14.7, 14.8, 14.13)

from nprob.training.gan_trainers import Game  # noqa: E402

SMALL = GAN(x_dim=3, z_dim=2, g_hidden=(5,), d_hidden=(6,), activation="tanh", g_output="sigmoid")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("real_label", [1.0, 0.9, 0.7])
def test_smoothed_and_noisy_discriminator_gradients(seed, real_label):
    rng = np.random.default_rng(seed)
    g, d = SMALL.init(rng, dtype=np.float64)
    x, z = rng.random((4, 3)), rng.standard_normal((5, 2))
    noise = (0.1 * rng.standard_normal((4, 3)), 0.1 * rng.standard_normal((5, 3)))
    _, grads = SMALL.discriminator_loss_and_grads(g, d, x, z, real_label=real_label, instance_noise=noise)
    f = lambda: SMALL.discriminator_loss_and_grads(g, d, x, z, real_label=real_label,  # noqa: E731
                                                   instance_noise=noise)[0]["d_loss"]
    assert max(check_params(f, d, grads).values()) < 1e-7


def test_label_smoothing_moves_the_optimal_discriminator_to_alpha_times_d_star():
    """For one point with logits free, the smoothed loss is minimised at D = alpha p_d / (p_d + p_g) (14.8):
    with equal real and fake weight at the point, D* = alpha / 2."""
    from nprob.models import gan_losses
    a = np.linspace(-5, 5, 200001)[:, None]
    loss = [float(gan_losses.discriminator_loss(ai[None], ai[None], 0.8)[0]) for ai in a[::1000]]
    best = a[::1000][int(np.argmin(loss))][0]
    assert 1 / (1 + np.exp(-best)) == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize("seed", range(3))
def test_generator_gradient_with_instance_noise(seed):
    rng = np.random.default_rng(seed)
    g, d = SMALL.init(rng, dtype=np.float64)
    z, noise = rng.standard_normal((5, 2)), 0.2 * rng.standard_normal((5, 3))
    _, grads = SMALL.generator_loss_and_grads(g, d, z, "nonsaturating", instance_noise=noise)
    f = lambda: SMALL.generator_loss_and_grads(g, d, z, "nonsaturating", instance_noise=noise)[0]["g_loss"]  # noqa
    assert max(check_params(f, g, grads).values()) < 1e-7


@pytest.mark.parametrize("seed", range(3))
def test_straight_through_gradient_is_the_gradient_of_its_surrogate(seed):
    """(14.13): the gradient is that of theta -> loss(D(b + G_theta(z) - G_theta0(z))), b the binary draw at theta0."""
    rng = np.random.default_rng(seed)
    model = GAN(x_dim=3, z_dim=2, g_hidden=(5,), d_hidden=(6,), activation="tanh", g_output="sigmoid",
                straight_through=True)
    g, d = model.init(rng, dtype=np.float64)
    z, u = rng.standard_normal((5, 2)), rng.random((5, 3))
    x_draw = model.generate(g, z, u)
    assert set(np.unique(x_draw)) <= {0.0, 1.0}
    _, grads = model.generator_loss_and_grads(g, d, z, "nonsaturating", u=u)
    probs0 = SMALL.generate(g, z)
    f = lambda: SMALL.generator_loss_and_grads(g, d, z, "nonsaturating",  # noqa: E731
                                               instance_noise=x_draw - probs0)[0]["g_loss"]
    assert max(check_params(f, g, grads).values()) < 1e-7
    with pytest.raises(ValueError, match="uniforms"):
        model.generator_loss_and_grads(g, d, z, "nonsaturating")
    with pytest.raises(ValueError, match="sigmoid"):
        GAN(straight_through=True)


def test_the_remedies_are_validated_and_named():
    with pytest.raises(ValueError, match="real_label"):
        Game(real_label=0.4)
    with pytest.raises(ValueError, match="real_label"):
        Game("critic", real_label=0.9)
    with pytest.raises(ValueError):
        Game(instance_noise=-0.1)
    game = Game(real_label=0.9, instance_noise=0.1, noise_steps=100)
    assert game.name == "gan_nonsaturating_smooth0.9_noise0.1" and "instance noise" in game.label
    assert game.noise_at(0) == 0.1 and game.noise_at(50) == pytest.approx(0.05) and game.noise_at(200) == 0.0
    assert Game().name == "gan_nonsaturating"
