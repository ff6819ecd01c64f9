"""What a `mnist-tui bench` run is asked to measure: one typed, frozen value.

The command line builds it (`BenchParams.from_options`, from the parsed options as a mapping);
everything in this package reads it and nothing here sees argparse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace

from ..core.config import TrainConfig

GRID_HIDDEN = (32, 128, 256, 800, 1024)
GRID_BATCH = (16, 64, 128, 512)
GRID_SAMPLES = 12000  # per epoch of a grid cell: the update and the matmuls both scale with it


@dataclass(frozen=True)
class BenchParams:
    """One bench run: the mode (one of the flags below, or the default speed table) and its sizes."""

    hidden: int = 128
    batch_size: int = 64
    epochs: int | None = None  # None: each mode's own default
    samples: int | None = None  # train on the first N samples only (a quick smoke run)
    rounds: int = 3  # back-to-back rounds; medians are reported
    data_dir: str | None = None
    json: bool = False
    # modes
    target: float | None = None  # time to this test accuracy, per seed
    seeds: int = 5
    optimizers: bool = False  # every optimizer against momentum
    grid: bool = False  # with optimizers: over GRID_HIDDEN x GRID_BATCH
    cpu: bool = False  # with grid: one BLAS thread, timed by the thread's CPU clock
    augment_cost: bool = False  # plain, affine and elastic epochs, in the loader and in-process
    profile: bool = False  # where a step's time goes
    with_ui: bool = False
    vs_torch: bool = False
    history: bool = False  # the dashboard and the CLI on a history of `runs` runs (history.py)
    attach: bool = False  # what serving a run to viewers costs (attach.py)
    runs: int = 10_000
    history_dir: str | None = None
    # the run --target trains (every training flag); None: TrainConfig's defaults with the
    # hidden, batch size and epochs above
    config: TrainConfig | None = field(default=None)
    # where the bench is, for a progress display: (what, done, total)
    progress: Callable[[str, int, int], None] | None = field(default=None, compare=False)

    @classmethod
    def from_options(cls, options: Mapping) -> BenchParams:
        """The parameters named in `options` (e.g. `vars()` of parsed options); others ignored.
        A `config` (TrainConfig) there is taken as the run for --target."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names and v is not None})

    def train_config(self) -> TrainConfig:
        """The run --target trains: `config` if given, else the defaults at this shape."""
        if self.config is not None:
            return self.config
        return TrainConfig(hidden=self.hidden, batch_size=self.batch_size,
                           epochs=self.epochs or TrainConfig.epochs)

    def step(self, what: str, done: int, total: int) -> None:
        """Tell the progress display (if any) where the bench is."""
        if self.progress is not None:
            self.progress(what, done, total)

    def with_(self, **changes) -> BenchParams:
        return replace(self, **changes)
