"""The core never imports Textual or Rich: it runs headless, for scripts and benchmarks."""

import pkgutil

from helpers import CORE_MODULES

import mnist_tui.core


def test_the_list_names_every_core_module():
    prefix = "mnist_tui.core."
    found = {m.name.removeprefix(prefix)
             for m in pkgutil.walk_packages(mnist_tui.core.__path__, prefix)}
    assert found == set(CORE_MODULES), "add the new core module to CORE_MODULES"
