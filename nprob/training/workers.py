"""Independent runs in worker processes that never outlive the run that started them.

* A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent ends
  (``PR_SET_PDEATHSIG``), however the parent ends; elsewhere a thread in the worker checks the
  parent every 0.2 s. A worker whose parent is already gone when it starts exits at once.
* Ctrl-C stops the run within seconds: the workers are started with SIGINT blocked (a signal mask
  survives ``exec``, so Ctrl-C at the terminal never reaches them, not even while they import), and
  the parent kills them when the interrupt arrives instead of waiting for the games they hold.
* A worker killed from outside (by the kernel when memory runs out, or by hand) ends the run with
  :class:`WorkerDied`, one line, rather than a ``BrokenProcessPool`` traceback.

Every run checkpoints after each epoch (:func:`nprob.training.loop.fit`), so the same command resumes.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..progress import without_process_lock

PR_SET_PDEATHSIG = 1   # from <linux/prctl.h>


class WorkerDied(RuntimeError):
    """A worker process ended without returning its result."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or taskset may narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _die_with(parent: int) -> None:
    """Worker initializer: ignore Ctrl-C (the parent handles it) and end when ``parent`` ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    without_process_lock()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        def watch():
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:   # the parent ended before the line above took effect
        os._exit(1)


def _kill_workers() -> None:
    for process in multiprocessing.active_children():
        process.kill()
        process.join(timeout=5)


def _result(future, poll: float = 0.2):
    """The future's result, waiting in short slices. A Ctrl-C may be delivered to any thread of this process
    that does not block SIGINT (BLAS's threads, started when NumPy was imported, do not); Python then runs its
    handler only when the main thread next executes bytecode, which a wait without a timeout would postpone
    until the game finished. Waking every ``poll`` seconds raises KeyboardInterrupt within that time."""
    while True:
        try:
            return future.result(timeout=poll)
        except TimeoutError:
            continue


def map_in_processes(function, tasks: list, workers: int, on_result=None) -> list:
    """``[function(task) for task in tasks]`` in ``workers`` spawned processes, in order.

    ``function`` must be a module-level function (a spawned worker imports it); ``on_result()`` is
    called after each result arrives. Raises WorkerDied if a worker is killed; on any exception
    (KeyboardInterrupt included) every worker is killed before it propagates.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with, initargs=(os.getpid(),))
    results = []
    try:
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:   # workers start inside submit(), and inherit this mask
            futures = [pool.submit(function, task) for task in tasks]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)   # a Ctrl-C pressed meanwhile arrives now
        for future in futures:
            results.append(_result(future))
            if on_result is not None:
                on_result()
    except BaseException as err:
        _kill_workers()
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(err, BrokenProcessPool):
            raise WorkerDied("a worker process ended without finishing its run (killed from outside, or out "
                             "of memory); every epoch finished before is checkpointed: run the same command "
                             "again to resume") from None
        raise
    pool.shutdown(wait=True)
    return results
