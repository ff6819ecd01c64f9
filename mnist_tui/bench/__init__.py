"""`mnist-tui bench`: how fast training runs here, and where the time goes.

    params.py    BenchParams: what to measure (typed; the CLI builds it, nothing here parses)
    speed.py     the epoch against the matmul peak, optimizers (one shape or a grid), time to a
                 target accuracy, augmentation in the loader process against the training thread
    profile.py   one training step split into matmuls, elementwise work, the update and Python
    torch_peer.py  the same network in PyTorch, if installed
    with_ui.py   what the dashboard costs: the app in Pilot, the real program in a pty
    attach.py    what serving a run to viewers costs, and the memory of a detached run
    history.py   the dashboard and the CLI on a history of 10,000 runs

`main(params)` runs the mode asked for and prints a table (or one JSON object with `json`).
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping

from ..core.render import plural
from .params import BenchParams

__all__ = ["BenchParams", "main"]


def main(params: BenchParams | Mapping) -> int:
    """Run the bench `params` asks for and print its figures (a mapping is converted first)."""
    p = params if isinstance(params, BenchParams) else BenchParams.from_options(params)
    say = _quiet if p.json else _say
    if p.history:
        from .history import run

        run(runs=p.runs, directory=p.history_dir)
        return 0
    if p.attach:
        return _emit(p, _attach(p, say))
    if p.optimizers and p.grid:
        return _emit(p, _grid(p, say))
    if p.optimizers:
        return _emit(p, _optimizers(p, say))
    if p.target is not None:
        r = _target(p, say)
        _emit(p, r)
        return 0 if r["reached"] else 1  # a target no seed reached is a failed benchmark
    if p.augment_cost:
        return _emit(p, _augment(p, say))
    if p.profile:
        return _emit(p, _profile(p, say))
    if p.vs_torch and not p.with_ui:
        return _emit(p, _vs_torch(p, say))
    return _emit(p, _table(p, say))


def _attach(p: BenchParams, say) -> dict:
    from .attach import attach_costs

    r = attach_costs(p, say)
    r["load"] = load_line()
    e = r["epoch_seconds"]
    say(f"serving a run to viewers: {r['network']}, batch {r['batch_size']}, {r['samples']} "
        f"samples, {r['epochs_per_run']} epochs a run (the first not timed), medians of "
        f"{r['rounds']} rounds back to back; {r['load']}")
    for mode, s in e.items():
        say(f"  {mode:<18} {s:.3f} s/epoch  x{s / e['not served']:.3f}")
    d = r["receive_delay_ms"]
    if d["reports"]:
        say(f"  the viewer's receive delay (host's reader thread to the viewer process), over "
            f"{d['reports']} progress reports: median {d['median']:.2f} ms, p95 {d['p95']:.2f} "
            f"ms, max {d['max']:.1f} ms")
    dash = r["dashboard"]
    for what, key in (("status bar", "status_delay_ms"), ("charts", "chart_delay_ms")):
        d = dash[key]
        if d["reports"]:
            say(f"  batch to an attached dashboard's {what} (host's reader thread to the screen "
                f"updated), over {d['reports']} reports: median {d['median']:.1f} ms, p95 "
                f"{d['p95']:.1f} ms, max {d['max']:.1f} ms")
    say(f"  with that dashboard attached: {dash['epoch_seconds']:.3f} s/epoch "
        f"x{dash['epoch_seconds'] / e['not served']:.3f}")
    say("  a detached run's processes (D pressed mid-run), resident and unique memory:")
    for name, m in r["detached_memory_mb"].items():
        say(f"    {name:<40} pid {m['pid']:<7} rss {m['rss_mb']:6.1f} MB  uss {m['uss_mb']:6.1f} MB")
    total = r["detached_memory_mb"].values()
    say(f"    {'all of them':<40} {'':<11} rss {sum(m['rss_mb'] for m in total):6.1f} MB  uss "
        f"{sum(m['uss_mb'] for m in total):6.1f} MB")
    return r


def _say(line: str) -> None:
    print(line, flush=True)


def _quiet(_: str) -> None:
    pass


def _emit(p: BenchParams, result: dict) -> int:
    if p.json:
        print(json.dumps(result))
    return 0


def load_line() -> str:
    """The machine's load averages (1, 5, 15 min) and cores: timings mean little without them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _optimizers(p: BenchParams, say) -> dict:
    from .speed import optimizer_costs

    r = optimizer_costs(p, say)
    say(f"784-{p.hidden}-10, batch {p.batch_size}, each optimizer at its default lr; epoch seconds "
        f"(evaluation included), medians of {p.rounds} rounds; {load_line()}")
    for opt, row in r.items():
        say(f"  {opt:<9} {row['epoch_seconds']:.3f} s  x{row['vs_momentum']:.3f} momentum's "
            f"(quartiles {row['quartiles'][0]:.3f}-{row['quartiles'][1]:.3f})")
    return r


