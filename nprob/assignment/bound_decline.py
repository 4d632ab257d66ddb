"""Where a falling test bound comes from: the rules of derivations/10 result 10.9 and page 4, as data.

Both functions read a run's evaluation history and return the changes from the test bound's peak
to the last evaluation with the parts they name; the report turns them into sentences. A change
names a part only if it exceeds CHANGE nats (quadrature and Monte Carlo errors are a few
hundredths). Overfitting is decided from the generalisation gap, the training bound minus the
test bound, never from one of the two bounds alone.
"""
from __future__ import annotations

CHANGE = 1.0   # nats


def _peak_and_last(evals: list, key: str):
    return max(evals, key=lambda e: e[key]), evals[-1]


def bound_decline(history: dict, k: int) -> dict | None:
    """From L_k alone (all evaluated images): the test and training bounds' changes and the
    generalisation gap's. Parts: 'overfitting' (the gap grew), 'training' (the training bound fell
    too, which L_k alone cannot split into the generator and the recognition network)."""
    test, train = f"L{k}_test", f"L{k}_train"
    evals = [e for e in history.get("evals", []) if test in e]
    if len(evals) < 2:
        return None
    peak, last = _peak_and_last(evals, test)
    changes = {"test": last[test] - peak[test]}
    parts = []
    if train in peak and train in last:
        changes["train"] = last[train] - peak[train]
        changes["generalisation_gap"] = changes["train"] - changes["test"]
        if changes["generalisation_gap"] > CHANGE:
            parts.append("overfitting")
        if changes["train"] < -CHANGE:
            parts.append("training")
    return {"peak_epoch": peak["epoch"], "last_epoch": last["epoch"], "changes": changes, "parts": parts}


def truth_decline(history: dict, k: int) -> dict | None:
    """With log p(x) tracked: every change on the same tracked images (L_k = log p(x) - gap there).

    Parts: 'generator' (test log p(x) fell), 'recognition' (test gap grew), 'overfitting' (the
    generalisation gap grew). The training log p(x) is reported but names nothing.
    """
    keys = ("logpx_test", "gap_test", "logpx_train", "gap_train")
    evals = [dict(e, tracked_test=e["logpx_test"] - e["gap_test"], tracked_train=e["logpx_train"] - e["gap_train"])
             for e in history.get("evals", []) if all(key in e for key in keys)]
    if len(evals) < 2:
        return None
    peak, last = _peak_and_last(evals, "tracked_test")
    changes = {key: last[key] - peak[key] for key in keys + ("tracked_test", "tracked_train")}
    changes["generalisation_gap"] = changes["tracked_train"] - changes["tracked_test"]
    named = {"generator": changes["logpx_test"] < -CHANGE, "recognition": changes["gap_test"] > CHANGE,
             "overfitting": changes["generalisation_gap"] > CHANGE}
    return {"peak_epoch": peak["epoch"], "last_epoch": last["epoch"], "changes": changes,
            "parts": [part for part, yes in named.items() if yes]}
