"""Benchmarks: ``python -m benchmarks --backend numpy|cupy [--quick] [--json FILE]``.

With ``--backend cupy`` and no GPU (the CuPy stand-in) it counts instead of timing:
launches, syncs and bytes per step (:mod:`benchmarks.gpu_counts`).

Measured in one process, after a warm-up. The machine's speed drifts by tens of percent
from minute to minute, so what is compared is measured in alternation: each round times
nprob's step, its GEMM floor (and PyTorch's step), and the reported numbers are medians over
rounds of the times and of the per-round ratios.

* seconds per epoch (600 steps of batch 100) of AEVB and Wake-Sleep, from a fresh
  model and, when ``results/checkpoints`` holds them, from the trained model
  (a slowdown late in training, such as one from subnormal floats, shows there);
* the matrix-products-only floor: the same step's GEMMs, alone, on the same shapes;
* the optimiser step alone, and the rest (step minus floor minus optimiser: element-wise
  work and Python);
* L_k throughput on test images;
* when PyTorch happens to be installed, the same AEVB model in it (``torch_reference.py``);
* peak memory (host resident set; device pool on a GPU).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from nprob import backend, bounds, checkpoint, optim
from nprob.training import state
from nprob.assignment.step_costs import gemm_shapes
from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer

STEPS_PER_EPOCH = 600


def _sync():
    if backend.name() == "cupy":
        backend.xp().cuda.Stream.null.synchronize()


def timed(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs, device work included."""
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def gemm_floor(shapes, repeats: int) -> tuple[float, float]:
    """Median seconds per step of the products alone (into preallocated outputs), and their GFLOP/s."""
    xp = backend.xp()
    rng = np.random.default_rng(0)
    mats = [(backend.asarray(rng.random((m, k))), backend.asarray(rng.random((k, n))), xp.empty((m, n), np.float32))
            for m, k, n in shapes]

    def run():
        for a, b, out in mats:
            xp.matmul(a, b, out=out)
    run()
    seconds = timed(run, repeats)
    flops = sum(2 * m * k * n for m, k, n in shapes)
    return seconds, flops / seconds / 1e9


def batches(x, steps: int):
    n = x.shape[0] // 100
    return [x[(i % n) * 100:(i % n + 1) * 100] for i in range(steps)]


def step_seconds(step, xs) -> float:
    """Seconds per step of ``step(x)`` over the batches ``xs``."""
    _sync()
    t0 = time.perf_counter()
    for x in xs:
        step(x)
    _sync()
    return (time.perf_counter() - t0) / len(xs)


