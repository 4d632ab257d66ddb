"""Figures and report text for section 2, from ``metrics.json['gan']`` and the games' checkpoints."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..toy_data import MIXTURES, STRICT
from . import gan_games, plots, toy_games
from .gans import GANConfig
from .report_text import settings_lines

LOG2 = math.log(2)


def load_config(metrics: dict) -> GANConfig:
    raw = dict(metrics["gan_config"])
    for key in ("lines_thetas", "toy_hidden"):
        raw[key] = tuple(raw[key])
    return GANConfig(**raw)


def draw(metrics: dict, arrays: dict | None, figures: Path, aevb_latents) -> list[Path]:
    """Section 2's figures from ``metrics['gan']`` and the stored samples (:mod:`nprob.assignment.figure_data`);
    ``aevb_latents``: section 1.6's AEVB codes of the same digits, for the three-player game's scatter."""
    cfg, gan, arrays = load_config(metrics), metrics["gan"], arrays or {}
    drawn = []
    if "optimal_discriminator" in gan:
        r = gan["optimal_discriminator"]
        drawn.append(plots.line_panels([{"x": r["grid"], "series": {"trained D(x)": r["d_hat"],
                                         "theory p_d / (p_d + p_g)": r["d_star"]}, "xlabel": "x", "ylabel": "D(x)"}],
                                       "Optimal discriminator for fixed 1-D densities",
                                       figures / "gan_optimal_discriminator.png"))
    if "saturation" in gan:
        r = gan["saturation"]
        probe = [p for p in r["probe"] if p["d_fake"] > 0]
        curves = r["training"]
        drawn.append(plots.line_panels([
            {"x": [p["d_fake"] for p in probe], "series": {k: [p[f"grad_{k}"] for p in probe] for k in curves},
             "xlabel": "mean D(G(z)) as D is trained", "ylabel": "|grad of generator loss|", "logx": True, "logy": True},
            {"x": [h["step"] for h in curves["minimax"]], "series": {k: [h["w1"] for h in v] for k, v in curves.items()},
             "xlabel": "generator step", "ylabel": "W1(generated, data)"}],
            "Saturation: a weak generator against a strong discriminator", figures / "gan_saturation.png"))
    if "parallel_lines" in gan:
        rows = gan["parallel_lines"]["rows"]
        th = [r["theta"] for r in rows]
        dense = sorted(set(np.linspace(min(th), max(th), 401).tolist()) | {0.0})   # JSD jumps at theta = 0
        drawn.append(plots.line_panels([
            {"x": th, "xs": {"theory JSD": dense, "theory W = |theta|": dense},
             "series": {"JSD estimate": [r["jsd"] for r in rows],
                        "theory JSD": [0 if t == 0 else LOG2 for t in dense],
                        "W estimate": [r["w"] for r in rows], "theory W = |theta|": [abs(t) for t in dense]},
             "xlabel": "theta", "ylabel": "distance (nats for JSD)"},
            {"x": th, "series": {"|d JSD / d theta|": [abs(r["jsd_grad"]) for r in rows],
                                 "|d W / d theta|": [abs(r["w_grad"]) for r in rows]},
             "xlabel": "theta", "ylabel": "gradient a generator would get"}],
            "Parallel lines: P at x = 0, Q at x = theta", figures / "gan_parallel_lines.png"))
    if "mode_coverage" in gan:
        for data_name, (modes, _) in MIXTURES.items():
            samples = {method: arrays[f"toy.{data_name}.{method}"] for method in toy_games.TOY_METHODS
                       if f"toy.{data_name}.{method}" in arrays}
            if samples:
                drawn.append(plots.sample_panels(samples, modes, f"2,500 samples on {data_name} (seed {cfg.seed})",
                                                 figures / f"gan_modes_{data_name}.png"))
        curves = modes_against_steps(gan["mode_coverage"], figures / "gan_modes_vs_steps.png")
        drawn += [curves] if curves else []
    for name in gan_games.MNIST_GAMES:
        if f"{name}.samples" not in arrays:
            continue
        drawn.append(plots.digit_grid(arrays[f"{name}.samples"], f"{name}: 100 samples", figures / f"{name}_samples.png"))
        if name == "mnist_bigan":
            drawn.append(plots.digit_grid(arrays["mnist_bigan.reconstructions"], "three-player game: G(Q(x))",
                                          figures / "mnist_bigan_reconstructions.png"))
            drawn.append(plots.latent_scatter({"bigan": arrays["mnist_bigan.latents"],
                                               **({"aevb": aevb_latents} if aevb_latents is not None else {})},
                                              arrays["scatter_labels"], figures / "mnist_bigan_latents.png"))
    return drawn


def _first_below(history: list, below: float = 1.0) -> str:
    """'after N steps' for the first logged generator step with W1 below ``below``, or that it never fell so low."""
    step = next((h["step"] for h in history if h["w1"] < below), None)
    return f"after {step} steps" if step is not None else f"at no point of the {history[-1]['step']} steps"


def modes_against_steps(coverage: dict, path: Path) -> Path | None:
    """Modes captured (both criteria, mean over seeds) against generator steps, one curve per method;
    None for results recorded before the curves were (nothing to draw)."""
    panels = []
    for data_name, by_method in coverage.items():
        for key, criterion in (("modes_published", "published"), ("modes", "strict")):
            series, xs = {}, {}
            for method, runs in by_method.items():
                curves = [r["curve"] for r in runs if r.get("curve") and key in r["curve"][0]]
                if curves:
                    n = min(len(c) for c in curves)
                    xs[method] = [e["steps"] for e in curves[0][:n]]
                    series[method] = [float(np.mean([c[i][key] for c in curves])) for i in range(n)]
            if series:
                panels.append({"x": next(iter(xs.values())), "xs": xs, "series": series, "xlabel": "generator steps",
                               "ylabel": f"{data_name}: modes, {criterion} (mean over seeds)"})
    return plots.line_panels(panels, "Mode coverage against training steps", path) if panels else None


def _mean_and_se(values) -> tuple[float, float]:
    """The mean and its standard error over seeds (NaN for one seed)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def _mean_se(values) -> str:
    if np.isnan(np.asarray(values, dtype=float)).any():
        return "n/a"
    mean, se = _mean_and_se(values)
    return f"{mean:.2f}" if math.isnan(se) else f"{mean:.2f} ± {se:.2f}"


