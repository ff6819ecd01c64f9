"""The core never imports Textual or Rich: it runs headless, for scripts and benchmarks."""

import pkgutil

import mnist_tui.core

CORE_MODULES = ("augment", "calibration", "checkpoint", "compare", "config", "data", "draw",
                "engine", "events", "files", "forgetting", "history", "idx", "insight", "loader",
                "metrics", "model", "optim", "race", "recording", "render", "resources", "session",
                "shared", "store", "suspects", "sweep", "train")


def test_the_list_names_every_core_module():
    found = {m.name for m in pkgutil.iter_modules(mnist_tui.core.__path__)}
    assert found == set(CORE_MODULES), "add the new core module to CORE_MODULES"
