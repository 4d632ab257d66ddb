"""Checkpoints and results files: written atomically, read with clear errors.

A reader never sees half a file: a file is written to a temporary file in the
same folder, flushed to disk, and renamed over the old one, which POSIX makes
atomic. A temporary file left by a killed process (its name carries the
process id) is removed by the next write to the same folder.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

META_KEY = "__meta__"
NPZ_MAGIC = b"PK\x03\x04"


class CheckpointError(RuntimeError):
    """A checkpoint or results file is unreadable or belongs to another configuration."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()   # what open() would have given the file (mkstemp gives 0600)


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete ``.*.tmp-PID-*`` files whose writing process no longer runs (killed mid-write)."""
    for tmp in folder.glob(".*.tmp-*-*"):
        pid = tmp.name.split(".tmp-", 1)[1].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:   # another user's live process
            pass


def atomic_write(path, write, mode: str = "wb") -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never half of one; on any failure
    (Ctrl-C included) the temporary file is removed and ``path`` is untouched.
    The data reach the disk (fsync) before the rename, and the file gets the
    permissions an ordinary ``open`` would give it.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-")
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as err:   # a full disk or a read-only folder: name the file the caller asked for
        _discard(tmp)
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp) -> None:
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    """Write a text file atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(text), mode="w")


def write_json(path, obj) -> None:
    """Write JSON atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: json.dump(obj, f, indent=1), mode="w")


def read_json_object(path) -> dict:
    """A JSON object from ``path``; a file that is not one raises CheckpointError naming it."""
    try:
        obj = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}); move it away or use another --out folder") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a JSON {type(obj).__name__}, not an object; move it away or use "
                              "another --out folder")
    return obj


def probe_writable(folder) -> None:
    """Create ``folder`` if needed and write and remove a file there; OSError if that cannot be done."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


def ensure_writable(folder) -> None:
    """Prove that files can be written in the results folder ``folder`` before any work is done."""
    try:
        probe_writable(folder)
    except OSError as err:
        raise CheckpointError(f"cannot write to the results folder {folder} ({err.strerror or err}); "
                              "choose a writable one with --out") from None


def save(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` atomically."""
    atomic_write(path, lambda f: np.savez(f, **arrays, **{META_KEY: np.array(json.dumps(meta))}))


def load(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by :func:`save`; a damaged or foreign file raises CheckpointError."""
    remedy = "delete it to start that run afresh"
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({err.strerror or err})") from None
    if head != NPZ_MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive); {remedy}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != META_KEY}
            meta = json.loads(str(npz[META_KEY]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise CheckpointError(f"{path}: checkpoint is unreadable ({err}); {remedy}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: checkpoint metadata is not an object; {remedy}")
    return arrays, meta
