"""Section 1.4 measured (issue 14, derivations/12): binary latents, gradient variance, cost per data point.

1. A Helmholtz machine with ``h_dim`` binary latents trained by Wake-Sleep, reweighted wake-sleep
   and the score-function ELBO estimator, each measured by exact log p(x) and exact ELBO
   (enumeration, (12.2)-(12.3)) and L_k, on statically binarised MNIST.
2. The variance of two estimators of the recognition gradient on section 1.6's trained AEVB model.
3. Floating-point operations per data point of an AEVB and a Wake-Sleep step beside their measured
   seconds per data point in section 1.6's runs.

Results go to ``metrics.json['section14']`` and ``checkpoints/binary_*.npz``.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import backend, bounds, checkpoint
from ..binarize import fixed, views
from ..data import load_mnist
from ..models.binary_helmholtz import BinaryHelmholtzMachine
from ..training.binary_trainers import BinaryRWSTrainer, BinaryWakeSleepTrainer, ScoreFunctionTrainer
from ..training.loop import fit
from ..training import state
from ..training.state import read_checkpoint
from . import gradient_variance, require_valid, results_folder, step_costs
from .settings import NONE, for_run, setting
from .vae_mnist import HelmholtzConfig, make_trainer

ALGORITHMS = ("wake_sleep", "rws", "score_function")


@dataclass(frozen=True)
class Section14Config:
    """Every setting that determines this part's numbers."""

    backend: str = "numpy"          # fields without setting(...) are recorded by every run's checkpoint
    seed: int = 0
    h_dim: int = 12                 # 2^12 = 4096 codes: log p(x) exact by enumeration
    hidden: tuple[int, ...] = (256,)
    epochs: int = setting(20, NONE)
    eval_every: int = setting(5, NONE)
    batch_size: int = 100
    lr: float = 1e-3
    sleep_samples: int = setting(100, ("wake_sleep",))    # Wake-Sleep's fantasies per step
    rws_k: int = setting(5, ("rws",))
    sf_samples: int = setting(1, ("score_function",))     # codes per image of the score-function estimator
    k: int = setting(100, NONE)                           # L_k at evaluation, on the first bound_images of each split
    bound_images: int = setting(1000, NONE)
    n_train: int = 60000
    n_test: int = setting(10000, NONE)
    n_eval_train: int = setting(10000, NONE)
    var_images: int = setting(100, NONE)                  # the fixed batch of the variance experiment
    var_draws: int = setting(100, NONE)
    var_ls: tuple[int, ...] = setting((1, 4, 16, 64), NONE)

    def __post_init__(self):
        require_valid(self)
        BinaryHelmholtzMachine(h_dim=self.h_dim)            # refuses an h_dim too large to enumerate
        if self.var_draws < 2:
            raise ValueError(f"var_draws must be at least 2 (a variance needs two draws), got {self.var_draws}")
        if max(self.batch_size, self.n_eval_train) > self.n_train or max(self.var_images, self.bound_images) > \
                min(self.n_test, self.n_eval_train):
            raise ValueError("batch_size and n_eval_train cannot exceed n_train, nor var_images and bound_images "
                             "n_test or n_eval_train")

    def model(self) -> BinaryHelmholtzMachine:
        return BinaryHelmholtzMachine(h_dim=self.h_dim, hidden=tuple(self.hidden))

    def for_checkpoint(self, name: str) -> dict:
        """The settings a checkpoint of ``name`` must agree with (each field declares its runs)."""
        return for_run(self, name)


QUICK = dict(epochs=2, eval_every=1, n_train=3000, n_test=500, n_eval_train=500, bound_images=200, var_images=50,
             var_draws=10, var_ls=(1, 8))


def make_binary_trainer(cfg: Section14Config, name: str):
    """A fresh trainer; all three start from the same weights, drawn from (seed, 'binary init')."""
    model = cfg.model()
    enc, gen = model.init(backend.host_rng(cfg.seed, "binary init"), "he")
    if name == "wake_sleep":
        return BinaryWakeSleepTrainer(model, enc, gen, lr=cfg.lr, sleep_samples=cfg.sleep_samples)
    if name == "rws":
        return BinaryRWSTrainer(model, enc, gen, k=cfg.rws_k, lr=cfg.lr)
    return ScoreFunctionTrainer(model, enc, gen, samples=cfg.sf_samples, lr=cfg.lr)


def check_checkpoints(cfg: Section14Config, out: Path) -> None:
    """Refuse checkpoints of another configuration, and a damaged AEVB checkpoint of section 1.6 (which the
    variance experiment reads after training), before anything is written."""
    for name in ALGORITHMS:
        read_checkpoint(out / "checkpoints" / f"binary_{name}.npz", cfg.for_checkpoint(name), cfg.epochs)
    if aevb_checkpoint(out).exists():
        checkpoint.load(aevb_checkpoint(out))


def aevb_checkpoint(out: Path) -> Path:
    """Section 1.6's AEVB checkpoint, which the variance experiment measures."""
    return out / "checkpoints" / "aevb.npz"


