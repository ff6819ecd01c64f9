"""docs/FORMATS.md stays true: its code blocks run on a real checkpoint, and its tables match
what the code writes (issue 21, CLI conventions)."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mnist_tui.core import checkpoint, store
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.train import train

DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMATS.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint of a really trained model (2 epochs on the tiny set), as `train` saves it."""
    from helpers import tiny_dataset

    from mnist_tui.core.events import EpochEnd
    from mnist_tui.core.history import EPOCH_KEYS
    from mnist_tui.core.model import Perceptron

    ds, config = tiny_dataset(), TrainConfig(hidden=12, epochs=2, batch_size=32)
    model = Perceptron(12, seed=0)
    history = {k: [] for k in EPOCH_KEYS}
    for event in train(config, ds, model=model):
        if isinstance(event, EpochEnd):
            for k in EPOCH_KEYS:
                history[k].append(float(getattr(event, k, 0.0) or 0.0))
    path = tmp_path_factory.mktemp("formats") / "ck.npz"
    checkpoint.save(path, model, config, history)
    return path, ds


def expected(path, ds) -> np.ndarray:
    model = checkpoint.load(path)[0]
    X = ds.test_images.reshape(len(ds.test_images), 784).astype(np.float32) / 255
    return model.predict(X)


def run_block(code: str, path, ds) -> dict:
    scope = {"CHECKPOINT": str(path), "IMAGES": ds.test_images}
    exec(compile(code, str(DOC), "exec"), scope)  # our own documentation's code
    return scope


def test_the_doc_has_the_numpy_and_the_pytorch_blocks():
    code = blocks()
    assert len(code) == 2 and "np.load" in code[0] and "import torch" in code[1]


def test_the_numpy_forward_pass_of_the_doc_matches_the_model(trained):
    path, ds = trained
    scope = run_block(blocks()[0], path, ds)
    np.testing.assert_array_equal(scope["predicted"], expected(path, ds))
    model = checkpoint.load(path)[0]
    X = ds.test_images.reshape(-1, 784).astype(np.float32) / 255
    np.testing.assert_allclose(scope["S"], model.forward(X), rtol=1e-5, atol=1e-6)
    assert scope["config"]["hidden"] == 12


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_the_pytorch_load_of_the_doc_matches_the_model(trained):
    path, ds = trained
    scope = run_block(blocks()[1], path, ds)
    np.testing.assert_array_equal(scope["predicted"], expected(path, ds))


def test_the_checkpoint_table_lists_every_member_with_its_shape_and_dtype(trained):
    path, _ = trained
    text = DOC.read_text()
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            assert f"`{name}`" in text, name
            a = z[name]
            if name in ("W1", "b1", "W2", "b2"):
                row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
                assert str(a.dtype) in row
        assert z["format_version"] == checkpoint.FORMAT_VERSION
        assert set(json.loads(str(z["config"]))) <= set(re.findall(r"`(\w+)`", text))


def test_the_history_table_lists_every_table_and_column(tmp_path):
    db = tmp_path / "runs.sqlite"
    store.Store(db).close()
    text = DOC.read_text()
    assert f"({store.SCHEMA_VERSION} today)" in text
    with sqlite3.connect(db) as c:
        tables = [n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                          "AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            row = next((line for line in text.splitlines() if line.startswith(f"| `{table}`")),
                       None)
            assert row is not None, table
            for (col,) in c.execute(f"SELECT name FROM pragma_table_info('{table}')"):
                assert f"`{col}`" in row, (table, col)
