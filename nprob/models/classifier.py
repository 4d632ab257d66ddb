"""A softmax classifier p(y|x) = softmax(f(x)) with f an MLP: the sample-quality yardstick of
derivations/14-vae-vs-gan-measured.md (results 14.1-14.2).

For a batch x (N, D) with labels y (N,) in {0, ..., C-1}:

    loss = -(1/N) sum_n log softmax(f(x_n))_{y_n}                      (14.1)
    dloss/df(x_n) = (softmax(f(x_n)) - onehot(y_n)) / N                 (14.2)

The activations entering the last layer (the penultimate features, (N, hidden[-1])) are what the
Frechet distance of :mod:`nprob.sample_quality` compares.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend, validate
from ..nn import MLP, init_networks
from ..stable import logsumexp


@dataclass(frozen=True)
class Classifier:
    """x_dim-hidden..-classes, ``activation`` between the layers, logits out."""

    x_dim: int = 784
    hidden: tuple[int, ...] = (256, 128)
    classes: int = 10
    activation: str = "relu"

    @property
    def network(self) -> MLP:
        return MLP("clf", (self.x_dim, *self.hidden, self.classes), hidden=self.activation)

    def init(self, rng: np.random.Generator, scheme: str = "he", dtype=backend.DTYPE):
        return init_networks((self.network,), rng, scheme, dtype)[0]

    def log_probs(self, c, x):
        """x: (N, x_dim) -> log p(y|x): (N, classes)."""
        logits = self.network.forward(c, x)[0]
        return logits - logsumexp(logits, axis=1)[:, None]

    def features(self, c, x):
        """x: (N, x_dim) -> the penultimate activations (N, hidden[-1]), the input of the last layer."""
        caches = self.network.forward(c, x)[1]
        return caches[-1][0][0]

    def loss_and_grads(self, c, x, labels):
        """Mean cross-entropy (14.1) and its gradient in ``c``; labels: (N,) integers in [0, classes).

        Returns ({'loss', 'accuracy'}, grad_c); the scalars stay on the device.
        """
        validate.batch(x, c.flat.dtype, "x")
        xp = backend.get_array_module(x)
        if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers of shape ({x.shape[0]},), got {labels.dtype} {labels.shape}")
        n = x.shape[0]
        logits, cache = self.network.forward(c, x)
        log_p = logits - logsumexp(logits, axis=1)[:, None]             # log softmax
        rows = xp.arange(n)
        loss = -log_p[rows, labels].mean()                                # eq. (14.1)
        dlogits = xp.exp(log_p)                                           # softmax
        dlogits[rows, labels] -= 1
        dlogits *= x.dtype.type(1.0 / n)                                  # eq. (14.2)
        grads = c.empty_like()
        self.network.backward(dlogits, cache, grads, need_dx=False, accumulate=False)
        accuracy = (xp.argmax(logits, axis=1) == labels).mean()
        return {"loss": loss, "accuracy": accuracy}, grads
