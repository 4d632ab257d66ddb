import numpy as np
import pytest

from nprob import params
from nprob.gradcheck import check_direction, check_params, numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 2))
    assert relative_error(numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2) < 1e-9


def test_checks_detect_a_wrong_gradient(rng):
    p = params.allocate({"w": (4,), "b": (2,)}, dtype=np.float64)
    p.flat[:] = rng.standard_normal(6)
    f = lambda: float(np.sum(np.sin(p.flat)))  # noqa: E731
    good = p.zeros_like()
    good.flat[:] = np.cos(p.flat)
    bad = good.copy()
    bad["b"][0] *= 1.1
    assert max(check_params(f, p, good).values()) < 1e-9
    assert check_params(f, p, bad)["b"] > 1e-3
    assert check_direction(f, p, good, rng) < 1e-8
    assert check_direction(f, p, bad, np.random.default_rng(1)) > 1e-4


def test_float32_is_refused():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: v.sum(), np.zeros(3, dtype=np.float32))
