"""The Textual app: the keys that work everywhere, signals, and the main screen.

Everything a run shows lives in screens/main.py and panes/; training runs in a child process
(core.engine), so the UI never shares the trainer's GIL and never dies with a run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from ..core.config import TrainConfig
from ..core.data import Dataset
from ..core.engine import Engine
from ..core.model import Perceptron
from .panes import TABS
from .screens.main import MainScreen

__all__ = ["TABS", "MnistApp", "make_app"]


class MnistApp(App):
    """Watch and steer the seed's perceptron learning MNIST."""

    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # no field focused at start, so the single-letter keys work at once
    # A large terminal (160x50, say) also shows the matrix and a digit beside the charts.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS = [Binding("q", "quit", "Quit", show=False)]  # the main screen shows it first

    def __init__(self, dataset: Dataset, config: TrainConfig | None = None,
                 autostart: bool = False,
                 loaded: tuple[Perceptron, TrainConfig, dict] | None = None,
                 load_path: str | None = None, progress_interval: float = 0.2,
                 save_dir: str | Path = ".", db_path: str | Path | None = None,
                 parent_pid: int | None = None) -> None:
        super().__init__()
        self.theme = "textual-dark"  # fixed, so snapshots do not depend on the environment
        self.engine = Engine(dataset)  # the dataset, once, in memory every run shares
        self.dataset = self.engine.dataset
        self.autostart = autostart
        self.parent_pid = parent_pid or os.getppid()
        self._screen_args = dict(
            config=loaded[1] if loaded else (config or TrainConfig()), loaded=loaded,
            load_path=load_path, progress_interval=progress_interval, save_dir=Path(save_dir),
            db_path=db_path)

    def get_default_screen(self) -> MainScreen:
        self._main = MainScreen(self.engine, **self._screen_args)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The dashboard's own screen, even while a dialog is on top or after the app ended."""
        return self._main

    def on_mount(self) -> None:
        # The fork server starts now, in the background: the first Start is then quick.
        threading.Thread(target=Engine.warm_up, daemon=True).start()
        if not self.is_headless:
            # SIGTERM, or SIGHUP when an SSH connection drops: end the run and leave through
            # the normal exit, so the terminal is restored and the run's history is closed.
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    loop.add_signal_handler(sig, self._exit_on_signal, sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not the main thread, or a platform without these signals
        if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
            # Under `mnist-tui serve` each browser tab gets its own app process. If the server
            # dies, nothing closes us (stdin just ends): notice the orphaning and leave.
            self.set_interval(1.0, self._exit_if_orphaned)
            self._exit_if_orphaned()
        if self.autostart:
            self.call_after_refresh(self.main.action_start)

    def _exit_on_signal(self, sig: int) -> None:
        # If the clean exit cannot finish (say the terminal is gone and a write blocks),
        # leave anyway after a few seconds rather than linger as an orphan.
        watchdog = threading.Timer(3.0, self._hard_exit, (128 + sig,))
        watchdog.daemon = True
        watchdog.start()
        self.engine.close()
        self.exit(return_code=128 + sig)

    def _hard_exit(self, code: int) -> None:
        self.engine.close(grace=0.0)
        os._exit(code)

    def _exit_if_orphaned(self) -> None:
        if os.getppid() != self.parent_pid or self.parent_pid == 1:
            self._exit_on_signal(signal.SIGHUP)

    async def action_quit(self) -> None:
        self.engine.close()  # every run's process ends (within a second) before we go
        self.exit()

    def on_unmount(self) -> None:
        self.engine.close()


def make_app(dataset: Dataset, **kwargs) -> MnistApp:
    """Build the app; tests hand in a tiny dataset and a short progress interval."""
    return MnistApp(dataset, **kwargs)
