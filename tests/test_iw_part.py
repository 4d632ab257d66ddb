"""The training-on-the-bound part (issue 13): binarised data, checkpoint configurations, CLI parts, report."""
import numpy as np
import pytest

from nprob import backend, binarize

from nprob.assignment import cli
from nprob.assignment import bound_training_report as report_iw
from nprob.checkpoint import CheckpointError
from nprob.assignment import bound_training
from nprob.assignment.vae_mnist import HelmholtzConfig
from nprob.training.loop import fit
from nprob.training.trainers import Trainer


def test_a_fixed_binarisation_is_binary_reproducible_and_unbiased():
    grey = np.full((200, 784), 0.3, dtype=np.float32)
    a, b = binarize.fixed(grey, 0, "train"), binarize.fixed(grey, 0, "train")
    assert a.dtype == np.float32 and set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, binarize.fixed(grey, 0, "test"))
    se = np.sqrt(0.3 * 0.7 / a.size)
    assert abs(a.mean() - 0.3) < 4 * se


@pytest.mark.parametrize("mode", binarize.MODES)
def test_views_give_what_each_mode_promises(mode):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((50, 784), dtype=np.float32), rng.random((20, 784), dtype=np.float32)
    v = binarize.views(mode, x_train, x_test, seed=3)
    binary = lambda x: set(np.unique(x)) <= {0.0, 1.0}  # noqa: E731
    if mode == "none":
        assert v.fit is x_train and v.test is x_test and not v.dynamic
    else:
        assert binary(v.eval_train) and binary(v.test)
        assert binary(v.fit) == (mode == "static") and v.dynamic == (mode == "dynamic")


def test_an_unknown_binarisation_is_refused():
    with pytest.raises(ValueError, match="binarize must be one of"):
        HelmholtzConfig(binarize="otsu")
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--binarize", "otsu"])


class Recorder(Trainer):
    """A trainer that only records the batches it is given."""
    name = "recorder"

    def __init__(self):
        self.players, self.seen = {}, []

    def step(self, x, rng):
        self.seen.append(np.array(x))
        return {"loss": np.float64(0.0)}


def test_dynamic_binarisation_draws_every_batch_afresh(tmp_path):
    backend.use("numpy")
    x = np.full((20, 784), 0.5, dtype=np.float32)
    tr = Recorder()
    fit(tr, x, epochs=2, batch_size=20, seed=0, checkpoint_path=tmp_path / "c.npz", config={}, verbose=False,
        dynamic_binarize=True)
    assert all(set(np.unique(b)) == {0.0, 1.0} for b in tr.seen)
    assert not np.array_equal(tr.seen[0], tr.seen[1])        # a fresh draw in the second epoch


def test_checkpoint_configurations_keep_each_algorithms_own_settings():
    cfg = HelmholtzConfig()
    aevb, ws = cfg.for_algorithm("aevb"), cfg.for_algorithm("wake_sleep")
    iwae, rws = cfg.for_algorithm("iwae", 5), cfg.for_algorithm("rws", 5)
    assert not any(k.startswith(("iw_", "rws_")) for k in (*aevb, *ws))
    assert iwae["k_train"] == 5 and "iw_lr" in iwae and "sleep_samples" not in iwae and "aevb_lr" not in iwae
    assert {"iw_lr", "rws_sleep"} <= set(rws) and "sleep_lr" not in rws
    assert "sleep_samples" in ws and "binarize" in aevb and "iw_ks" not in iwae
    assert HelmholtzConfig(iw_ks=(5,)).for_algorithm("iwae", 5) == iwae   # a k = 5 run resumes with fewer ks


def test_a_run_of_another_k_or_learning_rate_is_refused(tmp_path):
    cfg = HelmholtzConfig(epochs=1, n_train=200, n_eval_train=100, n_test=100, truth=False, iw_ks=(2,),
                          hidden=(16,), truth_images=50, truth_track_images=50)
    path = tmp_path / "checkpoints" / "iwae_k2.npz"
    trainer = bound_training.make_trainer(cfg, "iwae", 2)
    x = np.random.default_rng(0).random((200, 784), dtype=np.float32)
    fit(trainer, x, epochs=1, batch_size=100, seed=0, checkpoint_path=path, config=cfg.for_algorithm("iwae", 2),
        verbose=False)
    bound_training.check_checkpoints(cfg, tmp_path)
    from dataclasses import replace
    with pytest.raises(CheckpointError, match="iw_lr"):
        bound_training.check_checkpoints(replace(cfg, iw_lr=0.01), tmp_path)


