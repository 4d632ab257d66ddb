"""Binary latents (derivations/12): enumeration against brute force, surrogate gradients by finite
differences, the score-function estimator's mean against the exact gradient, trainers and resume."""
import itertools

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from nprob import backend
from nprob.gradcheck import check_params, numerical_gradient
from nprob.models import binary_estimators as E
from nprob.models.binary_helmholtz import PRIOR, BinaryHelmholtzMachine

TINY = BinaryHelmholtzMachine(x_dim=6, h_dim=3, hidden=(4,), activation="tanh")


@pytest.fixture
def tiny(rng, any_backend):
    enc, gen = TINY.init(rng, "glorot", dtype=np.float64)
    gen[PRIOR][...] = backend.asarray(rng.standard_normal(3), dtype=np.float64)
    x = backend.asarray((rng.random((5, 6)) < 0.5).astype(np.float64), dtype=np.float64)
    return enc, gen, x


def _host(a):
    return backend.to_host(a).astype(np.float64)


def test_enumeration_matches_brute_force_on_three_latents(tiny):
    """(12.2) against a loop over the 8 codes with probabilities written out as sigmoid products."""
    enc, gen, x = tiny
    b, xs = _host(gen[PRIOR]), _host(x)
    expect = []
    for row in xs:
        terms = []
        for code in itertools.product((0, 1), repeat=3):
            h = np.array(code, dtype=np.float64)
            p_h = np.prod(np.where(h == 1, expit(b), 1 - expit(b)))
            probs = expit(_host(TINY.decode(gen, backend.asarray(h[None], dtype=np.float64))[0])[0])
            p_x = np.prod(np.where(row == 1, probs, 1 - probs))
            terms.append(np.log(p_h * p_x))
        expect.append(logsumexp(terms))
    np.testing.assert_allclose(_host(TINY.log_marginal(gen, x)), expect, rtol=1e-12)
    assert np.all(_host(TINY.joint_table(gen, x)).shape == (5, 8))


def test_exact_elbo_is_log_px_minus_the_kl_to_the_posterior(tiny):
    """(12.3) checked by the identity ELBO = log p(x) - KL(q || p(h|x)), the KL summed over codes separately."""
    enc, gen, x = tiny
    table, log_px = _host(TINY.joint_table(gen, x)), _host(TINY.log_marginal(gen, x))
    a = _host(TINY.recognition(enc, x)[0])
    codes = np.array(list(itertools.product((0, 1), repeat=3)), dtype=np.float64)
    q = np.prod(np.where(codes[None] == 1, expit(a)[:, None], 1 - expit(a)[:, None]), axis=2)     # (N, 8)
    kl = np.sum(q * (np.log(q) - (table - log_px[:, None])), axis=1)
    elbo = _host(TINY.exact_elbo(enc, gen, x))
    np.testing.assert_allclose(elbo, log_px - kl, rtol=1e-10)
    assert np.all(kl > 0) and np.all(elbo < log_px)


def test_surrogate_gradients_match_finite_differences(tiny, rng):
    """The two deterministic pieces (codes and weights fixed), and each estimator built from them, in float64."""
    enc, gen, x = tiny
    u = backend.asarray(rng.random((4, 5, 3)), dtype=np.float64)
    a, cache = TINY.recognition(enc, x)
    h = TINY.sample(a, u).copy()
    c = backend.asarray(rng.random((4, 5)), dtype=np.float64)
    lj, pieces = E.log_joint(TINY, gen, x, h)
    g_gen = E.generative_grads(TINY, gen, x, h, c, pieces)
    assert max(check_params(lambda: -(c * E.log_joint(TINY, gen, x, h)[0]).sum(), gen, g_gen).values()) < 1e-7
    g_enc = E.recognition_grads(TINY, enc, a, cache, h, c)
    assert max(check_params(lambda: -(c * TINY.log_q(TINY.recognition(enc, x)[0], h)).sum(), enc, g_enc).values()) < 1e-7
    # RWS: the same pieces with c = w~ / N (weights frozen at the current parameters)
    from nprob.stable import normalised_weights
    w = normalised_weights(lj - TINY.log_q(a, h))[0].copy() / 5
    _, (r_enc, r_gen) = E.rws_loss_and_grads(TINY, enc, gen, x, u)
    assert max(check_params(lambda: -(w * E.log_joint(TINY, gen, x, h)[0]).sum(), gen, r_gen).values()) < 1e-7
    assert max(check_params(lambda: -(w * TINY.log_q(TINY.recognition(enc, x)[0], h)).sum(), enc, r_enc).values()) < 1e-7
    # sleep: -mean log q(h | x~) on dreamt pairs
    h_d, x_d = E.dream(TINY, gen, backend.asarray(rng.random((7, 3)), dtype=np.float64),
                       backend.asarray(rng.random((7, 6)), dtype=np.float64))
    _, s_enc = E.sleep_loss_and_grads(TINY, enc, h_d, x_d)
    assert max(check_params(lambda: -TINY.log_q(TINY.recognition(enc, x_d)[0], h_d).mean(), enc, s_enc).values()) < 1e-7


