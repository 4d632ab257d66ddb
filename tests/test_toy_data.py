"""The 2-D mixtures and the mode-coverage measures (issue 16): geometry pinned, each criterion on known samples."""
import numpy as np
import pytest

from nprob.toy_data import MIXTURES, STRICT, mode_coverage, sample_mixture


def test_the_mixtures_have_distinct_well_separated_modes():
    """8 distinct ring modes and 25 distinct grid modes, each pair far apart in units of the component std
    (a widely copied ring sampler repeats one mode, which would make 8 of 8 unreachable)."""
    for name, count in (("ring8", 8), ("grid25", 25)):
        modes, std = MIXTURES[name]
        assert modes.shape == (count, 2)
        gaps = np.linalg.norm(modes[:, None] - modes[None], axis=2)[~np.eye(count, dtype=bool)]
        assert gaps.min() > 20 * std
    np.testing.assert_allclose(np.linalg.norm(MIXTURES["ring8"][0], axis=1), 2.0)
    draws = sample_mixture("ring8", 8000, np.random.default_rng(0))
    assert mode_coverage(draws, "ring8")["modes"] == 8


def test_the_criteria_on_known_samples():
    modes, std = MIXTURES["grid25"]
    rng = np.random.default_rng(1)
    one_each = modes + 0.1 * std * rng.standard_normal(modes.shape)            # one good sample per mode
    pile = np.repeat(modes[:1], STRICT, axis=0)                                  # STRICT good samples at mode 0
    far = modes[:5] + 0.9                                                        # between modes: not high quality
    cov = mode_coverage(np.concatenate([one_each, pile, far]).astype(np.float32), "grid25")
    assert cov["modes_published"] == 25 and cov["modes"] == 1
    assert cov["high_quality"] == pytest.approx((25 + STRICT) / (25 + STRICT + 5))
    counts = np.array([1 + STRICT] + [1] * 24)
    counts[:5] += 1                                                              # the far samples count too
    p = counts / counts.sum()
    assert cov["reverse_kl"] == pytest.approx(np.log(25) + np.sum(p * np.log(p)))


def test_reverse_kl_is_zero_for_a_perfect_spread_and_log_k_for_one_mode():
    modes, _ = MIXTURES["ring8"]
    assert mode_coverage(np.repeat(modes, 30, axis=0), "ring8")["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert mode_coverage(np.repeat(modes[:1], 30, axis=0), "ring8")["reverse_kl"] == pytest.approx(np.log(8))
    assert mode_coverage(np.full((10, 2), 10.0), "ring8")["reverse_kl"] == pytest.approx(np.log(8))


def test_results_recorded_before_the_curves_draw_no_curve_figure(tmp_path):
    from nprob.assignment.gans_report import mode_coverage_lines, modes_against_steps
    old = {"ring8": {"minimax": [{"seed": 0, "modes": 5.0, "high_quality": 0.3}]}}
    assert modes_against_steps(old, tmp_path / "f.png") is None and not (tmp_path / "f.png").exists()
    assert "n/a" in "\n".join(mode_coverage_lines(old))


def test_a_method_is_named_ahead_only_beyond_the_seed_spread():
    from nprob.assignment.gans_report import coverage_findings, leaders
    runs = lambda *modes: [{"modes": m, "high_quality": 0.5} for m in modes]   # noqa: E731
    # a: mean 8, SE 0; b: mean 7.6, SE 0.24 (gap 0.4 < 2 * 0.24); c: mean 5, SE 0 (gap 3)
    by_method = {"a": runs(8, 8, 8, 8, 8), "b": runs(8, 8, 7, 8, 7), "c": runs(5, 5, 5, 5, 5)}
    assert leaders(by_method, "modes") == (["a", "b"], ["c"])
    assert leaders(by_method, "high_quality") == (["a", "b", "c"], [])
    assert leaders({"c": runs(5), "a": runs(8)}, "modes") == (["a", "c"], [])   # one seed separates nothing
    text = "\n".join(coverage_findings({"ring8": by_method}))
    assert "best mean a (8.00); not separated from it: b; below it by more than twice" in text
    assert "every seed by the strict criterion: a." in text


def test_mode_only_error_is_the_spread_of_codes_around_their_modes_mean():
    from nprob.toy_data import mode_only_error
    modes, _ = MIXTURES["ring8"]
    z = np.array([[0.0, 1.0], [0.0, 3.0], [5.0, 5.0]])
    samples = modes[[0, 0, 3]] + 0.01          # the first two codes land at mode 0, the third alone at mode 3
    assert mode_only_error(z, samples, "ring8") == pytest.approx((1.0 + 1.0 + 0.0) / 3)