def _grid(p: BenchParams, say) -> dict:
    from .speed import optimizer_grid

    say(f"every optimizer against momentum, {p.rounds} rounds per shape; {load_line()}")
    r = optimizer_grid(p, say)
    r["load"] = load_line()
    names = list(r["cells"][0]["optimizers"])
    say(f"seconds of one epoch of {r['samples']} samples (momentum) and each optimizer's median "
        f"ratio to momentum's, back to back ({r['clock']}); {load_line()}")
    say(f"{'n':>5} {'batch':>5} {'momentum':>9}  " + "  ".join(f"{o:>8}" for o in names if o != "momentum"))
    for c in r["cells"]:
        o = c["optimizers"]
        say(f"{c['hidden']:>5} {c['batch_size']:>5} {o['momentum']['epoch_seconds']:>8.3f}s  "
            + "  ".join(f"{o[n]['vs_momentum']:>7.2f}x" for n in names if n != "momentum"))
    say(f"worst cell: x{r['worst_ratio']:.2f} momentum's epoch")
    return r


def _target(p: BenchParams, say) -> dict:
    from .speed import time_to_target

    r = time_to_target(p, say)
    c = p.train_config()
    if r["reached"]:
        say(f"time to {r['target']:.2%} test accuracy, 784-{c.hidden}-10 {c.optimizer} lr "
            f"{c.lr:g} {c.schedule} over {c.epochs} epochs, batch {c.batch_size}: "
            f"{r['seconds_mean']:.2f} ± {r['seconds_std']:.2f} s of training, "
            f"{r['gflops_mean']:.1f} ± {r['gflops_std']:.1f} GFLOPs, epoch "
            f"{r['epochs_mean']:.1f} ± {r['epochs_std']:.1f} (mean ± std of {r['reached']} "
            f"of {r['seeds']} seeds that reached it; checked at each epoch's end; {r['clock']})")
    else:
        say(f"no seed reached {r['target']:.2%} in {plural(c.epochs, 'epoch')}: try more --epochs")
    if r["final_acc_mean"] is not None:
        say(f"final test accuracy: mean {r['final_acc_mean']:.2%}, lowest {r['final_acc_min']:.2%}; "
            f"{load_line()}")
    return r


def _augment(p: BenchParams, say) -> dict:
    from .speed import AUGMENT_SHAPE, augment_costs

    r = augment_costs(p, say)
    n, b = AUGMENT_SHAPE
    if p.cpu:
        say(f"784-{n}-10, batch {b}, one BLAS thread: CPU seconds of an epoch's training, the "
            f"trainer's + the loader's, medians of {p.rounds} rounds; the larger of the two (the "
            f"epoch when each has a core) and its ratio to the plain epoch's; {load_line()}")
        for kind, row in r.items():
            say(f"  {kind:<22} {row['trainer_seconds']:.3f} + {row['loader_seconds']:.3f} s  "
                f"x{row['vs_plain']:.2f}")
        return r
    say(f"784-{n}-10, batch {b}: training seconds of an epoch, medians of {p.rounds} rounds, and "
        f"the ratio to the plain epoch of the same round (library's BLAS threads; one thread); "
        f"{load_line()}")
    for kind, row in r.items():
        say(f"  {kind:<22} {row['epoch_seconds']:.3f} s  x{row['vs_plain']:.2f}  "
            f"x{row['vs_plain_1_thread']:.2f}")
    return r


