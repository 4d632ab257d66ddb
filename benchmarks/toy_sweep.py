"""Toy-game settings against mode coverage on two seeds: the measurements behind the defaults.

``python -m benchmarks.toy_sweep VARIANTS.json --out DIR [--json FILE]`` trains, for every variant, the
listed methods on the listed mixtures and seeds, with ``GANConfig(**overrides)``, and records each
run's last evaluation and its whole modes-against-steps curve. A variants file maps a name to
``{"overrides": {...}, "methods": [...], "mixtures": [...], "seeds": [...]}``. Checkpoints go under
``DIR/<variant>``, so an interrupted sweep resumes. ``benchmarks/results/toy_sweep_2_seeds.json``
holds the sweep that chose the defaults (its ``variants`` entry is a variants file).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from nprob import checkpoint
from nprob.assignment.gans import GANConfig
from nprob.assignment.toy_games import coverage_runs
from nprob.assignment.gans_report import modes_against_steps


def sweep(variants: dict, out: Path, workers: int = 2, verbose: bool = True) -> list[dict]:
    """One row per (variant, method, mixture, seed): the settings and the run's results."""
    tasks, labels = [], []
    for name, v in variants.items():
        cfg = replace(GANConfig(), **{k: tuple(x) if isinstance(x, list) else x for k, x in v["overrides"].items()})
        for data_name in v["mixtures"]:
            for method in v["methods"]:
                for seed in v["seeds"]:
                    tasks.append((cfg, method, data_name, seed, out / name))
                    labels.append({"variant": name, "method": method, "data": data_name, "seed": seed})
    start = time.perf_counter()
    runs = coverage_runs(tasks, workers, verbose)
    if verbose:
        print(f"[sweep] {len(runs)} runs in {time.perf_counter() - start:.0f} s")
    return [{**label, **run} for label, run in zip(labels, runs)]


def draw(rows: list[dict], variant: str, path) -> None:
    """The curves of one variant's rows, drawn as the report draws the default run's."""
    coverage = {}
    for r in rows:
        if r["variant"] == variant:
            coverage.setdefault(r["data"], {}).setdefault(r["method"], []).append(r)
    if not coverage:
        raise SystemExit(f"no rows of variant {variant!r}")
    modes_against_steps(coverage, Path(path))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", type=Path, help="JSON file: name -> {overrides, methods, mixtures, seeds}; "
                        "with --figure, a file this script wrote")
    parser.add_argument("--out", type=Path, help="folder for the runs' checkpoints")
    parser.add_argument("--figure", nargs=2, metavar=("VARIANT", "PNG"),
                        help="draw one variant's modes-against-steps curves (mean over seeds) instead of training")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.figure:
        draw(checkpoint.read_json_object(args.variants)["rows"], *args.figure)
        return
    if args.out is None:
        parser.error("--out is required to train")
    variants = checkpoint.read_json_object(args.variants)
    variants = variants.get("variants", variants)
    rows = sweep(variants, args.out, args.workers)
    for r in rows:
        print(f"{r['variant']:10s} {r['data']:7s} {r['method']:14s} seed {r['seed']}: strict {r['modes']:.0f}, "
              f"published {r['modes_published']:.0f}, high quality {r['high_quality']:.2f}")
    if args.json:
        checkpoint.write_json(args.json, {"variants": variants, "rows": rows})


if __name__ == "__main__":
    main()
