"""`serve`'s clamp of the terminal sizes a browser asks for, and the textual-serve names it relies on."""

from __future__ import annotations


def test_clamp_size():
    from mnist_tui.serve import MAX_HEIGHT, MAX_WIDTH, clamp_size

    assert clamp_size(30000, 30000) == (MAX_WIDTH, MAX_HEIGHT) == (500, 200)
    assert clamp_size(-5, -1) == clamp_size(0, 0) == (1, 1)
    assert clamp_size("120", "40") == (120, 40)
    assert clamp_size("x", None) == (80, 24)  # not a number: the default size
    assert clamp_size(1e308, float("nan")) == (500, 24)


def test_the_private_names_the_clamp_relies_on_are_still_there():
    """serve.CappedServer overrides textual-serve's Server._process_messages and wraps
    AppService.set_terminal_size: a textual-serve that renames them must fail here."""
    import inspect

    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    assert "app_service" in inspect.signature(Server._process_messages).parameters
    assert list(inspect.signature(AppService.set_terminal_size).parameters) == ["self", "width", "height"]
    assert "set_terminal_size" in inspect.getsource(Server._process_messages)
