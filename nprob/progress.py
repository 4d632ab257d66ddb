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

    def __init__(self, total=None, desc="", disable=False, **_):
        self.total, self.desc, self.disable, self.n = total, desc, disable, 0
        self.postfix, self.start, self.last = "", time.time(), 0.0

    def update(self, n=1):
        self.n += n
        now = time.time()
        if not self.disable and now - self.last > 0.5:
            self.last = now
            frac = f"{self.n}/{self.total}" if self.total else str(self.n)
            print(f"\r{self.desc} {frac} {self.postfix}", end="", file=sys.stderr, flush=True)

    def set_postfix_str(self, s, refresh=True):
        self.postfix = s

    def close(self):
        if not self.disable:
            print(file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_bar(total=None, desc="", unit="it", disable=False, leave=True):
    """A progress bar over ``total`` units, usable as a context manager."""
    if _tqdm is not None:
        return _tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=leave,
                     unit_scale=unit == "B", dynamic_ncols=True)
    return _Line(total=total, desc=desc, disable=disable)
