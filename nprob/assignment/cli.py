"""The command line behind ``run_all.py`` and ``nprob``: options in, experiments and report out.

No mathematics here: it parses options, validates them, and calls the experiments and the
report of :mod:`nprob.assignment`.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from .. import backend
from ..checkpoint import CheckpointError
from ..data import MNISTError
from ..training.loop import TrainingDiverged
from ..training.workers import WorkerDied
from . import discrete_latents, results_folder, vae_vs_gan
from . import gans
from .bound_training import RunTooLarge
from .vae_mnist import HelmholtzConfig

PARTS = ("helmholtz", "iw", "section14", "gan", "section24")
CPU_PARTS = ("helmholtz", "section14", "gan")   # opt-in on a CPU: 'iw' (IWAE and RWS, k up to 50) takes hours,
                                                # 'section24' would take the default run past 60 minutes
QUICK = dict(epochs=3, eval_every=1, n_train=5000, n_eval_train=1000, n_test=500, k=20, sleep_samples=50,
             sweep_epochs=1, truth_images=100, truth_track_images=20, truth_ks=(1, 10, 100), iw_ks=(5,),
             truth_test_set=True, truth_track_every=3)
GPU_TRUTH = dict(truth_images=10000, truth_track_images=2000, truth_test_set=True, truth_track_every=10,
                 # where a GPU makes L_5000 and quadrature cheap
                 n_eval_train=60000)                            # and L_100 on every training image


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    d = HelmholtzConfig()
    p = argparse.ArgumentParser(prog="run_all.py", description="Run every experiment of the assignment "
                                "and write metrics, checkpoints, figures and report.md under --out.")
    p.add_argument("--backend", choices=backend.BACKENDS, default="numpy", help="where arrays live")
    p.add_argument("--out", type=Path, default=None, help="results folder (default results/, "
                   "or results-quick/ with --quick); re-running with the same folder resumes")
    p.add_argument("--quick", action="store_true", help="smoke configuration: a few epochs on a subset, small k")
    p.add_argument("--plots-only", action="store_true", help="redraw figures and report from --out, no training")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=None,
                   help=f"which sections to run (default: all with --backend cupy or --quick, else "
                        f"{' '.join(CPU_PARTS)}: 'iw' takes hours on a CPU, 'section24' about 20 minutes)")
    g = p.add_argument_group("Helmholtz machine (section 1.6)")
    g.add_argument("--epochs", type=positive_int, default=None, help=f"default {d.epochs}")
    g.add_argument("--eval-every", type=positive_int, default=None, help=f"evaluate L_k every N epochs "
                   f"(default {d.eval_every})")
    g.add_argument("--seed", type=non_negative_int, default=d.seed)
    g.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    g.add_argument("--hidden", type=positive_int, nargs="+", default=list(d.hidden), help="hidden layer sizes")
    g.add_argument("--z-dim", type=positive_int, default=d.z_dim)
    g.add_argument("--activation", choices=["relu", "leaky_relu", "tanh", "softplus"], default=d.activation)
    g.add_argument("--init", choices=["he", "glorot", "gaussian"], default=d.init)
    g.add_argument("--optimizer", choices=["adam", "sgd"], default=d.optimizer)
    g.add_argument("--k", type=positive_int, default=None, help=f"samples in L_k (default {d.k})")
    g.add_argument("--lr", type=positive_float, default=d.aevb_lr, help="AEVB learning rate")
    g.add_argument("--aevb-samples", type=positive_int, default=d.aevb_samples,
                   help="samples L per image in the assignment's eq. (9)")
    g.add_argument("--wake-lr", type=positive_float, default=d.wake_lr)
    g.add_argument("--sleep-lr", type=positive_float, default=d.sleep_lr)
    g.add_argument("--wake-samples", type=positive_int, default=d.wake_samples)
    g.add_argument("--sleep-samples", type=positive_int, default=None,
                   help=f"fantasies per sleep step (default {d.sleep_samples})")
    g.add_argument("--n-train", type=positive_int, default=None, help="use the first N training images")
    g.add_argument("--n-eval-train", type=positive_int, default=None,
                   help=f"evaluate L_k on the first N training images (default {d.n_eval_train}, or "
                        f"{GPU_TRUTH['n_eval_train']} with --backend cupy)")
    g.add_argument("--n-test", type=positive_int, default=None, help="use the first N test images")
    g.add_argument("--sweep-epochs", type=positive_int, default=None,
                   help=f"epochs of each short run of the sleep learning-rate sweep (default {d.sweep_epochs})")
    g.add_argument("--sweep-sleep-lrs", type=positive_float, nargs="+", default=list(d.sweep_sleep_lrs),
                   help="sleep learning rates compared by the sweep")
    g.add_argument("--no-truth", action="store_true", help="skip log p(x) by quadrature (derivations/10)")
    g.add_argument("--truth-images", type=positive_int, default=None,
                   help=f"test images of the bound hierarchy after training (default {d.truth_images}, or "
                        f"{GPU_TRUTH['truth_images']} with --backend cupy)")
    g.add_argument("--truth-track-images", type=positive_int, default=None,
                   help=f"test and training images whose log p(x) is tracked at every evaluation (default "
                        f"{d.truth_track_images}, or {GPU_TRUTH['truth_track_images']} with --backend cupy)")
    g.add_argument("--truth-track-every", type=positive_int, default=None,
                   help=f"epochs between tracked log p(x) evaluations, a multiple of --eval-every (default "
                        f"{d.truth_track_every}, or {GPU_TRUTH['truth_track_every']} with --backend cupy)")
    g.add_argument("--truth-test-set", action="store_true",
                   help="log p(x) with its error bar on every test image of every 2-D model (on by default with "
                        "--backend cupy; about 6 minutes per model on a 2-core CPU)")
    g.add_argument("--binarize", choices=["none", "static", "dynamic"], default=d.binarize,
                   help="grey levels as the assignment uses them, or Bernoulli-drawn pixels so that log p(x) is "
                        "a normalised likelihood (dynamic: a fresh draw per batch, as Burda et al.)")
    w = p.add_argument_group("Training on the bound: IWAE and reweighted wake-sleep (derivations/11)")
    w.add_argument("--iw-ks", type=positive_int, nargs="+", default=None,
                   help=f"samples per image of IWAE and RWS (default {' '.join(map(str, d.iw_ks))})")
    w.add_argument("--iw-lr", type=positive_float, default=d.iw_lr, help="learning rate of IWAE and RWS")
    w.add_argument("--rws-sleep", action="store_true", help="RWS also takes Wake-Sleep's sleep step")
    bd = discrete_latents.Section14Config()
    b = p.add_argument_group("Section 1.4 measured: binary latents, gradient variance, cost (derivations/12)")
    b.add_argument("--binary-latents", type=positive_int, default=bd.h_dim,
                   help="binary latent units J (log p(x) sums over 2^J codes; at most 20)")
    b.add_argument("--binary-epochs", type=positive_int, default=None, help=f"default {bd.epochs}")
    b.add_argument("--variance-draws", type=positive_int, default=None,
                   help=f"gradient draws per estimator and L (default {bd.var_draws})")
    gd = gans.GANConfig()
    s = p.add_argument_group("GANs (section 2)")
    s.add_argument("--gan-toy-steps", type=positive_int, default=None,
                   help=f"generator steps per toy game (default {gd.toy_steps})")
    s.add_argument("--gan-toy-seeds", type=positive_int, default=None,
                   help=f"seeds per method for mode coverage (default {gd.toy_seeds})")
    s.add_argument("--gan-workers", type=positive_int, default=None,
                   help=f"toy games trained side by side on a CPU (default {gd.workers}; changes no number)")
    s.add_argument("--gan-mnist-epochs", type=positive_int, default=None,
                   help=f"epochs of the MNIST GAN and three-player game (default {gd.mnist_epochs})")
    v = p.add_argument_group("Section 2.4 measured: VAEs against GANs (derivations/14)")
    vd = vae_vs_gan.Section24Config()
    v.add_argument("--s24-gan-epochs", type=positive_int, default=None,
                   help=f"epochs of section 2.4's MNIST GAN and three-player game (default {vd.gan_epochs})")
    v.add_argument("--s24-draws", type=positive_int, default=None,
                   help=f"independent draws of {vd.eval_samples} samples behind each mean and standard error "
                        f"(default {vd.draws})")
    return p


def section24_config_from(args) -> vae_vs_gan.Section24Config:
    cfg = vae_vs_gan.Section24Config(backend=args.backend, seed=args.seed)
    if args.quick:
        cfg = replace(cfg, **vae_vs_gan.QUICK)
    given = {"gan_epochs": args.s24_gan_epochs, "draws": args.s24_draws}
    return replace(cfg, **{key: value for key, value in given.items() if value is not None})


def gan_config_from(args) -> gans.GANConfig:
    cfg = gans.GANConfig(backend=args.backend, seed=args.seed)
    if args.quick:
        cfg = replace(cfg, **gans.QUICK)
    given = {"toy_steps": args.gan_toy_steps, "toy_seeds": args.gan_toy_seeds, "mnist_epochs": args.gan_mnist_epochs,
             "workers": args.gan_workers}
    return replace(cfg, **{key: value for key, value in given.items() if value is not None})


def section14_config_from(args) -> discrete_latents.Section14Config:
    cfg = discrete_latents.Section14Config(backend=args.backend, seed=args.seed, h_dim=args.binary_latents)
    if args.quick:
        cfg = replace(cfg, **discrete_latents.QUICK)
    given = {"epochs": args.binary_epochs, "var_draws": args.variance_draws}
    return replace(cfg, **{key: value for key, value in given.items() if value is not None})


def config_from(args) -> HelmholtzConfig:
    cfg = HelmholtzConfig(
        backend=args.backend, seed=args.seed, batch_size=args.batch_size, hidden=tuple(args.hidden),
        z_dim=args.z_dim, activation=args.activation, init=args.init, optimizer=args.optimizer,
        aevb_lr=args.lr, aevb_samples=args.aevb_samples, wake_lr=args.wake_lr, sleep_lr=args.sleep_lr,
        wake_samples=args.wake_samples, sweep_sleep_lrs=tuple(args.sweep_sleep_lrs), truth=not args.no_truth,
        binarize=args.binarize, iw_lr=args.iw_lr, rws_sleep=args.rws_sleep, truth_test_set=args.truth_test_set)
    if args.backend == "cupy":
        cfg = replace(cfg, **GPU_TRUTH)
    if args.quick:
        cfg = replace(cfg, **QUICK)
    given = {"epochs": args.epochs, "eval_every": args.eval_every, "k": args.k, "sleep_samples": args.sleep_samples,
             "n_train": args.n_train, "n_eval_train": args.n_eval_train, "n_test": args.n_test,
             "sweep_epochs": args.sweep_epochs, "truth_images": args.truth_images,
             "truth_track_images": args.truth_track_images, "truth_track_every": args.truth_track_every,
             "iw_ks": tuple(args.iw_ks) if args.iw_ks else None}
    if args.n_train is not None and args.n_eval_train is None:   # evaluate on all of a smaller training set
        given["n_eval_train"] = min(cfg.n_eval_train, args.n_train)
    available = min(given["n_eval_train"] or cfg.n_eval_train, given["n_test"] or cfg.n_test)
    for key in ("truth_images", "truth_track_images"):             # no more images than the run has
        if given[key] is None:
            given[key] = min(getattr(cfg, key), available)
    every = given["eval_every"] or cfg.eval_every
    if given["truth_track_every"] is None and cfg.truth_track_every % every:   # the next multiple of --eval-every
        given["truth_track_every"] = every * -(-cfg.truth_track_every // every)
    return replace(cfg, **{key: value for key, value in given.items() if value is not None})


def main(argv=None) -> int:
    from . import bound_training, vae_mnist
    from .report import build
    p = parser()
    args = p.parse_args(argv)
    out = args.out or Path("results-quick" if args.quick else "results")
    try:
        cfg, gan_cfg, s14_cfg = config_from(args), gan_config_from(args), section14_config_from(args)
        s24_cfg = section24_config_from(args)
    except ValueError as err:
        p.error(str(err))
    parts = args.parts or (PARTS if args.backend == "cupy" or args.quick else CPU_PARTS)
    experiments = {"helmholtz": (vae_mnist, cfg), "iw": (bound_training, cfg),
                   "section14": (discrete_latents, s14_cfg), "gan": (gans, gan_cfg), "section24": (vae_vs_gan, s24_cfg)}
    backend.keep_freed_memory()
    started = time.perf_counter()
    try:
        with results_folder.claimed(out) if not args.plots_only or out.exists() else nullcontext():
            if not args.plots_only:
                for part in parts:   # every checkpoint of every part is checked before anything is written
                    experiments[part][0].check_checkpoints(experiments[part][1], out)
                for part in PARTS:
                    if part in parts:
                        experiments[part][0].run(experiments[part][1], out, verbose=not args.quiet)
            build(out, verbose=not args.quiet)
        if not args.quiet:
            memory = ", ".join(f"{k} {v:.0f}" for k, v in backend.peak_memory_mib().items())
            print(f"[nprob] done in {(time.perf_counter() - started) / 60:.1f} min on {backend.device_name()}; "
                  f"peak memory: {memory}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\n[nprob] interrupted; everything finished so far is kept in {out}. Run the same command again "
              "to resume.", file=sys.stderr)
        return 130
    except (backend.BackendError, MNISTError, CheckpointError, TrainingDiverged, WorkerDied,
            RunTooLarge, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:   # a full disk or a folder made read-only while running
        print(f"error: could not write {err.filename or 'a results file'} ({err.strerror or err}); every "
              "checkpoint written before is kept: free space or fix permissions, then run the same command "
              "to resume", file=sys.stderr)
        return 1
    return 0
