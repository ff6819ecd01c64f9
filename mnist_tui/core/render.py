"""Digits and probabilities as plain text data; the widgets add colour.

A 28x28 digit becomes 14 rows of 28 half-block cells: each cell is the pair (top, bottom)
of grey levels 0-255, drawn as '▀' with the top as foreground and the bottom as background.
Without colour, `shade_rows` gives the same picture with shade characters.
"""

from __future__ import annotations

import numpy as np

SHADES = " ░▒▓█"
EIGHTHS = " ▏▎▍▌▋▊▉█"


def half_block_cells(image: np.ndarray) -> np.ndarray:
    """(784,) or (28, 28) uint8 -> (14, 28, 2) uint8 of (top, bottom) grey levels."""
    img = np.asarray(image).reshape(28, 28)
    return np.stack([img[0::2], img[1::2]], axis=-1)


def shade_rows(image: np.ndarray) -> list[str]:
    """14 strings of 28 shade characters, each from the mean of two stacked pixels."""
    cells = half_block_cells(image).astype(np.float32).mean(axis=-1)
    levels = np.minimum((cells / 256 * len(SHADES)).astype(int), len(SHADES) - 1)
    return ["".join(SHADES[v] for v in row) for row in levels]


def signed_cells(weights: np.ndarray) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """A unit's 784 input weights as 14x28 half-block colour pairs and as shade rows.

    Colour: red for positive, blue for negative, brighter for larger |w| (scaled to the
    unit's own largest weight). Shades, for no colour: light for negative, dark for positive.
    """
    w = np.asarray(weights, dtype=np.float32).reshape(28, 28)
    scale = float(np.abs(w).max()) or 1.0
    v = np.clip(w / scale, -1, 1)
    level = (np.abs(v) * 255).astype(int)

    def colour(x: float, lv: int) -> str:
        return f"rgb({lv},{lv // 5},{lv // 5})" if x >= 0 else f"rgb({lv // 5},{lv // 3},{lv})"

    cells = [[(colour(v[2 * r, c], level[2 * r, c]), colour(v[2 * r + 1, c], level[2 * r + 1, c]))
              for c in range(28)] for r in range(14)]
    mean = (v[0::2] + v[1::2]) / 2  # (14, 28) in [-1, 1]
    idx = np.clip(((mean + 1) / 2 * len(SHADES)).astype(int), 0, len(SHADES) - 1)
    shades = ["".join(SHADES[i] for i in row) for row in idx]
    return cells, shades


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction` in eighth-cell steps."""
    fraction = min(max(float(fraction), 0.0), 1.0) if np.isfinite(fraction) else 0.0
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width)


def probability_lines(proba: np.ndarray, true_label: int | None, width: int = 12) -> list[str]:
    """One line per class: 'digit bar percent', with markers for the prediction and the truth.

    '◀' marks the predicted class; '✓' or '✗' after it says whether it is right, so the
    meaning never rests on colour alone.
    """
    pred = int(np.argmax(proba))
    lines = []
    for k, p in enumerate(proba):
        mark = ""
        if k == pred:
            mark = " ◀" + ("" if true_label is None else (" ✓" if pred == true_label else " ✗"))
        elif true_label is not None and k == true_label:
            mark = " ← true"
        lines.append(f"{k} {bar(p, width)} {100 * p:5.1f}%{mark}")
    return lines


def downsample(xs: np.ndarray, ys: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep only finite points, then at most max_points of them, evenly spaced, ends kept."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if len(xs) > max_points >= 2:
        keep = np.unique(np.linspace(0, len(xs) - 1, max_points).round().astype(int))
        xs, ys = xs[keep], ys[keep]
    return xs, ys


def format_duration(seconds: float) -> str:
    """'42s', '3m05s' or '1h02m'."""
    if not np.isfinite(seconds) or seconds < 0:
        return "--"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
