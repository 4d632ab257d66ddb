import numpy as np
import pytest

from nprob import backend, optim, params


def quadratic_problem(rng):
    """loss(theta) = 1/2 (theta - c)^T A (theta - c) with A positive definite."""
    p = params.allocate({"a": (3,), "b": (2, 2)}, dtype=np.float64)
    p.flat[:] = rng.standard_normal(7) * 3
    M = rng.standard_normal((7, 7))
    A = M @ M.T / 7 + np.eye(7)
    c = rng.standard_normal(7)
    return p, A, c


@pytest.mark.parametrize("name,lr", [("adam", 0.05), ("sgd", 0.05)])
def test_optimisers_reach_the_minimum_of_a_quadratic(name, lr, rng):
    p, A, c = quadratic_problem(rng)
    make_state, step = optim.OPTIMISERS[name]
    state, grads = make_state(p), p.zeros_like()
    for _ in range(3000):
        grads.flat[:] = A @ (p.flat - c)
        step(p, grads, state, lr=lr)
    np.testing.assert_allclose(p.flat, c, atol=1e-6)
    assert state["t"] == 3000


def test_adam_first_step_is_lr_times_sign_of_gradient():
    """With bias correction, m_hat = g and v_hat = g^2 at t = 1, so the step is lr * g / (|g| + eps)."""
    p = params.allocate({"w": (4,)}, dtype=np.float64)
    g = p.zeros_like()
    g.flat[:] = [1e-3, -2.0, 50.0, -1e-6]
    optim.adam_step(p, g, optim.adam_state(p), lr=0.1, eps=1e-8)
    expected = -0.1 * g.flat / (np.abs(g.flat) + 1e-8)
    np.testing.assert_allclose(p.flat, expected, rtol=1e-7)


def test_adam_matches_the_textbook_update_over_many_steps(rng, any_backend):
    p = params.allocate({"w": (5,), "b": (2,)}, dtype=np.float64)
    ref = np.zeros(7)
    m = np.zeros(7)
    v = np.zeros(7)
    state, g = optim.adam_state(p), p.zeros_like()
    for t in range(1, 2 * optim.FLUSH_EVERY + 30):
        g_host = rng.standard_normal(7)
        g.flat[:] = backend.asarray(g_host, dtype=np.float64)
        optim.adam_step(p, g, state, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
        m = 0.8 * m + 0.2 * g_host
        v = 0.99 * v + 0.01 * g_host**2
        ref -= 0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-6)
    np.testing.assert_allclose(backend.to_host(p.flat), ref, rtol=1e-10)


def test_vanishing_moments_are_flushed_to_zero():
    """Weights that stop getting gradient: their moments are set to 0 before they turn subnormal."""
    p = params.allocate({"w": (3,)})
    state, g = optim.adam_state(p), p.zeros_like()
    state["m_sum"][:] = [1e-31, 1e-3, -1e-31]
    state["v_sum"][:] = [1e-31, 1e-3, 1e-29]
    state["t"] = optim.FLUSH_EVERY - 1
    optim.adam_step(p, g, state)            # the step with t % FLUSH_EVERY == 0
    assert state["m_sum"][0] == 0 and state["m_sum"][2] == 0 and state["m_sum"][1] != 0
    assert state["v_sum"][0] == 0 and state["v_sum"][2] != 0