def test_the_iw_part_is_opt_in_on_the_cpu_and_on_by_default_elsewhere():
    assert "iw" not in cli.CPU_PARTS and "iw" in cli.PARTS
    assert cli.config_from(cli.parser().parse_args(["--quick"])).iw_ks == (5,)
    assert cli.config_from(cli.parser().parse_args(["--iw-ks", "3", "7"])).iw_ks == (3, 7)


def test_largest_swing_looks_only_after_the_given_epoch():
    history = {"evals": [{"epoch": e, "L100_test": v} for e, v in [(10, -200), (50, -150), (60, -152.5), (70, -151)]]}
    assert report_iw.largest_swing(history, "L100_test", 50) == pytest.approx(2.5)
    assert report_iw.largest_swing(history, "L100_test", 70) is None


def test_section_1_6_rows_join_the_table_only_with_the_same_shared_settings():
    from dataclasses import asdict
    shared = asdict(HelmholtzConfig())
    metrics = {"config": {**shared}, "aevb": {"evals": []}, "iw": {"config": shared, "runs": {}}}
    assert "aevb" in report_iw.runs(metrics)
    metrics["config"].pop("binarize")                        # a folder from before --binarize: grey levels
    assert "aevb" in report_iw.runs(metrics)
    metrics["config"]["binarize"] = "static"
    assert "aevb" not in report_iw.runs(metrics)
    assert "left out" in "\n".join(report_iw.lines(metrics))


def test_a_numpy_section_1_6_and_a_cupy_iw_part_share_no_table():
    """Issue 22.7: the backend is a shared setting (its seconds column would compare CPU with GPU)."""
    from dataclasses import asdict
    shared = asdict(HelmholtzConfig())
    metrics = {"config": shared, "aevb": {"evals": []}, "iw": {"config": {**shared, "backend": "cupy"}, "runs": {}}}
    assert "aevb" not in report_iw.runs(metrics)


def test_each_part_lists_the_settings_it_ran_with():
    """Issue 22.20: section 1.6's table leaves out the iw settings; the iw section shows its own, and
    the software it ran with."""
    from dataclasses import asdict
    from nprob.assignment import report_text
    cfg = HelmholtzConfig()
    iw_cfg = {**asdict(cfg), "iw_ks": [7]}              # as metrics.json stores it
    metrics = {"config": asdict(cfg), "iw": {"config": iw_cfg, "runs": {}, "versions": {"numpy": "9.9"}}}
    section_16 = "\n".join(report_text.helmholtz_lines(metrics, cfg, {}))
    iw = "\n".join(report_iw.lines(metrics))
    assert "iw_ks" not in section_16 and "| iw_ks | [7] |" in iw and "numpy 9.9" in iw and "aevb_lr" not in iw


def test_rws_without_its_sleep_step_ignores_the_number_of_fantasies():
    """Issue 22.15: --sleep-samples changes nothing RWS computes unless --rws-sleep is on."""
    from dataclasses import replace
    cfg = HelmholtzConfig()
    assert replace(cfg, sleep_samples=7).for_algorithm("rws", 5) == cfg.for_algorithm("rws", 5)
    slept = replace(cfg, rws_sleep=True)
    assert replace(slept, sleep_samples=7).for_algorithm("rws", 5) != slept.for_algorithm("rws", 5)
    assert replace(cfg, sleep_samples=7).for_algorithm("wake_sleep") != cfg.for_algorithm("wake_sleep")


def test_tracked_truth_settings_are_part_of_a_checkpoints_settings():
    """Issue 22.1: a resume with another tracked image set, or with the tracking switched on or off,
    would mix image sets in one curve; the checkpoint's settings differ, so it is refused."""
    from dataclasses import replace
    cfg = HelmholtzConfig()
    for name in ("aevb", "wake_sleep", "iwae", "rws"):
        base = cfg.for_algorithm(name)
        assert replace(cfg, truth_track_images=30).for_algorithm(name) != base
        assert replace(cfg, truth_track_every=40).for_algorithm(name) != base
        assert replace(cfg, truth=False).for_algorithm(name) != base
        assert replace(cfg, truth_images=200).for_algorithm(name) == base        # after training only


