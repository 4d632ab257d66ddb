"""Which settings a run's checkpoint must match, declared once, beside each setting.

A configuration field declared with :func:`setting` names the runs whose numbers it decides: ``ALL``
(every run of its part; a field declared without :func:`setting` counts as ALL), a tuple of run kinds,
or ``NONE`` (it decides no checkpoint's numbers: how many epochs, when to evaluate, what is measured after
training). :func:`for_run` is then the dictionary a checkpoint of that kind records, and that a resumed
run must match exactly (:func:`nprob.training.state.read_checkpoint`).
"""
from __future__ import annotations

from dataclasses import field, fields

ALL, NONE = "all", ()


def setting(default, runs=ALL):
    """A dataclass field with ``default`` whose value the checkpoints of ``runs`` record."""
    return field(default=default, metadata={"runs": runs})


def for_run(cfg, kind: str) -> dict:
    """The settings of ``cfg`` that a checkpoint of a ``kind`` run records (lists for tuples, as in JSON)."""
    return {f.name: list(getattr(cfg, f.name)) if isinstance(getattr(cfg, f.name), tuple) else getattr(cfg, f.name)
            for f in fields(cfg) if f.metadata.get("runs", ALL) == ALL or kind in f.metadata["runs"]}
