"""The measurement that chose section 2.4's remedy for the MNIST GAN (derivations/14 results 14.7-14.8).

``python -m benchmarks.mnist_gan_sweep --out DIR [--epochs E] [--json FILE]`` trains the MNIST GAN of
section 2.4 once per remedy (none, one-sided label smoothing, annealed instance noise, packing, and some combinations),
all from the same initial weights and data order, and records the yardstick (Frechet distance, label
entropies) every ``eval_every`` epochs with the loop's D(real) and D(fake). Checkpoints go under DIR, so an
interrupted sweep resumes; ``benchmarks/results/mnist_gan_sweep.json`` holds the sweep behind the defaults.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path

from nprob import backend, checkpoint
from nprob.assignment import fair_games, vae_vs_gan
from nprob.assignment.yardstick import Yardstick, train_classifier
from nprob.data import load_mnist

Remedy = fair_games.Remedy
REMEDIES = {"none": Remedy(), "smooth0.9": Remedy(0.9), "noise0.1": Remedy(1.0, 0.1), "noise0.3": Remedy(1.0, 0.3),
            "smooth0.9+noise0.1": Remedy(0.9, 0.1), "pack2": Remedy(pack=2), "pack4": Remedy(pack=4),
            "pack4+smooth0.9": Remedy(0.9, pack=4), "decay": Remedy(lr_decay=0.01),
            "pack2+decay": Remedy(pack=2, lr_decay=0.01), "wgan_gp": Remedy(penalty=10.0)}


def main(argv=None, base=None) -> None:
    """``base``: the Section24Config to start from (a smaller one in the tests)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--remedies", nargs="+", choices=sorted(REMEDIES), default=list(REMEDIES))
    p.add_argument("--kind", choices=fair_games.KINDS, default="gan",
                   help="the GAN or the three-player game (which takes neither packing nor a critic)")
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/mnist_gan_sweep.json"))
    args = p.parse_args(argv)
    cfg = replace(base or vae_vs_gan.Section24Config(), gan_epochs=args.epochs)
    mnist = load_mnist(verbose=False)
    model, params, clf = train_classifier(cfg, args.out, mnist, verbose=False)
    yardstick = Yardstick(model, params, mnist.x_test[:cfg.n_test])
    real = yardstick.flat(mnist.x_train[:cfg.eval_samples])
    x_train = backend.asarray(mnist.x_train[:cfg.n_train])
    rows = []
    for name in args.remedies:
        remedy = REMEDIES[name]
        if args.kind == "bigan" and (remedy.pack > 1 or remedy.penalty):
            raise SystemExit(f"the three-player game takes neither packing nor a critic: {name}")
        _, history = fair_games.train(cfg, args.kind, remedy, args.out / name, x_train, yardstick, True)
        rows.append({"remedy": name, "kind": args.kind, **asdict(remedy), "evals": history["evals"],
                     "d_real": [e["d_real"] for e in history["epochs"]],
                     "d_fake": [e["d_fake"] for e in history["epochs"]]})
        last = history["evals"][-1]
        print(f"[sweep] {name}: FID {last['fid']:.2f}, D(real) {rows[-1]['d_real'][-1]:.3f}, "
              f"D(fake) {rows[-1]['d_fake'][-1]:.3f}")
    command = (f"python -m benchmarks.mnist_gan_sweep --out DIR --epochs {args.epochs} --kind {args.kind} "
               f"--remedies {' '.join(args.remedies)}")
    checkpoint.write_json(args.json, {"command": command,
                                      "classifier": clf, "eval_samples": cfg.eval_samples,
                                      "real_training_images": real, "rows": rows})


if __name__ == "__main__":
    main()
