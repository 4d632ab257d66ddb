"""The sample-quality yardstick of section 2.4 (derivations/14 results 14.1-14.6): a small MNIST classifier
trained with nprob, and the statistics of a set of images measured with it.

The classifier trains through :func:`nprob.training.loop.fit`, so its checkpoint is cached and resumes like
every other run. :class:`Yardstick` holds it with the moments of the reference images' features (the test
set), and :meth:`Yardstick.measure` turns independent draws of images into means with standard errors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend
from .. import sample_quality as sq
from ..models.classifier import Classifier
from ..training.loop import fit
from ..training.supervised import ClassifierTrainer, labelled

STATISTICS = ("fid", "entropy_per_sample", "entropy_of_mean", "reverse_kl_to_uniform", "pixel_entropy",
              "edge_energy")


def train_classifier(cfg, out: Path, mnist, verbose: bool) -> tuple[Classifier, object, dict]:
    """The yardstick's classifier, trained (or resumed, or read back) from ``out/checkpoints/section24``;
    returns the model, its parameters and {'test_accuracy', 'epochs', 'seconds'}."""
    model = Classifier(hidden=tuple(cfg.clf_hidden))
    trainer = ClassifierTrainer(model, model.init(backend.host_rng(cfg.seed, "classifier init")), lr=cfg.clf_lr)
    rows = labelled(backend.asarray(mnist.x_train[:cfg.n_train]), mnist.y_train[:cfg.n_train].astype(np.int64))
    history = fit(trainer, rows, epochs=cfg.clf_epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                  checkpoint_path=out / "checkpoints" / "section24" / "classifier.npz",
                  config={"hidden": list(cfg.clf_hidden), "lr": cfg.clf_lr, "n_train": cfg.n_train,
                          "batch_size": cfg.batch_size}, verbose=verbose)
    params = trainer.players["clf"].params
    predicted = backend.to_host(model.log_probs(params, backend.asarray(mnist.x_test)).argmax(axis=1))
    return model, params, {"test_accuracy": float((predicted == mnist.y_test).mean()), "epochs": cfg.clf_epochs,
                           "seconds": float(sum(e["seconds"] for e in history["epochs"]))}


class Yardstick:
    """The classifier and the feature moments of the reference images x_ref (N, 784) (host arrays)."""

    def __init__(self, model: Classifier, params, x_ref: np.ndarray, chunk: int = 2000):
        self.model, self.params, self.chunk = model, params, chunk
        self.reference = sq.moments(self.features(x_ref))

    def _chunked(self, f, images: np.ndarray) -> np.ndarray:
        return np.concatenate([backend.to_host(f(self.params, backend.asarray(images[i:i + self.chunk])))
                               for i in range(0, len(images), self.chunk)])

    def features(self, images: np.ndarray) -> np.ndarray:
        return self._chunked(self.model.features, images)

    def log_probs(self, images: np.ndarray) -> np.ndarray:
        return self._chunked(self.model.log_probs, images)

    def one_draw(self, images: np.ndarray) -> dict:
        """Every statistic of one set of images (n, 784) in [0, 1]."""
        labels = sq.label_statistics(self.log_probs(images))
        return {"fid": sq.gaussian_frechet(*sq.moments(self.features(images)), *self.reference),
                **{k: labels[k] for k in ("entropy_per_sample", "entropy_of_mean", "reverse_kl_to_uniform")},
                "pixel_entropy": float(sq.pixel_entropy(images).mean()),
                "edge_energy": float(sq.edge_energy(images).mean()), "histogram": labels["histogram"]}

    def measure(self, draws) -> dict:
        """Mean and standard error over independent draws (each (n, 784)) of every statistic, and the class
        histogram of all draws together."""
        rows = [self.one_draw(images) for images in draws]
        result = {k: sq.mean_and_se([r[k] for r in rows]) for k in STATISTICS}
        result["histogram"] = np.mean([r["histogram"] for r in rows], axis=0).tolist()
        result["samples_per_draw"] = int(len(draws[0]))
        return result

    def flat(self, images: np.ndarray) -> dict:
        """One draw's statistics as finite floats (an evaluation row of the training loop)."""
        return {k: v for k, v in self.one_draw(images).items() if k != "histogram"}
