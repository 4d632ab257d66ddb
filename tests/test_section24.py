"""Section 2.4's part: the distance to a generator's surface, exact resume of the whole part, and every verdict
sentence of its report against inputs that make it true and inputs that make it false."""
import json
from dataclasses import replace

import numpy as np
import pytest

from nprob.assignment import vae_vs_gan, vae_vs_gan_report, vae_vs_gan_verdicts as verdicts
from nprob.assignment.vae_vs_gan import Section24Config, distances_to_surface

TINY = dict(n_train=400, n_test=200, clf_hidden=(32, 16), clf_epochs=1, gan_epochs=2, gan_hidden=32, eval_every=1,
            eval_samples=100, draws=2, surface_images=20, surface_lattices=(5, 10), toy_n=400, toy_batch=100,
            toy_epochs=2, toy_eval_every=1, toy_hidden=(16,), toy_cells=20, vae_lattice=21, gan_lattice=50,
            binary_epochs=2, probe_steps=(2, 4), bound_k=5, bound_images=20)


def test_distance_to_the_surface_vanishes_for_samples_and_not_for_points_off_it():
    """G(z) = (z, z1 z2, 0, 0): points with a third coordinate of 0 lie on the surface, points lifted by 3 along the
    fourth axis lie at distance exactly 3 from it."""
    def generate(z):
        return np.concatenate([z, z[:, :1] * z[:, 1:], np.zeros((len(z), 2))], axis=1)
    rng = np.random.default_rng(5)
    on = generate(rng.uniform(-2, 2, (50, 2)))
    off = on + np.array([0, 0, 0, 3.0, 0])
    rows_on = distances_to_surface(generate, on, (11, 41, 161))
    rows_off = distances_to_surface(generate, off, (11, 41, 161))
    assert rows_on[0]["median"] > rows_on[1]["median"] > rows_on[2]["median"] and rows_on[2]["q90"] < 0.1
    assert all(r["q10"] >= 3.0 - 1e-9 for r in rows_off) and rows_off[2]["q90"] < 3.1


@pytest.mark.slow
@pytest.mark.parametrize("stop_after", [2, 9])
def test_quick_part_resumes_exactly_and_the_report_states_what_it_measured(tmp_path, monkeypatch, stop_after):
    """Ctrl-C right after the n-th checkpoint is written, then the same command: every number of a straight run
    (timings aside)."""
    from nprob import checkpoint
    cfg = replace(Section24Config(), **TINY)
    straight = vae_vs_gan.run(cfg, tmp_path / "straight", verbose=False)["section24"]
    real_save, written = checkpoint.save, []

    def save_then_stop(path, arrays, meta):
        real_save(path, arrays, meta)
        written.append(path)
        if len(written) == stop_after:
            raise KeyboardInterrupt
    monkeypatch.setattr(checkpoint, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        vae_vs_gan.run(cfg, tmp_path / "resumed", verbose=False)
    resumed = vae_vs_gan.run(cfg, tmp_path / "resumed", verbose=False)["section24"]

    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items() if k != "seconds"}
        return [numbers(v) for v in value] if isinstance(value, list) else value
    assert numbers(resumed) == numbers(straight)
    assert len(straight["games"]["gan"]["evals"]) == 2 and set(straight["toy"]) == {"vae", "gan"}
    again = vae_vs_gan.run(cfg, tmp_path / "straight", verbose=False)["section24"]
    assert again == straight                                  # stored results of the same settings are kept
    text = "\n".join(vae_vs_gan_report.lines({"section24": straight}))
    assert "A fair opponent" in text and "9.5 Discrete data directly?" in text


def ms(mean, se):
    return {"mean": mean, "se": se}


def test_sharpness_verdict_follows_the_measurements_both_ways():
    vae_blurred = {"v": {"pixel_entropy": ms(0.3, 0.01), "edge_energy": ms(0.01, 0.001)},
                   "g": {"pixel_entropy": ms(0.05, 0.01), "edge_energy": ms(0.04, 0.001)}}
    assert verdicts.sharpness_verdict(vae_blurred, "v", "g") == "g are sharper than v by both measures"
    swapped = {"v": vae_blurred["g"], "g": vae_blurred["v"]}
    assert verdicts.sharpness_verdict(swapped, "v", "g") == "v are sharper than g by both measures"
    noisy = {"v": {"pixel_entropy": ms(0.3, 0.2), "edge_energy": ms(0.01, 0.001)}, "g": vae_blurred["g"]}
    assert "do not agree" in verdicts.sharpness_verdict(noisy, "v", "g")


