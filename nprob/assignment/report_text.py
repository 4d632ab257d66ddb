"""The words of ``report.md``: every sentence that compares is computed from measured numbers."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..checkpoint import write_text
from . import bound_decline
from . import ground_truth_report as report_truth
from .bound_decline import CHANGE
from .plots import LABELS

def _final(history: dict, key: str):
    evals = history.get("evals", [])
    return evals[-1][key] if evals and key in evals[-1] else None


def _median_seconds(history: dict) -> float:
    rows = sorted(r["seconds"] for r in history.get("epochs", []))
    return rows[len(rows) // 2] if rows else float("nan")


def _first_reaching(history: dict, key: str, level: float):
    return next((e["epoch"] for e in history["evals"] if e[key] >= level), None)


SAME = 0.1   # nats: final bounds closer than this are called about the same


def decline_text(name: str, d: dict, k: int) -> str:
    """The sentences for a test bound that peaked and fell, from :func:`bound_decline.bound_decline` (L_k alone)."""
    c = d["changes"]
    head = (f"{LABELS[name]}'s test bound peaked at epoch {d['peak_epoch']} and fell by {-c['test']:.2f} nats by "
            f"epoch {d['last_epoch']}.")
    if "train" not in c:
        return head + " No bound on training images was measured, so the cause is not separated."
    moved = (f" Over the same epochs its bound on training images changed by {c['train']:+.2f} nats and the "
             f"generalisation gap (training minus test bound) by {c['generalisation_gap']:+.2f}")
    unsplit = (f" L_{k} alone cannot tell whether the generative model (log p(x)) or the recognition network "
               "(the gap below it) lost that ground.")
    parts = set(d["parts"])
    if parts == {"overfitting", "training"}:
        return head + moved + (f". Both apply: the model overfits (the gap grew by more than {CHANGE:g} nat), and "
                               "it also lost ground on the images it trains on." + unsplit)
    if parts == {"overfitting"}:
        return head + moved + (f": the gap grew by more than {CHANGE:g} nat, which is overfitting, and the "
                               f"training bound did not fall by more than {CHANGE:g} nat.")
    if parts == {"training"}:
        return head + moved + (f": the fall is on the training images too, and the generalisation gap moved by "
                               f"less than {CHANGE:g} nat, so it is not overfitting." + unsplit)
    return head + moved + (f"; neither the training bound's fall nor the gap's growth exceeds {CHANGE:g} nat, so "
                           "the fall is not assigned to either.")


def convergence_text(metrics: dict, k: int) -> str:
    """Which algorithm converged faster, decided from the measured L_k curves.

    Speed is measured at a level both reach: the lower of the two best values. The
    algorithm that first reaches it converged faster; a curve that peaks and then
    falls is reported as such.
    """
    key = f"L{k}_test"
    runs = {n: metrics[n] for n in LABELS if metrics.get(n, {}).get("evals")}
    if len(runs) < 2:
        return "Only one algorithm has been evaluated so far; there is nothing to compare yet."
    best = {n: max(r["evals"], key=lambda e: e[key]) for n, r in runs.items()}
    level = min(b[key] for b in best.values()) - SAME   # reached within the noise margin of the lower best
    first = {n: _first_reaching(r, key, level) for n, r in runs.items()}
    fa, fw = _final(runs["aevb"], key), _final(runs["wake_sleep"], key)
    ahead = (f"about the same, within {SAME:g} nat" if abs(fa - fw) <= SAME
             else f"{'AEVB' if fa > fw else 'Wake-Sleep'} better by {abs(fa - fw):.2f} nats")
    lines = [f"At the end, L_{k} on the test set is {fa:.2f} nats for AEVB and {fw:.2f} for Wake-Sleep ({ahead})."]
    for n in best:   # a run whose log p(x) was tracked is explained by the ground-truth section instead
        d = bound_decline.bound_decline(runs[n], k)
        if d and d["changes"]["test"] < -CHANGE and bound_decline.truth_decline(runs[n], k) is None:
            lines.append(decline_text(n, d, k))
    lines.append(f"Both reach {level:.2f} nats ({SAME:g} nat below the lower of their two best values); AEVB first "
                 f"does so at epoch "
                 f"{first['aevb']} and Wake-Sleep at epoch {first['wake_sleep']} (evaluations every "
                 f"{runs['aevb']['evals'][0]['epoch']} epochs).")
    if first["aevb"] != first["wake_sleep"]:
        faster = "AEVB" if first["aevb"] < first["wake_sleep"] else "Wake-Sleep"
        lines.append(f"**{faster} converged faster.**")
    else:
        lines.append("They reach it at the same evaluation; **neither converged faster at this resolution**.")
    return " ".join(lines)


def verdict(difference: float, standard_error: float, claim: str, topic: str) -> str:
    """'AEVB <claim>' or 'Wake-Sleep <claim>' for difference = AEVB's minus Wake-Sleep's advantage, but only
    beyond two standard errors; otherwise 'no clear difference in <topic>'."""
    if abs(difference) <= 2 * standard_error:
        return f"no clear difference in {topic} (the gap is within two standard errors, {2 * standard_error:.3g})"
    winner = "AEVB" if difference > 0 else "Wake-Sleep"
    return f"{winner} {claim} (by {abs(difference) / standard_error:.1f} standard errors)"


def comparison_text(summary: dict) -> list[str]:
    if not {"aevb", "wake_sleep"} <= set(summary):
        return ["(Both algorithms must have a checkpoint for the comparisons.)"]
    a, w = summary["aevb"], summary["wake_sleep"]
    per_digit = np.array(w["recon_nats_per_digit"]) - np.array(a["recon_nats_per_digit"])   # paired: same digits
    recon = verdict(per_digit.mean(), per_digit.std(ddof=1) / np.sqrt(per_digit.size), "reconstructs more faithfully",
                    "reconstruction")
    n = a["latent_5nn_count"]
    se_knn = np.hypot(*[np.sqrt(s["latent_5nn_accuracy"] * (1 - s["latent_5nn_accuracy"]) / n) for s in (a, w)])
    knn = verdict(a["latent_5nn_accuracy"] - w["latent_5nn_accuracy"], se_knn, "separates the classes better",
                  "class separation")
    return [
        "**Reconstructions.** Mean -log p(x | z = mu(x)) over the 100 digits: AEVB "
        f"{a['recon_nats']:.1f} nats, Wake-Sleep {w['recon_nats']:.1f} nats (pixel MSE {a['recon_mse']:.4f} "
        f"vs {w['recon_mse']:.4f}); by a paired comparison over the digits, {recon}. Mean pixel "
        f"entropy of the reconstructions, a measure of blur, is {a['reconstruction_pixel_entropy']:.3f} "
        f"(AEVB) and {w['reconstruction_pixel_entropy']:.3f} (Wake-Sleep) nats.",
        "**Latent scatter.** A 5-nearest-neighbour vote in the 2-D latent space recovers the label of "
        f"{100 * a['latent_5nn_accuracy']:.1f}% of the 5,000 test digits for AEVB and "
        f"{100 * w['latent_5nn_accuracy']:.1f}% for Wake-Sleep: {knn}. The aggregate posterior (all test "
        "codes pooled) has standard deviation sqrt(Var(mu) + E[sigma^2]) per axis of "
        f"{a['aggregate_std'][0]:.2f} x {a['aggregate_std'][1]:.2f} (AEVB) and "
        f"{w['aggregate_std'][0]:.2f} x {w['aggregate_std'][1]:.2f} (Wake-Sleep), which is what matches the "
        "prior's 1 x 1 when q averages to the prior; of that, the means alone spread "
        f"{a['latent_std_of_means'][0]:.2f} x {a['latent_std_of_means'][1]:.2f} and "
        f"{w['latent_std_of_means'][0]:.2f} x {w['latent_std_of_means'][1]:.2f}, and the average posterior "
        f"standard deviation is {a['mean_posterior_std']:.3f} and {w['mean_posterior_std']:.3f}.",
        "**Latent manifold.** Decoding a 20 x 20 grid of prior quantiles, a nearest-neighbour classifier "
        f"in pixel space finds digits {a['manifold_classes']} for AEVB ({len(a['manifold_classes'])} classes) "
        f"and {w['manifold_classes']} for Wake-Sleep ({len(w['manifold_classes'])} classes); the mean pixel "
        f"entropy of the decoded grid is {a['manifold_pixel_entropy']:.3f} and "
        f"{w['manifold_pixel_entropy']:.3f} nats (lower is crisper).",
    ]


def write_report(out: Path, metrics: dict, cfg, summary: dict, figures: list, gan_lines: list[str]) -> Path:
    lines = ["# nprob results: Helmholtz machines (section 1.6) and GANs (section 2)", "",
             "Generated by `nprob` from `metrics.json` and the checkpoints in this folder; redraw with "
             f"`python run_all.py --plots-only --out {out}`.", ""]
    if cfg is not None:
        lines += helmholtz_lines(metrics, cfg, summary)
    lines += gan_lines
    versions = metrics.get("versions", {})
    lines += ["Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()), "", "## Figures", ""]
    lines += [f"![{f.stem}]({f.as_posix()})" for f in figures]
    path = out / "report.md"
    write_text(path, "\n".join(lines) + "\n")
    return path


def helmholtz_lines(metrics: dict, cfg, summary: dict) -> list[str]:
    k = cfg.k
    lines = ["## Section 1.6: AEVB and Wake-Sleep on MNIST", "", "### Final numbers", "",
             f"| algorithm | epochs | L_{k} test | L_{k} train | median seconds per epoch | last training loss |",
             "|---|---|---|---|---|---|"]
    for name, label in LABELS.items():
        h = metrics.get(name)
        if not h or not h.get("epochs"):
            continue
        last = h["epochs"][-1]
        loss = ", ".join(f"{key} {last[key]:.2f}" for key in last if key not in ("epoch", "seconds"))
        test, train = _final(h, f"L{k}_test"), _final(h, f"L{k}_train")
        fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"| {label} | {last['epoch']} | {fmt(test)} | {fmt(train)} | {_median_seconds(h):.2f} | {loss} |")
    lines += ["", "### Which algorithm converged faster?", "", convergence_text(metrics, k), ""]
    if metrics.get("ground_truth"):
        lines += ["### Ground truth: log p(x) by quadrature (section 1.5, measured)", ""]
        lines += report_truth.table_lines(metrics["ground_truth"], LABELS)
        lines += report_truth.decline_lines(metrics, k, LABELS)
    lines += ["### Reconstructions, latent scatter and manifold", ""]
    lines += [p + "\n" for p in comparison_text(summary)]
    sweep = metrics.get("sleep_lr_sweep")
    if sweep:
        lines += ["### Choosing the Wake-Sleep learning rates", "",
                  f"Short runs ({sweep['epochs']} epochs, otherwise the settings below) for each sleep-phase "
                  f"learning rate, L_{k} on the test set at the end:", "",
                  "| sleep lr | wake lr | sleep samples | L test |", "|---|---|---|---|"]
        lines += [f"| {r['sleep_lr']:g} | {r['wake_lr']:g} | {r['sleep_samples']} | {r['L_test']:.2f} |"
                  for r in sweep["runs"]]
        lines.append("")
    return lines + settings_lines("Hyperparameters", {key: value for key, value in asdict(cfg).items()
                                                      if not key.startswith(IW_ONLY)})


IW_ONLY = ("iw_", "rws_")   # settings only the IWAE and RWS runs use: the iw section's own table shows them


def settings_lines(title: str, settings: dict) -> list[str]:
    """A part's own settings as a two-column table, under a level-3 heading."""
    return [f"### {title}", "", "| setting | value |", "|---|---|",
            *(f"| {key} | {value} |" for key, value in settings.items()), ""]
