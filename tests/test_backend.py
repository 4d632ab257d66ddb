"""The backend switch; NumPy and CuPy (or its stand-in) agree."""
import numpy as np
import pytest

from nprob import backend, distributions, nn, params


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        backend.use("jax")


def test_cupy_request_without_cupy_says_what_to_install(monkeypatch):
    if backend.real_gpu_available():
        pytest.skip("CuPy is usable here")
    monkeypatch.delenv(backend.STANDIN_VARIABLE, raising=False)
    with pytest.raises(backend.BackendError, match="pip install cupy-cuda"):
        backend.use("cupy")
    assert backend.name() == "numpy"


def test_rng_streams_are_reproducible_and_independent(any_backend):
    a = backend.to_host(backend.standard_normal(backend.rng(0, "aevb", 3), (5,)))
    b = backend.to_host(backend.standard_normal(backend.rng(0, "aevb", 3), (5,)))
    c = backend.to_host(backend.standard_normal(backend.rng(0, "aevb", 4), (5,)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.dtype == np.float32


def test_arrays_follow_the_active_backend(any_backend):
    x = backend.asarray([[1.0, 2.0]])
    assert backend.get_array_module(x) is backend.xp()
    assert x.dtype == np.float32
    assert isinstance(backend.to_host(x), np.ndarray)


@pytest.mark.gpu
def test_numpy_and_cupy_agree_on_forward_and_backward(rng, request):
    net = nn.MLP("net", (784, 512, 4), hidden="relu")
    host = params.allocate(net.shapes())
    net.init(host, rng, "he")
    x = rng.random((100, 784), dtype=np.float32)
    dy = rng.standard_normal((100, 4)).astype(np.float32)
    out = {}
    for name in ("numpy", "cupy"):
        if name == "cupy":
            request.getfixturevalue("cupy_backend")
        else:
            backend.use(name)
        p = params.allocate(net.shapes())
        p.load(host.flat)
        g = p.zeros_like()
        y, caches = net.forward(p, backend.asarray(x))
        net.backward(backend.asarray(dy), caches, g)
        ll = distributions.bernoulli_log_likelihood(backend.asarray(x[:, :4]), y)
        out[name] = [backend.to_host(a) for a in (y, g.flat, ll)]
    for a, b in zip(out["numpy"], out["cupy"]):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * np.abs(a).max())
