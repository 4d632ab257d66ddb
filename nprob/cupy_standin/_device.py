"""The stand-in's random generator, CUDA namespace, memory pool and kernel helpers.

Each offers only names that real CuPy 14 has (``cupy_names.json``); a name CuPy
has but the stand-in does not imitate raises AttributeError saying so.
"""
from __future__ import annotations

import numpy as np

from . import _counts
from ._array import call
from ._names import names

DEVICE_NAME = b"no GPU: NumPy stand-in for CuPy (NPROB_CUPY_STANDIN=1)"


class Namespace:
    """A module-like object whose attributes are ``provided`` and limited to real CuPy's ``namespace``."""

    def __init__(self, label: str, namespace: str, provided: dict, fallback=None):
        self._label, self._namespace, self._provided, self._fallback = label, namespace, provided, fallback

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in names(self._namespace):
            raise AttributeError(f"module {self._label!r} has no attribute {name!r}")
        if name in self._provided:
            return self._provided[name]
        target = getattr(self._fallback, name, None) if self._fallback is not None else None
        if callable(target):
            return lambda *args, **kwargs: call(target, args, kwargs)
        raise AttributeError(f"the CuPy stand-in does not imitate {self._label}.{name}")


class Generator:
    """``cupy.random.Generator``: NumPy's generator behind CuPy's (smaller) set of methods."""

    def __init__(self, bit_generator):
        self._gen = np.random.Generator(bit_generator)

    def __getattr__(self, name):
        if name.startswith("_") or name not in names("random.Generator"):
            raise AttributeError(f"'cupy.random.Generator' object has no attribute {name!r}")
        method = getattr(self._gen, name)
        return lambda *args, **kwargs: call(method, args, kwargs)


def default_rng(seed=None) -> Generator:
    """A generator from an integer seed (CuPy's streams differ from NumPy's; so do these from CuPy's)."""
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"the stand-in's default_rng takes an integer seed, got {type(seed).__name__}")
    return Generator(np.random.PCG64(seed))


class Stream:
    """``cupy.cuda.Stream``: work is synchronous on the host, so synchronising does nothing."""

    null = None

    def synchronize(self) -> None:
        _counts.record(syncs=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


Stream.null = Stream()


class Device:
    """``cupy.cuda.Device``: one pretend device, number 0."""

    def __init__(self, device=None):
        self.id = 0

    def synchronize(self) -> None:
        _counts.record(syncs=1)


class MemoryPool:
    """``cupy.cuda.MemoryPool``: nothing is pooled, so every count is 0."""

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_bytes(self) -> int:
        return 0

    def n_free_blocks(self) -> int:
        return 0

    def free_all_blocks(self, stream=None) -> None:
        pass


_POOL = MemoryPool()


def get_default_memory_pool() -> MemoryPool:
    return _POOL


class Fused:
    """What ``cupy.fuse`` returns: here the function's own readable form, run on device arrays."""

    def __init__(self, func):
        self._func = func
        self.__name__ = getattr(func, "__name__", "fused")
        self.__doc__ = getattr(func, "__doc__", None)

    def __call__(self, *args, **kwargs):
        with _counts.suspended():             # one kernel, however many operations the readable form has
            result = self._func(*args, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        _counts.record(launches=1, nbytes=_counts.fresh_bytes([o._a for o in outputs if hasattr(o, "_a")]))
        return result


def fuse(*args, **kwargs):
    """``@cupy.fuse`` and ``@cupy.fuse(kernel_name=...)``: both give a :class:`Fused` function."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return Fused(args[0])
    return Fused


class _SourceKernel:
    """CUDA source cannot run on the CPU: the stand-in refuses such kernels when they are called."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"the CuPy stand-in cannot run CUDA source ({type(self).__name__}); give the kernel a "
            "readable NumPy form and let the stand-in run that instead")


class ElementwiseKernel(_SourceKernel):
    pass


class ReductionKernel(_SourceKernel):
    pass


class RawKernel(_SourceKernel):
    pass


_runtime = {
    "getDeviceCount": lambda: 1,
    "getDevice": lambda: 0,
    "getDeviceProperties": lambda device: {"name": DEVICE_NAME, "totalGlobalMem": 0, "multiProcessorCount": 0},
    "deviceSynchronize": lambda: None,
    "runtimeGetVersion": lambda: 0,
    "driverGetVersion": lambda: 0,
}
runtime = Namespace("cupy.cuda.runtime", "cuda.runtime", _runtime)
cuda = Namespace("cupy.cuda", "cuda", {
    "runtime": runtime, "Stream": Stream, "Device": Device, "MemoryPool": MemoryPool,
    "get_current_stream": lambda device=None: Stream.null, "is_available": lambda: True})
random = Namespace("cupy.random", "random", {"default_rng": default_rng, "Generator": Generator})
