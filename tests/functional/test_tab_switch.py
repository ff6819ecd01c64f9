"""What a tab switch does once every tab has been seen: it mounts nothing, replots no chart
whose data has not changed, and the footer still says exactly what Textual's Footer would.

A switch cost 0.11-0.48 s of CPU in a real terminal, most of it in Textual redoing identical
work (issue 20: a burst of tab keys must leave the app idle within a second). These tests
pin the causes found, each on the app's own widgets; the figures are printed by the soak test
(tests/soak/test_bursts.py), not asserted here.
"""

from __future__ import annotations

from collections import defaultdict

from helpers import wait_for
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual_plotext import PlotextPlot

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import TABS, make_app
from mnist_tui.ui.widgets.steady_footer import SteadyFooter

KEYS = "1234567890"


async def _done_app(pilot, app):
    app.main.action_start()
    await wait_for(pilot, lambda: app.main.state == "done", 60)
    await pilot.pause(0.6)


def _app(tiny, tmp_path):
    return make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64),
                    save_dir=tmp_path, db_path=tmp_path / "h.sqlite")


def _expected_footer(app) -> list[tuple]:
    """What Footer.compose shows for the screen's bindings: (key, key display, description,
    disabled) per key, in order (no groups and no palette key in this app's main screen)."""
    by_action: dict[str, list] = {}
    for _, binding, enabled, _tooltip in app.screen.active_bindings.values():
        if binding.show:
            by_action.setdefault(binding.action, []).append((binding, enabled))
    return [(b.key, app.get_key_display(b), b.description, not enabled)
            for b, enabled in (bs[0] for bs in by_action.values())]


def _shown_footer(app) -> list[tuple]:
    return [(k.key, k.key_display, k.description, k._disabled)
            for k in app.screen.query_one(Footer).query(FooterKey) if k.display]


async def test_a_tab_switch_mounts_nothing_once_every_tab_was_seen(tiny, tmp_path):
    """Every switch recomposed the footer (about ten key widgets mounted and restyled, a
    quarter of a switch's CPU); now its widgets are given the new keys in place."""
    app = _app(tiny, tmp_path)
    mounted: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await _done_app(pilot, app)
        for key in KEYS + "1":  # every tab seen once, each footer size met
            await pilot.press(key)
            await pilot.pause(0.1)
        seen = {id(w) for w in app.screen.walk_children()}
        for key in KEYS + "1":
            await pilot.press(key)
            await pilot.pause(0.1)
            mounted += [type(w).__name__ for w in app.screen.walk_children() if id(w) not in seen]
        assert not mounted, f"widgets mounted by tab switches: {sorted(set(mounted))}"


async def test_the_footer_shows_what_textuals_footer_would_on_every_tab(tiny, tmp_path):
    """Keys updated in place, spares hidden: each tab's footer is the one Footer.compose
    makes, key for key, in order, disabled ones too; and a click on one still presses it."""
    app = _app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await _done_app(pilot, app)
        for key in KEYS + KEYS:
            await pilot.press(key)
            await pilot.pause(0.1)
            tab = TABS[KEYS.index(key)]
            assert _shown_footer(app) == _expected_footer(app), tab
        footer = app.screen.query_one(SteadyFooter)
        assert any(not k.display for k in footer.query(FooterKey)), "no spare was reused"
        await pilot.press("7")  # Draw: its Clear key, clicked in the footer, clears the ink
        await pilot.pause(0.1)
        canvas = app.screen.query_one("#canvas")
        canvas.ink[10:14, 10:14] = 1.0
        clear = next(k for k in footer.query(FooterKey) if k.display and k.key == "c")
        assert await pilot.click(clear)
        await pilot.pause(0.2)
        assert not canvas.ink.any()


async def test_showing_a_tab_again_redraws_no_chart(tiny, tmp_path):
    """Each show set the same series again and marked the charts dirty, and each Resize
    (every widget of a tab shown gets one, its size changed or not) replotted them: a plotext
    build per chart per switch, 20-40 ms each."""
    app = _app(tiny, tmp_path)
    builds: dict[str, int] = defaultdict(int)
    async with app.run_test(size=(100, 30)) as pilot:
        await _done_app(pilot, app)
        for key in KEYS:
            await pilot.press(key)
            await pilot.pause(0.2)
        for plot in app.screen.query(PlotextPlot):
            build = plot._plot.build

            def counted(build=build, name=plot.parent.id):
                builds[name] += 1
                return build()

            plot._plot.build = counted
        for key in "1020" * 2:
            await pilot.press(key)
            await pilot.pause(0.2)
        assert not builds, f"charts drawn again with nothing new: {dict(builds)}"
        await pilot.resize_terminal(110, 30)  # a new size still redraws them
        await pilot.pause(0.3)
        assert builds


async def test_a_resize_while_a_tab_is_hidden_redraws_its_charts_when_shown(tiny, tmp_path):
    """The charts of a tab hidden during a resize have their old size until shown: shown,
    they are drawn for the new one (their axes fit the new width)."""
    app = _app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await _done_app(pilot, app)
        await pilot.press("2")
        await pilot.pause(0.2)
        await pilot.resize_terminal(130, 30)
        await pilot.pause(0.3)
        await pilot.press("1")
        await pilot.pause(0.5)
        chart = app.screen.query_one("#loss-chart")
        assert chart._size_drawn == (chart.size, chart.plot.size)
        assert chart.plot.size.width > 60
