"""The assignment wing: the experiments of the assignment, run on the library in ``nprob/``, and the report.

Each study is an experiment module (it trains, evaluates and stores its numbers in ``metrics.json``)
beside the report module that presents it (``*_report.py``: figures and text). No module here defines
a backward pass or a gradient; the library never imports this package.
"""
from dataclasses import fields

from ..data import MNIST_TEST, MNIST_TRAIN


def require_valid(cfg, skip=("seed",)) -> None:
    """Refuse a configuration whose numeric settings (or tuples of them) are not all positive, whose seed
    is negative, or that asks for more MNIST images (``n_train``, ``n_test``) than exist."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        numbers = value if isinstance(value, tuple) else (value,)
        if f.name not in skip and any(isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0
                                      for v in numbers):
            raise ValueError(f"{f.name} must be positive, got {value}")
    if cfg.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cfg.seed}")
    if cfg.n_train > MNIST_TRAIN or cfg.n_test > MNIST_TEST:
        raise ValueError(f"MNIST has {MNIST_TRAIN} training and {MNIST_TEST} test images; "
                         f"n_train = {cfg.n_train} and n_test = {cfg.n_test} ask for more")
