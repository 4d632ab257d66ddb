"""Every layer's backward pass against float64 central differences."""
import numpy as np
import pytest

from nprob import nn, params
from nprob.gradcheck import check_params, numerical_gradient, relative_error


def away_from_zero(rng, shape, margin=0.1):
    """Inputs at least ``margin`` from 0, so that finite differences never straddle a ReLU kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin, x)


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_activation_backward(name, rng):
    fwd, bwd = nn.ACTIVATIONS[name]
    x = away_from_zero(rng, (4, 5))
    dy = rng.standard_normal((4, 5))
    _, cache = fwd(x)
    dx = bwd(dy, cache)
    num = numerical_gradient(lambda v: np.sum(fwd(v)[0] * dy), x)
    assert relative_error(num, dx) < 1e-8


def test_linear_backward(rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dy = rng.standard_normal((3, 5))
    _, cache = nn.linear_forward(x, W, b)
    dx, dW, db = nn.linear_backward(dy, cache)
    loss = lambda: np.sum(nn.linear_forward(x, W, b)[0] * dy)  # noqa: E731
    assert relative_error(numerical_gradient(lambda _: loss(), x), dx) < 1e-9
    assert relative_error(numerical_gradient(lambda _: loss(), W), dW) < 1e-9
    assert relative_error(numerical_gradient(lambda _: loss(), b), db) < 1e-9
    assert nn.linear_backward(dy, cache, need_dx=False)[0] is None


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "tanh", "softplus"])
def test_whole_mlp_backward(hidden, rng):
    net = nn.MLP("net", (6, 8, 7, 3), hidden=hidden, output="sigmoid")
    p = params.allocate(net.shapes(), dtype=np.float64)
    net.init(p, rng, "glorot")
    p["net.b1"][...] = rng.standard_normal(8) * 0.1  # biases non-zero too
    x, dy = rng.standard_normal((5, 6)), rng.standard_normal((5, 3))

    def loss():
        return np.sum(net.forward(p, x)[0] * dy)

    grads = p.zeros_like()
    _, caches = net.forward(p, x)
    dx = net.backward(dy, caches, grads)
    errors = check_params(loss, p, grads)
    # ReLU kinks make a few finite differences inexact; the bound for them is looser.
    tol = 1e-4 if "relu" in hidden else 1e-7
    assert max(errors.values()) < tol, errors
    assert relative_error(numerical_gradient(lambda v: np.sum(net.forward(p, v)[0] * dy), x), dx) < tol


def test_mlp_backward_accumulates(rng):
    net = nn.MLP("d", (3, 4, 1))
    p = params.allocate(net.shapes(), dtype=np.float64)
    net.init(p, rng)
    x = rng.standard_normal((2, 3))
    g1 = p.zeros_like()
    net.backward(np.ones((2, 1)), net.forward(p, x)[1], g1)
    g2 = p.zeros_like()
    for _ in range(2):
        net.backward(np.ones((2, 1)), net.forward(p, x)[1], g2)
    np.testing.assert_allclose(g2.flat, 2 * g1.flat)


def test_params_are_views_into_one_buffer(rng):
    net = nn.MLP("enc", (4, 3, 2))
    p = params.allocate(net.shapes())
    assert p.flat.size == 4 * 3 + 3 + 3 * 2 + 2
    p["enc.W2"][...] = 7
    assert np.count_nonzero(p.flat == 7) == 6
    p.flat[:] = 0
    assert not p["enc.W1"].any()
    assert p["enc.W1"].dtype == np.float32


@pytest.mark.parametrize("scheme,expected_std", [("gaussian", 0.05), ("glorot", np.sqrt(2 / 700)),
                                                  ("he", np.sqrt(2 / 400))])
def test_initialisers_have_the_stated_scale(scheme, expected_std, rng):
    W = nn.init_weight((400, 300), scheme, rng, std=0.05)
    assert abs(W.std() / expected_std - 1) < 0.02


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="initialiser"):
        nn.init_weight((2, 2), "xavier-ish", np.random.default_rng(0))
    with pytest.raises(ValueError, match="activation"):
        nn.MLP("m", (2, 2), hidden="gelu")
    with pytest.raises(ValueError, match="layer sizes"):
        nn.MLP("m", (2,))


def test_input_gradient_alone_equals_the_full_backward(rng):
    net = nn.MLP("d", (3, 6, 1), hidden="leaky_relu")
    p = params.allocate(net.shapes(), dtype=np.float64)
    net.init(p, rng)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    caches = net.forward(p, x)[1]
    full = net.backward(dy, caches, p.zeros_like())
    np.testing.assert_allclose(net.backward(dy, caches, None), full)


def test_param_slices_cover_the_buffer_once_and_locate_each_array():
    from nprob.models.helmholtz import HelmholtzMachine
    enc, _ = HelmholtzMachine(x_dim=10, z_dim=2, hidden=(6, 3)).init(np.random.default_rng(0), "glorot")
    covered = np.zeros(enc.flat.size, dtype=int)
    for key, where in enc.slices.items():
        covered[where] += 1
        np.testing.assert_array_equal(enc.flat[where].reshape(enc.shapes[key]), enc[key])
    assert np.all(covered == 1) and list(enc.slices) == list(enc.shapes)
