"""What the GPU path would cost in kernel launches, host synchronisations and fresh memory, counted.

For models this small a GPU's arithmetic is cheap; what costs time is how many kernels a step
launches (each pays launch and Python dispatch overhead whatever its size) and how often the host
waits for the device. The stand-in sees every operation, so it counts them, per thread, while a
:func:`counting` context is open. What counts, following how CuPy executes each operation:

* **one launch**: every ufunc call (elementwise arithmetic, comparisons, ``matmul`` through ``@``;
  CuPy runs each as one elementwise or cuBLAS kernel) and every ufunc reduction; every array function
  or method that computes (``sum``, ``mean``, ``concatenate``, ``where``, ``astype`` to another dtype,
  ``copy``, ...: one kernel each in CuPy's implementation); creation that fills memory (``zeros``,
  ``ones``, ``full``, ``arange``, ...); a copy between host and device (``asarray`` of host data, ``get``);
  every random draw (one cuRAND kernel); fancy or boolean indexing (a gather) and every assignment into
  an array (a scatter or fill); a fused function (``cupy.fuse``: one kernel however many operations).
* **no launch**: views (basic slicing, ``reshape``, ``transpose``, ``.T``, ``squeeze``, ``expand_dims``,
  ``broadcast_to``, ...), ``empty`` and ``empty_like`` (allocation only), attribute reads.
* **one sync**: every conversion to the host (``get``, ``asnumpy``, ``item``, ``tolist``, ``float``,
  ``int``, ``bool``, formatting), boolean-mask indexing and functions whose output size depends on the
  data (``nonzero``, ``argwhere``, ``flatnonzero``, ``unique``, one-argument ``where``: CuPy reads the
  count back), and an explicit ``synchronize``.
* **bytes**: the size of every array an operation creates (views create none).

These are counts of the code's structure, not timings: the stand-in runs on the CPU.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

VIEWS = frozenset({"reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
                   "view", "ravel", "atleast_1d", "atleast_2d", "atleast_3d", "diagonal", "real", "imag",
                   "split", "array_split"})
ALLOCATE_ONLY = frozenset({"empty", "empty_like"})
DATA_SIZED = frozenset({"nonzero", "argwhere", "flatnonzero", "unique"})


@dataclass
class Counts:
    """Launches, host synchronisations and bytes of fresh arrays seen while a :func:`counting` was open."""

    launches: int = 0
    syncs: int = 0
    bytes: int = 0

    def as_dict(self) -> dict:
        return {"launches": self.launches, "syncs": self.syncs, "bytes": self.bytes}


_open = threading.local()


@contextmanager
def counting():
    """``with counting() as c: ...``: ``c`` holds what the block cost on this thread (contexts nest)."""
    counts = Counts()
    stack = getattr(_open, "stack", None)
    if stack is None:
        stack = _open.stack = []
    stack.append(counts)
    try:
        yield counts
    finally:
        stack.remove(counts)


def record(launches: int = 0, syncs: int = 0, nbytes: int = 0) -> None:
    """Add to every open :func:`counting` of this thread (nothing when none is open)."""
    for counts in getattr(_open, "stack", ()):
        counts.launches += launches
        counts.syncs += syncs
        counts.bytes += nbytes


def launches_of(name: str, args, result_arrays) -> int:
    """Launches of the array function or method ``name`` (see the module docstring)."""
    if name in ALLOCATE_ONLY:
        return 0
    if name in VIEWS:   # a view unless NumPy had to copy (ravel of a strided array, say)
        return int(any(r.base is None and r.size for r in result_arrays))
    return 1


def syncs_of(name: str, args) -> int:
    """1 where CuPy reads a count back from the device to size the output."""
    return int(name in DATA_SIZED or (name == "where" and len(args) == 1))


def fresh_bytes(result_arrays) -> int:
    """Bytes of the arrays an operation created (views share memory with an existing array)."""
    return sum(r.nbytes for r in result_arrays if r.base is None)


@contextmanager
def suspended():
    """Count nothing inside (the operations of a fused function, which run as one kernel)."""
    stack = getattr(_open, "stack", [])
    _open.stack = []
    try:
        yield
    finally:
        _open.stack = stack
