"""The one place that knows where arrays live: NumPy on the CPU or CuPy on a GPU.

Every other module asks this one for its array module (``xp``) and never
imports CuPy itself. The device is chosen once, when data and parameters are
created (``use('cupy')`` then ``asarray(...)``); functions that receive arrays
find the right module with :func:`get_array_module`, the way Chainer and CuPy
recommend, so the same code runs on either backend.

Training runs in float32 (:data:`DTYPE`); gradient checks cast to float64.
Random numbers come only from generators made here from an explicit seed.

With ``NPROB_CUPY_STANDIN=1`` the ``cupy`` backend is :mod:`nprob.cupy_standin`,
a strict NumPy imitation of CuPy for testing the GPU path without a GPU.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

DTYPE = np.float32
BACKENDS = ("numpy", "cupy")

_cupy = None          # the cupy module once use('cupy') has succeeded
_active = "numpy"


STANDIN_VARIABLE = "NPROB_CUPY_STANDIN"


class BackendError(RuntimeError):
    """The requested backend cannot be used on this machine."""


class StandinWarning(UserWarning):
    """The 'cupy' backend is the NumPy stand-in: no GPU is used."""


def standin_requested() -> bool:
    """True when ``NPROB_CUPY_STANDIN`` asks for the CuPy stand-in (any value but '', '0')."""
    return os.environ.get(STANDIN_VARIABLE, "") not in ("", "0")


def _import_cupy():
    """CuPy (or, when requested, its stand-in), checked for a visible CUDA device, or explain what is missing."""
    if standin_requested():
        from . import cupy_standin
        return cupy_standin
    return _import_real_cupy()


def _import_real_cupy():
    try:
        import cupy  # the only CuPy import in nprob
    except ImportError as err:
        raise BackendError(
            "the 'cupy' backend needs CuPy, which is not installed. Install the wheel "
            "matching your CUDA driver, e.g. `pip install cupy-cuda12x` (CUDA 12) or "
            "`pip install cupy-cuda13x` (CUDA 13), or `pip install -e .[cuda12]`; "
            "or run with --backend numpy."
        ) from err
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDA runtime/driver missing or broken
        raise BackendError(
            f"CuPy is installed but no CUDA device could be queried ({err}). "
            "Check the NVIDIA driver (`nvidia-smi`) or run with --backend numpy."
        ) from err
    if count < 1:
        raise BackendError("CuPy is installed but no GPU is visible; run with --backend numpy.")
    return cupy


def use(name: str) -> None:
    """Select the backend for arrays created from now on: 'numpy' or 'cupy'."""
    global _cupy, _active
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "cupy":
        module = _import_cupy()
        if is_standin(module):
            warnings.warn(f"{STANDIN_VARIABLE} is set: the 'cupy' backend is a NumPy stand-in on the CPU; "
                          "no GPU is used", StandinWarning, stacklevel=2)
        _cupy = module
    _active = name


def is_standin(module=None) -> bool:
    """True when ``module`` (default: the active cupy module, if any) is the CuPy stand-in."""
    module = module if module is not None else (_cupy if _active == "cupy" else None)
    return getattr(module, "STANDIN", False)


def device_name() -> str:
    """What runs the arrays: 'cpu (numpy)', the GPU's name, or the stand-in's description."""
    if _active != "cupy":
        return "cpu (numpy)"
    return _cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


def name() -> str:
    """The name of the active backend."""
    return _active


def xp():
    """The array module of the active backend (numpy or cupy)."""
    return _cupy if _active == "cupy" else np


def cupy_available() -> bool:
    """True when the 'cupy' backend can be used: real CuPy with a GPU, or the stand-in when requested."""
    try:
        _import_cupy()
    except BackendError:
        return False
    return True


def real_gpu_available() -> bool:
    """True when real CuPy imports and sees a GPU, whatever the stand-in variable says."""
    try:
        _import_real_cupy()
    except BackendError:
        return False
    return True


def get_array_module(*arrays):
    """numpy or cupy, whichever owns the given arrays (numpy for host arrays and scalars)."""
    if _cupy is not None:
        return _cupy.get_array_module(*arrays)
    return np


def asarray(a, dtype=DTYPE):
    """Copy a host array (or nested list) to the active device with the given dtype."""
    return xp().asarray(a, dtype=dtype)


def to_host(a):
    """Bring an array (or scalar) back to NumPy; a no-op for host arrays."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def to_float(a) -> float:
    """A scalar array on either device as a Python float (one device sync on a GPU)."""
    return float(to_host(a))


def rng(seed, *stream):
    """A random generator on the active device for ``(seed, *stream)``.

    Streams let independent parts of a run (an algorithm, an epoch) draw from
    independent sequences that depend only on the seed and the stream's name,
    so that a run resumed at epoch e draws exactly what an uninterrupted run
    would have drawn. ``stream`` items are ints or strings.
    """
    words = [int(seed)] + [_as_int(s) for s in stream]
    seq = np.random.SeedSequence(words)
    if _active == "cupy":
        return _cupy.random.default_rng(int(seq.generate_state(1, np.uint64)[0]))
    return np.random.default_rng(seq)


def host_rng(seed, *stream) -> np.random.Generator:
    """Like :func:`rng`, but always a NumPy generator (for shuffles and index draws)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed)] + [_as_int(s) for s in stream]))


def _as_int(s) -> int:
    if isinstance(s, str):
        return int.from_bytes(s.encode(), "little") % (2**63)
    return int(s)


def standard_normal(generator, shape, dtype=DTYPE):
    """N(0, 1) draws of ``shape`` in ``dtype`` from ``generator`` (either backend)."""
    return generator.standard_normal(shape, dtype=dtype)


def uniform(generator, shape, dtype=DTYPE):
    """Uniform(0, 1) draws of ``shape`` in ``dtype`` from ``generator`` (either backend)."""
    return generator.random(shape, dtype=dtype)


def keep_freed_memory(threshold_bytes: int = 1 << 28) -> bool:
    """Ask glibc to reuse freed blocks up to ``threshold_bytes`` instead of returning them to the OS.

    NumPy's temporaries of a training step (a few hundred KB each) are, by
    default, mapped fresh from the kernel and unmapped on every step, and each
    new mapping costs page faults; glibc only raises that threshold after it has
    seen enough frees. Fixing it up front made the first AEVB epochs about 1.5x
    faster on a 2-core machine. A process-wide setting, so only programs (the
    command line, benchmarks) call it, never library code. Returns False where
    glibc's ``mallopt`` is not available.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    ok = mallopt(M_MMAP_THRESHOLD, threshold_bytes) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, 2 * threshold_bytes) == 1
    ok &= mallopt(M_TOP_PAD, threshold_bytes // 4) == 1
    return bool(ok)


def memory_bytes() -> int:
    """Memory the arrays of a run can use: the GPU's total on CuPy, else the host's available memory."""
    if _active == "cupy" and not is_standin():
        return int(_cupy.cuda.Device().mem_info[1])
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def peak_memory_mib() -> dict:
    """Peak memory of this process so far: host resident set, and on a GPU the device pool, in MiB."""
    import resource
    out = {"host_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if _active == "cupy" and is_standin():
        out["standin_pool_mib_no_gpu"] = 0.0
    elif _active == "cupy":
        out["device_pool_mib"] = _cupy.get_default_memory_pool().total_bytes() / 2**20
    return out
