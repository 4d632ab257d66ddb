"""Checkpoints: one .npz of host arrays plus JSON, written atomically.

A reader never sees half a file: the checkpoint is written to a temporary file
in the same folder and renamed over the old one, which POSIX makes atomic.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint is unreadable or belongs to another configuration."""


def atomic_write(path, write, mode: str = "wb") -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never half of one; on any failure
    (Ctrl-C included) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.stem + "-", suffix=path.suffix)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` atomically."""
    atomic_write(path, lambda f: np.savez(f, **arrays, **{META_KEY: np.array(json.dumps(meta))}))


def load(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by :func:`save`; a damaged file raises CheckpointError."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != META_KEY}
            meta = json.loads(str(npz[META_KEY]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path}: checkpoint is unreadable ({err}); delete it to start that run afresh") from err
    return arrays, meta


def write_json(path, obj) -> None:
    """Write JSON atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: json.dump(obj, f, indent=1), mode="w")
