"""A classifier's trainer, under the same contract as the generative models' (so :mod:`nprob.training.loop`
checkpoints, resumes and watches it for divergence like any other run).

The loop hands a trainer one array of rows; a labelled row is an image with its label appended as one more
float column (labels 0..9 are exact in float32). :func:`labelled` builds such rows.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..models.classifier import Classifier
from .trainers import Player, Trainer


def labelled(x, labels):
    """Images (N, D) and integer labels (N,) as rows (N, D + 1) in the images' dtype, on their backend."""
    xp = backend.get_array_module(x)
    labels = np.asarray(backend.to_host(labels))
    if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers of shape ({x.shape[0]},), got {labels.dtype} {labels.shape}")
    return xp.concatenate([x, xp.asarray(labels[:, None], dtype=x.dtype)], axis=1)


class ClassifierTrainer(Trainer):
    """One Adam step of the softmax cross-entropy (derivations/14 eq. 14.1) per batch of labelled rows."""

    name = "classifier"

    def __init__(self, model: Classifier, c, lr=1e-3):
        self.model = model
        self.players = {"clf": Player(c, lr)}

    def step(self, x, rng):
        images, labels = x[:, :-1], x[:, -1].astype(np.int64)
        scalars, grads = self.model.loss_and_grads(self.players["clf"].params, images, labels)
        self.players["clf"].step(grads)
        return scalars
