"""Section 2.4 measured (issue 25, derivations/14): VAEs against GANs on the same data, each of the five
statements of page 9 answered with numbers.

1. The yardstick: a classifier trained here, and the statistics of samples it measures (:mod:`.yardstick`).
2. A fair opponent: the MNIST GAN and three-player game with the remedy chosen by measurement
   (:mod:`.fair_games`), measured every few epochs; AEVB's and IWAE's samples from the prior and their
   reconstructions measured the same way (the checkpoints of ``--parts helmholtz`` and ``--parts iw``).
3. The five statements: the objectives each model follows; divergences on a 2-D lattice during training
   (:mod:`.toy_divergences`); the explicit density; sharpness; discrete data (:mod:`.discrete_data`).

Results go to ``metrics.json['section24']``, checkpoints to ``checkpoints/section24/``, sample grids to
``figure_data/section24.npz``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import backend, checkpoint
from ..data import load_mnist
from ..stable import sigmoid
from ..training import state
from . import bound_training, discrete_data, fair_games, figure_data, require_valid, results_folder, toy_divergences
from .vae_mnist import HelmholtzConfig, make_trainer
from .yardstick import Yardstick, train_classifier


@dataclass(frozen=True)
class Section24Config:
    """Every setting that determines this part's numbers."""

    backend: str = "numpy"
    seed: int = 0
    n_train: int = 60000
    n_test: int = 10000
    batch_size: int = 100
    clf_hidden: tuple[int, ...] = (256, 128)
    clf_epochs: int = 10
    clf_lr: float = 1e-3
    gan_epochs: int = 40
    gan_lr: float = 2e-4
    gan_hidden: int = 512
    z_dim: int = 2
    # the remedy, chosen by benchmarks/mnist_gan_sweep.py (README): a WGAN-GP critic for the GAN, and for the
    # three-player game (which has no critic) the best of the rest, one-sided label smoothing
    real_label: float = 0.9
    instance_noise: float = 0.0
    pack: int = 1                     # the GAN's only: the three-player game's discriminator sees pairs (x, z)
    penalty: float = 10.0             # > 0: the GAN plays against a WGAN-GP critic (not the three-player game)
    lr_decay: float = 1.0             # every player's step falls linearly to this fraction over the run
    eval_every: int = 5
    eval_samples: int = 2000          # samples per draw of the yardstick
    draws: int = 5                    # independent draws behind each mean and standard error
    surface_images: int = 500         # test images and samples whose distance to G's surface is measured
    surface_lattices: tuple[int, ...] = (25, 50, 100, 200)   # codes per side of the lattices on [-4, 4]^2
    toy_n: int = 20000
    toy_std: float = 0.25
    toy_batch: int = 200
    toy_epochs: int = 50
    toy_eval_every: int = 5
    toy_hidden: tuple[int, ...] = (128, 128)
    toy_lr: float = 1e-3
    toy_half_width: float = 3.5
    toy_cells: int = 140              # data cells per side: step 0.05
    vae_lattice: int = 161            # code cells per side of the VAE's density (14.10)
    gan_lattice: int = 1000           # code cells per side of the GAN's push-forward (14.11)
    binary_epochs: int = 10
    probe_steps: tuple[int, ...] = (25, 100, 400)
    bound_k: int = 1000
    bound_images: int = 500

    def __post_init__(self):
        require_valid(self, skip=("seed", "instance_noise", "penalty"))
        if not 0.5 < self.real_label <= 1 or self.instance_noise < 0 or self.penalty < 0 or self.lr_decay > 1:
            raise ValueError("real_label and lr_decay must be in (0.5, 1] and (0, 1], instance_noise and penalty "
                             "at least 0")
        if max(self.eval_samples, self.surface_images, self.bound_images) > self.n_test or self.draws < 2:
            raise ValueError("eval_samples, surface_images and bound_images cannot exceed n_test, and a standard "
                             "error needs draws >= 2")


QUICK = dict(n_train=3000, n_test=500, clf_epochs=2, gan_epochs=2, eval_every=1, eval_samples=200, draws=2,
             surface_images=50, surface_lattices=(10, 20), toy_n=2000, toy_epochs=2, toy_eval_every=1, toy_cells=40,
             vae_lattice=41, gan_lattice=200, binary_epochs=1, probe_steps=(5, 10), bound_k=10, bound_images=50)


