"""Section 1.6: train the same Helmholtz machine by AEVB and by Wake-Sleep, measure both with L_k.

Both algorithms start from the same initial weights (drawn from the stream
``(seed, 'init')``) and see the same data; they differ only in how they learn.
Results go to ``OUT/metrics.json`` and ``OUT/checkpoints/{aevb,wake_sleep}.npz``.
"""
from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .. import backend, bounds
from ..binarize import MODES as BINARIZE_MODES
from ..binarize import views
from ..data import load_mnist
from ..models.helmholtz import HelmholtzMachine
from ..training.loop import fit
from ..training.state import read_checkpoint
from ..training.trainers import AEVBTrainer, WakeSleepTrainer
from . import figure_data, ground_truth, require_valid, results_folder
from .settings import NONE, for_run, setting

ALGORITHMS = ("aevb", "wake_sleep")


@dataclass(frozen=True)
class HelmholtzConfig:
    """Every setting that determines the numbers of the section 1.6 experiments."""

    # A field without setting(...) is recorded by every run's checkpoint; setting(default, runs) names the
    # runs whose numbers it decides, NONE for none (nprob/assignment/settings.py).
    backend: str = "numpy"
    seed: int = 0
    epochs: int = setting(100, NONE)
    eval_every: int = setting(10, NONE)
    batch_size: int = 100
    hidden: tuple[int, ...] = (512,)
    z_dim: int = 2
    activation: str = "relu"
    init: str = "he"
    optimizer: str = "adam"
    k: int = 100                                                # L_k for evaluation
    aevb_lr: float = setting(1e-3, ("aevb",))
    aevb_samples: int = setting(1, ("aevb",))                   # L in the assignment's eq. (9)
    wake_lr: float = setting(1e-3, ("wake_sleep",))
    sleep_lr: float = setting(1e-4, ("wake_sleep",))
    wake_samples: int = setting(1, ("wake_sleep",))
    sleep_samples: int = setting(100, ("wake_sleep", "rws"))    # fantasies per sleep step
    n_train: int = 60000            # training images used (a prefix of the standard set)
    n_eval_train: int = 10000       # training images on which L_k is evaluated (all 60,000 with --backend cupy)
    n_test: int = 10000
    sweep_epochs: int = setting(10, NONE)                       # each short run of the sleep learning-rate sweep
    sweep_sleep_lrs: tuple[float, ...] = setting((1e-5, 1e-4, 3e-4, 1e-3), NONE)
    truth: bool = setting(True, NONE)               # log p(x) by quadrature (2-D codes only), derivations/10
    truth_images: int = setting(500, NONE)          # test images of the bound hierarchy after training
    truth_track_images: int = setting(50, NONE)     # test and training images whose log p(x) is tracked
    truth_track_every: int = setting(20, NONE)      # epochs between tracked log p(x) evaluations (and the last)
    truth_test_set: bool = setting(False, NONE)     # log p(x) on every test image (on by default on a GPU)
    truth_ks: tuple[int, ...] = setting((1, 10, 100, 1000, 5000), NONE)
    binarize: str = "none"          # 'static' or 'dynamic' Bernoulli draws of the pixels (nprob/binarize.py)
    iw_ks: tuple[int, ...] = setting((5, 50), NONE)             # samples per image of IWAE and RWS
    iw_lr: float = setting(1e-3, ("iwae", "rws"))               # both networks' learning rate in IWAE and RWS
    rws_sleep: bool = setting(False, ("rws",))                  # RWS also takes Wake-Sleep's sleep step

    def __post_init__(self):
        require_valid(self)
        if self.binarize not in BINARIZE_MODES:
            raise ValueError(f"binarize must be one of {', '.join(BINARIZE_MODES)}, got {self.binarize!r}")
        if self.tracks_truth and self.truth_track_every % self.eval_every:
            raise ValueError(f"truth_track_every ({self.truth_track_every}) must be a multiple of eval_every "
                             f"({self.eval_every})")
        if self.n_eval_train > self.n_train:
            raise ValueError(f"n_eval_train ({self.n_eval_train}) cannot exceed n_train ({self.n_train})")
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size ({self.batch_size}) cannot exceed n_train ({self.n_train})")
        if max(self.truth_images, self.truth_track_images) > min(self.n_eval_train, self.n_test):
            raise ValueError(f"truth_images ({self.truth_images}) and truth_track_images ({self.truth_track_images}) "
                             f"cannot exceed n_eval_train ({self.n_eval_train}) or n_test ({self.n_test})")

    @classmethod
    def from_json(cls, raw: dict) -> "HelmholtzConfig":
        """The configuration as ``metrics.json`` stores it (lists for tuples; settings added since take
        their defaults, which is what runs made before them used)."""
        tuples = {f.name for f in fields(cls) if str(f.type).startswith("tuple")}
        return cls(**{k: tuple(v) if k in tuples else v for k, v in raw.items()})

    @property
    def tracks_truth(self) -> bool:
        """log p(x) by quadrature is measured (it needs 2-D codes)."""
        return self.truth and self.z_dim == 2

    def for_algorithm(self, name: str, k_train: int | None = None) -> dict:
        """The settings a checkpoint of ``name`` must agree with (each field declares its runs; epochs may grow).

        ``k_train``: the samples per image of an IWAE or RWS run, recorded instead of the list ``iw_ks``.
        """
        kept = for_run(self, name)
        if name == "rws" and not self.rws_sleep:   # fantasies are drawn only by RWS's optional sleep step
            del kept["sleep_samples"]
        if self.tracks_truth:   # the tracked log p(x) curves must come from one image set and one quadrature
            kept.update(truth_track_images=self.truth_track_images, truth_track_every=self.truth_track_every,
                        quadrature=ground_truth.QUADRATURE_VERSION)
        return kept if k_train is None else {**kept, "k_train": k_train}

    def model(self) -> HelmholtzMachine:
        return HelmholtzMachine(x_dim=784, z_dim=self.z_dim, hidden=tuple(self.hidden), activation=self.activation)