def compare_in_rounds(contenders: dict, rounds: int) -> dict:
    """{name: seconds per call} medians, timing every contender once per round, in turn."""
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(fn())
    return {name: float(np.median(t)) for name, t in times.items()}, times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=backend.BACKENDS, default="numpy")
    p.add_argument("--quick", action="store_true", help="a few hundred steps: under two minutes on a CPU")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--checkpoints", type=Path, default=Path("results/checkpoints"),
                   help="trained checkpoints to time late-training steps with (skipped if absent)")
    args = p.parse_args(argv)
    backend.keep_freed_memory()
    try:
        backend.use(args.backend)
    except backend.BackendError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if backend.is_standin():   # no GPU: the stand-in's timings mean nothing, its counts are what it measures
        from . import gpu_counts
        return gpu_counts.main((["--quick"] if args.quick else []) + (["--json", str(args.json)] if args.json else []))
    from nprob.data import load_mnist
    mnist = load_mnist(verbose=False)
    x = backend.asarray(mnist.x_train[:20000])
    cfg = HelmholtzConfig()
    steps, warmup, rounds = (100, 50, 3) if args.quick else (300, 100, 7)
    result = {"backend": args.backend, "quick": args.quick, "machine": platform.machine(), "rounds": rounds,
              "steps_per_round": steps, "python": platform.python_version(), "numpy": np.__version__,
              "algorithms": {}}
    if args.backend == "cupy":
        result["gpu"] = backend.device_name()
        result["standin"] = backend.is_standin()   # stand-in timings are NumPy's on the CPU, never a GPU's
    xs = batches(x, steps)
    reference = None
    if args.backend == "numpy":
        from .torch_reference import make_aevb_step
        reference = make_aevb_step(mnist.x_train[:20000])
    for name in ("aevb", "wake_sleep"):
        trainer = make_trainer(cfg, name)
        gen = backend.rng(0, "bench", name)
        contenders = {"nprob": lambda: step_seconds(lambda b: trainer.step(b, gen), xs)}
        shapes = gemm_shapes(cfg, name, 100)
        contenders["gemm_floor"] = lambda: gemm_floor(shapes, steps)[0]
        players = list(trainer.players.values())
        grads = [pl.params.zeros_like() for pl in players]
        for g in grads:
            g.flat[...] = 1e-3
        contenders["optimizer"] = lambda: timed(
            lambda: [optim.adam_step(pl.params, g, pl.state) for pl, g in zip(players, grads)], steps)
        trained = args.checkpoints / f"{name}.npz"
        if trained.exists():
            arrays, meta = checkpoint.load(trained)
            late = make_trainer(cfg, name)
            state.load(late, arrays)
            contenders["nprob_trained"] = lambda: step_seconds(lambda b: late.step(b, gen), xs)
        if name == "aevb" and reference is not None:
            torch_step, version = reference
            contenders["torch_eager"] = lambda: step_seconds(torch_step, list(range(steps)))
            result["torch_version"] = version
            step_seconds(torch_step, list(range(warmup)))                         # its warm-up
        step_seconds(lambda b: trainer.step(b, gen), batches(x, warmup))      # warm-up
        medians, per_round = compare_in_rounds(contenders, rounds)
        row = {f"{k}_seconds_per_epoch": v * STEPS_PER_EPOCH for k, v in medians.items()}
        ratios = np.array(per_round["nprob"]) / np.array(per_round["gemm_floor"])
        row["ratio_to_gemm_floor"] = float(np.median(ratios))
        row["ratio_to_gemm_floor_range"] = [float(ratios.min()), float(ratios.max())]   # the machine's noise
        row["rest_seconds_per_epoch"] = (row["nprob_seconds_per_epoch"] - row["gemm_floor_seconds_per_epoch"]
                                         - row["optimizer_seconds_per_epoch"])   # element-wise work and Python
        row["gemm_gflops"] = sum(2 * m * k * n for m, k, n in shapes) / medians["gemm_floor"] / 1e9
        if "torch_eager" in per_round:
            row["torch_over_nprob"] = float(np.median(np.array(per_round["torch_eager"]) / np.array(per_round["nprob"])))
        if "nprob_trained" in per_round:
            row["trained_over_fresh"] = float(np.median(np.array(per_round["nprob_trained"]) / np.array(per_round["nprob"])))
            row["trained_epoch"] = meta["epoch"]
        result["algorithms"][name] = row
    trainer = make_trainer(cfg, "aevb")
    enc, dec = trainer.players["enc"].params, trainer.players["dec"].params
    n_eval = 1000 if args.quick else 10000
    x_test = backend.asarray(mnist.x_test[:n_eval])
    for k in ([100] if args.backend == "numpy" else [100, 5000]):
        seconds = timed(lambda: backend.to_float(bounds.iw_bound(trainer.model, enc, dec, x_test, k,
                                                                 backend.rng(0, "bench-lk")).mean()), 2)
        result[f"L{k}"] = {"images": n_eval, "seconds": seconds, "seconds_per_10k_images": seconds * 10000 / n_eval}
    result["memory"] = backend.peak_memory_mib()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def _range(row: dict) -> str:
    low, high = row["ratio_to_gemm_floor_range"]
    return f"{low:.2f}-{high:.2f}"


def print_table(r: dict) -> None:
    print(f"backend {r['backend']}{' (' + r['gpu'] + ')' if 'gpu' in r else ''}, quick={r['quick']}, "
          f"medians of {r['rounds']} alternating rounds of {r['steps_per_round']} steps")
    print(f"{'algorithm':<12}{'s/epoch':>9}{'GEMM floor':>12}{'ratio':>7}{'(min-max)':>12}{'GFLOP/s':>9}{'optimiser':>11}"
          f"{'rest':>6}{'trained/fresh':>15}{'torch/nprob':>13}")
    for name, row in r["algorithms"].items():
        trained = f"{row['trained_over_fresh']:.2f}" if "trained_over_fresh" in row else "-"
        torch = f"{row['torch_over_nprob']:.2f}" if "torch_over_nprob" in row else "-"
        print(f"{name:<12}{row['nprob_seconds_per_epoch']:>9.2f}{row['gemm_floor_seconds_per_epoch']:>12.2f}"
              f"{row['ratio_to_gemm_floor']:>7.2f}{_range(row):>12}{row['gemm_gflops']:>9.0f}{row['optimizer_seconds_per_epoch']:>11.2f}"
              f"{row['rest_seconds_per_epoch']:>6.2f}{trained:>15}{torch:>13}")
    if "torch_version" in r:
        row = r["algorithms"]["aevb"]
        print(f"PyTorch {r['torch_version']} eager AEVB: {row['torch_eager_seconds_per_epoch']:.2f} s/epoch")
    for key in [k for k in r if k.startswith("L")]:
        print(f"{key} on 10k test images: {r[key]['seconds_per_10k_images']:.2f} s")
    print("memory: " + ", ".join(f"{k} {v:.0f}" for k, v in r["memory"].items()))


if __name__ == "__main__":
    sys.exit(main())
