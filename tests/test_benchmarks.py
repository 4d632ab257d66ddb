"""The benchmark's matrix-products floor counts exactly the products a training step performs."""
from collections import Counter

import numpy as np
import pytest

from nprob import backend, nn
from nprob.assignment.step_costs import flops_per_data_point, gemm_shapes
from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer


@pytest.mark.parametrize("algorithm", ["aevb", "wake_sleep"])
def test_gemm_floor_counts_the_products_of_a_step(algorithm, monkeypatch):
    seen = Counter()
    forward, backward = nn.linear_forward, nn.linear_backward

    def record_forward(x, W, b):
        seen[(x.shape[0], W.shape[0], W.shape[1])] += 1
        return forward(x, W, b)

    def record_backward(dy, cache, need_dx=True, out=None):
        x, W = cache
        if need_dx:
            seen[(dy.shape[0], W.shape[1], W.shape[0])] += 1
        seen[(x.shape[1], x.shape[0], dy.shape[1])] += 1
        return backward(dy, cache, need_dx, out)

    monkeypatch.setattr(nn, "linear_forward", record_forward)
    monkeypatch.setattr(nn, "linear_backward", record_backward)
    cfg = HelmholtzConfig()
    trainer = make_trainer(cfg, algorithm)
    trainer.step(np.random.default_rng(0).random((100, 784), dtype=np.float32), backend.rng(0))
    assert seen == Counter(gemm_shapes(cfg, algorithm, 100))


def test_work_per_data_point_is_a_constant_number_of_passes():
    """derivations/04 result 4.3: per image, both algorithms cost a fixed number of passes through the
    same networks, O(|theta| + |phi|); the constants differ a little."""
    def flops_per_image(algorithm, batch):
        cfg = HelmholtzConfig(sleep_samples=batch)      # as many dreams as images
        return flops_per_data_point(cfg, algorithm, batch)

    n_weights = 2 * (784 * 512 + 512 * 4) // 2 + (2 * 512 + 512 * 784)   # encoder and decoder weights
    for algorithm in ("aevb", "wake_sleep"):
        per_image = [flops_per_image(algorithm, b) for b in (50, 100, 400)]
        assert max(per_image) / min(per_image) < 1.0001                  # independent of the batch
        assert 4 * n_weights < per_image[0] < 12 * n_weights                # a few passes over the weights
    ratio = flops_per_image("wake_sleep", 100) / flops_per_image("aevb", 100)
    assert 1 < ratio < 2


def test_the_toy_sweep_records_each_variant_and_resumes(tmp_path):
    import json
    from benchmarks import toy_sweep
    variants = {"short": {"overrides": {"toy_steps": 20, "toy_hidden": [8, 8]}, "methods": ["nonsaturating"],
                          "mixtures": ["ring8"], "seeds": [0, 1]}}
    (tmp_path / "v.json").write_text(json.dumps(variants))
    toy_sweep.main([str(tmp_path / "v.json"), "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "r.json"),
                    "--workers", "1"])
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert [(r["variant"], r["seed"]) for r in rows] == [("short", 0), ("short", 1)]
    assert rows[0]["reverse_kl"] != rows[1]["reverse_kl"] and len(rows[0]["curve"]) == 1
    again = toy_sweep.sweep(variants, tmp_path / "runs", workers=1, verbose=False)   # resumes from the checkpoints
    assert [r["reverse_kl"] for r in again] == [r["reverse_kl"] for r in rows]
    toy_sweep.main([str(tmp_path / "r.json"), "--figure", "short", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="no rows of variant 'other'"):
        toy_sweep.main([str(tmp_path / "r.json"), "--figure", "other", str(tmp_path / "none.png")])


def test_the_gpu_check_script_runs_every_step_and_keeps_going_after_a_failure(tmp_path):
    """benchmarks/gpu_check.sh with a stand-in interpreter that records its calls (the first fails)."""
    import os
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    fake = tmp_path / "python"
    fake.write_text(f'#!/usr/bin/env bash\necho "$@" >> {tmp_path}/calls\n'
                    '[[ "$*" == *pytest* ]] && exit 3\nexit 0\n')
    fake.chmod(0o755)
    bin_dir = tmp_path / "bin"          # an nvidia-smi that is there
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/usr/bin/env bash\necho GPU\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": str(fake), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh"], cwd=root, env=env, capture_output=True, text=True)
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert done.returncode == 0 and "tests: exit 3" in summary and "quick_run: exit 0" in summary
    calls = (tmp_path / "calls").read_text()
    assert "pytest" in calls and "--backend cupy --quick --json" in calls and "run_all.py --quick --backend cupy" in calls
    assert len(list((tmp_path / "out").iterdir())) <= 8   # what the device tool brings back


def test_the_mnist_gan_sweep_records_every_remedy_and_resumes(tmp_path):
    import json
    from dataclasses import replace

    from benchmarks import mnist_gan_sweep
    from nprob.assignment.vae_vs_gan import Section24Config
    from test_section24 import TINY
    base = replace(Section24Config(), **TINY)
    argv = ["--out", str(tmp_path / "sweep"), "--epochs", "1", "--remedies", "none", "pack2",
            "--json", str(tmp_path / "sweep.json")]
    mnist_gan_sweep.main(argv, base)
    first = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["remedy"] for r in first["rows"]] == ["none", "pack2"] and first["rows"][1]["pack"] == 2
    assert all(len(r["evals"]) == 1 and len(r["d_real"]) == 1 for r in first["rows"])
    mnist_gan_sweep.main(argv, base)                      # resumes from the checkpoints: the same rows
    again = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["evals"][0]["fid"] for r in again["rows"]] == [r["evals"][0]["fid"] for r in first["rows"]]
    with pytest.raises(SystemExit, match="neither packing nor a critic"):
        mnist_gan_sweep.main(["--out", str(tmp_path / "b"), "--kind", "bigan", "--remedies", "pack2"], base)
