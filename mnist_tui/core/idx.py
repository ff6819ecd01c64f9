"""The IDX format of MNIST's files: read them (bounded, gzipped or not), verify their SHA-256,
parse them strictly. Every defect raises `DataError` naming the file.

IDX (LeCun et al.): a big-endian header (magic 0x00000803 for images, 0x00000801 for labels,
then the item count, then rows and columns for images), then one byte per pixel or label.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from pathlib import Path

import numpy as np

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
ROWS = COLS = 28
PIXELS = ROWS * COLS


class DataError(Exception):
    """A data file is missing, unreadable or malformed; the message names the file."""


# --- parsing -------------------------------------------------------------------------------


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Parse uncompressed IDX bytes strictly: images -> (N, 784) uint8, labels -> (N,) uint8."""
    if len(raw) < 8:
        raise DataError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[0:4], "big")
    if magic == IMAGE_MAGIC:
        if len(raw) < 16:
            raise DataError(f"{name}: too short for an IDX image header ({len(raw)} bytes)")
        count, rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (4, 8, 12))
        if (rows, cols) != (ROWS, COLS):
            raise DataError(f"{name}: images are {rows}x{cols}, expected {ROWS}x{COLS}")
        header, item = 16, PIXELS
    elif magic == LABEL_MAGIC:
        count = int.from_bytes(raw[4:8], "big")
        header, item = 8, 1
    else:
        raise DataError(
            f"{name}: bad magic number 0x{magic:08x} "
            f"(expected 0x{IMAGE_MAGIC:08x} for images or 0x{LABEL_MAGIC:08x} for labels)"
        )
    expected = header + count * item
    if len(raw) != expected:
        raise DataError(
            f"{name}: {len(raw)} bytes, but its header promises {count} items = {expected} bytes"
        )
    arr = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if magic == IMAGE_MAGIC:
        return arr.reshape(count, PIXELS)
    if count and int(arr.max()) > 9:
        bad = int(np.argmax(arr > 9))
        raise DataError(f"{name}: label {int(arr[bad])} at index {bad} is not a digit 0-9")
    return arr


MAX_ITEMS = 1_000_000  # images or labels in one IDX file: MNIST has 60,000
MAX_GZ_BYTES = 256 * 2**20  # a compressed IDX file of MAX_ITEMS images is about 160 MB at most


MAX_RAW_BYTES = 16 + MAX_ITEMS * PIXELS  # an uncompressed IDX file of MAX_ITEMS images


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (a FIFO is refused without
    blocking), or DataError naming it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DataError(f"{path}: not a regular file (a directory, FIFO, device or socket)")
        if st.st_size > max_bytes:
            raise DataError(f"{path}: {st.st_size:,} bytes, larger than any IDX file; refused")
        os.set_blocking(fd, True)
        content = f.read()
    if not content:
        raise DataError(f"{path}: file is empty")
    return content


def read_gz(path: Path) -> bytes:
    """Return the uncompressed bytes of a gzip IDX file, or raise DataError naming it.

    Bounded: only a regular file of a sane size is read (a FIFO is refused without blocking),
    the IDX header is read first and a count over MAX_ITEMS refused, and inflating stops as
    soon as the output passes what that header promises."""
    compressed = _read_regular(path, MAX_GZ_BYTES)
    if compressed[:2] != b"\x1f\x8b":
        raise DataError(f"{path}: not a gzip file")
    try:
        return _inflate_idx(compressed, path)
    except EOFError:
        raise DataError(f"{path}: truncated gzip (the file ends early)") from None
    except zlib.error as e:
        raise DataError(f"{path}: corrupt gzip ({e})") from None


def read_raw(path: Path) -> bytes:
    """The bytes of an unpacked (gunzipped) IDX file, bounded as read_gz is."""
    return _read_regular(path, MAX_RAW_BYTES)


def verify(path: Path, raw: bytes, sha: str) -> None:
    """Raise DataError unless the uncompressed bytes have the pinned SHA-256."""
    got = hashlib.sha256(raw).hexdigest()
    if got != sha:
        raise DataError(f"{path}: SHA-256 mismatch (got {got[:12]}..., want {sha[:12]}...)")


def _inflate_idx(compressed: bytes, path: Path) -> bytes:
    """The gzip's content, at most the size its IDX header promises. The header is inflated
    first, then the whole member in one call bounded by that size (`max_length`): zlib runs
    without the GIL and fills one buffer, where pieces of 1 MB joined into a bytearray and
    copied out cost a third more (the training images: 210 ms against 160)."""
    limit = _promised_size(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(compressed, 16),
                           path)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflate.decompress(compressed, limit + 1)
    while True:
        if len(out) > limit:
            raise DataError(f"{path}: inflates beyond the {limit:,} bytes its header promises; "
                            "refused")
        if not inflate.eof:  # no input left (else max_length stopped it, past the limit)
            raise EOFError
        rest = inflate.unused_data
        if not rest.strip(b"\0"):
            return out
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another gzip member follows
        out += inflate.decompress(rest, limit + 1 - len(out))


def _promised_size(head: bytes, path: Path) -> int:
    """The whole file's size as its IDX header declares it (any header too short or of an
    unknown kind is left to parse_idx, which names the defect)."""
    if len(head) < 8:
        return len(head)
    magic, count = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:8], "big")
    if magic not in (IMAGE_MAGIC, LABEL_MAGIC):
        raise DataError(f"{path}: bad magic number 0x{magic:08x} (expected 0x{IMAGE_MAGIC:08x} "
                        f"for images or 0x{LABEL_MAGIC:08x} for labels)")
    if count > MAX_ITEMS:
        raise DataError(f"{path}: header declares {count:,} items, more than {MAX_ITEMS:,}; "
                        "refused")
    return 16 + count * PIXELS if magic == IMAGE_MAGIC else 8 + count