def leaders(by_method: dict, key: str) -> tuple[list[str], list[str]]:
    """The method with the best mean ``key`` followed by those within twice the combined standard error of
    it (not separated from it), and the rest, which fall below it by more. One seed separates nothing."""
    stats = {m: _mean_and_se([r[key] for r in runs]) for m, runs in by_method.items() if runs and key in runs[0]}
    if not stats:
        return [], []
    best = max(stats, key=lambda m: stats[m][0])
    mean_best, se_best = stats[best]

    def separated(m):
        gap, se = mean_best - stats[m][0], math.hypot(se_best, stats[m][1])
        return not math.isnan(se) and gap > 2 * se
    return [best] + [m for m in stats if m != best and not separated(m)], [m for m in stats if separated(m)]


def coverage_findings(coverage: dict) -> list[str]:
    """What the table shows: per mixture and measure, the methods ahead beyond the seed spread; the targets."""
    lines = []
    for data_name, by_method in coverage.items():
        k = len(MIXTURES[data_name][0])
        one_seed = max(len(runs) for runs in by_method.values()) < 2
        lines += [f"- {data_name}: one seed per method, so nothing can be separated from noise."] if one_seed else []
        for key, label in (("modes", "strict modes"), ("modes_published", "published modes"),
                           ("high_quality", "high-quality fraction")):
            top, rest = leaders(by_method, key)
            if not top or one_seed:
                continue
            best = np.mean([r[key] for r in by_method[top[0]]])
            if not rest:
                lines.append(f"- {data_name}, {label}: no method falls below the best mean ({top[0]}, {best:.2f}) "
                             "by more than twice the combined standard error.")
            else:
                lines.append(f"- {data_name}, {label}: best mean {top[0]} ({best:.2f})"
                             + (f"; not separated from it: {', '.join(top[1:])}" if top[1:] else "")
                             + f"; below it by more than twice the combined standard error: {', '.join(rest)}.")
        everywhere = [m for m, runs in by_method.items() if runs and all(r["modes"] == k for r in runs)]
        lines.append(f"- {data_name}: all {k} modes on every seed by the strict criterion: "
                     f"{', '.join(everywhere) if everywhere else 'no method'}.")
        d_loss = {m: _mean_se([r["d_loss"] for r in runs]) for m, runs in by_method.items()
                  if m not in toy_games.CRITIC_METHODS and runs and "d_loss" in runs[0]}
        if d_loss:
            lines.append(f"- {data_name}: discriminator loss over the last epoch (log 4 = {math.log(4):.3f} when D "
                         "cannot tell real from generated): " + ", ".join(f"{m} {v}" for m, v in d_loss.items()) + ".")
    return ["**What the table shows.**", ""] + lines + [""]


