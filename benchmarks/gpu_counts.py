"""What the GPU path costs, counted on the CuPy stand-in: ``python -m benchmarks.gpu_counts [--quick] [--json FILE]``.

For one training step of every trainer (after a first step, so lazy state and pilots are excluded), for
L_100 on 1,000 test-sized images and for the quadrature of 1,000 images: kernel launches, host
synchronisations and bytes of fresh arrays, as :mod:`nprob.cupy_standin._counts` defines them. These are
properties of the code, the same on any machine; they are not timings (the stand-in runs on the CPU).
``python -m benchmarks --backend cupy`` without a GPU runs this.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

BATCH = 100


def trainers() -> dict:
    """Every trainer of the assignment at its default settings, on the active (cupy) backend."""
    from nprob.assignment import bound_training, discrete_latents, gan_games, toy_games
    from nprob.assignment.gans import GANConfig
    from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer
    cfg, gan_cfg = HelmholtzConfig(backend="cupy"), GANConfig(backend="cupy")
    out = {name: make_trainer(cfg, name) for name in ("aevb", "wake_sleep")}
    for k in (5, 50):
        out[f"iwae_k{k}"] = bound_training.make_trainer(cfg, "iwae", k)
        out[f"rws_k{k}"] = bound_training.make_trainer(cfg, "rws", k)
    s14 = discrete_latents.Section14Config(backend="cupy")
    out.update({f"binary_{n}": discrete_latents.make_binary_trainer(s14, n) for n in discrete_latents.ALGORITHMS})
    out.update({f"toy_{m}": toy_games.make_toy_trainer(gan_cfg, m, 0) for m in toy_games.TOY_METHODS})
    out.update(gan_games.mnist_trainers(gan_cfg))
    out.update(section24_trainers())
    return out


def section24_trainers() -> dict:
    """The trainers that section 2.4 adds: the yardstick's classifier, the fair games, the toy models, the
    straight-through generator."""
    from nprob.assignment import discrete_data, fair_games, toy_divergences
    from nprob.assignment.vae_vs_gan import Section24Config
    from nprob.training.supervised import ClassifierTrainer
    from nprob.models.classifier import Classifier
    cfg = Section24Config(backend="cupy")
    model = Classifier(hidden=cfg.clf_hidden)
    remedy = fair_games.Remedy(cfg.real_label, cfg.instance_noise, cfg.pack, cfg.penalty, cfg.lr_decay)
    return {"s24_classifier": ClassifierTrainer(model, model.init(np.random.default_rng(0))),
            "s24_gan": fair_games.make_trainer(cfg, "gan", remedy),
            "s24_bigan": fair_games.make_trainer(cfg, "bigan", remedy),
            "s24_toy_vae": toy_divergences.make_trainer(cfg, "vae"),
            "s24_toy_gan": toy_divergences.make_trainer(cfg, "gan"),
            "s24_gan_straight_through": discrete_data.make_trainer(cfg, "gan_straight_through")}


def batch_for(name: str):
    """A batch of what the trainer trains on: grey levels, binary images, or 2-D toy points."""
    from nprob import backend
    from nprob.assignment import toy_games
    from nprob.assignment.gans import GANConfig
    from nprob.training.supervised import labelled
    rng = np.random.default_rng(0)
    if name.startswith("s24_toy_"):
        return backend.asarray(rng.standard_normal((200, 2)).astype(np.float32))
    if name == "s24_classifier":
        return labelled(backend.asarray(rng.random((BATCH, 784), dtype=np.float32)), rng.integers(10, size=BATCH))
    if name.startswith("toy_"):
        rows = toy_games.rows_per_step(GANConfig(), name[len("toy_"):])
        return backend.asarray(rng.standard_normal((rows, 2)).astype(np.float32))
    x = rng.random((BATCH, 784), dtype=np.float32)
    return backend.asarray((x < 0.3).astype(np.float32) if name.startswith("binary_") else x)


def per_step(trainer, x) -> dict:
    """Counts of the second step (the first builds lazy state: the score-function pilot, say)."""
    from nprob import backend
    from nprob.cupy_standin import counting
    rng = backend.rng(0, "counts", trainer.name)
    trainer.step(x, rng)
    with counting() as c:
        trainer.step(x, rng)
    return c.as_dict()


def evaluations(images: int) -> dict:
    """Counts of L_100 and of the quadrature on ``images`` images with the default model."""
    from nprob import backend, bounds, quadrature
    from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer
    from nprob.cupy_standin import counting
    trainer = make_trainer(HelmholtzConfig(backend="cupy"), "aevb")
    enc, dec, model = trainer.players["enc"].params, trainer.players["dec"].params, trainer.model
    x = backend.asarray(np.random.default_rng(1).random((images, 784), dtype=np.float32))
    out = {}
    with counting() as c:
        bounds.iw_bound(model, enc, dec, x, 100, backend.rng(0, "counts", "L100"))
    out[f"L100 on {images} images"] = c.as_dict()
    eps = backend.standard_normal(backend.rng(0, "counts", "seeds"), (16, images, 2))
    mu, logvar, _ = model.encode(enc, x)
    with counting() as c:
        quadrature.log_marginal(model, dec, x, seeds=quadrature.seeds_from_q(mu, logvar, eps))
    out[f"quadrature of {images} images"] = c.as_dict()
    return out


# An estimate, not a measurement. A step's launches are issued by the host while the device works on
# earlier ones, so a step takes about max(host time, device time):
# * host: (launches + syncs) x the CPU time of one CuPy call. CuPy's own "Performance Best Practices" page
#   (docs.cupy.dev, user_guide/performance.html) times `cp.sqrt(cp.sum(a**2, axis=-1))` (3 kernels) at
#   44.4 us of CPU time and `cp.arange(1000).sum()` (2 kernels) at 49.4 us: 15 to 25 us per call. A sync is
#   taken to cost one more call (an assumption).
# * device: 6 flops per parameter and data row (nprob.training.threads.step_flops; rows = k x batch for IWAE
#   and RWS, whose decoder sees every sample) at the H100 SXM's FP32 peak without tensor cores, 66.9 TFLOP/s,
#   plus every fresh byte written and read once at 3.35 TB/s (NVIDIA's Hopper figures, as tabulated at
#   glennklockwood.com/garden/processors/h100).
SECONDS_PER_CALL = (15e-6, 25e-6)
H100_FP32_PEAK, H100_BANDWIDTH = 66.9e12, 3.35e12


def steps_per_epoch(name: str) -> int:
    from nprob.assignment import toy_games
    from nprob.assignment.gans import GANConfig
    if name.startswith("s24_toy_"):
        return 20000 // 200
    if name.startswith("toy_"):
        return toy_games.TOY_POINTS // toy_games.rows_per_step(GANConfig(), name[len("toy_"):])
    return 60000 // BATCH


def h100_estimate(trainers: dict, steps: dict) -> dict:
    """Estimated seconds per epoch on an H100 for each trainer: [low, high], from the counts above."""
    from nprob.training.threads import step_flops
    out = {}
    for name, c in steps.items():
        rows = batch_for(name).shape[0] * getattr(trainers[name], "k", 1)
        device = step_flops(trainers[name], rows) / H100_FP32_PEAK + 2 * c["bytes"] / H100_BANDWIDTH
        out[name] = [round(steps_per_epoch(name) * max((c["launches"] + c["syncs"]) * t, device), 3)
                     for t in SECONDS_PER_CALL]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_counts", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="evaluations on 100 images instead of 1,000")
    p.add_argument("--json", type=Path, default=None, help="write the counts here")
    args = p.parse_args(argv)
    os.environ.setdefault("NPROB_CUPY_STANDIN", "1")
    from nprob import backend
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", backend.StandinWarning)
        backend.use("cupy")
    if not backend.is_standin():
        print("counts come from the CuPy stand-in: run with NPROB_CUPY_STANDIN=1", file=sys.stderr)
        return 2
    made = trainers()
    steps = {name: per_step(tr, batch_for(name)) for name, tr in made.items()}
    result = {"counted_on": "the CuPy stand-in (counts of the code's structure, not timings)",
              "batch": BATCH, "per_training_step": steps, "evaluations": evaluations(100 if args.quick else 1000),
              "estimated_h100_seconds_per_epoch": {
                  "note": "an estimate from the counts, not a measurement: steps x max((launches + syncs) x "
                          "15-25 us per CuPy call, flops at 66.9 TFLOP/s + fresh bytes twice at 3.35 TB/s)",
                  "low_high": h100_estimate(made, steps)},
              "python": platform.python_version(), "numpy": np.__version__}
    print(f"{'per training step':32s} {'launches':>9s} {'syncs':>6s} {'MiB':>8s}")
    for name, c in {**steps, **result["evaluations"]}.items():
        print(f"{name:32s} {c['launches']:9d} {c['syncs']:6d} {c['bytes'] / 2**20:8.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
