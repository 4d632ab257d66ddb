"""Section 1.4 measured (derivations/12 result 12.5 and the part's plumbing): the two Gaussian estimators,
the mean-agreement check that guards the variance comparison, the cost counts and the configuration."""
import numpy as np
import pytest

from nprob import backend
from nprob import distributions as D
from nprob.assignment import gradient_variance as G
from nprob.assignment import discrete_latents
from nprob.gradcheck import check_params
from nprob.models import score_function
from nprob.models.helmholtz import HelmholtzMachine

MODEL = HelmholtzMachine(x_dim=10, z_dim=2, hidden=(6,), activation="tanh")


@pytest.fixture
def gaussian(rng):
    backend.use("numpy")
    enc, dec = MODEL.init(rng, "glorot", dtype=np.float64)
    return enc, dec, rng.random((4, 10))


def test_score_function_gradient_is_the_gradient_of_its_surrogate(gaussian, rng):
    """(12.7) with z and the learning signal held fixed: -sum c log q(z|x) + mean KL, by finite differences."""
    enc, dec, x = gaussian
    eps = rng.standard_normal((3, 4, 2))
    baseline = rng.standard_normal(4)
    g = score_function.recognition_grads(MODEL, enc, dec, x, eps, baseline)
    mu, logvar, _ = MODEL.encode(enc, x)
    z = D.gaussian_sample(mu, logvar, eps)[0].copy()
    c = (D.bernoulli_log_likelihood(x, MODEL.decode(dec, z)[0]) - baseline) / 12

    def surrogate():
        m, lv, _ = MODEL.encode(enc, x)
        return -(c * D.gaussian_log_density(z, m, lv)).sum() + D.kl_to_standard_normal(m, lv).mean()
    assert max(check_params(surrogate, enc, g).values()) < 1e-7


def test_both_gaussian_estimators_have_the_same_mean(gaussian):
    """Unbiased both (result 12.5): the agreement ratio stays within its tolerance; a biased estimator does not."""
    enc, dec, x = gaussian
    draws, samples = 1000, 64
    baseline = score_function.pilot_baseline(MODEL, enc, dec, x, backend.standard_normal(backend.rng(0, "pilot"), (G.PILOT, *x.shape[:1], 2), x.dtype))
    rep = G.moments(MODEL, enc, dec, x, "reparameterisation", samples, draws, backend.rng(0, "a"))
    for estimator in ("score function", "score function, baseline"):
        sf = G.moments(MODEL, enc, dec, x, estimator, samples, draws, backend.rng(0, "b", estimator), baseline)
        agree = G.mean_agreement(*rep, *sf, draws)
        assert agree["ratio"] <= 1 + agree["tolerance"], (estimator, agree)
    biased = rep[0] + 0.2 * np.abs(rep[0]).max(), rep[1]
    agree = G.mean_agreement(*biased, *rep, draws)
    assert agree["ratio"] > 1 + agree["tolerance"]


def test_the_baseline_lowers_the_score_functions_variance_on_a_trained_scale(gaussian):
    """Not a promise of the mathematics in general, but of this construction: with f large and nearly constant
    across draws (as for images, f ~ -100 nats), subtracting its mean removes most of the variance."""
    enc, dec, _ = gaussian
    x = np.ones((4, 10))
    baseline = score_function.pilot_baseline(MODEL, enc, dec, x, backend.standard_normal(backend.rng(0, "pilot"), (G.PILOT, *x.shape[:1], 2), x.dtype))
    plain = G.moments(MODEL, enc, dec, x, "score function", 1, 200, backend.rng(1))[1].sum()
    with_b = G.moments(MODEL, enc, dec, x, "score function, baseline", 1, 200, backend.rng(2), baseline)[1].sum()
    assert with_b < plain


def test_cost_per_data_point_reads_section_1_6s_seconds():
    metrics = {"aevb": {"epochs": [{"seconds": 6.0}, {"seconds": 3.0}, {"seconds": 4.0}]},
               "wake_sleep": {"epochs": [{"seconds": 5.0}]}}
    cost = discrete_latents.cost_per_data_point(metrics)
    assert cost["aevb"]["seconds"] == pytest.approx(4.0 / 60000)
    assert 1 < cost["wake_sleep"]["flops"] / cost["aevb"]["flops"] < 2
    assert discrete_latents.cost_per_data_point({})["aevb"]["seconds"] is None


def test_section14_settings_are_validated():
    with pytest.raises(ValueError, match="h_dim"):
        discrete_latents.Section14Config(h_dim=21)
    with pytest.raises(ValueError, match="var_draws"):
        discrete_latents.Section14Config(var_draws=1)
    with pytest.raises(ValueError, match="must be positive"):
        discrete_latents.Section14Config(epochs=0)
    a, b = discrete_latents.Section14Config(), discrete_latents.Section14Config(rws_k=7, var_draws=5, epochs=30)
    assert a.for_checkpoint("wake_sleep") == b.for_checkpoint("wake_sleep")   # another run's setting, or epochs
    assert a.for_checkpoint("rws") != b.for_checkpoint("rws")


def test_a_skipped_variance_measurement_is_not_kept_and_a_measurement_follows_the_aevb_epoch(tmp_path, monkeypatch):
    """Issue 22.2: a note that the AEVB model is missing is not cached as a result, and a measurement made
    after epoch 1 is made again once AEVB has trained further."""
    from dataclasses import asdict
    from types import SimpleNamespace
    from nprob import checkpoint
    from nprob.training import state
    from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer
    hcfg = HelmholtzConfig(hidden=(8,), n_train=20, n_test=10, n_eval_train=10, batch_size=10, truth_images=10,
                           truth_track_images=10)
    cfg = discrete_latents.Section14Config(n_train=100, n_test=50, n_eval_train=50, bound_images=10, var_images=5,
                                    batch_size=10, var_draws=2)
    mnist = SimpleNamespace(x_train=np.random.default_rng(0).random((20, 784), dtype=np.float32),
                            x_test=np.random.default_rng(1).random((10, 784), dtype=np.float32))
    measured = []
    monkeypatch.setattr(G, "measure", lambda *a: measured.append(1) or {"value": len(measured)})
    metrics = {"config": asdict(hcfg)}
    first = discrete_latents.variance(cfg, tmp_path, metrics, mnist, verbose=False)
    assert "skipped" in first and "settings" not in first and not measured

    def save_aevb(epoch):
        trainer = make_trainer(hcfg, "aevb")
        checkpoint.save(tmp_path / "checkpoints" / "aevb.npz", state.arrays(trainer), {"epoch": epoch})
    for epoch, measurements in ((1, 1), (1, 1), (3, 2)):
        save_aevb(epoch)
        metrics["section14"] = {"variance": discrete_latents.variance(cfg, tmp_path, metrics, mnist, verbose=False)}
        assert len(measured) == measurements and metrics["section14"]["variance"]["epoch"] == epoch


def test_a_damaged_aevb_checkpoint_is_refused_before_section_1_4_trains(tmp_path):
    """Issue 22.14: every checkpoint the part will read is checked before anything is written."""
    from nprob.checkpoint import CheckpointError
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "aevb.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="aevb.npz"):
        discrete_latents.check_checkpoints(discrete_latents.Section14Config(), tmp_path)
