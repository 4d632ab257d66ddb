"""Training on the bound (issue 13, derivations/11): IWAE and reweighted wake-sleep beside AEVB and Wake-Sleep.

Each run uses the same model, initial weights, data, epochs and evaluation as section 1.6
(:mod:`nprob.assignment.vae_mnist`), so the four algorithms differ only in how they learn.
Results go to ``metrics.json['iw']`` and ``checkpoints/{iwae,rws}_k{K}.npz``.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from .. import backend
from ..training.loop import fit
from ..training.state import read_checkpoint
from ..training.trainers import IWAETrainer, RWSTrainer
from . import ground_truth
from . import step_costs, results_folder
from .vae_mnist import HelmholtzConfig, load_data, make_evaluator, versions

IW_ALGORITHMS = ("iwae", "rws")


def planned_runs(cfg: HelmholtzConfig, out: Path) -> list:
    """(run name, algorithm, k, checkpoint path) of every run of this part."""
    return [(f"{alg}_k{k}", alg, k, out / "checkpoints" / f"{alg}_k{k}.npz")
            for k in cfg.iw_ks for alg in IW_ALGORITHMS]


class RunTooLarge(RuntimeError):
    """A training step would need more memory than the machine has."""


def check_checkpoints(cfg: HelmholtzConfig, out: Path) -> None:
    """Refuse (CheckpointError) any checkpoint of this part made with another configuration or more epochs,
    and (RunTooLarge) a k whose training step cannot fit in memory, before anything is loaded or written."""
    for _, alg, k, path in planned_runs(cfg, out):
        read_checkpoint(path, cfg.for_algorithm(alg, k), cfg.epochs)
    backend.use(cfg.backend)
    need, have = step_costs.iw_step_bytes(cfg, max(cfg.iw_ks)), backend.memory_bytes()
    if need > have:
        raise RunTooLarge(f"--iw-ks {max(cfg.iw_ks)}: one training step needs about {need / 2**30:,.1f} GiB "
                          f"(k x batch {cfg.batch_size} x the layer widths), more than the {have / 2**30:,.1f} GiB "
                          f"free on {backend.device_name()}; choose a smaller k or --batch-size")


def make_trainer(cfg: HelmholtzConfig, algorithm: str, k: int):
    """A fresh IWAE or RWS trainer with section 1.6's initial weights; its name (the noise stream) holds k."""
    model = cfg.model()
    enc, dec = model.init(backend.host_rng(cfg.seed, "init"), cfg.init)
    name = f"{algorithm}_k{k}"
    if algorithm == "iwae":
        return IWAETrainer(model, enc, dec, k=k, lr=cfg.iw_lr, optimizer=cfg.optimizer, name=name)
    return RWSTrainer(model, enc, dec, k=k, lr=cfg.iw_lr, sleep=cfg.rws_sleep, sleep_samples=cfg.sleep_samples,
                      optimizer=cfg.optimizer, name=name)


def run(cfg: HelmholtzConfig, out: Path, verbose: bool = True) -> dict:
    """Train (or resume) every IWAE and RWS run, then measure each like section 1.6's models.

    Writes ``metrics['iw'] = {'config', 'runs': {name: history}, 'ground_truth': {name: hierarchy}}``;
    every checkpoint is checked before anything is written.
    """
    section = results_folder.read_metrics(out).get("iw", {})
    check_checkpoints(cfg, out)
    data = load_data(cfg, verbose)
    section.update(config=asdict(cfg), versions=versions())
    section.setdefault("runs", {})
    section.setdefault("ground_truth", {})
    metrics = {}

    def save(name, history):   # this part's key merged into the file as it is now
        section["runs"][name] = history
        metrics.update(results_folder.merge(out, {"iw": section}))

    splits = {"test": data["test"], "train": data["eval_train"]}
    for name, alg, k, path in planned_runs(cfg, out):
        trainer = make_trainer(cfg, alg, k)
        history = fit(trainer, data["fit"], epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                      checkpoint_path=path, config=cfg.for_algorithm(alg, k), eval_every=cfg.eval_every,
                      evaluate=make_evaluator(cfg, name, splits, verbose), on_epoch_end=save, verbose=verbose,
                      dynamic_binarize=data["dynamic"])
        save(name, history)
        settings = ground_truth.settings(cfg)
        if cfg.tracks_truth and section["ground_truth"].get(name, {}).get("settings") != settings:
            if verbose:
                print(f"[nprob] ground truth: {name} on {cfg.truth_images} test images", flush=True)
            x = backend.asarray(data["test_host"][:cfg.truth_images])
            enc, dec = trainer.players["enc"].params, trainer.players["dec"].params
            section["ground_truth"][name] = {"settings": settings, **ground_truth.hierarchy(
                trainer.model, enc, dec, x, cfg.truth_ks, cfg.seed, name)}
            if cfg.truth_test_set:
                section["ground_truth"][name]["test_set"] = ground_truth.test_set(
                    trainer.model, enc, dec, backend.asarray(data["test_host"]), cfg.seed, name)
            save(name, history)
    return metrics
