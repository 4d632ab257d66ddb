"""The names real CuPy offers, read from the installed package and kept in ``cupy_names.json``.

The stand-in offers a name only when real CuPy has it, so code that calls a NumPy
function CuPy lacks fails here as it would on a GPU. Regenerate the list in an
environment where CuPy is installed (it imports without a GPU; only array creation
needs one)::

    pip install cupy-cuda12x==14.2.0 && python -m nprob.cupy_standin._names --write
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).with_name("cupy_names.json")
COMMAND = "pip install cupy-cuda12x==14.2.0 && python -m nprob.cupy_standin._names --write"


def _public(obj, dunders: bool = False) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_") or (dunders and n.startswith("__")))


def read_from_cupy() -> dict:
    """Every name list the stand-in checks, read from the installed CuPy."""
    import cupy

    return {
        "version": cupy.__version__, "command": COMMAND,
        "cupy": _public(cupy), "linalg": _public(cupy.linalg), "random": _public(cupy.random),
        "ndarray": _public(cupy.ndarray, dunders=True), "ufunc": _public(cupy.ufunc),
        "random.Generator": _public(cupy.random.Generator), "cuda": _public(cupy.cuda),
        "cuda.runtime": _public(cupy.cuda.runtime), "cuda.Stream": _public(cupy.cuda.Stream),
        "cuda.Device": _public(cupy.cuda.Device), "cuda.MemoryPool": _public(cupy.cuda.MemoryPool),
    }


@lru_cache(maxsize=None)
def names(namespace: str) -> frozenset:
    """The names of ``namespace`` ('cupy', 'ndarray', 'random.Generator', ...) in real CuPy."""
    return frozenset(json.loads(PATH.read_text())[namespace])


def version() -> str:
    return json.loads(PATH.read_text())["version"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {COMMAND}")
    PATH.write_text(json.dumps(read_from_cupy(), indent=0) + "\n")
    print(f"wrote {PATH}")
