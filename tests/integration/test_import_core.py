"""The core never imports Textual or Rich, checked in a fresh interpreter: it runs headless, for scripts and benchmarks."""

import subprocess
import sys

from helpers import CORE_MODULES


def test_core_imports_without_textual_or_rich():
    imports = ", ".join(f"mnist_tui.core.{m}" for m in CORE_MODULES)
    code = (
        f"import sys, {imports}, mnist_tui.cli;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'textual_plotext', 'plotext')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_loss_curve_imports_no_scipy():
    """The UI thread smooths the loss curve (core.render.ema) at a run's first progress: it
    imported scipy.signal there, 0.65 s that froze the dashboard in a first run (a fresh
    user's check of issue 23: keys and the status bar stalled for 0.75 s)."""
    code = ("import sys, numpy as np; from mnist_tui.core.render import ema;"
            "s = ema(np.linspace(3, 0.1, 5000), 0.9);"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'scipy');"
            "print(bad[:5]); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
