"""run_all.py end to end: the quick configuration on NumPy and on the CuPy stand-in, a redraw, bad options."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_all(*args, check=True, env=None):
    return subprocess.run([sys.executable, str(ROOT / "run_all.py"), *args], capture_output=True, text=True,
                          check=check, cwd=ROOT, timeout=900, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def numpy_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("numpy") / "quick"
    run_all("--quick", "--quiet", "--out", str(out))
    return out


def key_paths(obj, prefix=""):
    """Every key path of nested dicts (lists of dicts contribute their first item's keys)."""
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        return key_paths(obj[0], prefix + "[]")
    if not isinstance(obj, dict):
        return set()
    return set().union(*([{prefix + "/" + k} | key_paths(v, prefix + "/" + k) for k, v in obj.items()] or [set()]))


def outline(report: str) -> list[str]:
    """Headings and the bold lead words of paragraphs: the report's sections, without its numbers."""
    return [line for line in report.splitlines() if line.startswith("#")] + re.findall(r"^\*\*([^*]+)\*\*", report, re.M)


@pytest.mark.slow
@pytest.mark.gpu
def test_quick_run_on_the_cupy_standin_matches_numpys(numpy_quick, tmp_path):
    """The whole GPU path of run_all.py, through the stand-in: same metrics keys, figures and report sections."""
    out = tmp_path / "standin"
    done = run_all("--quick", "--quiet", "--backend", "cupy", "--out", str(out), env={"NPROB_CUPY_STANDIN": "1"})
    assert "stand-in" in done.stderr and "no GPU" in done.stderr
    for f in (out / "figures").glob("*.png"):
        f.unlink()
    run_all("--plots-only", "--quiet", "--out", str(out), env={"NPROB_CUPY_STANDIN": "1"})
    metrics = json.loads((out / "metrics.json").read_text())
    reference = json.loads((numpy_quick / "metrics.json").read_text())
    assert metrics["config"]["backend"] == "cupy" and "stand-in" in metrics["versions"]["cupy"]
    gpu_only = {f"{part}/versions/{key}" for part in ("", "/iw") for key in ("cupy", "gpu")}
    assert key_paths(metrics) - gpu_only == key_paths(reference)
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == \
        sorted(p.name for p in (numpy_quick / "figures").glob("*.png"))
    assert outline((out / "report.md").read_text()) == outline((numpy_quick / "report.md").read_text())


@pytest.mark.slow
def test_quick_run_writes_everything_and_redraws(numpy_quick, tmp_path):
    import shutil
    out = tmp_path / "quick"
    shutil.copytree(numpy_quick, out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 3 and metrics["config"]["backend"] == "numpy"
    for name in ("aevb", "wake_sleep"):
        assert len(metrics[name]["epochs"]) == 3 and len(metrics[name]["evals"]) == 3
        assert (out / "checkpoints" / f"{name}.npz").exists()
    assert {"wake", "sleep"} <= set(metrics["wake_sleep"]["epochs"][0])
    for name in ("aevb", "wake_sleep"):                                    # log p(x) on every test image
        whole = metrics["ground_truth"][name]["test_set"]
        assert whole["images"] == metrics["config"]["n_test"] and whole["max_error"] < 0.01
        hierarchy = metrics["ground_truth"][name]["rows"]
        assert all(row["mc_se"] > 0 for key, row in hierarchy.items() if key.startswith("L_"))
    for name in ("iwae_k5", "rws_k5"):                                     # --quick runs the opt-in part too
        assert len(metrics["iw"]["runs"][name]["evals"]) == 3 and (out / "checkpoints" / f"{name}.npz").exists()
        assert "log p(x)" in metrics["iw"]["ground_truth"][name]["rows"]
    figures = {p.name for p in (out / "figures").glob("*.png")}
    assert figures >= {"bounds.png", "wake_sleep_losses.png", "originals.png", "reconstructions_aevb.png",
                       "reconstructions_wake_sleep.png", "latent_scatter.png", "manifold_aevb.png",
                       "manifold_wake_sleep.png", "iw_bounds.png"}
    report = (out / "report.md").read_text()
    assert "converged faster" in report and "| IWAE, k = 5 |" in report and "| AEVB |" in report
    assert "On every test image" in report and "unresolved" in report
    for f in (out / "figures").glob("*.png"):
        f.unlink()
    (out / "report.md").unlink()
    run_all("--plots-only", "--quiet", "--out", str(out))                 # redraw without training
    assert {p.name for p in (out / "figures").glob("*.png")} == figures
    again = run_all("--quick", "--quiet", "--out", str(out))               # resumes: nothing left to do
    assert json.loads((out / "metrics.json").read_text())["aevb"] == metrics["aevb"], again.stderr


def test_invalid_options_are_refused_clearly(tmp_path):
    bad = run_all("--epochs", "0", check=False)
    assert bad.returncode == 2 and "positive integer" in bad.stderr
    missing = run_all("--plots-only", "--out", str(tmp_path / "nothing"), check=False)
    assert missing.returncode == 1 and "train first" in missing.stderr
    mismatch_out = tmp_path / "m"
    cheap = ("--quick", "--quiet", "--out", str(mismatch_out), "--parts", "helmholtz", "--no-truth")
    run_all(*cheap, "--epochs", "1", "--sweep-epochs", "1")
    other = run_all(*cheap, "--lr", "0.01", check=False)
    assert other.returncode == 1 and "another configuration" in other.stderr


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("change", [["--lr", "0.01"], ["--epochs", "2"], ["--gan-toy-steps", "100"],
                                    ["--sleep-lr", "0.001"], ["--iw-lr", "0.01"]])
def test_a_refused_run_leaves_the_folder_byte_identical(numpy_quick, tmp_path, change):
    import shutil
    out = tmp_path / "q"
    shutil.copytree(numpy_quick, out)
    before = snapshot(out)
    refused = run_all("--quick", "--quiet", "--out", str(out), *change, check=False)
    assert refused.returncode == 1 and ("another configuration" in refused.stderr or "holds 3 epochs" in
                                        refused.stderr), refused.stderr
    assert snapshot(out) == before


@pytest.mark.parametrize("argv,match", [
    (["--seed", "-1"], "non-negative"),
    (["--n-test", "20000"], "10000 test images"),
    (["--n-train", "2000", "--batch-size", "5000"], r"batch_size \(5000\) cannot exceed n_train \(2000\)"),
])
def test_bad_settings_are_refused_before_any_work(argv, match, capsys):
    from nprob.assignment import cli
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2 and re.search(match, capsys.readouterr().err)


def test_a_smaller_training_set_alone_is_accepted():
    from nprob.assignment import cli
    cfg = cli.config_from(cli.parser().parse_args(["--n-train", "2000"]))
    assert cfg.n_train == 2000 and cfg.n_eval_train == 2000


def test_unusable_results_folders_and_files_get_messages(tmp_path):
    (tmp_path / "file").write_text("")
    blocked = run_all("--quick", "--out", str(tmp_path / "file"), check=False)
    assert blocked.returncode == 1 and "cannot write to the results folder" in blocked.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.json").write_text("{oops")
    for extra in ([], ["--plots-only"]):
        bad = run_all("--quick", "--out", str(tmp_path / "bad"), *extra, check=False)
        assert bad.returncode == 1 and "not valid JSON" in bad.stderr and "Traceback" not in bad.stderr


def test_a_write_failure_while_running_is_a_message(tmp_path, monkeypatch, capsys):
    from nprob.assignment import cli
    from nprob.assignment import vae_mnist

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "checkpoints" / "aevb.npz"))
    monkeypatch.setattr(vae_mnist, "run", full_disk)
    assert cli.main(["--quick", "--quiet", "--out", str(tmp_path), "--parts", "helmholtz"]) == 1
    err = capsys.readouterr().err
    assert "could not write" in err and "aevb.npz" in err and "No space left" in err and "resume" in err


def test_report_names_causes_and_winners_only_where_the_numbers_separate_them():
    from nprob.assignment import gans_report as report_gan
    from nprob.assignment import report_text as report_text
    from nprob.assignment.bound_decline import bound_decline
    history = lambda test, train: {"evals": [{"epoch": 10 * (i + 1), "L100_test": a, "L100_train": b}  # noqa: E731
                                             for i, (a, b) in enumerate(zip(test, train))]}
    overfit = bound_decline(history([-150, -145, -149], [-149, -143, -140]), 100)
    both = bound_decline(history([-165, -162, -168], [-166, -163, -169]), 100)
    assert "which is overfitting" in report_text.decline_text("aevb", overfit, 100)
    says = report_text.decline_text("wake_sleep", both, 100)
    assert "not overfitting" in says and "cannot tell" in says and "objectives" not in says
    assert report_text.verdict(-0.018, 0.0096, "wins", "x") == "no clear difference in x (the gap is within two " \
                                                               "standard errors, 0.0192)"
    assert report_text.verdict(-0.05, 0.0096, "wins", "x").startswith("Wake-Sleep wins (by 5.2")
    never = [{"step": s, "w1": 2.0} for s in (0, 100, 200)]
    assert report_gan._first_below(never) == "at no point of the 200 steps"
