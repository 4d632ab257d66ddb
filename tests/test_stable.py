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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_pieces_and_normalised_weights_never_go_subnormal(dtype):
    """Subnormal entries slow matrix products several times on x86 (an AEVB step 2.1x after 100 epochs);
    the clamp keeps every value normal and moves softplus and sigmoid by less than their floor."""
    from nprob.stable import normalised_weights
    from nprob.stable import EXP_FLOOR, softplus_and_sigmoid
    x = np.linspace(-120, 120, 2001).astype(dtype)
    sp, s = softplus_and_sigmoid(x)
    tiny = np.finfo(dtype).tiny
    assert not np.any((s > 0) & (s < tiny)) and not np.any((sp > 0) & (sp < tiny))
    floor = np.exp(EXP_FLOOR[np.dtype(dtype)])
    from scipy.special import expit
    exact = expit(x.astype(np.float64))
    error = np.abs(s - exact)
    assert np.all(error[x < EXP_FLOOR[np.dtype(dtype)]] <= 1.01 * floor)
    assert np.all(error[x >= EXP_FLOOR[np.dtype(dtype)]] <= 4 * np.finfo(dtype).eps * exact[x >= EXP_FLOOR[np.dtype(dtype)]])
    log_w = np.array([[0.0, 0.0], [-20.0, -35.0], [-95.0, -700.0]], dtype=dtype)
    w, _ = normalised_weights(log_w)
    assert not np.any((w > 0) & (w < floor)) and (w[2, 0] == 0) == (-95 < EXP_FLOOR[np.dtype(dtype)]) and w[1, 0] > 0
    np.testing.assert_allclose(w.sum(axis=0), 1, rtol=1e-6)
