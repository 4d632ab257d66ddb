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

from . import backend, validate

MODES = ("none", "static", "dynamic")


def draw(x, u, check_values: bool = True):
    """One Bernoulli draw per pixel with the grey level as its probability: (u < x) in x's dtype.

    x: (..., D) grey levels in [0, 1]; u: Uniform(0, 1) draws of exactly x's shape (one per pixel, never
    broadcast), host or device like x. Raw 0..255 pixels, NaN and mis-shaped noise are refused;
    ``check_values=False`` skips reading the values (a host sync on a GPU) for a caller that checked x once
    and drew u itself (the training loop), keeping the checks of dtypes and shapes.
    """
    validate.float_array(x, getattr(x, "dtype", None), "x")
    if getattr(u, "shape", None) != x.shape:
        raise ValueError(f"u must have the images' shape {tuple(x.shape)} (one draw per pixel), got "
                         f"{getattr(u, 'shape', type(u).__name__)}")
    validate.float_array(u, u.dtype, "u")
    if check_values:
        validate.unit_interval(x, "x")
        validate.uniforms(u)
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
