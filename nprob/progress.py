"""Progress bars for long work (tqdm, a declared dependency), in one place."""
from __future__ import annotations

import threading

from tqdm.auto import tqdm


def progress_bar(iterable=None, total=None, desc="", unit="it", disable=False, leave=True):
    """A progress bar over ``iterable`` (iterate it) or ``total`` units (call ``update``)."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave,
                unit_scale=unit == "B", dynamic_ncols=True)


def without_process_lock() -> None:
    """Give tqdm a thread lock, so that it never creates its cross-process lock (a named semaphore) here.

    For worker processes: a worker that is killed cannot release a named semaphore, and Python's
    resource tracker then warns about a leak when the run ends.
    """
    tqdm.set_lock(threading.RLock())