def as_json(cfg: Section24Config) -> dict:
    """The configuration as ``metrics.json`` stores it (lists for tuples)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def check_checkpoints(cfg: Section24Config, out: Path) -> None:
    """Refuse, before anything is written, damaged checkpoints of this part and of the VAEs it reads."""
    for path in sorted((out / "checkpoints" / "section24").glob("*.npz")) + vae_checkpoints(out):
        checkpoint.load(path)


def vae_checkpoints(out: Path) -> list[Path]:
    return [p for p in [out / "checkpoints" / "aevb.npz", *sorted((out / "checkpoints").glob("iwae_k*.npz"))]
            if p.exists()]


def vae_epochs(out: Path) -> dict:
    """{checkpoint name: its epoch} of the VAEs this part measures: what its stored results depend on."""
    return {path.stem: checkpoint.load(path)[1]["epoch"] for path in vae_checkpoints(out)}


def trained_vaes(out: Path, metrics: dict) -> dict:
    """Section 1.6's AEVB and the IWAE runs of ``--parts iw`` whose checkpoints exist, restored."""
    if "config" not in metrics:
        return {}
    hcfg = HelmholtzConfig.from_json(metrics["config"])
    found = {}
    for path in vae_checkpoints(out):
        name = path.stem
        trainer = make_trainer(hcfg, "aevb") if name == "aevb" else bound_training.make_trainer(
            hcfg, "iwae", int(name.split("_k")[1]))
        state.load(trainer, checkpoint.load(path)[0])
        found[name] = trainer
    return found


def vae_images(trainer, n: int, seed: int, *stream) -> np.ndarray:
    """The decoder's means sigmoid(f(z)) (n, 784) at n codes from the prior: how VAE samples are shown."""
    z = backend.asarray(backend.host_rng(seed, "section24 vae samples", trainer.name, *stream).standard_normal((n, 2)))
    return backend.to_host(sigmoid(trainer.model.decode(trainer.players["dec"].params, z)[0]))


def vae_reconstructions(trainer, x: np.ndarray) -> np.ndarray:
    """The decoder's means at the encoder's mean code of each image x (n, 784)."""
    enc, dec = trainer.players["enc"].params, trainer.players["dec"].params
    mu = trainer.model.encode(enc, backend.asarray(x))[0]
    return backend.to_host(sigmoid(trainer.model.decode(dec, mu)[0]))


def distances_to_surface(generate, x: np.ndarray, lattices, limit: float = 4.0) -> list[dict]:
    """For each lattice of n x n codes on [-limit, limit]^2, min_j ||x - G(z_j)|| for every row of x (N, D):
    an upper bound on the distance to the surface G(R^2) that falls as the lattice refines (14.14).
    ``generate(z (M, 2)) -> (M, D)`` on the host. Returns [{'lattice', 'median', 'q10', 'q90'}]."""
    x = np.asarray(x, dtype=np.float64)
    rows = []
    for n in lattices:
        axis = np.linspace(-limit, limit, n)
        z = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        best = np.full(len(x), np.inf)
        for lo in range(0, len(z), 5000):
            g = np.asarray(generate(z[lo:lo + 5000]), dtype=np.float64)
            sq = (x ** 2).sum(1)[:, None] + (g ** 2).sum(1)[None, :] - 2 * x @ g.T
            best = np.minimum(best, np.sqrt(np.clip(sq, 0, None)).min(axis=1))
        rows.append({"lattice": n, "step": 2 * limit / (n - 1), "median": float(np.median(best)),
                     "q10": float(np.quantile(best, 0.1)), "q90": float(np.quantile(best, 0.9))})
    return rows


def objectives(metrics: dict, games: dict) -> dict:
    """Statement 1: each VAE's test ELBO against its exact log p(x) (page 10's measurements, with the gap),
    and the losses the games' players followed in their last epoch."""
    result = {}
    truths = {**metrics.get("ground_truth", {}), **metrics.get("iw", {}).get("ground_truth", {})}
    for name, truth in truths.items():
        if name.startswith(("aevb", "iwae")) and "rows" in truth:
            rows = truth["rows"]
            result[name] = {"elbo": rows["ELBO"]["mean"], "elbo_mc_se": rows["ELBO"]["mc_se"],
                            "log_px": rows["log p(x)"]["mean"], "gap": rows["log p(x)"]["mean"] - rows["ELBO"]["mean"],
                            "gap_se": truth["kl_q_to_posterior"]["std_across_images"] / np.sqrt(truth["images"]),
                            "images": truth["images"]}
            if "L_10" in rows:           # IWAE (k = 5) trains on L_5, which lies between the ELBO and L_10
                result[name]["log_px_minus_L10"] = rows["log p(x)"]["mean"] - rows["L_10"]["mean"]
    for name, history in games.items():
        last = history["epochs"][-1]
        result[name] = {k: last[k] for k in last if k.endswith("loss") or k in ("d_real", "d_fake")}
    return result


