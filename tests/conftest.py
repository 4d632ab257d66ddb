"""Shared fixtures: seeded generators, float64 switching, and the two backends.

The 'cupy' backend runs on a real GPU where CuPy sees one, and otherwise on the
CuPy stand-in (:mod:`nprob.cupy_standin`), so the GPU code path is exercised by
every test run. Tests marked ``realgpu`` need the real device and skip without it.
"""
import warnings

import numpy as np
import pytest

from nprob import backend

REAL_GPU = backend.real_gpu_available()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _numpy_backend():
    """Every test starts (and ends) on the NumPy backend."""
    backend.use("numpy")
    yield
    backend.use("numpy")


@pytest.fixture
def cupy_backend(monkeypatch):
    """Select the 'cupy' backend: the real GPU if there is one, else the stand-in. Returns its module."""
    if not REAL_GPU:
        monkeypatch.setenv(backend.STANDIN_VARIABLE, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", backend.StandinWarning)   # tests/test_cupy_standin.py checks it
        backend.use("cupy")
    return backend.xp()


BACKENDS = ["numpy", pytest.param("cupy", marks=pytest.mark.gpu)]


@pytest.fixture(params=BACKENDS)
def any_backend(request):
    """Run a test once per backend ('cupy' on the stand-in where no GPU is present), with that backend active."""
    if request.param == "cupy":
        request.getfixturevalue("cupy_backend")
    else:
        backend.use("numpy")
    return request.param


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs real CuPy and a visible GPU")
    for item in items:
        if "realgpu" in item.keywords and not REAL_GPU:
            item.add_marker(skip)
