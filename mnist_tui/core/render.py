"""Digits and probabilities as plain text data; the widgets add colour.

A 28x28 digit becomes 14 rows of 28 half-block cells: each cell is the pair (top, bottom)
of grey levels 0-255, drawn as '▀' with the top as foreground and the bottom as background.
Without colour, `shade_rows` gives the same picture with shade characters.

Every function here is safe against NaN and infinities (a model whose numbers overflowed):
a non-finite level draws as 0, never as `rgb(-1844674407370955162,…)`, which Rich refuses.
"""

from __future__ import annotations

import numpy as np

SHADES = " ░▒▓█"
EIGHTHS = " ▏▎▍▌▋▊▉█"



def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs': every count the CLI and the screens print."""
    return f"{n} {word}{'s' * (n != 1)}"

def levels(values, top: float = 255.0) -> np.ndarray:
    """Values as whole levels 0..top: NaN becomes 0, +inf top, -inf 0 (int64 array)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=top, neginf=0.0)
    return np.clip(v, 0, top).astype(np.int64)


_GREYS = tuple(f"rgb({v},{v},{v})" for v in range(256))


def grey(level: float) -> str:
    """The Rich colour of a grey level 0-255 (clamped; NaN is black), as `levels` clamps.
    Scalar arithmetic, not NumPy: a digit asks for 1,568 of these, and NumPy's per-call cost
    (16 us) made drawing one 25 ms of the dashboard's first frame."""
    v = float(level)
    return _GREYS[0 if not v > 0 else 255 if v >= 255 else int(v)]  # NaN, -inf: 0; +inf: 255


def half_block_cells(image: np.ndarray) -> np.ndarray:
    """(784,) or (28, 28) uint8 -> (14, 28, 2) uint8 of (top, bottom) grey levels."""
    img = np.asarray(image).reshape(28, 28)
    return np.stack([img[0::2], img[1::2]], axis=-1)


def shade_rows(image: np.ndarray) -> list[str]:
    """14 strings of 28 shade characters, each from the mean of two stacked pixels."""
    cells = half_block_cells(image).astype(np.float64).mean(axis=-1)
    index = levels(cells / 256 * len(SHADES), len(SHADES) - 1)
    return ["".join(SHADES[v] for v in row) for row in index]


def signed_cells(weights: np.ndarray) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """A unit's 784 input weights as 14x28 half-block colour pairs and as shade rows.

    Colour: red for positive, blue for negative, brighter for larger |w| (scaled to the
    unit's own largest weight). Shades, for no colour: light for negative, dark for positive.
    """
    w = np.asarray(weights, dtype=np.float32).reshape(28, 28)
    w = np.where(np.isfinite(w), w, np.float32(0))  # NaN or inf (an overflowed model): as 0
    scale = float(np.abs(w).max()) or 1.0
    v = np.clip(w / scale, -1, 1)
    level = levels(np.abs(v) * 255)

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


def probability_lines(proba: np.ndarray, true_label: int | None, width: int = 12,
                      decimals: int = 1, classes: tuple[str, ...] | None = None) -> list[str]:
    """One line per class: 'digit bar percent', with markers for the prediction and the truth.

    '◀' marks the predicted class; '✓' or '✗' after it says whether it is right, so the
    meaning never rests on colour alone.
    """
    proba = np.nan_to_num(np.asarray(proba), nan=0.0, posinf=1.0, neginf=0.0)  # dtype kept
    pred = int(np.argmax(proba))
    names = [str(k) for k in range(10)] if classes is None else list(classes)
    name_width = max(len(n) for n in names)
    lines = []
    for k, p in enumerate(proba):
        mark = ""
        if k == pred:
            mark = " ◀" + ("" if true_label is None else (" ✓" if pred == true_label else " ✗"))
        elif true_label is not None and k == true_label:
            mark = " ← true"
        lines.append(f"{names[k]:<{name_width}} {bar(p, width)} "
                     f"{100 * p:{4 + decimals if decimals else 3}.{decimals}f}%{mark}")
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


