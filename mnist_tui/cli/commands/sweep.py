"""`mnist-tui sweep`: search hyperparameters with Optuna, trials in worker processes."""

from __future__ import annotations

import argparse
import json
import time

from ...core import config as cfg
from ...core import resources
from ...core import sweep as sw
from ...core.engine import Engine
from ..options import add_data_dir_flag, add_db_flag, field_type, positive_int
from ..output import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, fail, load_data, progress_line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Search hyperparameters with Optuna: its TPE sampler proposes, its "
        "MedianPruner stops trials whose validation accuracy lags, WORKERS processes share "
        "one study. Trials choose by validation accuracy only; test accuracy is reported "
        "beside it. Every trial is a run in the history, tagged with its study. Start it "
        "again with the same --study to resume a killed sweep, or from another machine with "
        "the same --storage URL to join it.")
    p.epilog = (
        "Ranges are LOW:HIGH, lists are A,B,C. Example: mnist-tui sweep --trials 30 "
        "--workers 2 --lr 0.003:0.3 --hidden 64,128,256 --optimizer momentum,adam")
    p.add_argument("--trials", type=positive_int, default=30, help="finished trials wanted "
                   "(pruned ones count) (default: 30)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="processes running trials at once, one BLAS thread each (default: 2)")
    p.add_argument("--epochs", type=field_type("epochs"), default=4,
                   help="epochs per trial (default: 4)")
    p.add_argument("--val-split", dest="sweep_val", type=positive_int, default=10000,
                   metavar="N", help="training samples held out to score trials (default: 10000)")
    p.add_argument("--lr", dest="space_lr", default="0.001:0.5", metavar="LOW:HIGH",
                   help="learning rate range, log-uniform (default: 0.001:0.5)")
    p.add_argument("--hidden", dest="space_hidden", default="64,128,256", metavar="LIST",
                   help="hidden units to try (default: 64,128,256)")
    p.add_argument("--batch-size", dest="space_batch", default="32,64,128", metavar="LIST",
                   help="batch sizes to try (default: 32,64,128)")
    p.add_argument("--momentum", dest="space_momentum", default="0:0.95", metavar="LOW:HIGH",
                   help="momentum range, uniform (default: 0:0.95)")
    p.add_argument("--weight-decay", dest="space_wd", default="0:0.001", metavar="LOW:HIGH",
                   help="weight decay range, uniform (default: 0:0.001)")
    p.add_argument("--optimizer", dest="space_opt", default="momentum,adam", metavar="LIST",
                   help=f"optimizers to try, of {','.join(cfg.OPTIMIZERS)} (default: momentum,adam)")
    p.add_argument("--study", default="mnist-tui", help="study name (default: mnist-tui)")
    p.add_argument("--storage", default="", metavar="URL",
                   help="any Optuna storage URL, e.g. sqlite:///s.db or postgresql://… "
                   "(default: sweeps.sqlite next to the run history)")
    p.add_argument("--seed", dest="sweep_seed", type=field_type("seed"), default=0,
                   help="seeds the sampler and every trial's weights and data order (default: 0)")
    p.add_argument("--dataset", dest="sweep_dataset", choices=cfg.DATASETS, default="mnist",
                   help="dataset (default: mnist)")
    add_data_dir_flag(p)
    p.add_argument("--json", action="store_true", help="JSON lines: one per trial, then a summary")
    add_db_flag(p)


def run(args: argparse.Namespace) -> int:
    try:
        space = sw.Space(
            lr=sw.parse_range("lr", args.space_lr),
            hidden=sw.parse_choices("hidden", args.space_hidden),
            batch_size=sw.parse_choices("batch_size", args.space_batch),
            momentum=sw.parse_range("momentum", args.space_momentum),
            weight_decay=sw.parse_range("weight_decay", args.space_wd),
            optimizer=sw.parse_choices("optimizer", args.space_opt))
        plan = sw.Sweep(space=space, trials=args.trials, workers=args.workers,
                        epochs=args.epochs, val_split=args.sweep_val, study=args.study,
                        storage=args.storage, seed=args.sweep_seed, dataset=args.sweep_dataset,
                        data_dir=args.data_dir, db_path=args.db)
    except sw.SweepError as e:
        return fail(str(e), EXIT_USAGE)
    ds = load_data(args.data_dir, plan.dataset)  # once, shared by the workers
    reason = resources.check_run(plan.config({"batch_size": max(space.batch_size)}),
                                 ds.n_train, ds.n_test)
    if reason:
        return fail(reason, EXIT_USAGE)
    engine = Engine(ds)  # the dataset in shared memory: every worker reads the same copy
    del ds
    started = time.time()
    printed: set[int] = set()

    def show(rows) -> None:
        for r in rows:
            if r.state in ("complete", "pruned", "fail", "diverged") and r.number not in printed:
                printed.add(r.number)
                if args.json:
                    print(json.dumps({"event": "trial", "number": r.number, "state": r.state,
                                      "val_acc": r.val_acc, "test_acc": r.test_acc,
                                      "epochs": r.epochs, "params": r.params,
                                      "run_id": r.run_id}), flush=True)
                    continue
                val = "--" if r.val_acc is None else f"{r.val_acc:.2%}"
                test = "--" if r.test_acc is None else f"{r.test_acc:.2%}"
                print(f"trial {r.number:>3}  {r.state:<8}  val {val:>6}  test {test:>6}  "
                      f"{r.epochs} ep  {sw.params_words(r.params)}", flush=True)
        running = sum(r.state == "running" for r in rows)
        if not args.json:
            progress_line(f"{len(printed)}/{plan.trials} trials done, {running} running")

    if not args.json:
        print(f"sweep {plan.study!r}: {plan.trials} trials, {plan.workers} workers, "
              f"{plan.epochs} epochs each, scored on {plan.val_split} validation samples "
              f"({plan.storage or sw.default_storage(plan.db_path)})", flush=True)
    try:
        study = sw.run(plan, on_update=show, shared=engine.shared)
    except sw.SweepError as e:
        return fail(str(e), EXIT_DATA)
    except KeyboardInterrupt:
        progress_line("")
        return fail(f"interrupted: run the same command again to resume study {plan.study!r}",
                    EXIT_INTERRUPTED)
    finally:
        engine.close()
    progress_line("")
    result = sw.summary(study, started)
    if args.json:
        print(json.dumps({"event": "done", **result}), flush=True)
    elif "best_trial" in result:
        test = result["best_test_acc"]
        print(f"best: trial {result['best_trial']} (run {result['best_run_id']}), val "
              f"{result['best_val_acc']:.2%}, test {test:.2%}: "
              f"{sw.params_words(result['best_params'])}")
        print(f"{result['complete']} complete ({result['diverged']} of them diverged), "
              f"{result['pruned']} pruned, {result['seconds']:.0f} s")
    else:
        print("no trial finished")
    return 0
