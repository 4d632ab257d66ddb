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


def _adam_run(rng_seed: int, steps: int, dtype=np.float32):
    """Parameters after ``steps`` Adam steps on fixed random gradients, on the active backend (host copy)."""
    rng = np.random.default_rng(rng_seed)
    p = params.allocate({"w": (300,), "b": (7,)}, dtype=dtype)
    p.flat[...] = backend.asarray(rng.standard_normal(307), dtype=dtype)
    state, g = optim.adam_state(p), p.zeros_like()
    for _ in range(steps):
        g.flat[...] = backend.asarray(rng.standard_normal(307) * 10.0 ** rng.integers(-6, 2, 307), dtype=dtype)
        optim.adam_step(p, g, state, lr=1e-3, beta1=0.9, beta2=0.999)
    return backend.to_host(p.flat)


@pytest.mark.gpu
def test_the_fused_adam_kernel_is_one_launch_and_equals_the_numpy_update(cupy_backend):
    """Issue 24: the CuPy path's Adam is one fused kernel (ten launches before); on the stand-in its readable
    form runs and equals NumPy's ten passes to the bit, on a GPU to float32 rounding."""
    import warnings
    from nprob import cupy_standin
    fused = _adam_run(3, 2 * optim.FLUSH_EVERY + 7)
    backend.use("numpy")
    reference = _adam_run(3, 2 * optim.FLUSH_EVERY + 7)
    if backend.is_standin(cupy_backend):
        np.testing.assert_array_equal(fused, reference)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", backend.StandinWarning)
            backend.use("cupy")
        p = params.allocate({"w": (5,)})
        state, g = optim.adam_state(p), p.zeros_like()
        with cupy_standin.counting() as c:
            optim.adam_step(p, g, state)
        assert c.launches == 1 and c.syncs == 0
    else:
        np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=1e-7)
