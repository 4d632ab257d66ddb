"""Figures and report text for the ground truth (derivations/10-ground-truth.md), from metrics and the grids file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plots
from ..experiments.decline import CHANGE, truth_decline

CAUSES = {
    "generator": f"the generative model lost likelihood on the test images (log p(x) fell by more than {CHANGE:g} nat)",
    "recognition": f"the recognition network fell behind the generator (the gap grew by more than {CHANGE:g} nat)",
    "overfitting": f"the model overfits (the generalisation gap grew by more than {CHANGE:g} nat)",
}


def _cell(row: dict) -> str:
    se = f" ± {row['mc_se']:.3f}" if row.get("mc_se") is not None else ""
    return f"{row['mean']:.2f}{se} (sd {row['std_across_images']:.1f})"


def table_lines(truth: dict, labels: dict) -> list[str]:
    names = [n for n in labels if n in truth]
    first = truth[names[0]]
    lines = [f"On the first {first['images']} test images. Each cell: mean ± Monte Carlo standard error of the mean "
             "(sd across images). An estimate is one random draw, and (10.3) bounds its mean, so a single estimate "
             "can lie above log p(x). The last column counts images whose estimate does so by more than three Monte "
             "Carlo deviations plus the quadrature error, then (after the slash) how many of those stay above when "
             "the estimate is averaged over 100 fresh draws. (10.3) says that number is 0; where it is not, the "
             "quadrature missed posterior mass for those images (a mode outside the region its coarse pass "
             "found), so their log p(x) is too low and their error bar too small. For small k the deviation "
             "(10.4), estimated from k weights, is itself unreliable, so first-stage flags there are expected.", "",
             "| quantity | " + " | ".join(labels[n] for n in names) + " | flagged / still above |",
             "|---|" + "---|" * len(names) + "---|"]
    for key in first["rows"]:
        cells = [_cell(truth[n]["rows"][key]) for n in names]
        rows = [truth[n]["rows"][key] for n in names]
        above = ", ".join(f"{r['above_log_px']} / {r['still_above_after_repeats']}" if "above_log_px" in r else "-"
                          for r in rows)
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {above} |")
    errors = ", ".join(f"{labels[n]} {truth[n]['rows']['log p(x)']['max_error']:.1e}" for n in names)
    lines += ["", f"Largest quadrature error bar (10.2) of any image: {errors} nats.", ""]
    kl = lambda n, key: truth[n][key]["mean"]  # noqa: E731
    lines.append("**True posterior against q.** Mean over the images of KL(q || p(z|x)) = log p(x) - ELBO, the "
                 "divergence AEVB minimises: " + ", ".join(f"{labels[n]} {kl(n, 'kl_q_to_posterior'):.2f}"
                                                           for n in names)
                 + " nats. Mean KL(p(z|x) || q) on the lattice (10.5), the direction of the sleep phase: "
                 + ", ".join(f"{labels[n]} {kl(n, 'kl_posterior_to_q'):.2f}" for n in names) + " nats. "
                 "AEVB fits q by the first, which is mode-seeking: it keeps q inside the posterior. The sleep phase "
                 "fits q by the second, which is mass-covering, and on the model's fantasies rather than on these "
                 "images (answer A of section 1.4); the figure shows both against the true posterior.")
    return lines + [""]


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
