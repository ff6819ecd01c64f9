"""Unpacked MNIST (issue 21, item 7): a --data-dir holding the four gunzipped IDX files, under
the names gunzip leaves (`train-images-idx3-ubyte`) or 7-Zip's (`train-images.idx3-ubyte`), is
accepted once each file's SHA-256 matches the pinned one of the uncompressed bytes; and the
copy shipped inside the package is found through importlib.resources and verified too."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pytest

from mnist_tui.core import data
from mnist_tui.core.data import FILES, DataError

GUNZIP = {n: n.removesuffix(".gz") for n in FILES}  # train-images-idx3-ubyte
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


def test_the_shipped_copy_is_a_package_resource():
    shipped = data.package_data_dir()
    assert shipped == Path(str(importlib.resources.files("mnist_tui").joinpath("data", "mnist")))
    assert data.has_files(shipped)


@pytest.mark.real_data
@pytest.mark.parametrize("names", [GUNZIP, SEVEN_ZIP], ids=["gunzip", "7-zip"])
def test_a_data_dir_of_unpacked_idx_files_loads(tmp_path, raw_bytes, names):
    raw = _unpack(tmp_path / "raw", raw_bytes, names)
    assert data.find_data_dir(raw, {}) == raw
    ds = data.load(raw, env={})
    assert ds.n_train == 60000 and ds.n_test == 10000
    assert ds.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(ds.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.real_data
def test_an_unpacked_file_that_is_not_mnists_is_refused_by_its_sha256(tmp_path, raw_bytes):
    raw = _unpack(tmp_path / "raw", raw_bytes, GUNZIP)
    tampered = bytearray(raw_bytes["t10k-labels-idx1-ubyte.gz"])
    tampered[-1] = (tampered[-1] + 1) % 10  # still a valid IDX file: only the hash can tell
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(tampered))
    with pytest.raises(DataError, match="SHA-256") as e:
        data.load(raw, env={})
    assert "t10k-labels-idx1-ubyte" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.real_data
def test_a_missing_file_names_every_name_it_looked_for(tmp_path, raw_bytes):
    raw = _unpack(tmp_path / "raw", raw_bytes, GUNZIP)
    (raw / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="from --data-dir") as e:
        data.find_data_dir(raw, {})
    assert "train-labels.idx1-ubyte" in str(e.value) and "train-labels-idx1-ubyte.gz" in str(e.value)


@pytest.mark.real_data
def test_a_damaged_shipped_copy_is_refused_by_its_sha256(tmp_path, raw_bytes, monkeypatch):
    import gzip

    shipped = tmp_path / "site-packages" / "mnist_tui" / "data" / "mnist"
    shipped.mkdir(parents=True)
    for name, blob in raw_bytes.items():
        if name == "t10k-labels-idx1-ubyte.gz":
            blob = blob[:-1] + bytes([(blob[-1] + 1) % 10])  # a valid file, the wrong bytes
        (shipped / name).write_bytes(gzip.compress(blob, compresslevel=1))
    monkeypatch.setattr(data, "PACKAGE_DATA_DIR", shipped)
    with pytest.raises(DataError, match="SHA-256 mismatch.*damaged; reinstall"):
        data.load(env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "MNIST_TUI_OFFLINE": "1"})
