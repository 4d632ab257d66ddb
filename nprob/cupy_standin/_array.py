"""The stand-in's device array: a NumPy array that will not leave the pretend device implicitly.

Real CuPy keeps arrays in GPU memory and refuses every implicit trip to the host
or from it. This wrapper keeps the refusals and runs the arithmetic in NumPy:

* ``np.asarray(a)``, ``np.array(a)``, matplotlib and SciPy on ``a`` raise
  ``TypeError`` (CuPy's wording); ``a.get()``, ``a.item()``, ``a.tolist()``,
  ``float(a)`` and ``cupy.asnumpy(a)`` are the ways home;
* a host ``numpy.ndarray`` mixed into a device expression raises ``TypeError``;
* NumPy functions and ufuncs applied to ``a`` run only where CuPy has them
  (``__array_function__``/``__array_ufunc__``), and so do ``a``'s methods;
* reductions and indexing give 0-d device arrays, never host scalars, as in CuPy;
* NumPy's floating-point warnings are silenced, as the GPU never raises them.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from . import _counts
from ._names import names

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly.")


def unsupported(value) -> TypeError:
    """CuPy's error for a host array (or list) where a device array is needed."""
    return TypeError(f"Unsupported type {type(value)}")


def wrap(value):
    """NumPy results as device arrays: arrays and NumPy scalars become ``ndarray``; containers recurse."""
    if isinstance(value, np.ndarray):
        out = ndarray.__new__(ndarray)
        out._a = value
        return out
    if isinstance(value, np.generic):
        return wrap(np.asarray(value))
    if isinstance(value, (tuple, list)):
        return type(value)(wrap(v) for v in value)
    return value


def unwrap(value):
    """Device arrays to their NumPy arrays, refusing host arrays; tuples, lists and dicts recurse."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise unsupported(value)
    if isinstance(value, (tuple, list)):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


def _arrays(value) -> list:
    """The NumPy arrays in a result (a tuple of them, or one)."""
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _arrays(item)]
    return [value] if isinstance(value, np.ndarray) else []


def call(func, args, kwargs):
    """Run the NumPy ``func`` on unwrapped arguments (host arrays refused) and wrap what it returns,
    counting its launches, syncs and fresh bytes (:mod:`._counts`)."""
    args, kwargs = unwrap(args), unwrap(kwargs)
    with np.errstate(all="ignore"):
        result = func(*args, **kwargs)
    name = getattr(func, "__name__", "")
    made = _arrays(result) + [np.asarray(r) for r in (result if isinstance(result, tuple) else (result,))
                              if isinstance(r, np.generic)]
    _counts.record(_counts.launches_of(name, args, made), _counts.syncs_of(name, args), _counts.fresh_bytes(made))
    return wrap(result)


def _operand(value):
    """An operand of a ufunc: a device array or a scalar (CuPy's ufuncs refuse host arrays and lists)."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, (np.ndarray, list, tuple)):
        raise unsupported(value)
    return value


class ndarray(NDArrayOperatorsMixin):
    """A stand-in ``cupy.ndarray`` holding a NumPy array in ``_a``; ``ndarray(shape, dtype)`` allocates."""

    __slots__ = ("_a",)
    __hash__ = None

    def __init__(self, shape, dtype=float, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)

    # ------------------------------------------------------------------ the refusals

    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc.__name__ not in names("cupy") or (method != "__call__" and method not in names("ufunc")):
            return NotImplemented
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_device_only(o) for o in out)
        if "where" in kwargs:
            kwargs["where"] = _operand(kwargs["where"])
        with np.errstate(all="ignore"):
            result = getattr(ufunc, method)(*map(_operand, inputs), **kwargs)
        _counts.record(launches=1, nbytes=0 if out is not None else _counts.fresh_bytes(
            [np.asarray(result)] if np.isscalar(result) else _arrays(result)))
        if out is not None:
            return out[0] if len(out) == 1 else out
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        namespace = func.__module__.partition(".")[2] or "cupy"
        try:
            offered = func.__name__ in names(namespace)
        except KeyError:
            offered = False
        return call(func, args, kwargs) if offered else NotImplemented

    def __getattr__(self, name):
        if name == "_a" or name.startswith("__") or name not in names("ndarray"):
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        value = getattr(self._a, name)
        if callable(value):
            return lambda *args, **kwargs: call(value, args, kwargs)
        return wrap(value)

    # ------------------------------------------------------------------ explicit ways home

    def get(self, stream=None, order="C", out=None, blocking=True):
        """A host copy (``cupy.ndarray.get``): one copy, and the host waits for it."""
        _counts.record(launches=1, syncs=1)
        if out is None:
            return np.array(self._a, order=order)
        out[...] = self._a
        return out

    def set(self, arr, stream=None):
        """Copy a host array of the same shape and dtype in (``cupy.ndarray.set``)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("set() needs a numpy.ndarray of the same shape and dtype")
        _counts.record(launches=1)
        self._a[...] = arr

    def item(self):
        _counts.record(syncs=1)
        return self._a.item()

    def tolist(self):
        _counts.record(syncs=1)
        return self._a.tolist()

    def __float__(self):
        _counts.record(syncs=1)
        return float(self._a)

    def __int__(self):
        _counts.record(syncs=1)
        return int(self._a)

    def __complex__(self):
        _counts.record(syncs=1)
        return complex(self._a)

    def __bool__(self):
        _counts.record(syncs=1)
        return bool(self._a)

    def __format__(self, spec):
        _counts.record(syncs=1)
        return format(self._a, spec)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    # ------------------------------------------------------------------ container protocol

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (wrap(row) for row in self._a)

    def __getitem__(self, key):
        raw = unwrap(key)
        result = self._a[raw]
        arrays = [k for k in (raw if isinstance(raw, tuple) else (raw,)) if isinstance(k, (np.ndarray, list))]
        if arrays:   # a gather; a boolean mask's result size is read back first
            _counts.record(launches=1, syncs=int(any(np.asarray(k).dtype == bool for k in arrays)),
                           nbytes=np.asarray(result).nbytes)
        return wrap(result)

    def __setitem__(self, key, value):
        _counts.record(launches=1)   # a fill, a scatter or a copy in
        if isinstance(value, np.ndarray) and value.ndim > 0:
            if key != slice(None):   # CuPy copies a host array in only through a[:] = host
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            self._a[:] = value
            return
        self._a[unwrap(key)] = _operand(value)

    def __copy__(self):
        _counts.record(launches=1, nbytes=self._a.nbytes)
        return wrap(self._a.copy())

    def __deepcopy__(self, memo):
        _counts.record(launches=1, nbytes=self._a.nbytes)
        return wrap(self._a.copy())


def _device_only(value):
    """An ``out=`` array: only device arrays can receive a device result."""
    if not isinstance(value, ndarray):
        raise unsupported(value)
    return value._a
