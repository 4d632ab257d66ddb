"""Figures and report text for the ground truth (derivations/10-ground-truth.md), from metrics and the grids file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plots
from .bound_decline import CHANGE, truth_decline

CAUSES = {
    "generator": f"the generative model lost likelihood on the test images (log p(x) fell by more than {CHANGE:g} nat)",
    "recognition": f"the recognition network fell behind the generator (the gap grew by more than {CHANGE:g} nat)",
    "overfitting": f"the model overfits (the generalisation gap grew by more than {CHANGE:g} nat)",
}


def _cell(row: dict) -> str:
    if row.get("mean") is None:
        return "n/a"
    se = f" ± {row['mc_se']:.3f}" if row.get("mc_se") is not None else ""
    return f"{row['mean']:.2f}{se} (sd {row['std_across_images']:.1f})"


def _flags(row: dict) -> str:
    if "above_log_px" not in row:
        return f"{row.get('unresolved', 0)} unresolved" if "unresolved" in row else "-"
    return f"{row['above_log_px']} / {row.get('integrated_again', row.get('still_above_after_repeats', 0))}"


def table_lines(truth: dict, labels: dict) -> list[str]:
    names = [n for n in labels if n in truth]
    first = truth[names[0]]
    lines = [f"On the first {first['images']} test images. Each cell: mean ± Monte Carlo standard error of the mean, "
             "measured from two independent estimates per image (10.9), with the images held fixed (sd across "
             "images). (10.7) bounds the mean of each estimate, not a single draw. The last column counts the images "
             "whose estimate lies above log p(x) by more than three delta-method deviations (10.8) plus the "
             "quadrature's bar, which is unlikely but not impossible by chance, then (after the slash) those still "
             "above when averaged over 100 fresh draws, which were integrated again more finely. The log p(x) row "
             "is the mean over the images the quadrature resolved.", "",
             "| quantity | " + " | ".join(labels[n] for n in names) + " | flagged / integrated again |",
             "|---|" + "---|" * len(names) + "---|"]
    for key in first["rows"]:
        cells = [_cell(truth[n]["rows"].get(key, {})) for n in names]
        flags = ", ".join(_flags(truth[n]["rows"].get(key, {})) for n in names)
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {flags} |")
    lines += ["", _bars_sentence(truth, names, labels), ""]
    kl = lambda n, key: truth[n][key]["mean"]  # noqa: E731
    lines.append("**True posterior against q.** Mean over the images of KL(q || p(z|x)) = log p(x) - ELBO, the "
                 "divergence AEVB minimises: " + ", ".join(f"{labels[n]} {kl(n, 'kl_q_to_posterior'):.2f}"
                                                           for n in names)
                 + " nats. Mean KL(p(z|x) || q) on the lattice (10.10), the direction of the sleep phase: "
                 + ", ".join(f"{labels[n]} {kl(n, 'kl_posterior_to_q'):.2f}" for n in names) + " nats. "
                 "AEVB fits q by the first, which is mode-seeking: it tends to keep q inside the posterior. The sleep "
                 "phase fits q by the second, which is mass-covering, and on the model's fantasies rather than on "
                 "these images (answer A of section 1.4); the figure shows both against the true posterior.")
    return lines + [""]


def _bars_sentence(truth: dict, names: list, labels: dict) -> str:
    """The quadrature's largest bar and unresolved count, on the hierarchy's images and on the whole test set."""
    def describe(row):
        if row.get("max_error") is None:
            return f"no image resolved of {row.get('images', '?')}"
        return (f"largest bar {row['max_error']:.1e} nats, {row['unresolved']} of {row['images']} images "
                "unresolved")
    parts = [f"{labels[n]}: {describe(truth[n]['rows']['log p(x)'])}" for n in names]
    out = "Quadrature (10.6) on these images: " + "; ".join(parts) + "."
    whole = [n for n in names if "test_set" in truth[n]]
    if whole:
        out += " On every test image: " + "; ".join(
            f"{labels[n]} mean log p(x) {_mean(truth[n]['test_set'])} over the resolved images, "
            f"{describe(truth[n]['test_set'])}, {truth[n]['test_set']['seconds']:.0f} s" for n in whole) + "."
    return out


def _mean(row: dict) -> str:
    if row.get("mean") is None:
        return "n/a"
    se = row.get("se_across_images")
    return f"{row['mean']:.2f}" + (f" ± {se:.2f} (standard error across images)" if se is not None else "")


def decline_sentence(label: str, d: dict, k: int, images: int) -> str:
    """The sentences for a fall of the tracked test bound, from :func:`decline.truth_decline`."""
    c = d["changes"]
    named = [CAUSES[part] for part in d["parts"]]
    if not named:
        verdict = f"no part moved by more than {CHANGE:g} nat, so the fall is not assigned to one"
    elif len(named) == 1:
        verdict = named[0] + f"; the other parts moved by less than {CHANGE:g} nat"
    else:
        verdict = ("both apply: " if len(named) == 2 else "all three apply: ") + ", and ".join(named)
    return (f"**Where {label}'s fall comes from.** From epoch {d['peak_epoch']} (the peak of the test bound on the "
            f"{images} tracked test images) to epoch {d['last_epoch']}, on those same images L_{k} changed by "
            f"{c['tracked_test']:+.2f} nats: log p(x) by {c['logpx_test']:+.2f} and the gap log p(x) - L_{k} by "
            f"{c['gap_test']:+.2f}. The generalisation gap (training minus test bound, on {images} tracked "
            f"training images) changed by {c['generalisation_gap']:+.2f}; log p(x) of the training images changed by "
            f"{c['logpx_train']:+.2f}, which names nothing by itself. So: {verdict}.")


def decline_lines(metrics: dict, k: int, labels: dict) -> list[str]:
    images = metrics.get("config", {}).get("truth_track_images", "the")
    lines = []
    for name, label in labels.items():
        d = truth_decline(metrics.get(name, {}), k)
        if d is not None and d["changes"]["tracked_test"] < -CHANGE:
            lines += [decline_sentence(label, d, k, images), ""]
    return lines


def draw(metrics: dict, out: Path, figures: Path, k: int, labels: dict) -> list[Path]:
    truth = metrics.get("ground_truth", {})
    drawn = []
    names = [n for n in labels if n in truth]
    if names:
        series, xs = {}, {}
        for n in names:
            rows = truth[n]["rows"]
            log_px = rows["log p(x)"]["mean"]
            ks = [int(key[2:]) for key in rows if key.startswith("L_")]
            xs[labels[n]] = ks
            series[labels[n]] = [max(log_px - rows[f"L_{j}"]["mean"], 1e-3) for j in ks]
        drawn.append(plots.line_panels([{"x": ks, "xs": xs, "series": series, "xlabel": "k (samples in L_k)",
                                         "ylabel": "log p(x) - L_k (nats, mean over images)", "logx": True,
                                         "logy": True}], "The gap to log p(x) closes as k grows",
                                       figures / "truth_gap_vs_k.png"))
    grids = out / "ground_truth_posteriors.npz"
    if names and grids.exists():
        with np.load(grids) as g:
            panels = {labels[n]: {key: g[f"{n}.{key}"] for key in ("posterior", "extent", "q_mu", "q_std")}
                      for n in names if f"{n}.posterior" in g}
        drawn.append(plots.posterior_panels(panels, figures / "truth_posteriors.png"))
    curves = [n for n in labels if any("logpx_test" in e for e in metrics.get(n, {}).get("evals", []))]
    if curves:
        panels = []
        for n in curves:
            evals = [e for e in metrics[n]["evals"] if "logpx_test" in e]
            epochs = [e["epoch"] for e in evals]
            series = {}
            for split in ("test", "train"):   # both on the same tracked images: L_k = log p(x) - gap
                series[f"log p(x) {split}"] = [e[f"logpx_{split}"] for e in evals]
                series[f"L_{k} {split}"] = [e[f"logpx_{split}"] - e[f"gap_{split}"] for e in evals]
            panels.append({"x": epochs, "series": series, "xlabel": f"epoch ({labels[n]})",
                           "ylabel": "nats per image"})
        drawn.append(plots.line_panels(panels, f"log p(x) by quadrature and L_{k} on the tracked images",
                                       figures / "truth_curves.png"))
    return drawn
