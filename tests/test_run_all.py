"""run_all.py end to end on NumPy: the quick configuration, a redraw, and a clear error for bad options."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_all(*args, check=True):
    return subprocess.run([sys.executable, str(ROOT / "run_all.py"), *args], capture_output=True, text=True,
                          check=check, cwd=ROOT, timeout=900)


@pytest.mark.slow
def test_quick_run_writes_everything_and_redraws(tmp_path):
    out = tmp_path / "quick"
    run_all("--quick", "--quiet", "--out", str(out))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 3 and metrics["config"]["backend"] == "numpy"
    for name in ("aevb", "wake_sleep"):
        assert len(metrics[name]["epochs"]) == 3 and len(metrics[name]["evals"]) == 3
        assert (out / "checkpoints" / f"{name}.npz").exists()
    assert {"wake", "sleep"} <= set(metrics["wake_sleep"]["epochs"][0])
    figures = {p.name for p in (out / "figures").glob("*.png")}
    assert figures >= {"bounds.png", "wake_sleep_losses.png", "originals.png", "reconstructions_aevb.png",
                       "reconstructions_wake_sleep.png", "latent_scatter.png", "manifold_aevb.png",
                       "manifold_wake_sleep.png"}
    report = (out / "report.md").read_text()
    assert "converged faster" in report
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
    run_all("--quick", "--quiet", "--out", str(mismatch_out), "--epochs", "1", "--sweep-epochs", "1")
    other = run_all("--quick", "--quiet", "--out", str(mismatch_out), "--lr", "0.01", check=False)
    assert other.returncode == 1 and "another configuration" in other.stderr
