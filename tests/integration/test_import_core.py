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
