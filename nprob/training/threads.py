"""BLAS threads per problem size: small matrix products run on one thread.

A 2-128-128-2 GAN step multiplies matrices of a few hundred rows; splitting such a product
over two threads gains little on a quiet machine and loses badly when the other core is busy
(the thread waits for a core). The limit is set at run time with threadpoolctl, because the
OMP_NUM_THREADS-style variables are read once, when the BLAS library loads, and do nothing
when set later. Measurements behind SMALL_STEP_FLOPS: ``python -m benchmarks.threads``.
"""
from __future__ import annotations

from contextlib import nullcontext

from .. import backend

SMALL_STEP_FLOPS = 2e8   # a step whose matrix products need fewer floating-point operations runs on one thread


def step_flops(trainer, rows: int) -> float:
    """About 6 flops per parameter and data row: the forward and two backward products of every weight."""
    return 6.0 * rows * sum(int(p.params.flat.size) for p in trainer.players.values())


def blas_threads(flops: float) -> int | None:
    """1 for a small step, None (the library's default) otherwise."""
    return 1 if flops < SMALL_STEP_FLOPS else None


def limit_for(trainer, rows: int):
    """A context in which ``trainer``'s steps on ``rows`` data rows use the BLAS threads their size calls for.

    A GAN trainer's batch holds ``n_disc`` critic batches that are multiplied one at a time, so its
    products see rows / n_disc rows.
    """
    threads = blas_threads(step_flops(trainer, rows // getattr(trainer, "n_disc", 1)))
    if threads is None or backend.name() != "numpy":
        return nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads, user_api="blas")