def test_surface_verdict_needs_the_test_images_clearly_beyond_the_lattice_error():
    far = {"test images": [{"q10": 5.0, "q90": 6.0}], "own samples": [{"q10": 0.01, "q90": 0.1}]}
    assert "Verdict on 9.3: false" in verdicts.surface_verdict(far)
    near = {"test images": [{"q10": 0.15, "q90": 6.0}], "own samples": [{"q10": 0.01, "q90": 0.1}]}
    assert "does not separate" in verdicts.surface_verdict(near)


def test_still_improving_only_beyond_the_noise():
    evals = [{"fid": 50.0}, {"fid": 40.0}, {"fid": 30.0}]
    assert verdicts.improving(evals, noise=5.0)
    assert not verdicts.improving(evals, noise=15.0)
    assert not verdicts.improving([{"fid": 30.0}, {"fid": 31.0}], noise=0.1)


def test_likelihood_verdict_needs_every_gap_beyond_its_noise():
    clear = {"aevb": {"gap": 12.0, "gap_se": 0.9}, "gan": {"g_loss": 1.0}}
    assert verdicts.likelihood_verdict(clear).startswith("Verdict on 9.1: false")
    unclear = {"aevb": {"gap": 1.0, "gap_se": 0.9}}
    assert "not separated from zero" in verdicts.likelihood_verdict(unclear)
    assert "No VAE" in verdicts.likelihood_verdict({"gan": {"g_loss": 1.0}})


def toy_history(first, last, finite=True):
    end = {"jsd": last, **({"kl_data_model": 0.1} if finite else {})}
    return {"initial": {"jsd": first, "kl_data_model": 2.0}, "evals": [{"jsd": last, "kl_data_model": 1.0}, end]}


def test_divergence_verdict_says_who_moved_and_whose_kl_is_infinite():
    both = verdicts.divergence_verdict({"vae": toy_history(0.5, 0.1), "gan": toy_history(0.6, 0.2, finite=False)})
    assert "vae's JSD fell" in both and "gan's JSD fell" in both and "ends infinite" in both and "Both moved" in both
    stuck = verdicts.divergence_verdict({"vae": toy_history(0.5, 0.495), "gan": toy_history(0.6, 0.2)})
    assert "vae's JSD did not fall" in stuck and "Both moved" not in stuck


def test_sharpness_summary_names_a_direction_only_when_every_pair_agrees():
    assert "false" in verdicts.sharpness_summary(["gan samples are sharper than aevb samples by both measures"] * 2)
    assert "true" in verdicts.sharpness_summary(["aevb samples are sharper than gan samples by both measures"])
    mixed = ["gan samples are sharper than aevb samples by both measures",
             "the two sharpness measures do not agree on aevb samples against bigan samples, or do not separate them"]
    assert "do not decide" in verdicts.sharpness_summary(mixed)


def test_discrete_verdict_needs_grey_samples_told_apart_better_than_the_vaes_and_binary_straight_through():
    def data(grey, vae=0.7, grey_left=0.05, st_left=0.0):
        return {"probes": {"gan_grey": {"5": ms(grey, 0.005)}, "vae": {"5": ms(vae, 0.007)}},
                "histories": {"gan_grey": {"evals": [{"non_binary_pixels": grey_left}]},
                              "gan_straight_through": {"evals": [{"non_binary_pixels": st_left}]}}}
    assert verdicts.discrete_verdict(data(0.97), "5").startswith("Verdict on 9.5: false")
    assert "do not settle" in verdicts.discrete_verdict(data(0.71), "5")              # not separated from the VAE
    assert "do not settle" in verdicts.discrete_verdict(data(0.97, grey_left=0.0), "5")   # grey GAN already binary
    assert "do not settle" in verdicts.discrete_verdict(data(0.97, st_left=0.2), "5")


def test_a_collapsed_game_is_called_so_only_when_its_label_entropy_is_low():
    assert "collapsed" in verdicts.collapse_text("bigan", {"entropy_of_mean": ms(0.0, 0.0)})
    assert verdicts.collapse_text("gan", {"entropy_of_mean": ms(2.16, 0.003)}) == ""
    assert verdicts.collapse_text("gan", {"entropy_of_mean": ms(0.9, 0.1)}) == ""     # not below 1 beyond its noise
