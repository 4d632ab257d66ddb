"""Section 2's claims on densities known exactly: the optimal discriminator, saturation, parallel lines.

Each experiment returns a JSON-ready dict of host numbers (curves included), so
the figures can be redrawn from ``metrics.json`` alone.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .. import backend, params
from ..models import gan_losses as losses
from ..models.gan import GAN
from ..nn import MLP
from ..progress import progress_bar
from ..stable import sigmoid
from ..toy_data import parallel_lines
from ..training.gan_trainers import Game, GANTrainer, fit_discriminator


# ----------------------------------------------------------------------------- 1. optimal D

P_DATA = ((-1.5, 0.5), (1.5, 0.5))   # equal mixture of N(-1.5, 0.5^2) and N(1.5, 0.5^2)
P_GEN = (0.5, 1.2)                   # a fixed generator: N(0.5, 1.2^2)


def _p_data(x):
    return 0.5 * sum(stats.norm.pdf(x, m, s) for m, s in P_DATA)


def _p_gen(x):
    return stats.norm.pdf(x, *P_GEN)


def optimal_discriminator(seed: int, steps: int, batch: int = 512, verbose: bool = False) -> dict:
    """Train D between two known 1-D densities; compare with p_d / (p_d + p_g) and -log 4 + 2 JSD."""
    rng = backend.host_rng(seed, "optimal_d")
    net = MLP("disc", (1, 64, 64, 1), hidden="leaky_relu")
    p = params.allocate(net.shapes())
    net.init(p, rng, "glorot")

    def real():
        which = rng.integers(2, size=batch)
        m, s = np.array(P_DATA)[which].T
        return backend.asarray((m + s * rng.standard_normal(batch))[:, None])

    def fake():
        return backend.asarray((P_GEN[0] + P_GEN[1] * rng.standard_normal(batch))[:, None])

    fit_discriminator(net, p, real, fake, steps, verbose=verbose, desc="optimal D")
    grid = np.linspace(-5, 5, 2001)
    dx = grid[1] - grid[0]
    pd, pg = _p_data(grid), _p_gen(grid)
    d_star = pd / (pd + pg)
    d_hat = backend.to_host(sigmoid(net.forward(p, backend.asarray(grid[:, None]))[0]))[:, 0].astype(float)
    mix = 0.5 * (pd + pg)
    jsd = 0.5 * np.sum(pd * np.log(pd / mix) + pg * np.log(pg / mix)) * dx
    value = np.sum(pd * np.log(np.clip(d_hat, 1e-12, 1)) + pg * np.log(np.clip(1 - d_hat, 1e-12, 1))) * dx
    support = mix > 0.01
    return {"grid": grid[::10].tolist(), "d_hat": d_hat[::10].tolist(), "d_star": d_star[::10].tolist(),
            "mean_abs_gap": float(np.sum(np.abs(d_hat - d_star) * mix) * dx),
            "max_abs_gap": float(np.abs(d_hat - d_star)[support].max()),
            "value": float(value), "theory_value": float(-math.log(4) + 2 * jsd), "jsd": float(jsd)}


# ----------------------------------------------------------------------------- 2. saturation

TARGET = (4.0, 0.5)   # 1-D data N(4, 0.5^2), far from where a fresh generator puts its mass


def _w1_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth-Mover distance between two 1-D samples of equal size: mean gap of the sorted values."""
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def saturation(seed: int, d_steps: int, train_steps: int, batch: int = 256, verbose: bool = False) -> dict:
    """How the generator's gradient behaves as D wins, and training under both losses from there."""
    rng = backend.host_rng(seed, "saturation")
    model = GAN(x_dim=1, z_dim=1, g_hidden=(32,), d_hidden=(64, 64))
    g0, d = model.init(rng)
    real = lambda: backend.asarray(TARGET[0] + TARGET[1] * rng.standard_normal((batch, 1)))  # noqa: E731
    z_probe = backend.asarray(rng.standard_normal((2000, 1)))

    def probe():
        a = model.discriminator.forward(d, model.generate(g0, z_probe))[0]
        norms = {}
        for kind in losses.GENERATOR_LOSSES:
            grad = model.generator_loss_and_grads(g0, d, z_probe, kind)[1].flat
            norms[kind] = math.sqrt(backend.to_float((grad * grad).sum()))
        return backend.to_float(sigmoid(a).mean()), norms

    curve = []
    every = max(d_steps // 40, 1)
    fake = lambda: model.generate(g0, backend.asarray(rng.standard_normal((batch, 1))))  # noqa: E731
    for _ in range(0, d_steps, every):
        d_mean, norms = probe()
        curve.append({"d_fake": d_mean, **{f"grad_{k}": v for k, v in norms.items()}})
        fit_discriminator(model.discriminator, d, real, fake, every)
    runs = {}
    for kind in losses.GENERATOR_LOSSES:   # the same weak G against the same strong D, same noise
        tr = GANTrainer(model, g0.copy(), d.copy(), Game(kind, 1e-3, 1e-3))
        step_rng, data_rng = backend.rng(seed, "saturation", kind), backend.host_rng(seed, "saturation-data")
        history = []
        for step in range(train_steps + 1):
            if step % max(train_steps // 50, 1) == 0:
                samples = backend.to_host(model.generate(tr.players["g"].params, z_probe))[:, 0]
                target = TARGET[0] + TARGET[1] * data_rng.standard_normal(samples.size)
                history.append({"step": step, "w1": _w1_1d(samples, target), "mean": float(samples.mean())})
            if step < train_steps:
                tr.step(backend.asarray(TARGET[0] + TARGET[1] * data_rng.standard_normal((batch, 1))), step_rng)
        runs[kind] = history
    return {"probe": curve, "training": runs, "target": list(TARGET)}


# ----------------------------------------------------------------------------- 3. parallel lines


def parallel_line_distances(seed: int, thetas, steps: int, batch: int = 256, verbose: bool = False) -> dict:
    """For each theta: JSD from a trained discriminator, W from a trained critic, and their
    gradients with respect to theta (what a generator that moves the line would receive)."""
    rows = []
    for theta in progress_bar(thetas, desc="parallel lines", disable=not verbose):
        rng = backend.host_rng(seed, "lines", str(theta))
        real = lambda: backend.asarray(parallel_lines(0.0, batch, rng))  # noqa: E731
        fake = lambda: backend.asarray(parallel_lines(theta, batch, rng))  # noqa: E731
        row = {"theta": float(theta)}
        for critic in (False, True):
            net = MLP("disc", (2, 64, 64, 1), hidden="leaky_relu")
            p = params.allocate(net.shapes())
            net.init(p, rng, "glorot")
            fit_discriminator(net, p, real, fake, steps, critic=critic, lr=5e-4 if critic else 1e-3)
            xr, xf = backend.asarray(parallel_lines(0.0, 4000, rng)), backend.asarray(parallel_lines(theta, 4000, rng))
            a_real, _ = net.forward(p, xr)
            a_fake, cache = net.forward(p, xf)
            ones = backend.xp().ones_like(a_fake) / a_fake.shape[0]
            da_dx = net.backward(ones, cache, None)[:, :1]          # (1/N) d a(theta, y_i) / d theta
            d_theta = backend.to_float(da_dx.sum())                 # d/dtheta of mean a(theta, y)
            if critic:
                # the clipped critic is K-Lipschitz for an unknown K: estimate K from its largest
                # input gradient over the strip between the lines, and report W = estimate / K
                strip = backend.asarray(np.stack([rng.uniform(min(0, theta), max(0, theta), 4000),
                                                  rng.random(4000)], axis=1))
                _, c = net.forward(p, strip)
                gx = net.backward(backend.xp().ones_like(strip[:, :1]), c, None)
                lipschitz = backend.to_float(backend.xp().sqrt((gx ** 2).sum(axis=1)).max())
                raw = backend.to_float(a_real.mean() - a_fake.mean())
                row.update(w_raw=raw, lipschitz=lipschitz, w=raw / max(lipschitz, 1e-12),
                           w_grad=-d_theta / max(lipschitz, 1e-12))   # d/dtheta of -mean f(fake), normalised
            else:
                value = backend.to_float(-losses.discriminator_loss(a_real, a_fake)[0])
                s = sigmoid(a_fake)
                # generator losses' derivatives in theta, through dD/dtheta = D (1 - D) da/dtheta per sample
                row.update(jsd=(value + math.log(4)) / 2, d_fake=backend.to_float(s.mean()),
                           jsd_grad=0.5 * backend.to_float(-(s * da_dx).sum()))
        rows.append(row)
    return {"rows": rows}
