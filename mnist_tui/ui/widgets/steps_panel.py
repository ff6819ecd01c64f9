"""StepsPanel: the seed's seven backward steps, with the live shapes of the current batch."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

STEPS = (
    ("dZ2", "(m, 10)", "(S - Y) / m"),
    ("dW2", "(n, 10)", "A1ᵀ (n, m) · dZ2 (m, 10)"),
    ("db2", "(10,)", "Σ_rows dZ2"),
    ("dA1", "(m, n)", "dZ2 (m, 10) · W2ᵀ (10, n)"),
    ("dZ1", "(m, n)", "dA1 ⊙ [Z1 > 0]"),
    ("dW1", "(784, n)", "Xᵀ (784, m) · dZ1 (m, n)"),
    ("db1", "(n,)", "Σ_rows dZ1"),
)


class StepsPanel(Widget):
    """Read-only: each step with m and n filled in, and the latest gradient norms."""

    # A step too long for the column is cut with an ellipsis, never wrapped ("dZ1 (32," / "128)").
    DEFAULT_CSS = "StepsPanel { text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.m, self.n = 64, 128
        self.grad_norms: dict[str, float] = {}
        self.dead_fraction: float | None = None

    def render(self) -> Text:
        return self.build()

    def set(self, m: int | None = None, n: int | None = None, grad_norms=None, dead=None) -> None:
        before = (self.m, self.n, self.grad_norms, self.dead_fraction)
        if m is not None:
            self.m = m
        if n is not None:
            self.n = n
        if grad_norms is not None:
            self.grad_norms = {"W1": grad_norms[0], "W2": grad_norms[1]}
        if dead is not None:
            self.dead_fraction = dead
        if (self.m, self.n, self.grad_norms, self.dead_fraction) != before:
            self.refresh()  # fixed size: a repaint, no layout pass

    def build(self) -> Text:
        m, n = str(self.m), str(self.n)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("backward pass, as in the seed\n", style="bold")
        for i, (name, shape, rhs) in enumerate(STEPS, start=1):
            t.append(f"{i} ", style="dim")
            t.append(f"{name}", style="bold cyan")
            t.append(f" {shape.replace('m', m).replace('n', n)}", style="dim")
            t.append(" = " + rhs.replace("(m", f"({m}").replace("m)", f"{m})").replace("n)", f"{n})")
                     .replace("(n", f"({n}"))
            t.append("\n")
        if self.grad_norms:
            t.append("\nlatest batch: ")
            t.append(f"‖dW1‖ {self.grad_norms['W1']:.3g}  ‖dW2‖ {self.grad_norms['W2']:.3g}",
                     style="green")
        if self.dead_fraction is not None:
            dead = round(self.dead_fraction * self.n)
            t.append(f"\ndead ReLUs: {dead}/{self.n} ({self.dead_fraction:.1%})", style="")
            t.append("\n(0 on every test image)", style="dim")
        return t
