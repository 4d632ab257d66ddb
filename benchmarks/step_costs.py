"""Seconds per epoch of every Helmholtz-machine algorithm, on one machine in one run.

``python -m benchmarks.step_costs [--quick] [--json FILE]`` times training steps (batch 100,
784-512-2) of AEVB, Wake-Sleep, IWAE and RWS for each k, and of the binary-latent algorithms
of section 1.4, in alternating rounds, and reports the median per step times 600 (one epoch of
60,000 images). These are the numbers the README quotes for the opt-in parts.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from nprob import backend
from nprob.assignment import bound_training, discrete_latents
from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer

STEPS_PER_EPOCH = 600


def contenders(ks) -> dict:
    cfg, s14 = HelmholtzConfig(), discrete_latents.Section14Config()
    out = {"aevb": make_trainer(cfg, "aevb"), "wake_sleep": make_trainer(cfg, "wake_sleep")}
    for k in ks:
        out[f"iwae_k{k}"] = bound_training.make_trainer(cfg, "iwae", k)
        out[f"rws_k{k}"] = bound_training.make_trainer(cfg, "rws", k)
    for name in discrete_latents.ALGORITHMS:
        out[f"binary_{name}"] = discrete_latents.make_binary_trainer(s14, name)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.step_costs")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--ks", type=int, nargs="+", default=[5, 50])
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    backend.use("numpy")
    backend.keep_freed_memory()
    rng = np.random.default_rng(0)
    grey = rng.random((100, 784), dtype=np.float32)
    binary = (grey < 0.3).astype(np.float32)
    trainers = contenders(args.ks)
    rounds, steps = (2, 3) if args.quick else (3, 10)
    times = {name: [] for name in trainers}
    for _ in range(rounds):
        for name, trainer in trainers.items():
            x, gen = (binary if name.startswith("binary") else grey), backend.rng(0, "step-costs", name)
            trainer.step(x, gen)                                   # warm-up: first-touch of buffers
            t0 = time.perf_counter()
            for _ in range(steps):
                trainer.step(x, gen)
            times[name].append((time.perf_counter() - t0) / steps)
    result = {name: STEPS_PER_EPOCH * float(np.median(t)) for name, t in times.items()}
    for name, seconds in result.items():
        print(f"{name:<24}{seconds:8.1f} s per epoch")
    if args.json:
        args.json.write_text(json.dumps({"seconds_per_epoch": result, "rounds": rounds, "steps": steps}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
