"""`mnist-tui download`: fetch a dataset's four files and verify them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ...core import config as cfg
from ...core import data
from ..output import EXIT_DATA, Downloads, fail


def add_arguments(d: argparse.ArgumentParser) -> None:
    d.description = ("Download the four files of a dataset from its public mirrors, verifying "
                     "the SHA-256 of each file's uncompressed bytes.")
    d.add_argument("--dataset", choices=cfg.DATASETS, default="mnist",
                   help="which dataset (default: mnist, which also ships with the project)")
    d.add_argument("--dir", metavar="DIR",
                   help=f"where to put them (default: {data.cache_dir()}, and its fashion/ "
                   "subdirectory for Fashion-MNIST)")


def run(args: argparse.Namespace) -> int:
    title = data.INFO[args.dataset].title
    target = Path(args.dir).expanduser() if args.dir else data.cache_dir(dataset=args.dataset)
    if data.has_files(target):
        print(f"the {title} files are already in {target}")
        return 0
    if args.dataset == "mnist" and not args.dir and data.has_files(data.package_data_dir()):
        print(f"MNIST ships inside the package ({data.package_data_dir()}): nothing to download")
        return 0
    if os.environ.get("MNIST_TUI_OFFLINE", "") not in ("", "0"):
        return fail(f"MNIST_TUI_OFFLINE is set: not downloading {title} (unset it, or copy the "
                    f"four .gz files into {target})", EXIT_DATA)
    downloads = Downloads()
    try:
        data.download(target, progress=downloads, dataset=args.dataset)
    finally:
        downloads.close()
    data.load_dir(target, args.dataset)  # parse once, so a bad file shows now, not at a run
    print(f"downloaded and verified the {title} files into {target}")
    return 0
