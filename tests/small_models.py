"""A small Helmholtz machine fitted to 16-pixel data with four clusters, shared by the quadrature and
ground-truth tests: trained posteriors of a few hundredths, in float64, in a second or two."""
import numpy as np

from nprob import backend
from nprob.models.helmholtz import HelmholtzMachine
from nprob.training.trainers import AEVBTrainer


def trained(activation: str, init: str, steps: int):
    """(model, enc, dec, data (2000, 16)) after ``steps`` AEVB steps of batch 100."""
    g = np.random.default_rng(0)
    model = HelmholtzMachine(x_dim=16, z_dim=2, hidden=(32,), activation=activation)
    centres = g.random((4, 16)) < 0.5
    data = np.where(g.random((2000, 16)) < 0.9, centres[g.integers(4, size=2000)], ~centres[0]).astype(np.float64)
    enc, dec = model.init(g, init, dtype=np.float64)
    trainer = AEVBTrainer(model, enc, dec, lr=3e-3)
    gen = backend.rng(0, "train")
    for step in range(steps):
        trainer.step(data[(step % 20) * 100:(step % 20 + 1) * 100], gen)
    return model, enc, dec, data