@pytest.mark.parametrize("baseline", [0.0, -6.0])
def test_score_function_gradient_is_unbiased_by_enumeration(baseline, rng):
    """The mean of (12.5) over many draws against the exact gradient of (12.3), within Monte Carlo error."""
    backend.use("numpy")
    enc, gen = TINY.init(rng, "glorot", dtype=np.float64)
    x = (rng.random((5, 6)) < 0.5).astype(np.float64)
    exact_enc = numerical_gradient(lambda _: -TINY.exact_elbo(enc, gen, x).mean(), enc.flat)
    exact_gen = numerical_gradient(lambda _: -TINY.exact_elbo(enc, gen, x).mean(), gen.flat)
    draws = 60
    batches = [E.score_function_loss_and_grads(TINY, enc, gen, x, rng.random((2000, 5, 3)), baseline)[1]
               for _ in range(draws)]
    for exact, which in ((exact_enc, 0), (exact_gen, 1)):
        values = np.stack([b[which].flat for b in batches])
        mean, se = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(draws)
        z = np.abs(mean - exact) / np.maximum(se, 1e-12)
        assert np.max(z) < 4.5, (which, np.max(z))
        assert np.max(np.abs(mean - exact)) < 0.05 * np.max(np.abs(exact)) + 1e-6


def test_a_pathwise_derivative_through_a_binary_sample_is_zero(tiny, rng):
    """Result 12.2: with the noise fixed, a small change of q's parameters leaves the codes unchanged."""
    enc, gen, x = tiny
    u = backend.asarray(rng.random((50, 5, 3)), dtype=np.float64)
    before = _host(TINY.sample(TINY.recognition(enc, x)[0], u))
    enc.flat += 1e-7
    assert np.array_equal(before, _host(TINY.sample(TINY.recognition(enc, x)[0], u)))


@pytest.mark.parametrize("kind", ["wake_sleep", "rws", "score_function"])
def test_binary_trainers_raise_the_exact_likelihood_and_resume_exactly(kind, tmp_path, any_backend):
    from nprob.training.binary_trainers import BinaryRWSTrainer, BinaryWakeSleepTrainer, ScoreFunctionTrainer
    from nprob.training.loop import fit
    model = BinaryHelmholtzMachine(x_dim=16, h_dim=4, hidden=(8,))
    classes = {"wake_sleep": BinaryWakeSleepTrainer, "rws": BinaryRWSTrainer, "score_function": ScoreFunctionTrainer}

    def make():
        enc, gen = model.init(np.random.default_rng(0), "he")
        return classes[kind](model, enc, gen, lr=1e-2)
    x = backend.asarray((np.random.default_rng(7).random((60, 16)) < 0.3).astype(np.float32))
    run = lambda tr, path, epochs: fit(tr, x, epochs=epochs, batch_size=10, seed=3, checkpoint_path=path,  # noqa: E731
                                       config={"c": 1}, verbose=False)
    first = make()
    start = float(backend.to_host(model.log_marginal(first.players["dec"].params, x)).mean())
    run(first, tmp_path / "a.npz", 4)
    assert float(backend.to_host(model.log_marginal(first.players["dec"].params, x)).mean()) > start
    run(make(), tmp_path / "b.npz", 2)
    again = make()
    run(again, tmp_path / "b.npz", 4)
    for player in ("enc", "dec"):
        np.testing.assert_array_equal(backend.to_host(first.players[player].params.flat),
                                      backend.to_host(again.players[player].params.flat))
    if kind == "score_function":
        assert again.baseline == first.baseline


@pytest.mark.parametrize("damage", ["missing", "inf", "nan"])
def test_a_score_function_checkpoint_without_a_finite_baseline_is_refused_naming_it(tmp_path, damage):
    """Issue 22.16: re-piloting a lost baseline would make the resumed run differ; an infinite one would fail
    an epoch later, blaming the checkpoint written then."""
    from nprob import checkpoint
    from nprob.training.binary_trainers import ScoreFunctionTrainer
    from nprob.training.loop import fit
    model = BinaryHelmholtzMachine(x_dim=16, h_dim=4, hidden=(8,))
    make = lambda: ScoreFunctionTrainer(model, *model.init(np.random.default_rng(0), "he"))  # noqa: E731
    x = backend.asarray((np.random.default_rng(7).random((20, 16)) < 0.3).astype(np.float32))
    path = tmp_path / "sf.npz"
    fit(make(), x, epochs=1, batch_size=10, seed=3, checkpoint_path=path, config={"c": 1}, verbose=False)
    arrays, meta = checkpoint.load(path)
    if damage == "missing":
        del arrays["baseline"]
    else:
        arrays["baseline"] = np.array(float(damage))
    checkpoint.save(path, arrays, meta)
    with pytest.raises(checkpoint.CheckpointError, match=f"{path.name}.*baseline"):
        fit(make(), x, epochs=2, batch_size=10, seed=3, checkpoint_path=path, config={"c": 1}, verbose=False)