def make_trainer(cfg: HelmholtzConfig, name: str):
    """A fresh trainer for ``name``; both algorithms get the same initial weights."""
    model = cfg.model()
    enc, dec = model.init(backend.host_rng(cfg.seed, "init"), cfg.init)
    if name == "aevb":
        return AEVBTrainer(model, enc, dec, lr=cfg.aevb_lr, n_samples=cfg.aevb_samples, optimizer=cfg.optimizer)
    return WakeSleepTrainer(model, enc, dec, wake_lr=cfg.wake_lr, sleep_lr=cfg.sleep_lr,
                            wake_samples=cfg.wake_samples, sleep_samples=cfg.sleep_samples,
                            optimizer=cfg.optimizer)


def versions() -> dict:
    import matplotlib
    import numpy
    import scipy
    out = {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
           "matplotlib": matplotlib.__version__, "machine": platform.machine(), "system": platform.system()}
    if backend.name() == "cupy":
        xp = backend.xp()
        out["cupy"] = xp.__version__
        out["gpu"] = xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return out


def make_evaluator(cfg: HelmholtzConfig, name: str, splits: dict, verbose: bool):
    """An evaluation hook: the mean L_k over each split's images (host floats).

    The noise comes from the stream (seed, 'eval', name, epoch, split), so an
    evaluation is the same whether the run was resumed or not.
    """
    def evaluate(trainer, epoch):
        enc, dec = trainer.players["enc"].params, trainer.players["dec"].params
        result = {}
        for split, x in splits.items():
            rng = backend.rng(cfg.seed, "eval", name, epoch, split)
            est = bounds.iw_bound(trainer.model, enc, dec, x, cfg.k, rng)
            result[f"L{cfg.k}_{split}"] = backend.to_float(est.mean())
            if cfg.tracks_truth and (epoch % cfg.truth_track_every == 0 or epoch == cfg.epochs):
                # derivations/10 result 10.9: L_k = log p(x) - gap, on the same images
                n = cfg.truth_track_images
                seeds = backend.rng(cfg.seed, "eval", name, epoch, split, "truth")
                got = ground_truth.tracked(trainer.model, enc, dec, x[:n], est[:n], seeds)
                result.update({f"{key}_{split}": value for key, value in got.items()})
        if verbose:
            print(f"\n[nprob] {name} epoch {epoch}: " + ", ".join(f"{k} = {v:.2f}" for k, v in result.items()),
                  file=sys.stderr)
        return result
    return evaluate


def sweep_configs(cfg: HelmholtzConfig) -> dict:
    """{checkpoint name: configuration} of the short Wake-Sleep runs, one per sleep learning rate."""
    return {f"sweep/sleep_lr_{lr:g}": replace(cfg, sleep_lr=lr, epochs=cfg.sweep_epochs, eval_every=cfg.sweep_epochs,
                                              truth=False)   # the sweep compares L_k at its end only
            for lr in cfg.sweep_sleep_lrs}


