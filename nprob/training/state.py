"""What a checkpoint keeps of a trainer, and whether a checkpoint may be resumed: in one place.

A trainer's state is every number its next step depends on: each player's parameters and optimiser
state (moments and step count) and the trainer's own buffers (:meth:`Trainer.buffers`). A checkpoint
holds that state, the epoch, the history and the configuration it was made with; it may be resumed
only by the same configuration and for at least as many epochs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend, checkpoint
from ..checkpoint import CheckpointError


def arrays(trainer) -> dict[str, np.ndarray]:
    """Every number the trainer's next step depends on, as host arrays (for checkpoints)."""
    out = {}
    for pname, p in trainer.players.items():
        out[f"{pname}.params"] = backend.to_host(p.params.flat)
        for key, value in p.state.items():
            if key.startswith("_"):
                continue
            out[f"{pname}.opt.{key}"] = backend.to_host(value) if key != "t" else np.array(value)
    return {**out, **trainer.buffers()}


def load(trainer, saved: dict[str, np.ndarray]) -> None:
    """Restore what :func:`arrays` saved; a missing, misshapen or non-finite entry raises CheckpointError."""
    wanted = {f"{pname}.params": p.params.flat for pname, p in trainer.players.items()}
    wanted.update({f"{pname}.opt.{key}": value for pname, p in trainer.players.items()
                   for key, value in p.state.items() if not key.startswith("_")})
    missing = [key for key in wanted if key not in saved]
    if missing:
        raise CheckpointError(f"the checkpoint lacks {', '.join(missing)}: it was made by another optimiser "
                              "or another version of nprob; delete it to start that run afresh")
    for key, current in wanted.items():
        shape = () if key.endswith(".t") else current.shape
        if saved[key].shape != shape:
            raise CheckpointError(f"{key} has shape {saved[key].shape}, the model needs {shape}: the checkpoint "
                                  "belongs to another model; delete it to start that run afresh")
        if not np.all(np.isfinite(saved[key])):
            raise CheckpointError(f"{key} holds NaN or infinite values: the checkpoint is not usable; delete it "
                                  "to start that run afresh")
    for pname, p in trainer.players.items():
        p.params.load(saved[f"{pname}.params"])
        for key in p.state:
            if key.startswith("_"):
                continue
            value = saved[f"{pname}.opt.{key}"]
            if key == "t":
                p.state[key] = int(value)
            else:
                p.state[key][...] = backend.get_array_module(p.state[key]).asarray(value)
    trainer.load_buffers(saved)


def _config_mismatch(saved: dict, current: dict) -> list[str]:
    keys = sorted(set(saved) | set(current))
    return [f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}" for k in keys if saved.get(k) != current.get(k)]


def read_checkpoint(path, config: dict, epochs: int):
    """The checkpoint at ``path`` as (arrays, meta) if it may be resumed for ``config`` and ``epochs``; None if absent.

    Refused with CheckpointError: an unreadable file, one without a configuration, one made
    with another configuration, or one holding more epochs than asked for (its numbers would be
    reported under the smaller count). Run for every checkpoint before anything is written.
    """
    ckpt = Path(path)
    if not ckpt.exists():
        return None
    saved, meta = checkpoint.load(ckpt)
    if not {"config", "epoch", "history"} <= set(meta):
        raise checkpoint.CheckpointError(f"{ckpt} has no configuration, epoch or history: it was not written by "
                                         "nprob's training loop; move it away to start that run afresh")
    diff = _config_mismatch(meta["config"], config)
    if diff:
        raise checkpoint.CheckpointError(
            f"{ckpt} was made with another configuration ({'; '.join(diff)}); "
            "use another --out folder, or delete the checkpoint to start again")
    if meta["epoch"] > epochs:
        raise checkpoint.CheckpointError(
            f"{ckpt} holds {meta['epoch']} epochs, more than the {epochs} asked for; ask for at least "
            f"{meta['epoch']} epochs (its numbers are kept), or use another --out folder")
    return saved, meta
