"""The core never imports Textual or Rich: it runs headless, for scripts and benchmarks."""

import subprocess
import sys


def test_core_imports_without_textual_or_rich():
    code = (
        "import sys, mnist_tui.core.data, mnist_tui.core.model, mnist_tui.core.train, "
        "mnist_tui.core.metrics, mnist_tui.core.render, mnist_tui.core.checkpoint, mnist_tui.__main__;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'textual_plotext', 'plotext')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