def test_iw_rows_on_another_image_set_say_so():
    """Issue 22.3: a run whose ground truth was computed on other images than the header's says so."""
    from nprob.assignment import bound_training_report as report_iw
    cfg = {"k": 100, "epochs": 2, "truth_ks": [1, 5000], "hidden": [16], "z_dim": 2, "binarize": "none",
           "eval_every": 1, "n_test": 100, "n_eval_train": 100, "truth_images": 20, "rws_sleep": False,
           "iw_ks": [2, 3], "truth": True}
    history = {"evals": [{"epoch": 1, "L100_test": -150.0, "L100_train": -149.0}], "epochs": [{"seconds": 1.0}]}
    truth = lambda n: {"images": n, "resolved_images": n,  # noqa: E731
                       "rows": {"L_5000": {"mean": -140.0}, "log p(x)": {"mean": -139.0}}}
    metrics = {"iw": {"config": cfg, "runs": {"iwae_k2": history, "iwae_k3": history},
                      "ground_truth": {"iwae_k2": truth(20), "iwae_k3": truth(50)}}}
    text = "\n".join(report_iw.lines(metrics))
    row2 = next(line for line in text.splitlines() if line.startswith("| IWAE, k = 2 |"))
    row3 = next(line for line in text.splitlines() if line.startswith("| IWAE, k = 3 |"))
    assert "(on" not in row2 and "(on 50 images)" in row3


def test_tracking_cadence_is_checked_only_where_log_px_is_tracked():
    """The sweep (no tracking) may evaluate every 3 epochs; a tracked run must track on evaluations."""
    from dataclasses import replace
    from nprob.assignment.vae_mnist import sweep_configs
    cfg = replace(HelmholtzConfig(), sweep_epochs=3)
    assert all(c.eval_every == 3 for c in sweep_configs(cfg).values())
    with pytest.raises(ValueError, match="multiple of eval_every"):
        HelmholtzConfig(eval_every=3)


@pytest.mark.parametrize("algorithm", ["iwae", "rws"])
@pytest.mark.parametrize("hidden,k", [((64,), 30), ((256, 128), 7), ((512,), 100)])
def test_the_memory_estimate_of_a_step_covers_its_measured_peak(algorithm, hidden, k):
    import tracemalloc
    from dataclasses import replace
    from nprob import backend
    from nprob.assignment import step_costs
    from nprob.assignment import bound_training
    cfg = replace(HelmholtzConfig(), hidden=hidden, batch_size=20)
    assert step_costs.parameter_count(cfg) == bound_training.make_trainer(cfg, algorithm, k).players['enc'].params.flat.size + \
        bound_training.make_trainer(cfg, algorithm, k).players['dec'].params.flat.size
    trainer = bound_training.make_trainer(cfg, algorithm, k)
    x = np.random.default_rng(0).random((20, 784), dtype=np.float32)
    trainer.step(x, backend.rng(0, "memory"))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    trainer.step(x, backend.rng(0, "memory"))
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert peak <= step_costs.iw_step_bytes(cfg, k) <= 2 * peak


def test_a_k_too_large_for_memory_is_refused_before_anything(tmp_path, capsys):
    """Issue 22.12: refused with the figure, before the data are loaded, and no results folder is left."""
    from nprob.assignment import cli
    assert cli.main(["--quiet", "--parts", "iw", "--iw-ks", "1000000000", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "GiB" in err and "choose a smaller k" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_run_names_are_fixed_at_construction_and_labels_refuse_unknown_runs():
    """Issue 23: a run's noise streams are keyed by a name given to the trainer, never renamed after."""
    from nprob.assignment import bound_training
    cfg = HelmholtzConfig()
    assert bound_training.make_trainer(cfg, "iwae", 5).name == "iwae_k5"
    assert bound_training.make_trainer(cfg, "rws", 50).name == "rws_k50"
    assert report_iw.label("rws_k50") == "RWS, k = 50" and report_iw.label("aevb") == "AEVB"
    with pytest.raises(ValueError, match="no label"):
        report_iw.label("vimco_k5")


def test_a_setting_is_recorded_by_the_runs_it_declares():
    """Issue 23: which settings a checkpoint records is declared beside each setting (field metadata)."""
    from dataclasses import dataclass
    from nprob.assignment.settings import NONE, for_run, setting

    @dataclass(frozen=True)
    class Config:
        shared: int = 1
        only_a: float = setting(0.5, ("a",))
        a_and_b: tuple = setting((1, 2), ("a", "b"))
        nobody: int = setting(3, NONE)
    assert for_run(Config(), "a") == {"shared": 1, "only_a": 0.5, "a_and_b": [1, 2]}
    assert for_run(Config(), "b") == {"shared": 1, "a_and_b": [1, 2]}
    assert for_run(Config(), "c") == {"shared": 1}
