"""ui/compat guards Textual's gaps by overriding private names: each must still exist upstream.

If a Textual release renames or removes one, the guard would silently stop guarding (an
override of a name nothing calls). This test fails instead, naming the module to revisit.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading

import pytest

from mnist_tui.ui import compat
from mnist_tui.ui.compat import command_palette, key_order, option_list, screen_stack


def _exists(module_name: str, dotted: str) -> bool:
    """The name exists on Textual's own class: as a class attribute, or (for instance
    attributes such as `App._screen_stack`) assigned as `self.<name>` in its __init__."""
    obj = importlib.import_module(module_name)
    *owners, attr = dotted.split(".")
    for owner in owners:
        obj = getattr(obj, owner)
    if hasattr(obj, attr):
        return True
    return inspect.isclass(obj) and re.search(rf"self\.{attr}\s*[:=]",
                                              inspect.getsource(obj.__init__)) is not None


@pytest.mark.parametrize(("module_name", "dotted"), compat.PATCHED,
                         ids=[f"{m}:{d}" for m, d in compat.PATCHED])
def test_every_private_name_a_guard_patches_exists_in_the_installed_textual(module_name, dotted):
    assert _exists(module_name, dotted), (
        f"{module_name}.{dotted} is gone from the installed Textual: the guard in "
        f"mnist_tui/ui/compat/ that overrides it no longer runs. Check whether the upstream "
        f"issue is fixed (the module's docstring names it) and delete or update the guard.")


GUARD_CLASSES = [option_list.GuardedSelectOverlay, option_list.Select,
                 command_palette.SafeCommandPalette, command_palette.SafePaletteApp,
                 screen_stack.ScreenStackGuards, key_order.KeysInOrder]


def test_every_private_override_is_listed_so_the_check_above_covers_it():
    """A new guard that overrides a private Textual name must list it in its PATCHED."""
    from textual.app import App

    listed = {d.split(".")[-1] for _, d in compat.PATCHED}
    for cls in GUARD_CLASSES:
        bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("textual")] or [App]
        for name, value in vars(cls).items():
            ours = inspect.isfunction(getattr(value, "__wrapped__", value))  # a method we wrote
            if ours and name.startswith("_") and not name.startswith("__"):
                if any(hasattr(b, name) for b in bases):
                    assert name in listed, f"{cls.__name__}.{name} overrides Textual, unlisted"


@pytest.mark.parametrize("cls", GUARD_CLASSES, ids=lambda c: c.__name__)
def test_overrides_keep_the_upstream_signature(cls):
    """An upstream change of parameters would make the override's super() call fail."""
    from textual.app import App

    bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("textual")] or [App]
    for name, ours in vars(cls).items():
        if name.startswith("__") or not inspect.isfunction(getattr(ours, "__wrapped__", ours)):
            continue
        theirs = next((getattr(b, name) for b in bases if hasattr(b, name)), None)
        if theirs is None or not callable(theirs):
            continue
        ours_params = list(inspect.signature(getattr(ours, "__wrapped__", ours)).parameters)
        theirs_params = list(inspect.signature(getattr(theirs, "__wrapped__", theirs)).parameters)
        assert ours_params == theirs_params, f"{cls.__name__}.{name}: {ours_params} vs {theirs_params}"


def test_no_process_wide_patch_of_textual():
    """The guards are subclasses and mixins: importing them leaves Textual's classes as shipped."""
    from textual.widgets import OptionList

    assert OptionList._move_page.__module__ == "textual.widgets._option_list"


def test_an_input_thread_left_running_after_the_app_is_ended():
    """The guard of compat/input_thread.py: a driver whose input thread was never told to stop
    (its exit event unset, as after a failed disable_input) has it ended and joined."""
    from mnist_tui.ui.compat.input_thread import end_input_thread

    class Driver:  # what end_input_thread reads of Textual's LinuxDriver
        def __init__(self):
            self.exit_event = threading.Event()
            self._key_thread = threading.Thread(target=self.exit_event.wait, name="textual-input")
            self._key_thread.start()

    class App:
        _driver = Driver()

    thread = App._driver._key_thread
    assert thread.is_alive()
    assert end_input_thread(App) is True
    assert not thread.is_alive()
    assert end_input_thread(App) is False  # nothing left to end
    App._driver = None
    assert end_input_thread(App) is False  # an app that never started its driver
