"""Shared fixtures: seeded generators, float64 switching, and the two backends."""
import numpy as np
import pytest

from nprob import backend


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _numpy_backend():
    """Every test starts (and ends) on the NumPy backend."""
    backend.use("numpy")
    yield
    backend.use("numpy")


BACKENDS = [
    "numpy",
    pytest.param("cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(
        not backend.cupy_available(), reason="CuPy with a visible GPU is not available")]),
]


@pytest.fixture(params=BACKENDS)
def any_backend(request):
    """Run a test once per available backend, with that backend active."""
    backend.use(request.param)
    return request.param
