"""Training throughput with the dashboard running (headless Textual driver, real rendering)."""

from __future__ import annotations

import asyncio

from .core.data import Dataset
from .core.train import TrainConfig


def ui_epoch_seconds(config: TrainConfig, ds: Dataset, size: tuple[int, int] = (100, 30)) -> list[float]:
    """Train with the app open and return each epoch's seconds, as the app recorded them."""
    from .app import make_app

    async def run() -> list[float]:
        app = make_app(ds, config=config, autostart=True)
        async with app.run_test(size=size) as pilot:
            while app.state in ("idle", "training"):
                await pilot.pause(0.5)
            return list(app.history["seconds"])

    return asyncio.run(run())
