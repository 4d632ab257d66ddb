"""The results folder: one run at a time, each part's results merged into ``metrics.json``, and no
empty folder left behind by a run that was refused or failed before it wrote anything.

Two runs writing one folder would each rewrite ``metrics.json`` from the copy they read at their
start, and the later write would drop the other's part. So a run holds an exclusive lock on
``OUT/.nprob-lock`` for as long as it works there (``flock``: the kernel releases it when the
process ends, however it ends, so a killed run never leaves a stale lock), and every part writes
its results with :func:`merge`, which reads the file afresh and replaces only that part's keys.
"""
from __future__ import annotations

import fcntl
import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .. import checkpoint

LOCK_NAME = ".nprob-lock"


class FolderBusy(checkpoint.CheckpointError):
    """Another run holds the results folder."""


def merge(out, updates: dict) -> dict:
    """Replace the top-level keys ``updates`` of ``OUT/metrics.json`` (read afresh), keep every other key,
    and write the file atomically; returns the merged object."""
    path = Path(out) / "metrics.json"
    metrics = checkpoint.read_json_object(path) if path.exists() else {}
    metrics.update(updates)
    checkpoint.write_json(path, metrics)
    return metrics


def read_metrics(out) -> dict:
    """``OUT/metrics.json`` as an object ({} where there is none yet)."""
    path = Path(out) / "metrics.json"
    return checkpoint.read_json_object(path) if path.exists() else {}


@contextmanager
def claimed(out):
    """Hold ``out`` (created if needed) for this run; a second run on it raises FolderBusy naming the first.

    The lock file is removed when the run ends, so a run leaves no trace of it. Where this run created
    the folder and leaves it holding nothing but empty folders (a refusal, or a failure before the first
    result), the folder is removed again on the way out.
    """
    out = Path(out)
    created = not out.exists()
    checkpoint.ensure_writable(out)
    lock_path = out / LOCK_NAME
    fd = _lock(lock_path, out)
    try:
        os.pwrite(fd, (f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                       f"{shlex.join(sys.argv)}\n").encode(), 0)
        yield out
    finally:
        lock_path.unlink(missing_ok=True)   # before the lock is released: a waiting run then makes a new file
        os.close(fd)
        if created:
            _remove_if_empty(out)


def _lock(lock_path: Path, out: Path) -> int:
    """An open descriptor of ``lock_path`` holding its exclusive lock; FolderBusy if another run holds it."""
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, checkpoint.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise FolderBusy(f"{out} is in use by another nprob run ({holder}); wait for it to finish, "
                             "or choose another folder with --out") from None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:   # the holder removed it between our open and our lock
            same_file = False
        if same_file:
            return fd
        os.close(fd)


def _remove_if_empty(out: Path) -> None:
    """Remove ``out`` if it holds nothing but empty folders."""
    entries = sorted(out.rglob("*"), key=lambda p: len(p.parts), reverse=True)
    if any(not p.is_dir() for p in entries):
        return
    for p in entries:
        p.rmdir()
    out.rmdir()
