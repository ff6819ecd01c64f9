"""Data files read in a fresh process or trained on through the CLI: hostile IDX files, unpacked data folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tui.core import data
from mnist_tui.core.data import FILES, IMAGE_MAGIC

DATA_PROBE = """
import json, resource, sys, time
from pathlib import Path
from mnist_tui.core import data
import tracemalloc
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # ru_maxrss is a high-water mark that imports may already have passed
t0 = time.perf_counter()
try:
    data.read_gz(Path(sys.argv[1]))
    error = None
except data.DataError as e:
    error = str(e)
print(json.dumps({"error": error, "seconds": time.perf_counter() - t0,
                  "grown_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "traced_peak_kb": tracemalloc.get_traced_memory()[1] / 1024}))
"""


def read_in_a_fresh_process(path) -> dict:
    import json
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", DATA_PROBE, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)

    case = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
    print(f"\nFIGURE {case}: {result['seconds']:.3f} s, RSS peak +{result['grown_kb'] / 1024:.1f} MB, "
          f"allocated peak {result['traced_peak_kb'] / 1024:.2f} MB")
    return result


def _gzip_of(header: bytes, zeros: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(header)]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(packer.compress(block))
    return b"".join(parts) + packer.flush()


def _idx_header(count: int) -> bytes:
    return b"".join(int(v).to_bytes(4, "big") for v in (IMAGE_MAGIC, count, 28, 28))


@pytest.mark.parametrize("kind, words", [
    ("bomb", "inflates beyond"), ("huge count", "more than 1,000,000"), ("sparse", "larger than"),
])
def test_hostile_data_files_are_refused_fast_and_small(tmp_path, kind, words):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    if kind == "bomb":  # 1 GB of zeros behind a header that promises 100 images
        path.write_bytes(_gzip_of(_idx_header(100), 1 << 30))
        assert path.stat().st_size < 2 << 20
    elif kind == "huge count":
        path.write_bytes(_gzip_of(_idx_header(10**9), 0))
    else:
        with open(path, "wb") as f:
            f.write(b"\x1f\x8b")
            f.truncate(2 * 2**30)
    r = read_in_a_fresh_process(path)
    assert r["error"] and words in r["error"], r
    assert r["seconds"] < 1.0 and r["grown_kb"] < 100 * 1024, r


SEVEN_ZIP = {n: n.removesuffix(".gz").replace("-idx", ".idx") for n in FILES}  # train-images.idx3-ubyte


@pytest.fixture(scope="module")
def raw_bytes() -> dict[str, bytes]:
    repo_copy = Path(__file__).resolve().parents[2] / "data" / "mnist"
    return {n: data.read_gz(repo_copy / n) for n in FILES}


def _unpack(directory: Path, raw: dict[str, bytes], names: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in raw.items():
        (directory / names[name]).write_bytes(blob)
    return directory


@pytest.mark.real_data
def test_train_on_a_data_dir_of_unpacked_files_as_a_user_does(tmp_path, raw_bytes):
    """As found: `mnist-tui train --data-dir DIR` with gunzipped files said '….gz: file not found'."""
    raw = _unpack(tmp_path / "raw", raw_bytes, SEVEN_ZIP)
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "train", "--data-dir", str(raw),
                        "--epochs", "1", "--hidden", "16", "--batch-size", "512"],
                       capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "epoch" in r.stdout.lower() and "Traceback" not in r.stderr
