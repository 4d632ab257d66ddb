"""Report section and figures "Section 2.4, measured" (issue 25, derivations/14), from ``metrics.json`` and
``figure_data/section24.npz``. Every comparison sentence is decided by
:func:`nprob.sample_quality.separated`: a direction is named only beyond two combined standard errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sample_quality import separated
from . import plots
from .vae_vs_gan_verdicts import (collapse_text, discrete_verdict, divergence_verdict, improving, likelihood_verdict,
                                  mean_se, sharpness_summary, sharpness_verdict, surface_verdict)

STATS = (("fid", "Frechet distance", "{:.1f}"), ("entropy_per_sample", "label entropy per sample", "{:.3f}"),
         ("entropy_of_mean", "entropy of the mean label", "{:.3f}"),
         ("reverse_kl_to_uniform", "KL(classes ‖ uniform)", "{:.3f}"),
         ("pixel_entropy", "pixel entropy", "{:.3f}"), ("edge_energy", "edge energy", "{:.4f}"))
DIRECTION = {1: "higher", -1: "lower", 0: "not separated from"}


def yardstick_table(rows: dict) -> list[str]:
    lines = ["| images | " + " | ".join(label for _, label, _ in STATS) + " |", "|---" * (len(STATS) + 1) + "|"]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(mean_se(r[key], fmt) for key, _, fmt in STATS) + " |")
    return lines


def compare(rows: dict, a: str, b: str, key: str) -> str:
    """'<a>'s <stat> is higher than / lower than / not separated from <b>'s (m ± se against m ± se)'."""
    fmt = dict((k, f) for k, _, f in STATS)[key]
    label = dict((k, lab) for k, lab, _ in STATS)[key]
    word = DIRECTION[separated(rows[a][key], rows[b][key])]
    return (f"{label}: {a} {mean_se(rows[a][key], fmt)} is {word}{' than' if word != DIRECTION[0] else ''} "
            f"{b} {mean_se(rows[b][key], fmt)}")


def remedy_text(cfg: dict) -> str:
    parts = [f"one-sided label smoothing to {cfg['real_label']:g}" if cfg["real_label"] < 1 else "",
             f"instance noise from sigma = {cfg['instance_noise']:g} to 0" if cfg["instance_noise"] else "",
             f"packs of {cfg['pack']} for the GAN's discriminator" if cfg["pack"] > 1 else "",
             f"a WGAN-GP critic (lambda = {cfg['penalty']:g}, five critic steps per generator step) for the GAN"
             if cfg["penalty"] else "",
             f"every step falling linearly to {cfg['lr_decay']:g} of itself" if cfg["lr_decay"] < 1 else ""]
    return ", ".join(p for p in parts if p) or "no remedy"


def game_lines(s: dict) -> list[str]:
    cfg, lines = s["config"], []
    remedy = remedy_text(cfg)
    lines += [f"**A fair opponent.** The MNIST GAN and the three-player game of section 2 (one hidden layer of "
              f"{cfg['gan_hidden']} units, 2-D codes, Adam at {cfg['gan_lr']:g}, the non-saturating loss where "
              f"there is no critic) with {remedy} (chosen by `python -m benchmarks.mnist_gan_sweep`, derivations/14), "
              f"{cfg['gan_epochs']} epochs; the yardstick measures {cfg['eval_samples']} fresh samples every "
              f"{cfg['eval_every']} epochs. For a critic the last two columns are its mean values f(real) and "
              "f(fake), not probabilities.", "", "| game | epoch | Frechet distance | D(real) | D(fake) |",
              "|---|---|---|---|---|"]
    for kind, h in s["games"].items():
        by_epoch = {e["epoch"]: e for e in h["epochs"]}
        for e in h["evals"]:
            row = by_epoch[e["epoch"]]
            lines.append(f"| {kind} | {e['epoch']} | {e['fid']:.1f} | {row['d_real']:.3f} | {row['d_fake']:.3f} |")
    for kind, h in s["games"].items():
        noise = 2 * s["yardstick"][f"{kind} samples"]["fid"]["se"] * np.sqrt(s["config"]["draws"])
        state = ("was still improving at the last evaluation (more epochs would lower it further)"
                 if improving(h["evals"], noise) else
                 "had stopped improving: the last evaluation is not below the best earlier one by more than two "
                 "standard deviations of one draw")
        lines.append(f"\nThe {kind}'s Frechet distance {state}."
                     + collapse_text(kind, s["yardstick"][f"{kind} samples"]))
    return lines + [""]


def statement_lines(s: dict) -> list[str]:
    rows, obj, lines = s["yardstick"], s["objectives"], []
    lines += ["**9.1 Trained by maximising the likelihood?** The VAEs maximise a bound; measured on test images "
              "(page 10's exact log p(x)); IWAE with k samples trains on L_k, which lies between the ELBO and "
              "L_10 for k ≤ 10 (page 5), so log p(x) - L_10 bounds its objective's gap from below:", "",
              "| model | ELBO | log p(x) | log p(x) - ELBO (nats) | log p(x) - L_10 | images |",
              "|---|---|---|---|---|---|"]
    for name, o in obj.items():
        if "gap" in o:
            lines.append(f"| {name} | {o['elbo']:.2f} | {o['log_px']:.2f} | {o['gap']:.2f} ± {o['gap_se']:.2f} | "
                         f"{o.get('log_px_minus_L10', float('nan')):.2f} | {o['images']} |")
    games = [f"{k}: {', '.join(f'{n} {v:.3f}' for n, v in o.items())}" for k, o in obj.items() if "gap" not in o]
    lines += ["", "The games' players follow only these losses (last epoch's means): " + "; ".join(games) +
              ". No term of either is a likelihood of the data.", "", likelihood_verdict(obj), ""]
    toy = s["toy"]
    lines += ["**9.2 Minimising a divergence?** On a ring of eight Gaussians (sd "
              f"{s['config']['toy_std']:g}), each model's cell masses against the data's exact ones "
              "(derivations/14 (14.12)); KL(data || model) is infinite where the model leaves a cell with data "
              "mass empty.", "",
              "| model | epoch | KL(data ‖ model) | KL(model ‖ data) | JSD | data mass on empty cells |",
              "|---|---|---|---|---|---|"]
    for name, h in toy.items():
        for e in (h["initial"], h["evals"][0], h["evals"][-1]):
            kl = lambda k: f"{e[k]:.3f}" if k in e else "∞"  # noqa: E731
            lines.append(f"| {name} | {e['epoch']} | {kl('kl_data_model')} | {kl('kl_model_data')} | {e['jsd']:.3f} | "
                         f"{e['data_mass_where_model_empty']:.2e} |")
    lines += ["", divergence_verdict(toy), ""]
    surface = s["surface"]
    test, own = surface["test images"], surface["own samples"]
    lines += ["", "**9.3 An explicit density?** The VAEs' log p(x) is in the 9.1 table. For the GAN, the distance from "
              "test images to the generator's surface G(R^2), bounded above by the nearest of an n x n lattice of "
              "codes (result 14.14):", "", "| codes per side | step | test images: median (10%-90%) | "
              "the GAN's own samples: median (10%-90%) |", "|---|---|---|---|"]
    for t, o in zip(test, own):
        lines.append(f"| {t['lattice']} | {t['step']:.3f} | {t['median']:.3f} ({t['q10']:.3f}-{t['q90']:.3f}) | "
                     f"{o['median']:.3f} ({o['q10']:.3f}-{o['q90']:.3f}) |")
    lines += ["", surface_verdict(surface), ""]
    lines += sharpness_lines(rows) + discrete_lines(s)
    return lines


def sharpness_lines(rows: dict) -> list[str]:
    vaes = [n for n in rows if n.endswith(" samples") and not n.startswith(("gan", "bigan"))]
    lines = ["**9.4 Are VAE samples sharper?** Each VAE's decoded means at prior codes against the GAN's samples "
             "(a direction is named only beyond two combined standard errors):", ""]
    verdicts = []
    for vae in vaes:
        for game in ("gan samples", "bigan samples"):
            lines += [f"- {compare(rows, vae, game, key)}." for key in ("pixel_entropy", "edge_energy", "fid")]
            verdicts.append(sharpness_verdict(rows, vae, game))
            lines.append(f"- So {verdicts[-1]}.")
    return lines + ["", sharpness_summary(verdicts) + " Sharpness is not quality: a generator that has collapsed "
                    "onto a few digits can be sharp, which the Frechet distance and the class histogram show.", ""]


def discrete_lines(s: dict) -> list[str]:
    d, cfg = s["discrete"], s["config"]
    b = d["vae_bound"]
    lines = [f"**9.5 Discrete data directly?** On statically binarised MNIST, {cfg['binary_epochs']} epochs each. "
             f"The VAE's L_{b['k']} on {b['images']} binary test images is {b['mean']:.2f} ± {b['se']:.2f} nats, a "
             "lower bound on a normalised log-probability of binary images.", "",
             "| GAN | epoch | own D's accuracy, real vs generated | generator gradient norm | non-binary pixels |",
             "|---|---|---|---|---|"]
    for name in ("gan_grey", "gan_straight_through"):
        for e in d["histories"][name]["evals"]:
            lines.append(f"| {name} | {e['epoch']} | {e['d_accuracy']:.3f} | {e['generator_grad_norm']:.3g} | "
                         f"{e['non_binary_pixels']:.3f} |")
    steps = list(next(iter(d["probes"].values())))
    lines += ["", "A fresh discriminator learns to tell each model's samples from binary training images; its accuracy "
              "on held-out images after each number of steps (0.5 is chance):", "",
              "| samples | " + " | ".join(f"{k} steps" for k in steps) + " | Frechet distance to binary test images |",
              "|---" * (len(steps) + 2) + "|"]
    for name, acc in d["probes"].items():
        lines.append(f"| {name} | " + " | ".join(mean_se(acc[k], "{:.3f}") for k in steps) + " | "
                     f"{mean_se(d['yardstick'][name]['fid'], '{:.1f}')} |")
    return lines + ["", discrete_verdict(d, steps[0]), ""]


def stored(metrics: dict) -> dict:
    """The stored section, its configuration completed with the defaults of settings added since it was run."""
    from .vae_vs_gan import Section24Config, as_json
    s = dict(metrics["section24"])
    s["config"] = {**as_json(Section24Config()), **s["config"]}
    return s


def lines(metrics: dict) -> list[str]:
    s = stored(metrics)
    c = s["classifier"]
    head = ["## Section 2.4, measured: VAEs against GANs (derivations/14)", "",
            f"**The yardstick.** An MLP classifier ({'-'.join(map(str, [784, *s['config']['clf_hidden'], 10]))}) "
            f"trained by nprob for {c['epochs']} epochs ({c['seconds']:.0f} s) reaches {100 * c['test_accuracy']:.2f}% "
            "test accuracy. The Frechet distance uses its penultimate features against all test images: like the "
            "published FID in form, but not in scale (another network, feature size and sample count), so only "
            "numbers of one table compare. Mean ± standard error over "
            f"{s['config']['draws']} independent draws of {s['config']['eval_samples']} images each; the real "
            "training images give the floor at this sample size. VAE samples are decoded means at prior codes.",
            ""] + yardstick_table(s["yardstick"]) + [""]
    return head + game_lines(s) + statement_lines(s)


def draw(metrics: dict, arrays: dict | None, figures: Path) -> list[Path]:
    s, drawn = stored(metrics), []
    panels = [{"x": [e["epoch"] for e in h["evals"]], "series": {kind: [e["fid"] for e in h["evals"]]},
               "xlabel": "epoch", "ylabel": "Frechet distance"} for kind, h in s["games"].items()]
    panels += [{"x": [e["epoch"] for e in h["epochs"]],
                "series": {f"{kind} D({side})": [e[f"d_{side}"] for e in h["epochs"]] for side in ("real", "fake")},
                "xlabel": "epoch", "ylabel": "mean D over the epoch"} for kind, h in s["games"].items()]
    drawn.append(plots.line_panels(panels, "Section 2.4 games: yardstick and discriminator", figures / "s24_games.png"))
    toy = [{"x": [e["epoch"] for e in h["evals"]], "series": {name: [e["jsd"] for e in h["evals"]]},
            "xlabel": "epoch", "ylabel": "JSD(data, model) on the lattice"} for name, h in s["toy"].items()]
    drawn.append(plots.line_panels(toy, "2-D ring: JSD during training", figures / "s24_toy_jsd.png"))
    if arrays is None:
        return drawn
    toy_masses = {k[len("toy "):]: v for k, v in arrays.items() if k.startswith("toy ")}
    drawn.append(plots.mass_panels(toy_masses, s["config"]["toy_half_width"], "Cell masses: data, VAE, GAN",
                                   figures / "s24_toy_masses.png"))
    mnist = {k: v for k, v in arrays.items() if not k.startswith(("toy ", "binary "))}
    drawn.append(plots.digit_panels(mnist, "Samples and reconstructions side by side", figures / "s24_samples.png"))
    binary = {k[len("binary "):]: v for k, v in arrays.items() if k.startswith("binary ")}
    drawn.append(plots.digit_panels(binary, "Binarised MNIST: samples of each model", figures / "s24_binary.png"))
    return drawn
