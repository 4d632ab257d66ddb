"""Report section and figure for training on the bound (issue 13): AEVB, IWAE, Wake-Sleep and RWS side by side.

Everything is read from ``metrics.json``: section 1.6's runs (``aevb``, ``wake_sleep``, ``ground_truth``)
and this part's (``iw``). Section 1.6's rows join the table only where both parts ran with the same
shared settings, so every row of the table answers the same question.
"""
from __future__ import annotations

from pathlib import Path

from . import plots
from .report_text import _median_seconds, settings_lines

SHARED = ("backend", "seed", "epochs", "batch_size", "hidden", "z_dim", "activation", "init", "optimizer", "k", "n_train",
          "n_eval_train", "n_test", "binarize", "truth_images", "truth_ks")
NOT_USED = ("aevb_", "wake_", "sleep_lr", "sweep_")   # settings of section 1.6's algorithms alone
BINARIZED = {"none": "grey levels in [0, 1], as the assignment uses them (the Bernoulli likelihood is then "
                     "unnormalised, so these numbers cannot be set beside published binarised-MNIST ones)",
             "static": "one fixed Bernoulli draw of every pixel (statically binarised MNIST)",
             "dynamic": "a fresh Bernoulli draw of every training pixel per batch, evaluated on one fixed draw "
                        "(dynamically binarised MNIST, as Burda et al.)"}


IW_LABELS = {"iwae": "IWAE", "rws": "RWS"}


def label(name: str) -> str:
    """'AEVB', 'Wake-Sleep', or 'IWAE, k = 5' for a run named 'iwae_k5'; ValueError for any other name."""
    if name in plots.LABELS:
        return plots.LABELS[name]
    algorithm, _, k = name.rpartition("_k")
    if algorithm not in IW_LABELS or not k.isdigit():
        raise ValueError(f"no label for a run named {name!r}")
    return f"{IW_LABELS[algorithm]}, k = {k}"


def _comparable(metrics: dict) -> bool:
    """Section 1.6 ran with this part's shared settings (a folder older than --binarize used grey levels)."""
    first, second = metrics.get("config"), metrics["iw"]["config"]
    return first is not None and all(first.get(key, "none" if key == "binarize" else None) == second.get(key)
                                     for key in SHARED)


def runs(metrics: dict) -> dict:
    """{name: (history, hierarchy or None)} of every run the table compares, section 1.6's first."""
    out = {}
    if _comparable(metrics):
        out.update({n: (metrics[n], metrics.get("ground_truth", {}).get(n)) for n in plots.LABELS if n in metrics})
    section = metrics["iw"]
    out.update({n: (h, section.get("ground_truth", {}).get(n)) for n, h in section["runs"].items()})
    return out


def largest_swing(history: dict, key: str, after: int):
    """The largest |change| of ``key`` between consecutive evaluations from epoch ``after`` on (None if < 2)."""
    values = [e[key] for e in history.get("evals", []) if e["epoch"] >= after and key in e]
    return max(abs(b - a) for a, b in zip(values, values[1:])) if len(values) > 1 else None


def lines(metrics: dict) -> list[str]:
    section, cfg = metrics["iw"], metrics["iw"]["config"]
    k, after = cfg["k"], cfg["epochs"] // 2
    table = runs(metrics)
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    top = max(cfg["truth_ks"])
    out = ["## Training on the bound: IWAE and reweighted wake-sleep (derivations/11)", "",
           f"Every run: the same 784-{'-'.join(map(str, cfg['hidden']))}-{cfg['z_dim']} model, initial weights, "
           f"data and {cfg['epochs']} epochs. Pixels: {BINARIZED[cfg['binarize']]}. L_{k} is evaluated every "
           f"{cfg['eval_every']} epochs on {cfg['n_test']} test and {cfg['n_eval_train']} training images; "
           + (f"L_{top} and log p(x) (quadrature, derivations/10) on the first {cfg['truth_images']} test images "
              "(the ones the quadrature resolved) after training. " if cfg.get("truth", True) and cfg["z_dim"] == 2
              else "no quadrature (switched off with --no-truth, or codes that are not 2-D): its columns are "
                   "n/a. ")
           + f"The stability column is the largest change of the test L_{k} between consecutive "
           f"evaluations from epoch {after} on. RWS {'also takes' if cfg['rws_sleep'] else 'takes no'} sleep step. "
           "Seconds per epoch are each run's median epoch under whatever else the machine was doing then; "
           "`python -m benchmarks.step_costs` times all the algorithms in one run.",
           ""]
    if not _comparable(metrics):
        out += ["AEVB and Wake-Sleep are left out of this table: section 1.6 in this folder ran with other shared "
                "settings (or not at all), so its numbers would answer another question.", ""]
    out += [f"| algorithm | L_{k} test | L_{k} train | L_{top} | log p(x) | log p(x) - L_{top} | largest swing "
            f"after epoch {after} | seconds per epoch |", "|---|---|---|---|---|---|---|---|"]
    for name, (history, truth) in table.items():
        last = history["evals"][-1] if history.get("evals") else {}
        rows = (truth or {}).get("rows", {})
        bound, exact = rows.get(f"L_{top}", {}).get("mean"), rows.get("log p(x)", {}).get("mean")
        gap = exact - bound if None not in (bound, exact) else None
        used = (truth or {}).get("resolved_images", (truth or {}).get("images"))
        where = "" if used in (None, cfg["truth_images"]) else f" (on {used} images)"   # another image set
        out.append(f"| {label(name)} | {fmt(last.get(f'L{k}_test'))} | {fmt(last.get(f'L{k}_train'))} | "
                   f"{fmt(bound)}{where} | {fmt(exact)}{where} | {fmt(gap)} | {fmt(largest_swing(history, f'L{k}_test', after))} "
                   f"| {_median_seconds(history):.1f} |")
    planned = [f"{a}_k{j}" for j in cfg["iw_ks"] for a in ("iwae", "rws")]
    missing = [label(n) for n in planned if n not in section["runs"]]
    if missing:
        out += ["", "Not run yet: " + ", ".join(missing) + "."]
    own = {key: value for key, value in cfg.items() if not key.startswith(NOT_USED)}
    software = ", ".join(f"{k} {v}" for k, v in section.get("versions", {}).items())
    return out + [""] + settings_lines("Settings of the IWAE and RWS runs", {**own, "software": software})


def draw(metrics: dict, figures: Path) -> list[Path]:
    """The test and training L_k of every compared run against epoch."""
    k = metrics["iw"]["config"]["k"]
    panels = []
    for split in ("test", "train"):
        series, xs = {}, {}
        for name, (history, _) in runs(metrics).items():
            evals = [e for e in history.get("evals", []) if f"L{k}_{split}" in e]
            if evals:
                xs[label(name)] = [e["epoch"] for e in evals]
                series[label(name)] = [e[f"L{k}_{split}"] for e in evals]
        if series:
            panels.append({"x": next(iter(xs.values())), "xs": xs, "series": series, "xlabel": "epoch",
                           "ylabel": f"$\\mathcal{{L}}_{{{k}}}$ on {split} images (nats)"})
    if not panels:
        return []
    return [plots.line_panels(panels, "Training on the ELBO, the wake-sleep objectives and the bound itself",
                              figures / "iw_bounds.png")]