def mode_coverage_lines(coverage: dict) -> list[str]:
    """The mode-coverage table: both criteria, the high-quality fraction and the reverse KL, mean ± SE over seeds."""
    seeds = len(next(iter(next(iter(coverage.values())).values())))
    lines = [f"**Mode coverage** (2,500 samples per run, {seeds} seeds; mean ± standard error over seeds). A sample is "
             "high quality within 3 std of its nearest mode. A mode is captured by the published criterion "
             f"(VEEGAN, PacGAN) with at least one high-quality sample, and by nprob's strict one with at least "
             f"{STRICT}. Reverse KL: the histogram of all samples over their nearest modes against the uniform "
             "one (0 is an even spread; it measures balance, not quality).", "",
             "| data | method | modes, published | modes, strict | high-quality fraction | reverse KL | per seed "
             "(published / strict) |", "|---|---|---|---|---|---|---|"]
    for data_name, by_method in coverage.items():
        for method, runs in by_method.items():
            k = len(MIXTURES[data_name][0])
            published = [r.get("modes_published", float("nan")) for r in runs]
            per = ", ".join(f"{p:.0f} / {r['modes']:.0f}" for p, r in zip(published, runs))
            lines.append(f"| {data_name} | {method} | {_mean_se(published)} / {k} | "
                         f"{_mean_se([r['modes'] for r in runs])} / {k} | {_mean_se([r['high_quality'] for r in runs])} "
                         f"| {_mean_se([r.get('reverse_kl', float('nan')) for r in runs])} | {per} |")
    ring = coverage.get("ring8", {}).get("bigan", [])
    if ring and "x_cycle" in ring[0]:
        lines += ["", f"Three-player game on ring8 (derivations/08): mean ||G(Q(x)) - x|| = "
                  f"{_mean_se([r['x_cycle'] for r in ring])} (typical distance between data points "
                  f"{_mean_se([r['x_typical'] for r in ring])}), mean ||Q(G(z)) - z|| = "
                  f"{_mean_se([r['z_cycle'] for r in ring])} (typical {_mean_se([r['z_typical'] for r in ring])}"
                  + (f"; an inverse that recovers only the mode would err by {_mean_se([r['z_mode_only'] for r in ring])}"
                     if "z_mode_only" in ring[0] else "") + ").", ""]
    return lines + [""] + coverage_findings(coverage)


