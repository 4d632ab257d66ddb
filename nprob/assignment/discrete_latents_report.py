"""Report section and figure "Section 1.4, measured" (issue 14, derivations/12), from ``metrics.json``."""
from __future__ import annotations

from pathlib import Path

from . import plots
from .report_text import _median_seconds, settings_lines

LABELS = {"wake_sleep": "Wake-Sleep", "rws": "Reweighted wake-sleep", "score_function": "Score-function ELBO"}


def _binary_lines(section: dict) -> list[str]:
    cfg, runs = section["config"], section["runs"]
    k = cfg["k"]
    lines = [f"**Discrete latents (answer 4.2).** A Helmholtz machine with {cfg['h_dim']} binary latent units "
             f"(784-{'-'.join(map(str, cfg['hidden']))}-{cfg['h_dim']}, learned Bernoulli prior), trained for "
             f"{cfg['epochs']} epochs on statically binarised MNIST from the same initial weights by three algorithms "
             f"that need no reparameterisation. log p(x) and the ELBO are exact: sums over all {2 ** cfg['h_dim']} "
             f"codes (derivations/12, (12.2)-(12.3)), on {cfg['n_test']} test and {cfg['n_eval_train']} training "
             f"images; L_{k} on the first {cfg['bound_images']} of each. AEVB is absent because its estimator does "
             "not exist here: a binary code is a step function of q's parameters, so the path derivative is zero "
             "almost everywhere (result 12.2).", "",
             f"| algorithm | log p(x) test | ELBO test | L_{k} test | log p(x) train | seconds per epoch |",
             "|---|---|---|---|---|---|"]
    for name, label in LABELS.items():
        h = runs.get(name)
        if not h or not h.get("evals"):
            continue
        e = h["evals"][-1]
        lines.append(f"| {label} | {e['logpx_test']:.2f} | {e['elbo_test']:.2f} | {e[f'L{k}_test']:.2f} | "
                     f"{e['logpx_train']:.2f} | {_median_seconds(h):.1f} |")
    done = {n: runs[n]["evals"][-1]["logpx_test"] for n in LABELS if runs.get(n, {}).get("evals")}
    if done:
        best = max(done, key=done.get)
        gained = [n for n in done if runs[n]["evals"][0]["epoch"] < runs[n]["evals"][-1]["epoch"]
                  and done[n] > runs[n]["evals"][0]["logpx_test"]]
        trained = ", ".join(LABELS[n] for n in gained) or "none of the runs"
        lines += ["", f"Exact test log p(x) rose from the first evaluation to the last for: {trained} (answer 4.2 "
                  "asks whether a discrete-latent model can be trained this way). The highest exact test log p(x) "
                  f"here is {LABELS[best]}'s ({done[best]:.2f}). This is one training seed, and the seed-to-seed "
                  "spread is not measured here, so the ordering is what this run gave, not a general ranking. The "
                  "log p(x) and ELBO columns are exact sums over every code, with no Monte Carlo error; the "
                  f"L_{k} column is a Monte Carlo estimate."]
    return lines + [""]


def _variance_lines(v: dict) -> list[str]:
    if "skipped" in v:
        return [f"**Gradient variance.** Not measured: {v['skipped']}.", ""]
    lines = [f"**Gradient variance of the two estimators.** On section 1.6's AEVB model after epoch "
             f"{v['epoch']}, {v['draws']} independent draws of the gradient of the negative ELBO in the recognition "
             f"parameters on a fixed batch of {v['images']} test images, for each estimator and number of samples L "
             "per image (derivations/12 result 12.5). The baseline is each image's mean log p(x|z) over 100 "
             "independent pilot draws.", ""]
    agree = v["mean_agreement"]
    fine = all(a["ratio"] <= 1 + a["tolerance"] for a in agree.values())
    lines.append("Means first: the ratio R = ||mean_1 - mean_2||^2 / (sum of squared standard errors) has mean 1 "
                 "when two estimators share a mean, and exceeds 1 + tolerance (three of its standard deviations) "
                 f"rarely by chance. Against the reparameterised estimator at L = {v['mean_agreement_at_L']}: " +
                 ", ".join(f"{e} R = {a['ratio']:.2f} (tolerance {a['tolerance']:.2f})" for e, a in agree.items())
                 + ". " + ("The means agree within their standard errors, so comparing variances is fair." if fine else
                           "At least one R is beyond its tolerance: the means differ by more than their standard "
                           "errors (too few draws, or a bias), so the variances below should not be read as a "
                           "ranking."))
    layers = list(v["rows"][0]["layers"])
    lines += ["", "| estimator | L | total variance | " + " | ".join(layers) + " |",
              "|---|---|---|" + "---|" * len(layers)]
    for r in v["rows"]:
        lines.append(f"| {r['estimator']} | {r['L']} | {r['total_variance']:.3g} | " +
                     " | ".join(f"{r['layers'][k]:.3g}" for k in layers) + " |")
    by = {(r["estimator"], r["L"]): r["total_variance"] for r in v["rows"]}
    ls = sorted({r["L"] for r in v["rows"]})
    one, top = ls[0], ls[-1]
    rep, sf, sfb = (by[e, one] for e in ("reparameterisation", "score function", "score function, baseline"))
    if fine:
        falls = ", ".join(f"{e} {by[e, one] / by[e, top]:.3g}" for e in ("reparameterisation", "score function",
                                                                          "score function, baseline"))
        lines += ["", f"At L = {one}, the score function's total variance is {sf / rep:.3g} times the "
                  f"reparameterised estimator's, and {sfb / rep:.3g} times with the baseline. From L = {one} to "
                  f"L = {top} the total variance fell by a factor of: {falls} (independent samples would give "
                  f"{top / one:g}). Where both fall as 1/L, the score function with the baseline needs about "
                  f"{sfb / rep:.3g} times as many samples for the reparameterised estimator's variance."]
    return lines + [""]


