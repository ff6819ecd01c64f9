"""Hostile and huge checkpoints refused fast and small, each tried in a fresh process or through the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mnist_tui.core import checkpoint
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.model import Perceptron

HIST = {"epoch": [1, 2], "train_loss": [0.5, 0.3], "train_acc": [0.8, 0.9], "test_loss": [0.4, 0.3],
        "test_acc": [0.85, 0.9], "lr": [0.1, 0.05], "seconds": [1.0, 1.1]}


@pytest.fixture
def saved(tmp_path):
    model = Perceptron(12, seed=5)
    path = checkpoint.save(tmp_path / "run.npz", model, TrainConfig(hidden=12, seed=5), HIST)
    return path, model


PROBE = """
import json, resource, sys, time
from mnist_tui.core import checkpoint
import tracemalloc
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # ru_maxrss is a high-water mark that imports may already have passed
t0 = time.perf_counter()
try:
    checkpoint.load(sys.argv[1])
    error = None
except checkpoint.CheckpointError as e:
    error = str(e)
print(json.dumps({"error": error, "seconds": time.perf_counter() - t0,
                  "grown_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "traced_peak_kb": tracemalloc.get_traced_memory()[1] / 1024}))
"""


def load_in_a_fresh_process(path) -> dict:
    import json
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    import os

    case = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
    print(f"\nFIGURE {case}: {result['seconds']:.3f} s, RSS peak +{result['grown_kb'] / 1024:.1f} MB, "
          f"allocated peak {result['traced_peak_kb'] / 1024:.2f} MB")
    return result


def npy_member(z, name: str, header: dict, payload: bytes = b"", version=(1, 0)) -> None:
    """A .npy member with any header at all (numpy would refuse to write the hostile ones)."""
    text = repr(header).encode("latin1")
    size_bytes = 2 if version == (1, 0) else 4
    pad = -(6 + 2 + size_bytes + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    head = b"\x93NUMPY" + bytes(version) + len(text).to_bytes(size_bytes, "little") + text
    z.writestr(name + ".npy", head + payload)


def write_npz_with(path, saved_path, replace: dict, compress=None):
    """A copy of a good checkpoint with some members replaced by raw builders."""
    import zipfile

    with zipfile.ZipFile(saved_path) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            name = info.filename.removesuffix(".npy")
            if name not in replace:
                dst.writestr(info, src.read(info))
        for name, build in replace.items():
            build(dst, name)
    return path


def zeros_member(size: int):
    """A deflated member of `size` zero bytes, written in 1 MB pieces (a zip bomb)."""
    import zipfile

    def build(z, name):
        info = zipfile.ZipInfo(name + ".npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(block)
    return build


def _text_member(z, name: str, text: str) -> None:
    z.writestr(name + ".npy", _npy_bytes(np.array(text)))


def _npy_bytes(a: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize("kind, words", [
    ("zip bomb", "inflates to"),
    ("huge shape", "has shape (1000000000000,)"),
    ("W1 for another size", "W1 has shape (784, 100000)"),
    ("long header", "array header"),
    ("float64 1e300", "too large for float32"),
    ("NaN history", "history test_acc holds NaN"),
    ("deep config", "nested too deeply"),
    ("list config", "must be a JSON object"),
    ("unknown member", "unknown member"),
    ("object array", "pickled objects"),
])
def test_hostile_checkpoints_are_refused_fast_and_small(saved, tmp_path, kind, words):
    import json as json_
    import os

    good, _ = saved
    path = tmp_path / "bad.npz"
    f8 = {"descr": "<f8", "fortran_order": False}
    builders = {
        "zip bomb": {"W1": zeros_member(300 << 20)},
        "huge shape": {"history_test_acc": lambda z, n: npy_member(z, n, {**f8, "shape": (10**12,)})},
        "W1 for another size": {"W1": lambda z, n: npy_member(z, n, {**f8, "shape": (784, 100000)})},
        "long header": {"b2": lambda z, n: npy_member(
            z, n, {**f8, "shape": (10,), "x": "y" * 20000}, bytes(80), version=(2, 0))},
        "float64 1e300": {"W1": lambda z, n: npy_member(
            z, n, {**f8, "shape": (784, 12)}, np.full((784, 12), 1e300).tobytes())},
        "NaN history": {"history_test_acc": lambda z, n: npy_member(
            z, n, {**f8, "shape": (2,)}, np.array([0.5, np.nan]).tobytes())},
        "deep config": {"config": lambda z, n: _text_member(z, n, "[" * 40_000 + "]" * 40_000)},
        "list config": {"config": lambda z, n: _text_member(z, n, json_.dumps([1, 2]))},
        "unknown member": {"extra": lambda z, n: npy_member(z, n, {**f8, "shape": (1,)}, bytes(8))},
        "object array": {"b2": lambda z, n: npy_member(
            z, n, {"descr": "|O", "fortran_order": False, "shape": (10,)}, bytes(80))},
    }[kind]
    write_npz_with(path, good, builders)
    r = load_in_a_fresh_process(path)
    if os.environ.get("MNIST_TUI_FIGURES"):  # for the hardening table: kind, seconds, memory
        with open(os.environ["MNIST_TUI_FIGURES"], "a") as out:
            out.write(json_.dumps({"kind": kind, **r}) + "\n")
    assert r["error"] and words in r["error"], r["error"]
    assert r["seconds"] < 1.0, r
    assert r["grown_kb"] < 100 * 1024 and r["traced_peak_kb"] < 100 * 1024, r


def test_a_sparse_huge_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "sparse.npz"
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04")
        f.truncate(2 * 2**30)
    r = load_in_a_fresh_process(path)
    assert "larger than any checkpoint" in r["error"] and r["seconds"] < 1.0


def huge_checkpoint(path, value=1e30, hidden=8, w2=None):
    model = Perceptron(hidden, seed=1)
    model.W1[:] = value
    model.W2[:] = value if w2 is None else w2
    return checkpoint.save(path, model, TrainConfig(hidden=hidden), {})


@pytest.mark.parametrize("cmd", [
    ["--load", "{ck}"],  # the dashboard: refused before it opens
    ["explain", "{ck}", "--sample", "3", "--format", "json"],
    ["explain", "{ck}", "--sample", "3"],
    ["units", "{ck}"],
    ["units", "{ck}", "--format", "json"],
])
def test_the_cli_refuses_a_huge_checkpoint_in_one_line(tmp_path, tiny_dir, cmd):
    ck = huge_checkpoint(tmp_path / "huge.npz")
    argv = [a.format(ck=ck) for a in cmd]
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "mnist_tui", *argv,
                        "--data-dir", str(tiny_dir)], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == "" and r.stderr.count("\n") == 1 and "overflow" in r.stderr
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr
