"""Section 2: every GAN experiment, its configuration, and where its numbers go.

Results are stored under ``metrics.json['gan']`` (one key per experiment, with
the configuration under ``metrics.json['gan_config']``); an experiment whose
results are already there for the same configuration is not run again, and the
trained games resume from their checkpoints. A folder holding results of another
configuration is refused before anything is written (only ``mnist_epochs`` may
grow, which retrains nothing but the MNIST games).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .. import backend, checkpoint
from ..data import load_mnist
from ..toy_data import MIXTURES
from ..training import state
from . import figure_data, gan_games, gan_theory, require_valid, results_folder, toy_games
from .settings import NONE, setting


TOY, MNIST = ("toy",), ("mnist",)   # the two kinds of game whose checkpoints record settings


@dataclass(frozen=True)
class GANConfig:
    """Every setting that determines the numbers of the section 2 experiments."""

    backend: str = "numpy"           # fields without setting(...) are recorded by every game's checkpoint
    seed: int = setting(0, NONE)     # each toy game records its own seed
    optimal_d_steps: int = setting(3000, NONE)
    saturation_d_steps: int = setting(1000, NONE)
    saturation_train_steps: int = setting(2000, NONE)
    lines_steps: int = setting(1000, NONE)
    lines_thetas: tuple[float, ...] = setting((-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0), NONE)
    toy_steps: int = setting(5000, TOY)            # generator steps per toy game
    toy_batch: int = setting(256, TOY)
    toy_seeds: int = setting(5, NONE)
    toy_hidden: tuple[int, ...] = setting((128, 128), TOY)
    toy_lr: float = setting(1e-3, TOY)
    toy_bigan_lr: float = setting(2e-3, TOY)
    toy_lr_decay: float = setting(0.01, TOY)       # every toy player's learning rate falls to this fraction (13.10)
    wgan_lr: float = setting(1e-4, TOY)
    wgan_n_critic: int = setting(5, TOY)
    wgan_clip: float = setting(0.01, TOY)
    wgan_gp_lr: float = setting(3e-4, TOY)
    wgan_gp_lambda: float = setting(10.0, TOY)
    mnist_epochs: int = setting(20, NONE)          # may grow on resume
    mnist_batch: int = setting(100, MNIST)
    mnist_lr: float = setting(2e-4, MNIST)
    mnist_hidden: int = setting(512, MNIST)
    mnist_z_dim: int = setting(2, MNIST)
    n_train: int = setting(60000, MNIST)
    n_test: int = setting(10000, MNIST)
    workers: int = setting(2, NONE)                # toy games trained side by side on a CPU; changes no number

    def __post_init__(self):
        require_valid(self, skip=("seed", "lines_thetas"))
        if self.toy_lr_decay > 1:
            raise ValueError(f"toy_lr_decay is the final fraction of the learning rate, in (0, 1]; got {self.toy_lr_decay}")
        if self.mnist_batch > self.n_train:
            raise ValueError(f"mnist_batch ({self.mnist_batch}) cannot exceed n_train ({self.n_train})")


QUICK = dict(optimal_d_steps=200, saturation_d_steps=150, saturation_train_steps=150, lines_steps=150,
             lines_thetas=(0.0, 0.5), toy_steps=150, toy_seeds=1, mnist_epochs=1, n_train=2000, n_test=500)


def as_json(cfg: GANConfig) -> dict:
    """The configuration as ``metrics.json`` stores it (lists for tuples)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def check_checkpoints(cfg: GANConfig, out: Path) -> list[str]:
    """Refuse (CheckpointError) a folder holding section-2 results or checkpoints of another configuration;
    returns the settings that changed in a way that may resume (only ``mnist_epochs``)."""
    path = out / "metrics.json"
    metrics = checkpoint.read_json_object(path) if path.exists() else {}
    config = as_json(cfg)
    stored = metrics.get("gan_config")
    changed = sorted(k for k in config if stored is not None and stored.get(k) != config[k] and k != "workers")
    if set(changed) - {"mnist_epochs"}:
        raise checkpoint.CheckpointError(
            f"{path} holds section-2 results of another configuration ("
            + "; ".join(f"{k}: stored {stored.get(k)!r}, now {config[k]!r}" for k in changed)
            + "); use another --out folder")
    gan_games.check_checkpoints(cfg, out)
    return changed


def _restored(trainer, path: Path):
    """``trainer`` with the state of the checkpoint at ``path``, or None where there is none."""
    if not path.exists():
        return None
    state.load(trainer, checkpoint.load(path)[0])
    return trainer


def trained_games(cfg: GANConfig, out: Path) -> tuple[dict, dict]:
    """The toy games of the first seed {(mixture, method): trainer} and the MNIST games {name: trainer}
    whose checkpoints exist, restored."""
    toy = {(data, method): _restored(toy_games.make_toy_trainer(cfg, method, cfg.seed),
                                     toy_games.toy_plan(cfg, method, data, cfg.seed, out)["path"])
           for data in MIXTURES for method in toy_games.TOY_METHODS}
    games = {name: _restored(trainer, gan_games.mnist_plan(cfg, name, out)["path"])
             for name, trainer in gan_games.mnist_trainers(cfg).items()}
    return ({k: v for k, v in toy.items() if v is not None}, {k: v for k, v in games.items() if v is not None})


def run(cfg: GANConfig, out: Path, verbose: bool = True) -> dict:
    """Run (or resume) every section-2 experiment and merge the results into ``out/metrics.json``."""
    changed = check_checkpoints(cfg, out)
    config = as_json(cfg)
    results = {k: v for k, v in results_folder.read_metrics(out).get("gan", {}).items()
               if not (changed and k == "mnist")}
    backend.use(cfg.backend)
    metrics = {}

    def save(key, value):   # this part's keys merged into the file as it is now
        results[key] = value
        metrics.update(results_folder.merge(out, {"gan_config": config, "gan": results}))

    steps = {
        "optimal_discriminator": lambda: gan_theory.optimal_discriminator(cfg.seed, cfg.optimal_d_steps, verbose=verbose),
        "saturation": lambda: gan_theory.saturation(cfg.seed, cfg.saturation_d_steps, cfg.saturation_train_steps,
                                                    verbose=verbose),
        "parallel_lines": lambda: gan_theory.parallel_line_distances(cfg.seed, cfg.lines_thetas, cfg.lines_steps,
                                                                     verbose=verbose),
        "mode_coverage": lambda: toy_games.mode_coverage_experiment(cfg, out, verbose),
        "inference_toy": lambda: gan_games.inference_toy_experiment(cfg, out, verbose),
    }
    for key, experiment in steps.items():
        if key not in results:
            if verbose:
                print(f"[nprob] GAN experiment: {key}")
            save(key, experiment())
    if "mnist" not in results:
        mnist = load_mnist(verbose=verbose)
        x_train = backend.asarray(mnist.x_train[:cfg.n_train])
        x_test = backend.asarray(mnist.x_test[:cfg.n_test])
        save("mnist", gan_games.mnist_experiment(cfg, out, x_train, x_test, verbose))
    figure_data.gans(*trained_games(cfg, out), cfg, load_mnist(verbose=False), out)
    return metrics
