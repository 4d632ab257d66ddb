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


def call(func, args, kwargs):
    """Run the NumPy ``func`` on unwrapped arguments (host arrays refused) and wrap what it returns."""
    args, kwargs = unwrap(args), unwrap(kwargs)
    with np.errstate(all="ignore"):
        return wrap(func(*args, **kwargs))


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
        """A host copy (``cupy.ndarray.get``)."""
        if out is None:
            return np.array(self._a, order=order)
        out[...] = self._a
        return out

    def set(self, arr, stream=None):
        """Copy a host array of the same shape and dtype in (``cupy.ndarray.set``)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("set() needs a numpy.ndarray of the same shape and dtype")
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __format__(self, spec):
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
        return wrap(self._a[unwrap(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            if key != slice(None):   # CuPy copies a host array in only through a[:] = host
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            self._a[:] = value
            return
        self._a[unwrap(key)] = _operand(value)

    def __copy__(self):
        return wrap(self._a.copy())

    def __deepcopy__(self, memo):
        return wrap(self._a.copy())


def _device_only(value):
    """An ``out=`` array: only device arrays can receive a device result."""
    if not isinstance(value, ndarray):
        raise unsupported(value)
    return value._a