def planned_runs(cfg: HelmholtzConfig, out: Path) -> list:
    """(algorithm, configuration, checkpoint path) of every training run of this section."""
    runs = [(name, cfg, out / "checkpoints" / f"{name}.npz") for name in ALGORITHMS]
    return runs + [("wake_sleep", c, out / "checkpoints" / f"{key}.npz") for key, c in sweep_configs(cfg).items()]


def load_data(cfg: HelmholtzConfig, verbose: bool) -> dict:
    """Select the backend and load MNIST as ``cfg.binarize`` asks (:mod:`nprob.binarize`).

    Returns device arrays 'fit' (N, 784), 'eval_train' and 'test', the host test images 'test_host',
    'dynamic' (whether ``fit`` draws a fresh binarisation per batch) and the whole data set 'mnist'.
    """
    backend.use(cfg.backend)
    mnist = load_mnist(verbose=verbose)
    v = views(cfg.binarize, mnist.x_train[:cfg.n_train], mnist.x_test[:cfg.n_test], cfg.seed)
    return {"fit": backend.asarray(v.fit), "eval_train": backend.asarray(v.eval_train[:cfg.n_eval_train]),
            "test": backend.asarray(v.test), "test_host": v.test, "dynamic": v.dynamic, "mnist": mnist}


def check_checkpoints(cfg: HelmholtzConfig, out: Path) -> None:
    """Refuse (CheckpointError) any checkpoint of this section made with another configuration or more epochs."""
    for name, c, path in planned_runs(cfg, out):
        read_checkpoint(path, c.for_algorithm(name), c.epochs)


def sleep_lr_sweep(cfg: HelmholtzConfig, out: Path, data: dict, verbose: bool) -> dict:
    """Short Wake-Sleep runs, one per sleep learning rate, scored by L_k on the test set."""
    runs = []
    for key, c in sweep_configs(cfg).items():
        history = fit(make_trainer(c, "wake_sleep"), data["fit"], epochs=c.epochs, batch_size=c.batch_size,
                      seed=c.seed, checkpoint_path=out / "checkpoints" / f"{key}.npz",
                      config=c.for_algorithm("wake_sleep"), eval_every=c.eval_every, verbose=verbose,
                      dynamic_binarize=data["dynamic"],
                      evaluate=make_evaluator(c, f"sweep sleep_lr={c.sleep_lr:g}", {"test": data["test"]}, verbose))
        runs.append({"sleep_lr": c.sleep_lr, "wake_lr": c.wake_lr, "sleep_samples": c.sleep_samples,
                     "L_test": history["evals"][-1][f"L{c.k}_test"], "history": history})
    return {"epochs": cfg.sweep_epochs, "runs": runs}


def run(cfg: HelmholtzConfig, out: Path, verbose: bool = True) -> dict:
    """Train (or resume) both algorithms and the sweep; returns the metrics written to ``out/metrics.json``.

    Every checkpoint is checked against this configuration before anything is written,
    so a refused run leaves the results folder exactly as it was.
    """
    stored_truth = results_folder.read_metrics(out).get("ground_truth", {})
    check_checkpoints(cfg, out)
    data = load_data(cfg, verbose)
    x_train, x_test = data["fit"], data["test"]
    shared = {"config": asdict(cfg), "versions": versions()}
    metrics = {}

    def save_metrics(name, history):   # merged into the file as it is now: other parts' keys are kept
        metrics.update(results_folder.merge(out, {**shared, name: history}))

    splits = {"test": x_test, "train": data["eval_train"]}
    trainers = {}
    for name, _, path in planned_runs(cfg, out)[:len(ALGORITHMS)]:
        trainers[name] = make_trainer(cfg, name)
        history = fit(trainers[name], x_train, epochs=cfg.epochs, batch_size=cfg.batch_size,
                      seed=cfg.seed, checkpoint_path=path, config=cfg.for_algorithm(name),
                      evaluate=make_evaluator(cfg, name, splits, verbose), eval_every=cfg.eval_every,
                      on_epoch_end=save_metrics, verbose=verbose, dynamic_binarize=data["dynamic"])
        save_metrics(name, history)
    settings = ground_truth.settings(cfg)
    if cfg.tracks_truth and stored_truth.get("settings") != settings:
        save_metrics("ground_truth", {"settings": settings,
                                      **ground_truth.run(cfg, out, trainers, data["test_host"], verbose)})
    save_metrics("sleep_lr_sweep", sleep_lr_sweep(cfg, out, data, verbose))
    if cfg.z_dim == 2:   # what the report's pictures of a 2-D code space show, and their statistics
        save_metrics("vae_mnist_analysis", figure_data.vae_mnist(trainers, cfg.seed, data["mnist"], out))
    return metrics
