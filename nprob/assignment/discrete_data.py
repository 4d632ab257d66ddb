"""Statement 5 of section 2.4 on statically binarised MNIST (derivations/14 result 14.13): a VAE whose
Bernoulli likelihood is a normalised probability of binary images, a GAN whose generator outputs grey
levels, and a GAN whose generator draws binary pixels and passes the gradient straight through.

While the GANs train, their own discriminator's accuracy on held-out real against generated images, the
norm of the generator's gradient and the fraction of generated pixels that are not binary are recorded.
After training, fresh probe discriminators learn to tell each model's samples from binary data; their
accuracy after a few steps says how easily the difference is seen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend, bounds
from ..binarize import fixed
from ..models.gan import GAN, discriminator_loss_and_grads
from ..models.helmholtz import HelmholtzMachine
from ..nn import MLP, init_networks
from ..stable import sigmoid
from ..training.gan_trainers import Game, GANTrainer
from ..training.loop import fit
from ..training.trainers import AEVBTrainer, Player

GANS = ("gan_grey", "gan_straight_through")
PROBED = ("vae", "gan_grey", "gan_thresholded", "gan_straight_through", "real")


def binarised(mnist, cfg) -> tuple[np.ndarray, np.ndarray]:
    """The training and test images drawn once (the streams of section 1.4's binarisation)."""
    return fixed(mnist.x_train[:cfg.n_train], cfg.seed, "train"), fixed(mnist.x_test[:cfg.n_test], cfg.seed, "test")


def make_trainer(cfg, name: str):
    rng = backend.host_rng(cfg.seed, "section24 binary init", name)
    if name == "vae":
        model = HelmholtzMachine(hidden=(cfg.gan_hidden,), z_dim=cfg.z_dim)
        return AEVBTrainer(model, *model.init(rng), lr=1e-3)
    model = GAN(x_dim=784, z_dim=cfg.z_dim, g_hidden=(cfg.gan_hidden,), d_hidden=(cfg.gan_hidden,),
                g_output="sigmoid", straight_through=name == "gan_straight_through")
    return GANTrainer(model, *model.init(rng), Game("nonsaturating", cfg.gan_lr, cfg.gan_lr))


def samples(trainer, n: int, seed: int, *stream) -> np.ndarray:
    """n samples (n, 784) on the host: the VAE's Bernoulli draws from the prior, a GAN's G(z) (binary for the
    straight-through generator)."""
    rng = backend.host_rng(seed, "section24 binary samples", trainer.name, *stream)
    z = backend.asarray(rng.standard_normal((n, trainer.model.z_dim)))
    u = rng.random((n, 784), dtype=np.float32)
    if isinstance(trainer, AEVBTrainer):
        logits, _ = trainer.model.decode(trainer.players["dec"].params, z)
        return (u < backend.to_host(sigmoid(logits))).astype(np.float32)
    g = trainer.players["g"].params
    return backend.to_host(trainer.model.generate(g, z, backend.asarray(u) if trainer.model.straight_through else None))


def game_evaluator(cfg, x_test_bin: np.ndarray):
    """What the GAN's own discriminator sees on held-out data, and the generator's gradient norm."""
    real = backend.asarray(x_test_bin[:cfg.eval_samples])

    def evaluate(tr, epoch):
        fake_host = samples(tr, cfg.eval_samples, cfg.seed, "eval", epoch)
        net, d, g = tr.model.discriminator, tr.players["d"].params, tr.players["g"].params
        d_real = backend.to_host(sigmoid(net.forward(d, real)[0]))
        d_fake = backend.to_host(sigmoid(net.forward(d, backend.asarray(fake_host))[0]))
        z = backend.asarray(backend.host_rng(cfg.seed, "section24 grad", epoch).standard_normal(
            (cfg.eval_samples, tr.model.z_dim)))
        u = backend.asarray(backend.host_rng(cfg.seed, "section24 grad u", epoch).random((cfg.eval_samples, 784)))
        _, grads = tr.model.generator_loss_and_grads(g, d, z, "nonsaturating",
                                                     u=u if tr.model.straight_through else None)
        return {"d_accuracy": float(((d_real > 0.5).mean() + (d_fake < 0.5).mean()) / 2),
                "generator_grad_norm": float(np.linalg.norm(backend.to_host(grads.flat))),
                "non_binary_pixels": float((np.minimum(fake_host, 1 - fake_host) > 0.01).mean())}
    return evaluate


def probe(cfg, x_train_bin: np.ndarray, x_test_bin: np.ndarray, draw, name: str) -> dict:
    """A fresh discriminator trained on binary training images against ``draw(n, *stream)`` samples; its
    held-out accuracy after each count of steps in ``probe_steps``, {'mean', 'se'}."""
    net = MLP("disc", (784, cfg.gan_hidden, 1), hidden="leaky_relu")
    d = init_networks((net,), backend.host_rng(cfg.seed, "section24 probe", name), "glorot")[0]
    player = Player(d, 1e-3, options={"beta1": 0.5})
    rng = backend.host_rng(cfg.seed, "section24 probe batches", name)
    real_test = backend.asarray(x_test_bin[:cfg.eval_samples])
    fake_test = backend.asarray(draw(cfg.eval_samples, "probe test"))
    accuracy, done = {}, 0
    for steps in cfg.probe_steps:
        for step in range(done, steps):
            real = backend.asarray(x_train_bin[rng.integers(len(x_train_bin), size=cfg.batch_size)])
            fake = backend.asarray(draw(cfg.batch_size, "probe", step))
            player.step(discriminator_loss_and_grads(net, d, real, fake)[1])
        done = steps
        hit_real = backend.to_host(net.forward(d, real_test)[0] > 0).mean()
        hit_fake = backend.to_host(net.forward(d, fake_test)[0] < 0).mean()
        p = float((hit_real + hit_fake) / 2)    # over 2 * eval_samples held-out images: a binomial SE
        accuracy[str(steps)] = {"mean": p, "se": float(np.sqrt(max(p * (1 - p), 1e-12) / (2 * cfg.eval_samples)))}
    return accuracy


def experiment(cfg, folder: Path, mnist, yardstick_for, verbose: bool) -> dict:
    """Train the three models on binary images; return their histories, bounds, probes and yardsticks.
    ``yardstick_for(reference images)`` builds a yardstick against the binarised test images."""
    x_train_bin, x_test_bin = binarised(mnist, cfg)
    x_train = backend.asarray(x_train_bin)
    trainers, result = {}, {"histories": {}}
    for name in ("vae",) + GANS:
        trainer = make_trainer(cfg, name)
        evaluate = None if name == "vae" else game_evaluator(cfg, x_test_bin)
        result["histories"][name] = fit(trainer, x_train, epochs=cfg.binary_epochs, batch_size=cfg.batch_size,
                                        seed=cfg.seed, checkpoint_path=folder / f"binary_{name}.npz",
                                        config={"name": name, "lr": cfg.gan_lr, "hidden": cfg.gan_hidden},
                                        evaluate=evaluate, eval_every=1, verbose=verbose)
        trainers[name] = trainer
    vae = trainers["vae"]
    x_bound = backend.asarray(x_test_bin[:cfg.bound_images])
    bound = bounds.iw_bound(vae.model, vae.players["enc"].params, vae.players["dec"].params, x_bound, cfg.bound_k,
                            backend.rng(cfg.seed, "section24 binary bound"))
    result["vae_bound"] = {"k": cfg.bound_k, "images": cfg.bound_images, "mean": backend.to_float(bound.mean()),
                           "se": float(backend.to_host(bound).std(ddof=1) / np.sqrt(cfg.bound_images))}
    draws = {"vae": lambda n, *s: samples(vae, n, cfg.seed, *s),
             "gan_grey": lambda n, *s: samples(trainers["gan_grey"], n, cfg.seed, *s),
             "gan_thresholded": lambda n, *s: (samples(trainers["gan_grey"], n, cfg.seed, *s) > 0.5).astype(np.float32),
             "gan_straight_through": lambda n, *s: samples(trainers["gan_straight_through"], n, cfg.seed, *s),
             "real": lambda n, *s: x_train_bin[backend.host_rng(cfg.seed, "section24 real", *s).integers(
                 len(x_train_bin), size=n)]}
    result["probes"] = {name: probe(cfg, x_train_bin, x_test_bin, draw, name) for name, draw in draws.items()}
    yardstick = yardstick_for(x_test_bin)
    result["yardstick"] = {name: yardstick.measure([draw(cfg.eval_samples, "yardstick", i) for i in range(cfg.draws)])
                           for name, draw in draws.items()}
    result["pictures"] = {name: draw(100, "pictures") for name, draw in draws.items()}
    return result
