"""BLAS threads against problem size, on a quiet machine and with another core busy.

``python -m benchmarks.threads [--quick] [--json FILE]`` times a non-saturating toy GAN step
(2-128-128-2 networks, batch 256) and an AEVB step on MNIST (784-512-2, batch 100) with one
BLAS thread and with all of them, first on a quiet machine, then while a second process spins
on one core (what a laptop doing other things looks like). ``nprob.training.threads.SMALL_STEP_FLOPS``
is chosen from these numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from nprob import backend
from nprob.training import threads
from nprob.assignment.toy_games import make_toy_trainer
from nprob.assignment.gans import GANConfig
from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer

SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"


def problems():
    """name -> (trainer, batch, rows per step)."""
    toy = make_toy_trainer(GANConfig(), "nonsaturating", 0)
    rng = np.random.default_rng(0)
    toy_x = rng.standard_normal((256, 2)).astype(np.float32)
    aevb = make_trainer(HelmholtzConfig(), "aevb")
    mnist_x = rng.random((100, 784), dtype=np.float32)
    return {"toy_gan_step": (toy, toy_x), "mnist_aevb_step": (aevb, mnist_x)}


def seconds_per_step(trainer, x, steps: int, limit) -> float:
    gen = backend.rng(0, "threads-bench")
    with threadpool_limits(limits=limit, user_api="blas"):
        for _ in range(5):
            trainer.step(x, gen)
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.step(x, gen)
    return (time.perf_counter() - t0) / steps


def measure(steps: dict, rounds: int) -> dict:
    """Median over alternating rounds of seconds per step, one thread against all threads."""
    out = {}
    for name, (trainer, x) in problems().items():
        times = {"1": [], "all": []}
        for _ in range(rounds):
            times["1"].append(seconds_per_step(trainer, x, steps[name], 1))
            times["all"].append(seconds_per_step(trainer, x, steps[name], None))
        out[name] = {"step_flops": threads.step_flops(trainer, x.shape[0]),
                     **{f"ms_{k}_threads": 1e3 * float(np.median(v)) for k, v in times.items()},
                     "all_over_one": float(np.median(np.array(times["all"]) / np.array(times["1"])))}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.threads")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    backend.use("numpy")
    backend.keep_freed_memory()
    steps = {"toy_gan_step": 100 if args.quick else 400, "mnist_aevb_step": 20 if args.quick else 100}
    rounds = 2 if args.quick else 5
    result = {"cpus": os.cpu_count(), "numpy": np.__version__, "small_step_flops": threads.SMALL_STEP_FLOPS,
              "quiet": measure(steps, rounds)}
    spinner = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=600)])
    try:
        time.sleep(0.5)
        result["other_core_busy"] = measure(steps, rounds)
    finally:
        spinner.kill()
    for state in ("quiet", "other_core_busy"):
        for name, row in result[state].items():
            print(f"{state:<16}{name:<17}{row['step_flops'] / 1e6:>8.0f} MFLOP  1 thread {row['ms_1_threads']:7.2f} ms  "
                  f"all threads {row['ms_all_threads']:7.2f} ms  (all / one {row['all_over_one']:.2f})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
