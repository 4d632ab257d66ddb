"""Parameter dicts whose arrays are views into one contiguous buffer.

A network's parameters are a plain dict of named arrays (``params['dec.W1']``),
as in the CS231n solver; here every array is also a view into ``params.flat``,
one contiguous 1-D buffer. Gradients use the same layout, so an optimiser step
is one pass over one array on either backend, and a checkpoint is one array.
"""
from __future__ import annotations

import math

from . import backend


class ParamDict(dict):
    """A dict of named arrays that are views into the 1-D buffer ``self.flat`` (``self.slices`` says where).

    Assigning ``params[name] = value`` would break the view; write into the
    existing array instead (``params[name][...] = value``). ``__setitem__`` is
    left alone so that ordinary dict behaviour stays, but :meth:`load` is the
    supported way to overwrite values.
    """

    def __init__(self, flat, shapes: dict[str, tuple[int, ...]]):
        self.slices = slices(shapes)
        needed = sum(math.prod(shape) for shape in shapes.values())
        if needed != flat.size:
            raise ValueError(f"buffer holds {flat.size} numbers but the shapes need {needed}")
        super().__init__({key: flat[self.slices[key]].reshape(shape) for key, shape in shapes.items()})
        self.flat = flat
        self.shapes = dict(shapes)

    def zeros_like(self, dtype=None) -> "ParamDict":
        """A ParamDict of zeros with the same names and shapes (gradients, optimiser moments)."""
        xp = backend.get_array_module(self.flat)
        return ParamDict(xp.zeros_like(self.flat, dtype=dtype), self.shapes)

    def empty_like(self) -> "ParamDict":
        """An uninitialised ParamDict with the same layout, for gradients that are written, not added."""
        return ParamDict(backend.get_array_module(self.flat).empty_like(self.flat), self.shapes)

    def copy(self) -> "ParamDict":
        return ParamDict(self.flat.copy(), self.shapes)

    def load(self, flat) -> None:
        """Overwrite all values from a 1-D array (host or device) of the same size."""
        if flat.shape != self.flat.shape:
            raise ValueError(f"expected {self.flat.shape} values, got {flat.shape}")
        xp = backend.get_array_module(self.flat)
        self.flat[...] = xp.asarray(flat, dtype=self.flat.dtype)


def slices(shapes: dict[str, tuple[int, ...]]) -> dict[str, slice]:
    """Where each named array sits in the flat buffer, in the order of ``shapes``."""
    out, offset = {}, 0
    for key, shape in shapes.items():
        out[key] = slice(offset, offset + math.prod(shape))
        offset += math.prod(shape)
    return out


def allocate(shapes: dict[str, tuple[int, ...]], dtype=backend.DTYPE) -> ParamDict:
    """Zero-filled parameters on the active backend with the given names and shapes."""
    total = sum(math.prod(s) for s in shapes.values())
    return ParamDict(backend.xp().zeros(total, dtype=dtype), shapes)