def run(cfg: Section24Config, out: Path, verbose: bool = True) -> dict:
    """Train (or resume) everything of section 2.4 and store its measurements; results stored for the same
    configuration and the same VAE checkpoints are kept as they are."""
    check_checkpoints(cfg, out)
    stored = results_folder.read_metrics(out).get("section24", {})
    if stored.get("config") == as_json(cfg) and stored.get("vae_epochs") == vae_epochs(out):
        return results_folder.read_metrics(out)
    backend.use(cfg.backend)
    folder = out / "checkpoints" / "section24"
    mnist = load_mnist(verbose=verbose)
    x_test = mnist.x_test[:cfg.n_test]
    started, seconds = time.perf_counter(), {}

    def lap(name):
        seconds[name] = time.perf_counter() - started - sum(seconds.values())

    clf_model, clf_params, classifier = train_classifier(cfg, out, mnist, verbose)
    yardstick = Yardstick(clf_model, clf_params, x_test)
    lap("classifier")
    x_train = backend.asarray(mnist.x_train[:cfg.n_train])
    games, histories = {}, {}
    for kind in fair_games.KINDS:
        remedy = fair_games.Remedy(cfg.real_label, cfg.instance_noise, cfg.pack, cfg.penalty, cfg.lr_decay)
        games[kind], histories[kind] = fair_games.train(cfg, kind, remedy, folder, x_train, yardstick, verbose)
    lap("games")
    if verbose:
        print("[nprob] section 2.4: measuring samples", file=sys.stderr)
    def pick(images, *stream):   # eval_samples distinct images
        return images[backend.host_rng(cfg.seed, *stream).choice(len(images), cfg.eval_samples, replace=False)]
    draws = {"real (training images)": lambda i: pick(mnist.x_train[:cfg.n_train], "section24 real", i)}
    vaes = trained_vaes(out, results_folder.read_metrics(out))
    for name, trainer in vaes.items():
        draws[f"{name} samples"] = lambda i, t=trainer: vae_images(t, cfg.eval_samples, cfg.seed, "draw", i)
        draws[f"{name} reconstructions"] = lambda i, t=trainer: vae_reconstructions(
            t, pick(x_test, "section24 recon", i))
    for kind, trainer in games.items():
        draws[f"{kind} samples"] = lambda i, t=trainer: fair_games.samples(t, cfg.eval_samples, cfg.seed, "draw", i)
    measured = {name: yardstick.measure([draw(i) for i in range(cfg.draws)]) for name, draw in draws.items()}
    lap("yardstick")
    gan = games["gan"]
    generate = lambda z: backend.to_host(gan.model.generate(gan.players["g"].params, backend.asarray(z)))  # noqa
    surface = {"test images": distances_to_surface(generate, x_test[:cfg.surface_images], cfg.surface_lattices),
               "own samples": distances_to_surface(generate, fair_games.samples(gan, cfg.surface_images, cfg.seed,
                                                                                "surface"), cfg.surface_lattices)}
    lap("surface")
    toy_histories, toy_masses = toy_divergences.experiment(cfg, folder, verbose)
    lap("toy")
    discrete = discrete_data.experiment(cfg, folder, mnist, lambda ref: Yardstick(clf_model, clf_params, ref), verbose)
    lap("discrete")
    pictures = {f"{name}": draw(0)[:100] for name, draw in draws.items()}
    pictures.update({f"toy {k}": v for k, v in toy_masses.items()})
    pictures.update({f"binary {k}": v for k, v in discrete.pop("pictures").items()})
    checkpoint.save(figure_data.path(out, "section24"), pictures, {})
    section = {"config": as_json(cfg), "classifier": classifier, "games": histories, "yardstick": measured,
               "objectives": objectives(results_folder.read_metrics(out), histories), "surface": surface,
               "toy": toy_histories, "discrete": discrete, "vae_epochs": vae_epochs(out), "seconds": seconds}
    return results_folder.merge(out, {"section24": section})
