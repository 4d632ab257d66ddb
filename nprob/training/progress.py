"""Progress bars for long work (tqdm, a declared dependency), in one place."""
from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(iterable=None, total=None, desc="", unit="it", disable=False, leave=True):
    """A progress bar over ``iterable`` (iterate it) or ``total`` units (call ``update``)."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave,
                unit_scale=unit == "B", dynamic_ncols=True)