def config_value(value) -> str:
    """A config value in short: floats to 3 significant digits ('0.0647', '3.85e-05'), the
    rest as they are. A sweep's raw draws (0.0646642271741456) read the same everywhere."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def config_words(config: dict, live: dict | None = None) -> str:
    """A run's config in short words, the same in `runs list` and the Runs tab:
    'n=128 e=10 lr=0.1 b=64 m=0.9 cosine', plus 'wd=…' and 'aug=…' when they are set.
    `live`: the last value of each field changed live ('lr=0.1→0.05')."""
    c = config if isinstance(config, dict) else {}
    live = live or {}

    def word(key: str, short: str) -> str:
        text = f"{short}{config_value(c[key])}"
        if key in live and live[key] != c[key]:
            text += f"→{config_value(live[key])}"
        return text

    from .config import USES_MOMENTUM

    # Momentum only where the optimizer reads it: Adam's trials showed m=0.9 it ignores.
    uses_momentum = c.get("optimizer", "momentum") in USES_MOMENTUM
    words = [word(key, short) for key, short in (
        ("hidden", "n="), ("epochs", "e="), ("lr", "lr="), ("batch_size", "b="), ("momentum", "m="),
        ("schedule", "")) if c.get(key) is not None and (key != "momentum" or uses_momentum)]
    if c.get("weight_decay"):
        words.append(word("weight_decay", "wd="))
    if c.get("augment", "none") != "none":
        words.append(f"aug={c.get('augment')}")
    for key, default in (("optimizer", "momentum"), ("dataset", "mnist")):
        if c.get(key, default) != default:
            words.append(str(c.get(key)))
    if c.get("val_split"):
        words.append(f"val={c.get('val_split')}")
    return " ".join(words)


def nice_step(span: float, max_ticks: int) -> float:
    """The smallest 1-2-5 step (…0.1, 0.2, 0.5, 1, 2, 5…) giving at most max_ticks ticks."""
    span = abs(float(span)) or 1.0
    raw = span / max(1, max_ticks - 1)
    base = 10.0 ** np.floor(np.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * base >= raw * (1 - 1e-9):
            return float(mult * base)
    return float(10 * base)


def nice_ticks(lo: float, hi: float, max_ticks: int = 5) -> list[float]:
    """Round ticks covering [lo, hi] at a 1-2-5 step: 0, 0.5, 1… or 94, 96, 98…"""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + 1.0
    step = nice_step(hi - lo, max_ticks)
    first = np.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    return [float(round(t / step) * step) for t in ticks]


def axis_ticks(lo: float, hi: float, max_ticks: int = 5, integer: bool = False
               ) -> tuple[float, float, list[float]]:
    """(lo', hi', ticks): round ticks for a linear axis, the range widened to the ticks' step
    so that at least two ticks always show (94-95.9 on 2 ticks gives 94, 96 over 94-96, not a
    lone 94). `integer`: counts, with a whole step (0, 200, 400…, never 425.3)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return 0.0, 1.0, [0.0, 1.0]
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    max_ticks = max(2, max_ticks)
    step = nice_step(hi - lo, max_ticks)
    if integer:
        step = max(1.0, round(step))
    a = float(np.floor(lo / step + 1e-9) * step)
    b = float(np.ceil(hi / step - 1e-9) * step)
    if b - a < step:
        b = a + step
    ticks = [float(round(t / step) * step) for t in np.arange(a, b + step * 1e-6, step)]
    return a, b, ticks


LOG_MANTISSAS = (1, 2, 5)


def log_ticks(lo: float, hi: float, max_ticks: int = 5) -> list[float]:
    """Round ticks for a log axis over [lo, hi] (both > 0): 0.05, 0.1, 0.2, 0.5, 1, 2…

    Thinned to decades (0.01, 0.1, 1…) and then every other decade when there are too many.
    """
    if not (lo > 0 and hi > 0 and np.isfinite(lo) and np.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    e0, e1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    for mantissas, every in (((1, 2, 5), 1), ((1,), 1), ((1,), 2), ((1,), 5)):
        ticks = [m * 10.0 ** e for e in range(e0, e1 + 1) if e % every == 0 for m in mantissas]
        ticks = [float(f"{t:.6g}") for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) <= max_ticks and len(ticks) >= 2:
            return ticks
    # A narrow range inside one 1-2-5 interval: fall back to linear round ticks.
    return [t for t in nice_ticks(lo, hi, max_ticks) if t > 0]


def tick_label(value: float) -> str:
    """A tick's text: '0.05', '1', '2.5', '1e-05', '96'."""
    return f"{value:.6g}"


def _ema_blocks(x: np.ndarray, w: float) -> np.ndarray:
    """s_t = w s_{t-1} + (1 - w) x_t, s_0 = 0, in NumPy: within a block starting after s_p,
    s_{p+j} = w^(j+1) s_p + (1 - w) w^j cumsum_i(w^-i x_{p+i}). Blocks are as long as keeps
    w^-i under 1e100 (far from overflow; the cumsum's error stays relative to its terms).
    It replaced scipy.signal.lfilter, whose first import (0.65 s) froze the UI at a first
    run's first loss curve. float64 in and out, the shape of `x`."""
    n = len(x)
    block = max(1, min(n, int(230.0 / -np.log(w))))  # ln(1e100) = 230.3
    j = np.arange(block, dtype=np.float64)
    down, up = w ** j, w ** -j  # w^j and w^-j for j < block
    out = np.empty(n)
    carry = 0.0
    for start in range(0, n, block):
        xb = x[start:start + block]
        k = len(xb)
        s = down[:k] * (w * carry + (1 - w) * np.cumsum(up[:k] * xb))
        out[start:start + k] = s
        carry = s[-1]
    return out


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average, debiased at the start as TensorBoard does.

    s_t = w s_{t-1} + (1 - w) x_t with s_0 = 0, then divided by (1 - w^t), so the first
    points are not pulled toward 0. smoothing w in [0, 1); 0 returns the values unchanged.
    Non-finite values are skipped (the average carries over them).
    """
    x = np.asarray(values, dtype=np.float64)
    w = float(smoothing)
    if w <= 0 or len(x) == 0:
        return x.copy()
    out = np.empty_like(x)
    last, count = 0.0, 0
    ok = np.isfinite(x)
    if ok.all():
        return _ema_blocks(x, w) / (1 - w ** np.arange(1, len(x) + 1))
    for i, v in enumerate(x):  # rare: a run that produced a non-finite loss
        if ok[i]:
            last = w * last + (1 - w) * v
            count += 1
        out[i] = last / (1 - w**count) if count else np.nan
    return out