def _cost_lines(c: dict) -> list[str]:
    a, w = c["aevb"], c["wake_sleep"]
    lines = ["**Cost per data point (answer 4.3).** Floating-point operations of one step's matrix products per "
             f"image, from the layer shapes: AEVB {a['flops'] / 1e6:.2f} M, Wake-Sleep {w['flops'] / 1e6:.2f} M "
             f"(ratio {w['flops'] / a['flops']:.2f})."]
    lines[-1] += (" Both are a constant number of passes through the same two networks, whatever the batch (AEVB one "
                  "forward and one backward pass per image; Wake-Sleep 1 + M/B of each, M sleep samples per batch "
                  "of B), so the answer is True: the same complexity per data point, O(|theta| + |phi|), with "
                  "different constants.")
    if a["seconds"] and w["seconds"]:
        measured, counted = w["seconds"] / a["seconds"], w["flops"] / a["flops"]
        lines[-1] += (f" Measured in section 1.6's runs (median epoch): AEVB {a['seconds'] * 1e6:.1f} µs, "
                      f"Wake-Sleep {w['seconds'] * 1e6:.1f} µs per image (ratio {measured:.2f}).")
        if not 1 / 1.5 <= measured / counted <= 1.5:
            lines[-1] += (" The measured ratio is not the counted one: beyond the matrix products, time goes to "
                          "element-wise work, Python and the optimiser, and to whatever else ran on the machine "
                          "(the benchmark, `python -m benchmarks`, separates these).")
    return lines + [""]


def lines(metrics: dict) -> list[str]:
    section = metrics["section14"]
    out = ["## Section 1.4, measured (derivations/12)", ""] + _binary_lines(section)
    if "variance" in section:
        out += _variance_lines(section["variance"])
    if "cost" in section:
        out += _cost_lines(section["cost"])
    return out + settings_lines("Section 1.4 settings", section["config"])


def draw(metrics: dict, figures: Path) -> list[Path]:
    section, drawn = metrics["section14"], []
    runs = {LABELS[n]: h for n, h in section["runs"].items() if h.get("evals")}
    if runs:
        xs = {label: [e["epoch"] for e in h["evals"]] for label, h in runs.items()}
        panels = [{"x": next(iter(xs.values())), "xs": xs, "xlabel": "epoch", "ylabel": f"{what} (nats, test)",
                   "series": {label: [e[f"{key}_test"] for e in h["evals"]] for label, h in runs.items()}}
                  for key, what in (("logpx", "exact log p(x)"), ("elbo", "exact ELBO"))]
        drawn.append(plots.line_panels(panels, "Binary latents: three algorithms without reparameterisation",
                                       figures / "binary_latents.png"))
    v = section.get("variance", {})
    if v.get("rows"):
        series, xs = {}, {}
        for r in v["rows"]:
            series.setdefault(r["estimator"], []).append(r["total_variance"])
            xs.setdefault(r["estimator"], []).append(r["L"])
        drawn.append(plots.line_panels([{"x": xs["reparameterisation"], "xs": xs, "series": series, "logx": True,
                                         "logy": True, "xlabel": "samples per image L",
                                         "ylabel": "total variance of the gradient in phi"}],
                                       "Recognition-gradient variance: reparameterisation against score function",
                                       figures / "gradient_variance.png"))
    return drawn
