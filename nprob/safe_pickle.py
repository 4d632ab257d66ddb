"""A restricted unpickler that rebuilds plain NumPy arrays and nothing else.

A pickle can name any importable callable and make the loader call it, so the
plain ``pickle.load`` runs whatever a file says. MNIST's classic pickle needs
only three globals (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``
and ``numpy.dtype``, and ``_codecs.encode`` for bytes written by
Python 3) plus tuples, lists and byte strings; everything else is
refused before it is looked up, and object arrays are refused after loading.
"""
from __future__ import annotations

import codecs
import io
import pickle

import numpy as np

try:  # NumPy >= 2 moved the module; older pickles name the old path
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, 'latin1'):
    # a pure text-to-bytes conversion that cannot run code.
    ("_codecs", "encode"): codecs.encode,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for something beyond plain NumPy arrays."""


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: this file may only contain NumPy arrays"
            ) from None


def _check_plain(root) -> None:
    """Walk ``root`` once per distinct object (a pickle may share one list many times: its work stays
    linear in the number of objects), refusing cycles and anything but arrays, numbers, strings and bytes."""
    done, on_path = set(), set()
    stack = [(root, False)]
    while stack:
        obj, leaving = stack.pop()
        if leaving:
            on_path.discard(id(obj))
            done.add(id(obj))
            continue
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise UnsafePickleError("refusing an object array: this file may only contain numeric arrays")
        elif isinstance(obj, (tuple, list)):
            if id(obj) in on_path:
                raise UnsafePickleError("refusing a container that contains itself")
            if id(obj) in done:
                continue
            on_path.add(id(obj))
            stack.append((obj, True))
            stack.extend((item, False) for item in obj)
        elif not isinstance(obj, (int, float, str, bytes, type(None))):
            raise UnsafePickleError(f"unexpected {type(obj).__name__} in an array-only pickle")


def safe_loads(data: bytes):
    """Unpickle ``data`` allowing only numeric NumPy arrays in tuples and lists.

    Python 2 pickles store array bytes as ``str``; they are read as latin-1, which
    maps each byte to one code point, the convention NumPy's loader expects.
    """
    obj = _ArrayOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    _check_plain(obj)
    return obj
