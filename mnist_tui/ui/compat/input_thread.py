"""A Textual input thread that outlives its app spins once stdin is /dev/null.

Textual's `LinuxDriver.disable_input` writes the mouse-off sequences and only then sets the
event that ends its input thread ("textual-input", not a daemon), all inside one
`try: ... except Exception: pass`: when that write fails (the writer already closed:
`assert self._writer_thread is not None`), or the driver is never told to stop, the thread
reads on after `App.run` has returned. A detached host then points stdin at /dev/null
(core.session.leave_the_terminal): select says readable, read returns b"", and the thread
spins at 100% CPU, and keeps the process from exiting when its runs have ended. Seen once in
a full test run: a detached race host at 57% CPU for 38 minutes, its main thread waiting in
`threading._shutdown` for the input thread.

Upstream: no Textual issue found. Fixed in: unfixed as of Textual 8.2.8. The issue we would
file ("disable_input can leave the input thread running"):

    LinuxDriver.disable_input sets exit_event after _disable_mouse_support() in one
    try/except that swallows every error; if the write raises, exit_event is never set, the
    non-daemon input thread keeps running after App.run returns, and the interpreter cannot
    exit. Expected: the thread is told to end whatever the terminal writes do.

The guard: `end_input_thread(app)`, called after `App.run` returned, sets the event and joins
the thread if it still runs.
"""

from __future__ import annotations

__all__ = ["PATCHED", "end_input_thread"]

PATCHED = (
    ("textual.app", "App._driver"),
    ("textual.drivers.linux_driver", "LinuxDriver.exit_event"),
    ("textual.drivers.linux_driver", "LinuxDriver._key_thread"),
)


def end_input_thread(app, timeout: float = 1.0) -> bool:
    """After `app.run()` returned: end the driver's input thread if it is still running.
    True if one was running (and has been told to end)."""
    driver = getattr(app, "_driver", None)
    thread = getattr(driver, "_key_thread", None)
    if thread is None or not thread.is_alive():
        return False
    driver.exit_event.set()
    thread.join(timeout)
    return True
