"""The CuPy stand-in is as strict as CuPy where code goes wrong, and says that it is not a GPU."""
import importlib.util
import warnings

import matplotlib
import numpy as np
import pytest
import scipy.special

from nprob import backend, cupy_standin as cp
from nprob.cupy_standin import _names

matplotlib.use("Agg")


@pytest.fixture
def a():
    return cp.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda v: np.asarray(v, dtype=np.float64)])
def test_implicit_conversion_to_numpy_is_refused(a, convert):
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        convert(a)


def test_scipy_and_matplotlib_refuse_device_arrays(a):
    with pytest.raises(TypeError):
        scipy.special.expit(a)
    with pytest.raises(TypeError):
        scipy.special.logsumexp(a)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    try:
        with pytest.raises(TypeError):
            ax.plot(a[0], a[1])
            fig.canvas.draw()
    finally:
        plt.close(fig)


def test_host_arrays_do_not_mix_into_device_expressions(a):
    host = np.ones(3, dtype=np.float32)
    for mixed in (lambda: a + host, lambda: host * a, lambda: cp.exp(host), lambda: cp.concatenate([a, host[None]]),
                  lambda: cp.maximum(a, host), lambda: a[host.astype(bool)]):
        with pytest.raises(TypeError, match="Unsupported type"):
            mixed()
    with pytest.raises(ValueError, match="cannot be used for fill"):
        a[0] = host                              # only a[:] = host copies a host array in
    b = cp.zeros(3, dtype=np.float32)
    b[:] = host
    assert b.sum().item() == 3


def test_only_names_real_cupy_has_are_offered(a):
    with pytest.raises(AttributeError, match="no attribute 'errstate'"):
        cp.errstate
    with pytest.raises(AttributeError, match="no attribute 'permutation'"):
        cp.random.default_rng(0).permutation(5)
    with pytest.raises(AttributeError, match="no attribute 'normal'"):
        cp.random.default_rng(0).normal(size=3)
    with pytest.raises(AttributeError, match="no attribute .itemset."):
        a.itemset(0, 1.0)
    with pytest.raises(TypeError, match="no implementation found"):
        np.insert(a, 0, 1.0)                      # a NumPy function CuPy lacks is refused ...
    with pytest.raises(TypeError):
        np.spacing(a)                             # ... and a NumPy ufunc CuPy lacks ...
    assert float(np.mean(a)) == 2.5               # ... while one it has runs, on the device


def test_results_stay_on_the_device_and_come_home_explicitly(a):
    total = a.sum()
    assert isinstance(total, cp.ndarray) and total.shape == ()
    assert isinstance(a[0, 1], cp.ndarray)
    assert isinstance(np.exp(a), cp.ndarray) and isinstance(np.concatenate([a, a]), cp.ndarray)
    assert float(total) == 15.0 and total.item() == 15.0 and a.tolist()[1] == [3.0, 4.0, 5.0]
    assert isinstance(a.get(), np.ndarray) and isinstance(cp.asnumpy(a), np.ndarray)
    assert f"{a.mean():.2f}" == "2.50"
    view = a.reshape(-1)
    view[0] = 7                                   # views share memory, as on the device
    assert a[0, 0].item() == 7
    a *= np.float32(2)                             # in place, dtype kept
    assert a.dtype == np.float32 and a[0, 0].item() == 14


def test_generator_offers_cupys_methods():
    gen = cp.random.default_rng(3)
    x = gen.standard_normal((2, 3), dtype=np.float32)
    assert isinstance(x, cp.ndarray) and x.dtype == np.float32
    assert isinstance(gen.random(4, dtype=np.float32), cp.ndarray)
    with pytest.raises(TypeError, match="integer seed"):
        cp.random.default_rng(np.random.SeedSequence(1))


def test_fuse_runs_the_readable_form_and_source_kernels_refuse(a):
    @cp.fuse()
    def axpy(x, y):
        return x * np.float32(2) + y

    np.testing.assert_array_equal(axpy(a, a).get(), 3 * a.get())
    kernel = cp.ElementwiseKernel("float32 x", "float32 y", "y = x", "copy")
    with pytest.raises(NotImplementedError, match="cannot run CUDA source"):
        kernel(a)


def test_backend_says_the_standin_is_not_a_gpu(monkeypatch):
    monkeypatch.setenv(backend.STANDIN_VARIABLE, "1")
    backend.use("numpy")
    with pytest.warns(backend.StandinWarning, match="no GPU is used"):
        backend.use("cupy")
    assert backend.is_standin() and "stand-in" in backend.device_name()
    assert "standin_pool_mib_no_gpu" in backend.peak_memory_mib()
    from nprob.assignment.vae_mnist import versions
    info = versions()
    assert "stand-in" in info["cupy"] and "no GPU" in info["gpu"]
    backend.xp().cuda.Stream.null.synchronize()   # the benchmarks' sync works


@pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="real CuPy is not installed")
def test_committed_name_lists_match_the_installed_cupy():
    import cupy
    if cupy.__version__ != _names.version():
        pytest.skip(f"installed CuPy {cupy.__version__}, lists made from {_names.version()}")
    fresh = _names.read_from_cupy()
    for namespace, listed in fresh.items():
        if isinstance(listed, list):
            assert frozenset(listed) == _names.names(namespace), namespace


def test_standin_is_never_chosen_without_the_variable(monkeypatch):
    monkeypatch.delenv(backend.STANDIN_VARIABLE, raising=False)
    if backend.real_gpu_available():
        pytest.skip("a real GPU is present")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(backend.BackendError):
            backend.use("cupy")


@pytest.mark.realgpu
def test_real_cupy_refuses_what_the_standin_refuses():
    """On a real GPU: the refusals the stand-in imitates are real CuPy's own."""
    import cupy
    a = cupy.arange(6, dtype=np.float32).reshape(2, 3)
    for attempt in (lambda: np.asarray(a), lambda: a + np.ones(3, np.float32),
                    lambda: cupy.random.default_rng(0).permutation(3), lambda: cupy.errstate):
        with pytest.raises((TypeError, AttributeError)):
            attempt()
    assert "stand-in" not in backend.device_name() or backend.name() == "numpy"
