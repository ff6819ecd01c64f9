"""UnitScreen: one hidden unit at a time (core/insight.py).

Its receptive field (W1[:, j]) large, the histogram of its activations over the test set, the
9 test digits that excite it most, and its outgoing weights (W2[j], its vote for each class).
`a` ablates it: the per-class test accuracy with the unit silenced, beside the accuracy with it,
without touching the run. `v` revives it in a paused run: re-initialised as at the start, its
optimizer state cleared (core/train.py `revive_unit`); the new weights come back at once.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from ...core import insight
from ...core.model import Perceptron
from ...core.render import SHADES, axis_ticks, bar, grey, levels, nice_ticks, tick_label
from ..widgets.signed_image import SignedImage

BINS = 24
RED, BLUE = "rgb(240,80,70)", "rgb(80,140,255)"  # as the receptive fields: + red, − blue


class UnitScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left,k", "step(-1)", "Prev unit", key_display="←"),
        Binding("right,j", "step(1)", "Next unit", key_display="→"),
        Binding("a", "ablate", "Ablate"),
        Binding("v", "revive", "Revive"),
    ]
    DEFAULT_CSS = """
    UnitScreen #unit-head { height: auto; padding: 0 1; }
    UnitScreen #unit-top { height: auto; }
    UnitScreen #unit-rf { width: 58; height: 31; padding: 0 1; }
    UnitScreen.-small #unit-rf { width: 30; height: 16; }
    UnitScreen #unit-side { width: 1fr; height: auto; padding: 0 1; }
    UnitScreen #unit-bars { height: auto; }
    UnitScreen #unit-out { height: auto; width: 30; }
    UnitScreen #unit-ablation { height: auto; width: 1fr; min-width: 30; }
    UnitScreen #unit-hist { height: 12; }
    UnitScreen #unit-top9 { height: auto; }
    UnitScreen.-small #unit-top { layout: vertical; }
    UnitScreen.-small #unit-side { width: 1fr; }
    """

    def __init__(self, main, unit: int) -> None:
        super().__init__()
        self.main, self.j = main, unit
        self.model: Perceptron | None = None
        self._weights = None
        self.A1 = self.Z2 = None
        self.ablated: tuple[np.ndarray, np.ndarray] | None = None
        self.show_ablation = False

    def compose(self) -> ComposeResult:
        yield Static("", id="unit-head")
        with VerticalScroll():
            with Horizontal(id="unit-top"):
                yield SignedImage("receptive field", id="unit-rf")
                with Vertical(id="unit-side"):
                    with Horizontal(id="unit-bars"):
                        yield Static("", id="unit-out")
                        yield Static("", id="unit-ablation")
                    yield PlotextPlot(id="unit-hist")
                    yield Static("", id="unit-top9")
        yield Footer()

    def on_mount(self) -> None:
        self.on_resize()
        self.refresh_model()
        self.set_interval(0.3, self.refresh_model)  # a revive (or a running run) sends weights

    def on_resize(self, event=None) -> None:
        small = self.size.width < 100 or self.size.height < 36
        if small != self.has_class("-small"):
            self.set_class(small, "-small")
            if self.A1 is not None:
                self.redraw()

    @property
    def n(self) -> int:
        return self.model.n_hidden if self.model is not None else 0

    def refresh_model(self) -> None:
        w = self.main.history.weights
        if self.model is not None and w is self._weights:
            return
        model = self.main.model
        if model is None:
            self.query_one("#unit-head", Static).update("no weights yet: train or load first")
            return
        self._weights = w
        self.model = model
        self.j = min(self.j, model.n_hidden - 1)
        self.compute(model)

    @work(thread=True, exclusive=True, group="unit", exit_on_error=False)
    def compute(self, model: Perceptron) -> None:
        """Every test image's hidden activations, once per set of weights (tens of ms)."""
        A1, Z2 = insight.hidden_activations(model, self.main.dataset.test_images)
        self.app.call_from_thread(self._computed, model, A1, Z2)

    def _computed(self, model, A1, Z2) -> None:
        if not self.is_attached or model is not self.model:
            return
        self.A1, self.Z2 = A1, Z2
        self.ablated = None
        self.redraw()

    def redraw(self) -> None:
        if self.A1 is None:
            return
        u = insight.unit(self.model, self.A1, self.j)
        classes = self.main.dataset.classes
        state = self.main.run_state.value
        dead = "DEAD: silent on every test image" if u.dead else (
            f"active on {u.active_fraction:.1%} of the test images")
        head = Text(f"unit {self.j} of {self.n}", style="bold")
        head.append(f" · {dead} · bias {u.bias:+.3f} · run {state}",
                    style="bold red" if u.dead else "")
        self.query_one("#unit-head", Static).update(head)
        small = self.has_class("-small")
        self.query_one("#unit-rf", SignedImage).show(
            u.receptive_field, "receptive field W1[:, j]", "red +, blue −", scale=1 if small else 2)
        self.query_one("#unit-out", Static).update(self._outgoing(u, classes))
        self.query_one("#unit-ablation", Static).update(self._ablation(classes))
        self._histogram(u)
        self.query_one("#unit-top9", Static).update(self._top9(u, classes))

    def _outgoing(self, u: insight.Unit, classes) -> Text:
        t = Text("votes W2[j] per class\n", style="bold")
        top = float(np.abs(u.outgoing).max()) or 1.0
        for c, w in enumerate(u.outgoing):
            t.append(f"{classes[c][:7]:>7} {w:+.3f} ")
            t.append(bar(abs(w) / top, 12), style=RED if w >= 0 else BLUE)
            t.append("\n")
        return t

    def _ablation(self, classes) -> Text:
        if not self.show_ablation:
            return Text("a: silence this unit;\nsee each class's test\naccuracy change", style="dim")
        if self.ablated is None:
            self.ablated = insight.ablate(self.model, self.A1, self.Z2,
                                          self.main.dataset.test_labels, [self.j])
        before, after = self.ablated
        t = Text("silenced: test accuracy\n", style="bold")
        for c in range(len(before)):
            d = after[c] - before[c]
            t.append(f"{classes[c][:7]:>7} {before[c]:6.1%}→{after[c]:6.1%} ")
            t.append(f"{d:+6.1%}\n", style="bold red" if d < -0.0005 else
                     "green" if d > 0.0005 else "dim")
        total_b = float(np.nanmean(before))
        t.append(f"{'mean':>7} {total_b:6.1%}→{float(np.nanmean(after)):6.1%}", style="bold")
        return t

    def _histogram(self, u: insight.Unit) -> None:
        plot = self.query_one("#unit-hist", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        acts = u.activations
        active = acts[acts > 0]
        plt.title(f"activations over the test set: {len(acts) - len(active):,} at 0 (not shown), "
                  f"{len(active):,} above")
        if len(active):
            plt.hist(active.tolist(), BINS, color=None if self.app.no_color else (240, 80, 70))
            hi = float(active.max())
            ticks = nice_ticks(0.0, hi, 5)
            plt.xticks(ticks, [tick_label(t) for t in ticks])
            # counts are whole: plotext's own ticks read 638.0, 531.7, 425.3
            counts, _ = np.histogram(active, BINS)
            top, peak, yt = axis_ticks(0, float(counts.max()), max(2, plot.size.height // 3),
                                       integer=True)
            plt.ylim(top, peak)
            plt.yticks(yt, [f"{t:.0f}" for t in yt])
        plt.xlabel("A1[:, j]")
        plot.refresh()

    def _top9(self, u: insight.Unit, classes) -> Text:
        t = Text("the test digits that excite it most\n", style="bold")
        if not len(u.top):
            t.append("none: it never fires", style="dim")
            return t
        width = self.query_one("#unit-top9", Static).size.width or self.size.width - 2
        per_row = max(1, min(9, width // 16))
        images = self.main.dataset.test_images
        labels = self.main.dataset.test_labels
        plain = self.app.no_color or self.app.console.color_system in (None, "standard", "windows")
        for start in range(0, len(u.top), per_row):
            row = u.top[start : start + per_row]
            small = [images[i].reshape(28, 28).astype(np.float32).reshape(14, 2, 14, 2).mean((1, 3))
                     for i in row]
            for r in range(7):
                for img in small:
                    top, bottom = img[2 * r], img[2 * r + 1]
                    for a, b in zip(top, bottom, strict=True):
                        if plain:
                            t.append(SHADES[int(levels((a + b) / 2 / 256 * len(SHADES), len(SHADES) - 1))])
                        else:
                            t.append("▀", Style(color=grey(a), bgcolor=grey(b)))
                    t.append("  ")
                t.append("\n")
            t.append("".join(f"#{i} {classes[labels[i]][:4]}".ljust(16)[:16] for i in row) + "\n",
                     style="dim")
            t.append("".join(f"a={u.activations[i]:.2f}".ljust(16) for i in row) + "\n", style="dim")
        return t

    def action_step(self, delta: int) -> None:
        if self.model is None:
            return
        self.j = (self.j + delta) % self.n
        self.ablated = None
        self.redraw()

    def action_ablate(self) -> None:
        if self.A1 is None:
            return
        self.show_ablation = not self.show_ablation
        self.redraw()

    def action_revive(self) -> None:
        main = self.main
        if main.run_state.value != "paused" or main.handle is None:
            self.notify("Revive works on a paused run: press p on the main screen to pause it.",
                        severity="warning")
            return
        u = insight.unit(self.model, self.A1, self.j) if self.A1 is not None else None
        main.handle.revive(self.j)
        self.notify(f"unit {self.j} re-initialised" + (" (it was dead)" if u and u.dead else
                    " (it was alive: its learning starts over)"), timeout=3)