def _profile(p: BenchParams, say) -> dict:
    from .profile import PROFILE_SHAPES, profile_table, step_profile, update_costs, update_table

    rows = [step_profile(n, b, data_dir=p.data_dir, samples=p.samples, rounds=p.rounds, cpu=p.cpu)
            for n, b in PROFILE_SHAPES]
    for line in profile_table(rows):
        say(line)
    updates = update_costs()
    for line in update_table(updates):
        say(line)
    say(load_line())
    return {"shapes": rows, "updates": updates, "load": load_line()}


def _vs_torch(p: BenchParams, say) -> dict:
    from .speed import load
    from .torch_peer import torch_missing, vs_torch

    missing = torch_missing()
    if missing:
        say(missing)
        return {"vs_torch": missing}
    rows = vs_torch(load(p), p.epochs or 2, p.rounds, say, cpu=p.cpu)
    threads = "1 thread each, CPU time" if p.cpu else "PyTorch's best of 1-2 threads"
    for row in rows:
        say(f"vs PyTorch n={row['hidden']} b={row['batch_size']}: x{row['ratio']:.2f} PyTorch's "
            f"epoch time (range {row['ratio_range'][0]:.2f}-{row['ratio_range'][1]:.2f}; ours "
            f"{row['ours']:.3f} s, PyTorch {row['torch']:.3f} s, {threads}; training "
            f"only; medians of {row['rounds']} rounds)")
    say(load_line())
    return {"vs_torch": rows, "load": load_line()}


def _table(p: BenchParams, say) -> dict:
    from .speed import load, speed_table

    r = speed_table(p)
    if p.with_ui:
        from ..core.config import TrainConfig
        from .with_ui import start_to_first_batch, with_ui

        ds = load(p)
        config = TrainConfig(hidden=p.hidden, batch_size=min(p.batch_size, ds.n_train),
                             epochs=p.epochs or 3, schedule="constant", lr=0.05)
        r["start_to_first_batch"] = start_to_first_batch(config, ds)
        r["with_ui"] = with_ui(config, ds, p.data_dir, p.rounds, terminal=not p.samples)
    if p.vs_torch:
        r |= _vs_torch(p, _quiet)
    if p.json:
        return r
    rows = [
        ("network", f"784-{r['hidden']}-10, batch {r['batch_size']}, {r['samples']} samples/epoch"),
        ("epoch (median)", f"{r['epoch_seconds']:.3f} s over {r['epochs_timed']} epochs "
         f"({r['train_seconds']:.3f} training + {r['eval_seconds']:.3f} test-set evaluation)"),
        ("samples/s", f"{r['samples_per_second']:,.0f} (whole epoch)"),
        ("training GFLOP/s", f"{r['gflops']:.1f}"),
        ("matmul peak GFLOP/s", f"{r['peak_gflops']:.1f} (2048x2048 float32)"),
        ("share of peak", f"{r['peak_ratio']:.0%}"),
        ("seed recipe epoch", f"{r['seed_recipe_epoch_seconds']:.3f} s (float64, batch 32)"),
        ("speed-up vs seed", f"{r['vs_seed_recipe']:.2f}x"),
    ]
    if "start_to_first_batch" in r:
        rows.append(("Start to first batch", ", ".join(f"{s * 1000:.0f} ms"
                                                       for s in r["start_to_first_batch"])
                     + " (3 starts in the app, one after the other)"))
    for row in r.get("with_ui", []):
        med = {k: statistics.median(row[k]) for k in ("headless", "pilot", "terminal") if row[k]}
        text = (f"headless {med['headless']:.3f} s, app (Pilot) {med['pilot']:.3f} s "
                f"= {row['pilot_cost']:+.1%} cost")
        if "terminal" in med:
            text += f", app in a pty {med['terminal']:.3f} s = {row['terminal_cost']:+.1%} cost"
        rows.append((f"with the app {row['size']}", text + f" (median of {len(row['headless'])})"))
    if isinstance(r.get("vs_torch"), str):
        rows.append(("vs PyTorch", r["vs_torch"]))
    for row in r.get("vs_torch", []) if isinstance(r.get("vs_torch"), list) else []:
        rows.append((f"vs PyTorch n={row['hidden']} b={row['batch_size']}",
                     f"{row['ratio']:.2f}x PyTorch's epoch time (ours {row['ours']:.3f} s, "
                     f"PyTorch {row['torch']:.3f} s, best of 1-2 threads; training only)"))
    rows.append(("machine", load_line()))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        say(f"{k:<{width}}  {v}")
    return r
