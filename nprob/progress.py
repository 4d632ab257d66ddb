"""Progress bars: tqdm when installed, otherwise a plain updating line on stderr."""
from __future__ import annotations

import sys
import time

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - tqdm is a declared dependency
    _tqdm = None


class _Line:
    """A minimal stand-in with tqdm's update/set_postfix_str/close interface."""

    def __init__(self, iterable=None, total=None, desc="", disable=False, **_):
        self.iterable = iterable
        self.total = total if total is not None or iterable is None else len(iterable)
        self.desc, self.disable, self.n = desc, disable, 0
        self.postfix, self.start, self.last = "", time.time(), 0.0

    def update(self, n=1):
        self.n += n
        now = time.time()
        if not self.disable and now - self.last > 0.5:
            self.last = now
            frac = f"{self.n}/{self.total}" if self.total else str(self.n)
            print(f"\r{self.desc} {frac} {self.postfix}", end="", file=sys.stderr, flush=True)

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def set_postfix_str(self, s, refresh=True):
        self.postfix = s

    def close(self):
        if not self.disable:
            print(file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_bar(iterable=None, total=None, desc="", unit="it", disable=False, leave=True):
    """A progress bar over ``iterable`` (iterate it) or ``total`` units (call ``update``)."""
    if _tqdm is not None:
        return _tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave,
                     unit_scale=unit == "B", dynamic_ncols=True)
    return _Line(iterable, total=total, desc=desc, disable=disable)
