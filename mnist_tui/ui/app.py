"""The Textual app: the keys that work everywhere, signals, and the main screen.

Everything a run shows lives in screens/main.py and panes/; training runs in a child process
(core.engine), so the UI never shares the trainer's GIL and never dies with a run.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

from textual import events
from textual.app import App
from textual.binding import Binding

from ..core.config import TrainConfig
from ..core.data import Dataset
from ..core.engine import Engine
from ..core.model import Perceptron
from .commands import AppCommands
from .compat import KeysInOrder, SafePaletteApp, ScreenStackGuards, StylesOnceMounted
from .panes import TABS
from .screens.main import MainScreen

__all__ = ["TABS", "MnistApp", "make_app"]
EXIT_GRACE, EXIT_LIMIT = 1.5, 5.0  # seconds for the loop to begin, then to finish, the exit


class MnistApp(KeysInOrder, ScreenStackGuards, StylesOnceMounted, SafePaletteApp, App):
    """Watch and steer the seed's perceptron learning MNIST."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # no field focused at start, so the single-letter keys work at once
    # A large terminal (160x50, say) also shows the matrix and a digit beside the charts.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS = [Binding("q", "quit", "Quit", show=False),  # the main screen shows both first
                Binding("D", "detach", "Detach", show=False),  # on every screen (a race too)
                Binding("question_mark,f1", "help", "Help", show=False,
                        tooltip="These keys: the tab's, the screen's and the app's")]
    COMMANDS = App.COMMANDS | {AppCommands}  # ctrl+p: the app's actions, from its bindings
    MAX_TOASTS = 4

    def __init__(self, dataset: Dataset, config: TrainConfig | None = None,
                 autostart: bool = False,
                 loaded: tuple[Perceptron, TrainConfig, dict] | None = None,
                 load_path: str | None = None, progress_interval: float = 0.2,
                 save_dir: str | Path = ".", db_path: str | Path | None = None,
                 parent_pid: int | None = None, attach=None) -> None:
        super().__init__()
        self.theme = "textual-dark"  # fixed, so snapshots do not depend on the environment
        self.engine = Engine(dataset)  # the dataset, once, in memory every run shares
        self.dataset = self.engine.dataset
        self.autostart = autostart
        self.attach_to = attach  # a core.remote.RemoteSession to show instead of a run of ours
        self.parent_pid = parent_pid or os.getppid()
        self._leaving = False  # a signal came: the watchdog is running
        self.detached = False  # the UI ends and the runs go on (D, or the terminal hung up)
        self._exit_started = threading.Event()
        self._outlive_lock, self._outlived = threading.Lock(), False
        self._screen_args = dict(
            config=loaded[1] if loaded else (config or TrainConfig()), loaded=loaded,
            load_path=load_path, progress_interval=progress_interval, save_dir=Path(save_dir),
            db_path=db_path)

    async def on_event(self, event) -> None:
        """Esc and the key after it in one read (a burst over SSH) reach Textual as Alt+key,
        and a field took `s` of `Esc s` as text. This app binds no Alt key: Alt+letter or
        digit is Esc, then the key, in that order."""
        if (isinstance(event, events.Key) and not event.is_forwarded
                and event.key.startswith("alt+") and event.character is not None
                and len(event.character) == 1 and event.character.isascii()
                and event.character.isalnum()):
            await super().on_event(events.Key("escape", "\x1b"))
            await super().on_event(events.Key(event.character, event.character))
            return
        await super().on_event(event)

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Textual's notify, except that a message already showing is not shown again, and at
        most MAX_TOASTS show at once: `s` pressed 300 times with a form that cannot start
        stacked 300 toasts, and mounting each restyled all the others."""
        now = time.monotonic()
        shown = {k: t for k, t in getattr(self, "_toasts_shown", {}).items() if t > now}
        key = (str(message), title, severity)
        self._toasts_shown = shown
        if key in shown or len(shown) >= self.MAX_TOASTS:
            return
        shown[key] = now + (self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def clear_notifications(self) -> None:
        """Textual's, and the record `notify` keeps of what shows."""
        self._toasts_shown = {}
        super().clear_notifications()

    def get_system_commands(self, screen):
        """Without Quit: q quits, and a stray Enter in the palette must not end a run."""
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")

    def get_default_screen(self) -> MainScreen:
        self._main = MainScreen(self.engine, **self._screen_args)
        return self._main

    @property
    def main(self) -> MainScreen:
        """The dashboard's own screen, even while a dialog is on top or after the app ended."""
        return self._main

    def on_mount(self) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.is_headless:
            # SIGTERM, or SIGHUP when an SSH connection drops. A Python-level handler, not the
            # loop's: it runs in the main thread between two bytecodes even when the event loop
            # is too busy to run a callback, and starts a watchdog that cannot be starved.
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, self._on_signal)
        # The fork server starts now, in the background: the first Start is then quick.
        threading.Thread(target=Engine.warm_up, daemon=True).start()
        if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
            # Under `mnist-tui serve` each browser tab gets its own app process. If the server
            # dies, nothing closes us (stdin just ends): notice the orphaning and leave.
            self.set_interval(1.0, self._exit_if_orphaned)
            self._exit_if_orphaned()
        if self.autostart:
            self.call_after_refresh(self.main.action_start)
        elif self.attach_to is not None:
            self.call_after_refresh(self.main.attach, self.attach_to)

    def on_ready(self) -> None:
        self.call_after_refresh(self._freeze_objects)
        self.watch(self.main, "run_state", self._run_state_changed, init=False)

    def _run_state_changed(self, state) -> None:
        if not state.going:  # a run ended: what it imported and kept is long-lived too
            self.call_after_refresh(self._freeze_objects)

    def _freeze_objects(self) -> None:
        """Keep Python's full garbage collections short. Each walks every object the process
        holds: with the dashboard up (~180k objects: its widgets, their styles, the modules)
        one took 150-290 ms, a pause inside a tab key every seven or so switches. What exists
        once the first frame is drawn, or a run has ended, mostly lives as long as the app:
        frozen, it is no longer walked (a full collection then took 40-80 ms). A frozen
        object is still freed when its last reference goes; only a cycle of them is kept."""
        gc.collect()  # the garbage there is now first, so none of it is kept for ever
        gc.freeze()

    def going_sessions(self) -> list:
        """Every run of this process still going: the dashboard's and a race's racers."""
        found = [getattr(self._main, "session", None)] if hasattr(self, "_main") else []
        for screen in self.screen_stack if self.is_running else ():
            found.extend(getattr(getattr(screen, "race", None), "sessions", ()))
        return [s for s in dict.fromkeys(found) if s is not None and s.going
                and getattr(s, "engine", None) is not None]

    def action_detach(self) -> None:
        """Quit the UI and leave the runs training (their host, this process, lives on)."""
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal may close any moment now
        self._sessions_at_detach = self.going_sessions()
        self.detached = True
        self.exit()

    def _on_signal(self, sig: int, frame) -> None:
        """Leave through the normal exit (terminal restored, the run recorded as stopped); if
        that has not finished within EXIT_GRACE seconds, a watchdog thread ends the process.
        A hangup (the terminal is gone) detaches instead: the runs train on."""
        if sig == signal.SIGHUP:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a second hangup must not end us
            self._sessions_at_detach = self.going_sessions()
            self.detached = True
        code = 128 + sig
        if not self._leaving:
            self._leaving = True
            threading.Thread(target=self._watchdog, args=(code,), daemon=True).start()
        try:
            self._loop.call_soon_threadsafe(self._exit_on_signal, sig)
        except RuntimeError:  # the loop has closed already
            self._hard_exit(code)

    def _watchdog(self, code: int) -> None:
        """Hard exit if the event loop has not begun the exit within EXIT_GRACE (it is stuck),
        or has not finished it EXIT_LIMIT seconds later (a write to a dead terminal blocks)."""
        if self._exit_started.wait(EXIT_GRACE):
            time.sleep(EXIT_LIMIT)
        if self.detached:  # the UI is stuck on a dead terminal: the runs still finish
            os._exit(self.outlive(code))
        self._hard_exit(code)

    def _exit_on_signal(self, sig: int) -> None:
        self._exit_started.set()
        if not self.detached:
            self.engine.close()
        self.exit(return_code=128 + sig)

    def outlive(self, code: int = 0) -> int:
        """After a detach: wait for this process's runs to end, save each one's checkpoint,
        and free the engine; `code` back (once, from whichever thread comes first)."""
        from ..core.session import outlive

        with self._outlive_lock:
            if not self._outlived:
                self._outlived = True
                outlive(getattr(self, "_sessions_at_detach", []), self.engine)
        return code

    def _hard_exit(self, code: int) -> None:
        """The last resort: end every run's process, put the terminal back, and go. A run
        still gets a moment to stop by itself, so the history records it as stopped."""
        self.engine.close(grace=0.3)
        if "web_driver" not in os.environ.get("TEXTUAL_DRIVER", ""):
            try:  # leave the alternate screen, show the cursor, stop mouse reports
                os.write(sys.__stderr__.fileno(), b"\x1b[?1000l\x1b[?1003l\x1b[?1006l"
                         b"\x1b[?1049l\x1b[?25h")
            except (OSError, AttributeError, ValueError):
                pass
        os._exit(code)

    def _exit_if_orphaned(self) -> None:
        if os.getppid() != self.parent_pid or self.parent_pid == 1:
            self._on_signal(signal.SIGHUP, None)

    def action_help(self) -> None:
        """Every key of the screen (and tab) in view, and the app's, read from the bindings."""
        from .screens.help import HelpScreen, key_groups

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_groups(self)))

    async def action_quit(self) -> None:
        self.engine.close()  # every run's process ends (within a second) before we go
        self.exit()

    def on_unmount(self) -> None:
        if not self.detached:
            self.engine.close()


def make_app(dataset: Dataset, **kwargs) -> MnistApp:
    """Build the app; tests hand in a tiny dataset and a short progress interval."""
    return MnistApp(dataset, **kwargs)