def text(metrics: dict) -> list[str]:
    gan = metrics.get("gan", {})
    lines = ["## Section 2: GAN experiments", ""]
    if "optimal_discriminator" in gan:
        r = gan["optimal_discriminator"]
        lines += [f"**Optimal discriminator.** Trained against fixed 1-D densities, D differs from "
                  f"p_d / (p_d + p_g) by {r['mean_abs_gap']:.3f} on average (weighted by (p_d + p_g) / 2) and by at "
                  f"most {r['max_abs_gap']:.3f} where that weight exceeds 0.01. Its value V(D) = {r['value']:.4f} "
                  f"against the theory's maximum -log 4 + 2 JSD = {r['theory_value']:.4f} (JSD = {r['jsd']:.4f} by "
                  f"quadrature), a gap of {r['theory_value'] - r['value']:.4f} nats.", ""]
    if "saturation" in gan:
        probe, tr = gan["saturation"]["probe"], gan["saturation"]["training"]
        last = probe[-1]
        lines += [f"**Saturation.** As the discriminator is trained against a fixed weak generator, mean D(G(z)) "
                  f"falls from {probe[0]['d_fake']:.3f} to {last['d_fake']:.2e}; the minimax generator's gradient "
                  f"norm falls from {probe[0]['grad_minimax']:.3g} to {last['grad_minimax']:.3g}, while the "
                  f"non-saturating one goes from {probe[0]['grad_nonsaturating']:.3g} to "
                  f"{last['grad_nonsaturating']:.3g}. Training from that point on the same seed, the Earth-Mover "
                  f"distance to the data goes from {tr['minimax'][0]['w1']:.2f} to {tr['minimax'][-1]['w1']:.2f} "
                  f"(minimax) and to {tr['nonsaturating'][-1]['w1']:.2f} (non-saturating); it falls below "
                  f"1.0 {_first_below(tr['minimax'])} (minimax) and {_first_below(tr['nonsaturating'])} "
                  "(non-saturating).", ""]
    if "parallel_lines" in gan:
        rows = [r for r in gan["parallel_lines"]["rows"] if r["theta"] != 0]
        lines += ["**Parallel lines.** Estimates against the closed forms (JSD = log 2 = 0.693 and W = |theta| "
                  "for theta != 0), and the derivative in theta that a generator moving the line would receive:", "",
                  "| theta | JSD est. | dJSD/dtheta | W est. | dW/dtheta |", "|---|---|---|---|---|"]
        lines += [f"| {r['theta']:g} | {r['jsd']:.3f} | {r['jsd_grad']:.2e} | {r['w']:.3f} | {r['w_grad']:.3f} |"
                  for r in rows]
        lines += ["", "W est. is the clipped critic's value divided by its largest input-gradient norm sampled between "
                  "the lines. Weight clipping bounds the critic's Lipschitz constant only by an unknown K, and the "
                  "sampled norm can fall short of the true constant, so W est. is an estimate, not a bound "
                  "(derivations/07-distances.md).", ""]
    if "mode_coverage" in gan:
        lines += mode_coverage_lines(gan["mode_coverage"])
    for key, label in (("inference_toy", "2-D banana data"), ("mnist", "MNIST")):
        r = gan.get(key)
        if key == "mnist" and r:
            r = r["mnist_bigan"]["evals"][-1] if r["mnist_bigan"]["evals"] else None
        if r:
            lines.append(f"**Inference by the third player ({label}).** Mean ||Q(G(z)) - z|| = {r['z_cycle']:.3f} "
                         f"against {r['z_typical']:.3f} between unrelated codes; mean ||G(Q(x)) - x|| = "
                         f"{r['x_cycle']:.3f} against {r['x_typical']:.3f} between unrelated data points. "
                         "At the equilibrium both cycle errors would be 0 (derivations/08-third-player.md).")
            lines.append("")
    if "gan_config" in metrics:
        lines += settings_lines("Section 2 hyperparameters", metrics["gan_config"])
    return lines
