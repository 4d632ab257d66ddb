"""Binary views of MNIST, so that log p(x) is a normalised likelihood (issue 13's ``--binarize``).

The Bernoulli decoder assigns probabilities to binary images; on grey levels its "likelihood"
is unnormalised (derivations/03), so only binarised numbers can be set beside published ones.

* ``none``: the grey levels in [0, 1], as the assignment uses them.
* ``static``: one Bernoulli draw of every pixel, fixed for the whole run (seeded).
* ``dynamic``: a fresh draw of every training pixel each time a batch is used (Burda et al.);
  evaluation uses one fixed draw of the test and training images, so evaluations compare.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import backend

MODES = ("none", "static", "dynamic")


def draw(x, u):
    """One Bernoulli draw per pixel with the grey level as its probability: (u < x) in x's dtype.

    x: (..., D) grey levels in [0, 1]; u: uniforms of the same shape (host or device, like x).
    """
    return (u < x).astype(x.dtype)


def fixed(x: np.ndarray, seed: int, split: str) -> np.ndarray:
    """A fixed binarisation of host images x (N, D), from the stream (seed, 'binarize', split)."""
    return draw(x, backend.host_rng(seed, "binarize", split).random(x.shape, dtype=np.float64))


@dataclass(frozen=True)
class Views:
    """Host images for each use: ``fit`` trains (drawn afresh per batch when ``dynamic``), the others evaluate."""

    fit: np.ndarray
    eval_train: np.ndarray
    test: np.ndarray
    dynamic: bool


def views(mode: str, x_train: np.ndarray, x_test: np.ndarray, seed: int) -> Views:
    """The training and test images (N, D) as ``mode`` asks; raises ValueError for an unknown mode."""
    if mode not in MODES:
        raise ValueError(f"binarize must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "none":
        return Views(x_train, x_train, x_test, dynamic=False)
    train, test = fixed(x_train, seed, "train"), fixed(x_test, seed, "test")
    return Views(train if mode == "static" else x_train, train, test, dynamic=mode == "dynamic")