def evaluator(cfg: Section14Config, splits: dict, verbose: bool):
    """Exact log p(x) and ELBO by enumeration, and L_k, averaged over each split (host floats)."""
    def evaluate(trainer, epoch):
        enc, gen = trainer.players["enc"].params, trainer.players["dec"].params
        m, result = trainer.model, {}
        for split, x in splits.items():
            result[f"logpx_{split}"] = backend.to_float(m.log_marginal(gen, x).mean())
            result[f"elbo_{split}"] = backend.to_float(m.exact_elbo(enc, gen, x).mean())
            rng = backend.rng(cfg.seed, "binary eval", trainer.name, epoch, split)
            bound = bounds.binary_iw_bound(m, enc, gen, x[:cfg.bound_images], cfg.k, rng)
            result[f"L{cfg.k}_{split}"] = backend.to_float(bound.mean())
        if verbose:
            print(f"\n[nprob] {trainer.name} epoch {epoch}: " + ", ".join(f"{k} = {v:.2f}" for k, v in result.items()),
                  file=sys.stderr)
        return result
    return evaluate


def variance_settings(cfg: Section14Config, out: Path, metrics: dict) -> dict | None:
    """What a variance measurement depends on, the AEVB model's epoch included; None without that model."""
    if "config" not in metrics or not aevb_checkpoint(out).exists():
        return None
    _, meta = checkpoint.load(aevb_checkpoint(out))
    return {"var_images": cfg.var_images, "var_draws": cfg.var_draws, "var_ls": list(cfg.var_ls),
            "aevb_epoch": meta["epoch"]}


def variance(cfg: Section14Config, out: Path, metrics: dict, mnist, verbose: bool) -> dict:
    """The variance experiment's entry: kept if measured with these settings on this AEVB model, measured
    afresh otherwise, or a note without settings (so it is measured once the model exists)."""
    settings, stored = variance_settings(cfg, out, metrics), metrics.get("section14", {}).get("variance", {})
    if settings is None:
        return {"skipped": "needs section 1.6's trained AEVB model (run --parts helmholtz first)"}
    if stored.get("settings") == settings:
        return stored
    if verbose:
        print("[nprob] section 1.4: gradient variance on the trained AEVB model", file=sys.stderr)
    return {"settings": settings, **variance_experiment(cfg, out, metrics, mnist)}


def variance_experiment(cfg: Section14Config, out: Path, metrics: dict, mnist) -> dict:
    """The variance experiment on section 1.6's AEVB checkpoint, on the test images as that run saw them."""
    hcfg = HelmholtzConfig.from_json(metrics["config"])
    trainer = make_trainer(hcfg, "aevb")
    arrays, meta = checkpoint.load(aevb_checkpoint(out))
    state.load(trainer, arrays)
    enc, dec = trainer.players["enc"].params, trainer.players["dec"].params
    seen = views(hcfg.binarize, mnist.x_train[:hcfg.n_train], mnist.x_test[:hcfg.n_test], hcfg.seed).test
    x = backend.asarray(seen[:cfg.var_images], dtype=enc.flat.dtype)
    return {"epoch": meta["epoch"],
            **gradient_variance.measure(trainer.model, enc, dec, x, cfg.var_ls, cfg.var_draws, cfg.seed)}


def cost_per_data_point(metrics: dict) -> dict:
    """Flops per data point from the layer shapes, and section 1.6's measured seconds per data point."""
    hcfg = HelmholtzConfig.from_json(metrics["config"]) if "config" in metrics else HelmholtzConfig()
    out = {}
    for name in ("aevb", "wake_sleep"):
        seconds = sorted(e["seconds"] for e in metrics.get(name, {}).get("epochs", []))
        steps = hcfg.n_train // hcfg.batch_size
        out[name] = {"flops": step_costs.flops_per_data_point(hcfg, name),
                     "seconds": seconds[len(seconds) // 2] / (steps * hcfg.batch_size) if seconds else None}
    return out


def run(cfg: Section14Config, out: Path, verbose: bool = True) -> dict:
    """Train (or resume) the three binary-latent runs, then the variance and cost measurements."""
    metrics = results_folder.read_metrics(out)
    check_checkpoints(cfg, out)
    backend.use(cfg.backend)
    mnist = load_mnist(verbose=verbose)
    x_train = backend.asarray(fixed(mnist.x_train[:cfg.n_train], cfg.seed, "train"))
    x_test = backend.asarray(fixed(mnist.x_test[:cfg.n_test], cfg.seed, "test"))
    section = metrics.get("section14", {})
    section.update(config=asdict(cfg))
    section.setdefault("runs", {})

    def save(name, history):   # this part's key merged into the file as it is now
        section["runs"][name] = history
        results_folder.merge(out, {"section14": section})

    splits = {"test": x_test, "train": x_train[:cfg.n_eval_train]}
    for name in ALGORITHMS:
        trainer = make_binary_trainer(cfg, name)
        history = fit(trainer, x_train, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                      checkpoint_path=out / "checkpoints" / f"binary_{name}.npz", config=cfg.for_checkpoint(name),
                      evaluate=evaluator(cfg, splits, verbose), eval_every=cfg.eval_every,
                      on_epoch_end=lambda _, h, n=name: save(n, h), verbose=verbose)
        save(name, history)
    section["variance"] = variance(cfg, out, results_folder.read_metrics(out), mnist, verbose)
    section["cost"] = cost_per_data_point(metrics)
    return results_folder.merge(out, {"section14": section})
