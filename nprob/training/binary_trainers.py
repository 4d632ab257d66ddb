"""Trainers for the binary-latent Helmholtz machine (derivations/12): Wake-Sleep, RWS, and the score function.

Each has the two players of :mod:`nprob.training.trainers` ('enc' = phi, 'dec' = theta: the decoder and
the prior logits), draws its uniform noise from the generator it is given, and is driven by
:func:`nprob.training.loop.fit` like every other trainer, so checkpoints and resume work the same way.
"""
from __future__ import annotations

import numpy as np

from .. import backend, validate
from ..checkpoint import CheckpointError
from ..models import binary_estimators as estimators
from ..models.binary_helmholtz import BinaryHelmholtzMachine
from .trainers import Player, Trainer

BASELINE_RATE = 0.05   # the running mean's step towards each batch's mean learning signal, eq. (12.6)


class BinaryTrainer(Trainer):
    def __init__(self, model: BinaryHelmholtzMachine, enc, gen, lr=1e-3, optimizer="adam"):
        self.model = model
        self.players = {"enc": Player(enc, lr, optimizer), "dec": Player(gen, lr, optimizer)}

    def _u(self, rng, *shape):
        return backend.uniform(rng, shape, self.players["enc"].params.flat.dtype)


class BinaryWakeSleepTrainer(BinaryTrainer):
    """Wake on the data with one code per image from q, then sleep on ``sleep_samples`` dreamt pairs."""

    name = "binary_wake_sleep"

    def __init__(self, model, enc, gen, lr=1e-3, sleep_samples: int = 100, optimizer="adam"):
        super().__init__(model, enc, gen, lr, optimizer)
        self.sleep_samples = validate.count(sleep_samples, "sleep_samples")

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        u = self._u(rng, 1, x.shape[0], self.model.h_dim)
        wake, g_dec = estimators.wake_loss_and_grads(self.model, enc, dec, x, u, check_values=False)
        self.players["dec"].step(g_dec)
        h, x_dream = estimators.dream(self.model, dec, self._u(rng, self.sleep_samples, self.model.h_dim),
                                      self._u(rng, self.sleep_samples, self.model.x_dim))
        sleep, g_enc = estimators.sleep_loss_and_grads(self.model, enc, h, x_dream)
        self.players["enc"].step(g_enc)
        return {**wake, **sleep}


class BinaryRWSTrainer(BinaryTrainer):
    """Reweighted wake-sleep with k codes per image: wake-theta and wake-phi on the data."""

    name = "binary_rws"

    def __init__(self, model, enc, gen, k: int = 5, lr=1e-3, optimizer="adam"):
        super().__init__(model, enc, gen, lr, optimizer)
        self.k = validate.count(k, "k")

    def step(self, x, rng):
        enc, dec = self.players["enc"].params, self.players["dec"].params
        u = self._u(rng, self.k, x.shape[0], self.model.h_dim)
        scalars, (g_enc, g_dec) = estimators.rws_loss_and_grads(self.model, enc, dec, x, u, check_values=False)
        self.players["dec"].step(g_dec)
        self.players["enc"].step(g_enc)
        return scalars


class ScoreFunctionTrainer(BinaryTrainer):
    """One objective, the ELBO, with the score-function gradient (12.5) and a running-mean baseline.

    The baseline starts from the mean learning signal of an independent pilot draw on the first
    batch and then moves BASELINE_RATE of the way to each batch's mean, after that batch's step,
    so it never depends on the codes whose gradient it multiplies (result 12.3).
    """

    name = "binary_score_function"

    def __init__(self, model, enc, gen, samples: int = 1, lr=1e-3, optimizer="adam"):
        super().__init__(model, enc, gen, lr, optimizer)
        self.samples, self.baseline = validate.count(samples, "samples"), None

    def step(self, x, rng):
        """One step; the baseline stays on the device (a float64 0-d array), so the step never syncs."""
        enc, dec = self.players["enc"].params, self.players["dec"].params
        shape = (self.samples, x.shape[0], self.model.h_dim)
        xp = backend.get_array_module(x)
        if self.baseline is None:
            pilot, _ = estimators.score_function_loss_and_grads(self.model, enc, dec, x, self._u(rng, *shape), 0.0,
                                                               check_values=False)
            self.baseline = pilot["signal"].astype(np.float64)
        u = self._u(rng, *shape)
        scalars, (g_enc, g_dec) = estimators.score_function_loss_and_grads(self.model, enc, dec, x, u, self.baseline,
                                                                          check_values=False)
        self.players["dec"].step(g_dec)
        self.players["enc"].step(g_enc)
        self.baseline = self.baseline + xp.float64(BASELINE_RATE) * (scalars["signal"].astype(np.float64)
                                                                      - self.baseline)
        return {**scalars, "baseline": self.baseline}

    def buffers(self):
        return {"baseline": np.array(np.nan) if self.baseline is None else backend.to_host(self.baseline)}

    def load_buffers(self, arrays):
        """Restore the baseline; a checkpoint is written only after steps, so its baseline must be there and
        finite (a missing one would be re-piloted, and the resumed run would differ)."""
        value = float(arrays["baseline"]) if "baseline" in arrays else None
        if value is None or not np.isfinite(value):
            raise CheckpointError(f"the checkpoint's score-function baseline is {value} (a finite number is "
                                  "written after every epoch): it is damaged; delete it to start that run afresh")
        self.baseline = backend.asarray(np.float64(value), dtype=np.float64)
