"""The training loop: epochs of minibatch steps, progress, evaluation hooks and checkpoints.

It knows nothing about a particular model. The trainer contract it consumes:

* ``trainer.name``: fixed at construction; it names the run's noise streams (below);
* ``trainer.players``: {name: :class:`~nprob.training.trainers.Player`}, each network with its optimiser;
* ``trainer.buffers()`` and ``trainer.load_buffers(arrays)``: any other number the next step depends on
  (the score-function baseline), as host arrays;
* ``trainer.step(x, rng) -> {name: scalar}``: one optimisation step on the batch x, noise from ``rng``.

What a checkpoint keeps of a trainer, and whether a checkpoint may be resumed, is :mod:`nprob.training.state`.
It also calls ``evaluate(trainer, epoch)``. Three promises:

* **Resumable.** After every epoch the trainer's state, the epoch counter and
  the history are written atomically to one checkpoint. The noise of epoch e
  comes from the stream ``(seed, trainer.name, e)`` and its batch order from
  ``(seed, trainer.name, 'shuffle', e)``, so a run resumed from epoch e draws
  what an uninterrupted run would have drawn: the numbers are identical.
* **Honest failure.** A NaN or infinity in any logged quantity stops the run
  with the epoch, step and quantity; so does divergence (an epoch's mean loss
  beyond LOSS_GROWTH times its first epoch's, or a network's parameter norm
  beyond NORM_GROWTH times its value before training). The last checkpoint
  stays as it was.
* **Cheap logs.** Per-step scalars stay on the device in one array and come to
  the host every ``log_every`` steps, not every step.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import backend, binarize, checkpoint, validate
from . import state, threads
from ..progress import progress_bar


LOSS_GROWTH = 1e3   # |epoch mean loss| beyond this times max(|first epoch's mean|, 1) is divergence
NORM_GROWTH = 1e3   # a parameter norm beyond this times its norm before training is divergence


class TrainingDiverged(RuntimeError):
    """A loss or evaluation became NaN or infinite, or grew beyond the divergence limits."""


def _stop(where: str, what: str, ckpt: Path):
    kept = f"the last checkpoint is kept at {ckpt}" if ckpt.exists() else "no checkpoint was written"
    raise TrainingDiverged(f"{where}: {what}; {kept}")


def _check_finite(values: dict, where: str, ckpt: Path) -> None:
    for key, value in values.items():
        if not math.isfinite(value):
            _stop(where, f"{key} became {value}", ckpt)


def _check_growth(values: dict, reference: dict, limit: float, floor: float, where: str, ckpt: Path) -> None:
    """Stop when a value's size exceeds ``limit`` times its reference's (at least ``floor``)."""
    for key, value in values.items():
        bound = limit * max(abs(reference.get(key, value)), floor)
        if abs(value) > bound:
            _stop(where, f"{key} reached {value:.4g}, beyond {limit:g} times its starting size "
                  f"{reference.get(key, value):.4g} (diverging: try a smaller learning rate)", ckpt)


def _norms(trainer) -> dict:
    return {f"parameter norm of {name}": math.sqrt(backend.to_float((p.params.flat * p.params.flat).sum()))
            for name, p in trainer.players.items()}


def fit(trainer, x_train, *, epochs: int, batch_size: int, seed: int, checkpoint_path, config: dict,
        evaluate=None, eval_every: int = 10, on_epoch_end=None, verbose: bool = True,
        log_every: int = 50, dynamic_binarize: bool = False) -> dict:
    """Train ``trainer`` on ``x_train`` (N, D) for ``epochs`` epochs, resuming if a checkpoint exists.

    ``config`` describes everything that determines the numbers; a checkpoint
    made with another config is refused (the number of epochs and the evaluation
    interval may change between runs). With ``dynamic_binarize`` each batch's grey levels are replaced
    by a fresh Bernoulli draw from the epoch's stream (:mod:`nprob.binarize`). Returns the history:
    ``{'epochs': [{'epoch', 'seconds', <step scalars averaged>}], 'evals': [{'epoch', ...}]}``.
    """
    ckpt = Path(checkpoint_path)
    n = x_train.shape[0]
    if batch_size < 1 or n < batch_size:
        raise ValueError(f"batch size must be in 1..{n} (the training set size), got {batch_size}")
    history, start = {"epochs": [], "evals": [], "start_norms": _norms(trainer)}, 0
    resumed = state.read_checkpoint(ckpt, config, epochs)
    if resumed is not None:
        arrays, meta = resumed
        try:
            state.load(trainer, arrays)
        except checkpoint.CheckpointError as err:
            raise checkpoint.CheckpointError(f"{ckpt}: {err}") from None
        history, start = meta["history"], meta["epoch"]
        if verbose and start < epochs:
            print(f"[nprob] {trainer.name}: resuming after epoch {start} from {ckpt}", file=sys.stderr)

    xp = backend.get_array_module(x_train)
    if dynamic_binarize:   # checked once here, so that the per-batch draws need not read values back
        validate.unit_interval(x_train, "x_train")
    steps = n // batch_size   # a last partial batch is dropped; each epoch sees a fresh order
    bar = progress_bar(total=max(epochs - start, 0) * steps, desc=trainer.name, unit="step", disable=not verbose)
    epoch, saved = start, start
    try:
        with threads.limit_for(trainer, batch_size):
            for epoch in range(start + 1, epochs + 1):
                t0 = time.perf_counter()
                rng = backend.rng(seed, trainer.name, epoch)
                order = xp.asarray(backend.host_rng(seed, trainer.name, "shuffle", epoch).permutation(n))
                records, names, logged = None, None, 0
                for step in range(steps):
                    x = x_train[order[step * batch_size:(step + 1) * batch_size]]
                    if dynamic_binarize:
                        x = binarize.draw(x, backend.uniform(rng, x.shape, x.dtype), check_values=False)
                    scalars = trainer.step(x, rng)
                    if records is None:
                        names = list(scalars)
                        records = xp.empty((steps, len(names)), dtype=np.float64)
                    records[step] = xp.stack([xp.asarray(v, dtype=np.float64) for v in scalars.values()])
                    if step + 1 - logged >= log_every or step + 1 == steps:
                        block = backend.to_host(records[logged:step + 1])
                        for i, row in enumerate(block):
                            _check_finite(dict(zip(names, row)), f"{trainer.name} epoch {epoch} step {logged + i + 1}", ckpt)
                        bar.update(step + 1 - logged)
                        bar.set_postfix_str(f"epoch {epoch}/{epochs} " +
                                            " ".join(f"{k} {v:.2f}" for k, v in zip(names, block.mean(axis=0))))
                        logged = step + 1
                means = backend.to_host(records.mean(axis=0))
                row = {"epoch": epoch, "seconds": time.perf_counter() - t0, **dict(zip(names, map(float, means)))}
                where = f"{trainer.name} end of epoch {epoch}"
                _check_growth(dict(zip(names, map(float, means))), (history["epochs"] or [row])[0], LOSS_GROWTH, 1.0,
                              where, ckpt)
                history["epochs"].append(row)
                if evaluate is not None and (epoch % eval_every == 0 or epoch == epochs):
                    t1 = time.perf_counter()
                    result = evaluate(trainer, epoch)
                    _check_finite(result, f"{trainer.name} evaluation after epoch {epoch}", ckpt)
                    history["evals"].append({"epoch": epoch, **result, "seconds": time.perf_counter() - t1})
                for player, p in trainer.players.items():   # a NaN update in the last step shows only here
                    _check_finite({f"a parameter of {player}": backend.to_float(p.params.flat.sum())}, where, ckpt)
                if "start_norms" in history:
                    _check_growth(_norms(trainer), history["start_norms"], NORM_GROWTH, 1e-3, where, ckpt)
                checkpoint.save(ckpt, state.arrays(trainer), {"epoch": epoch, "config": config, "history": history})
                saved = epoch
                if on_epoch_end is not None:
                    on_epoch_end(trainer.name, history)
    except KeyboardInterrupt:
        bar.close()
        where = f"the checkpoint after epoch {saved} is at {ckpt}" if saved else "no epoch had finished"
        print(f"\n[nprob] {trainer.name}: interrupted; {where}. Run the same command again to resume.",
              file=sys.stderr)
        raise
    bar.close()
    return history
