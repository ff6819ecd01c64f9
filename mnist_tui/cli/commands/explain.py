"""`mnist-tui explain CHECKPOINT --sample I`: a test sample's saliency, and a nudge to a class."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ...core import checkpoint, data, insight, render
from ..options import add_data_dir_flag, index
from ..output import EXIT_USAGE, fail, load_data, to_json


def add_arguments(ex: argparse.ArgumentParser) -> None:
    ex.description = (
        "For one test sample and a saved checkpoint: the model's "
        "probabilities, the saliency of its answer (the gradient of log p(class) with respect "
        "to each pixel), and with --nudge CLASS the smallest change the gradient walk finds "
        "that makes the model answer CLASS (as n then a class key does on the Draw tab).")
    ex.epilog = "Example: mnist-tui explain run.npz --sample 2654 --nudge 6"
    ex.add_argument("checkpoint", help="a .npz checkpoint")
    ex.add_argument("--sample", type=index, required=True, metavar="I",
                    help="test sample index, 0 to 9999")
    ex.add_argument("--nudge", type=index, default=None, metavar="CLASS",
                    help="walk the image toward this class (0-9) until the answer flips")
    ex.add_argument("--format", choices=("text", "json"), default="text",
                    help="text (with the images in shade characters) or json, with the "
                    "saliency and the nudged image as 784 numbers (default: text)")
    add_data_dir_flag(ex)


def run(args: argparse.Namespace) -> int:
    model, config, _ = checkpoint.load(args.checkpoint)
    if args.nudge is not None and not 0 <= args.nudge <= 9:
        return fail(f"--nudge {args.nudge}: a class is 0 to 9", EXIT_USAGE)
    ds = load_data(getattr(args, "data_dir", None), config.dataset)
    if not 0 <= args.sample < ds.n_test:
        return fail(f"--sample {args.sample}: the test set has samples 0 to {ds.n_test - 1}",
                    EXIT_USAGE)
    names = data.class_names(config.dataset)
    x = ds.test_images[args.sample].astype(np.float64) / 255
    label = int(ds.test_labels[args.sample])
    pred, proba, grad = insight.saliency(model, x)
    out = {"sample": args.sample, "label": names[label], "predicted": names[pred],
           "probabilities": {names[c]: float(p) for c, p in enumerate(proba)}}
    n = insight.nudge(model, x, args.nudge) if args.nudge is not None else None
    if n is not None:
        out["nudge"] = {"target": names[n.target], "flipped_at_step": n.flipped_at,
                        "steps": len(n.images) - 1, "pixels_changed": n.pixels_changed,
                        "l2_change": n.change,
                        "probabilities": {names[c]: float(p) for c, p in enumerate(n.proba[-1])}}
    if args.format == "json":
        out["saliency"] = [float(v) for v in grad]
        if n is not None:
            out["nudge"]["image"] = [float(v) for v in n.images[-1]]
        sys.stdout.write(to_json(out) + "\n")
        return 0
    print(f"test #{args.sample}: labelled {names[label]}, the model says {names[pred]} "
          f"({proba[pred]:.1%})" + ("" if pred == label else f"; {names[label]} gets "
                                    f"{proba[label]:.1%}"))
    seen = render.shade_rows((x * 255).round().astype(np.uint8))
    _, sal = render.signed_cells(grad)
    print(f"{'as the model sees it':<30}saliency of {names[pred]} "
          "(dense ▓█: more ink raises it, light ░: lowers it)")
    for a, b in zip(seen, sal, strict=True):
        print(f"{a}  {b}")
    if n is not None:
        goal = names[n.target]
        if n.flipped_at is None:
            print(f"nudge toward {goal}: not reached in {len(n.images) - 1} steps "
                  f"(L2 {n.change:.2f})")
        elif n.flipped_at == 0:
            print(f"nudge toward {goal}: the model already says {goal}")
        else:
            print(f"nudge toward {goal}: the model says {goal} ({n.proba[-1][n.target]:.1%}) after "
                  f"{n.flipped_at} steps: {n.pixels_changed} pixels changed by more than 0.1, "
                  f"L2 change {n.change:.2f}")
            for row in render.shade_rows((n.images[-1] * 255).round().astype(np.uint8)):
                print(row)
    return 0
