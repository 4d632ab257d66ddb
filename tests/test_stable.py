import numpy as np
import pytest

from nprob.stable import logsumexp, sigmoid, softplus


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softplus_finite_and_exact_at_extremes(dtype):
    x = np.array([-1e4, -50, -1, 0, 1, 50, 1e4], dtype=dtype)
    s, sp = sigmoid(x), softplus(x)
    assert s.dtype == dtype and sp.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(sp))
    assert s[0] == 0 and s[-1] == 1 and s[3] == 0.5
    assert sp[-1] == dtype(1e4) and sp[0] == 0
    ref = np.log1p(np.exp(np.array([-1, 0, 1], dtype=np.float64)))
    np.testing.assert_allclose(sp[2:5], ref, rtol=1e-6)


def test_logsumexp_matches_naive_and_survives_large_values(rng):
    a = rng.standard_normal((4, 7))
    np.testing.assert_allclose(logsumexp(a, axis=1), np.log(np.exp(a).sum(axis=1)), rtol=1e-12)
    big = a + 1e4
    np.testing.assert_allclose(logsumexp(big, axis=1), np.log(np.exp(a).sum(axis=1)) + 1e4, rtol=1e-12)
    assert logsumexp(np.full((2, 3), -np.inf), axis=1).tolist() == [-np.inf, -np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_relative_precision_in_the_tails(dtype):
    x = np.array([-80, -30, -10, -1, 1, 10, 30], dtype=dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(sigmoid(x), exact, rtol=tol)
