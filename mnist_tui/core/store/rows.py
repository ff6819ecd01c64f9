"""Rows as the readers use them, read defensively: values of the wrong type shown as missing
(the row says why in "damaged"), control characters stripped from every string; paths as the
history stores and shows them."""

from __future__ import annotations

import json
import math
import os
import re
import socket

from .connection import _alive

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
MAX_JSON_DEPTH = 20


def path_value(path: str | os.PathLike | None) -> str | bytes | None:
    """A file path as the history stores it: absolute; text when it is valid UTF-8, else the
    file system's own bytes (`os.fsencode`, a BLOB), so a Latin-1 name like b'r\\xe9sultats'
    is kept exactly instead of failing to bind (sqlite3 refuses a str with surrogates)."""
    if path is None:
        return None
    text = os.path.abspath(os.fspath(path))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def show_path(value: str | bytes | os.PathLike) -> str:
    """A path as text that any UTF-8 stream can print: bytes that are not UTF-8 (stored or
    surrogate-escaped) become U+FFFD, as `ls` shows them with '?'."""
    raw = value if isinstance(value, bytes) else os.fsencode(value)
    return raw.decode("utf-8", errors="replace")


def clean_text(value) -> str:
    """A string safe to print: control characters (ANSI escapes included) removed."""
    return CONTROL.sub("", value if isinstance(value, str) else str(value))


def _clean_json(value, depth: int = 0):
    if depth > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value, damaged: list[str], what: str, whole: bool = False):
    """A finite number (an int if `whole`), or None, noting in `damaged` what was wrong."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if not whole:
            return float(value)
        if float(value).is_integer() and abs(value) < 2**63:
            return int(value)
    if f"bad {what}" not in damaged:
        damaged.append(f"bad {what}")
    return None


def _parse_json(text, damaged: list[str], what: str, kind: type):
    if text is None:
        return None
    try:
        value = _clean_json(json.loads(text)) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, kind):
        damaged.append(f"bad {what}")
        return None
    return value


def _confusion(text, damaged: list[str]) -> list[list[int]] | None:
    """A stored 10x10 confusion matrix of ints, or None (noted in `damaged` if it was bad).
    Ints only, so no string to clean: this skips _clean_json's walk, which was most of the
    time of listing 10,000 runs."""
    if text is None:
        return None
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, list) and len(value) == 10 and all(
            type(r) is list and len(r) == 10 for r in value) and all(
            type(v) is int for r in value for v in r):
        return value
    damaged.append("bad confusion matrix")
    return None


def clean_run(row: dict) -> dict:
    """A runs row as the readers use it: values of the wrong type become None (the row notes
    why in "damaged"), strings lose control characters, a dead process's run reads "lost"."""
    bad: list[str] = []
    run = {"id": row["id"], "damaged": bad}
    run["config"] = _parse_json(row["config"], bad, "config", dict) or {}
    if row["config"] is None:
        bad.append("no config")
    for key in ("started_at", "finished_at", "best_test_acc", "seconds"):
        run[key] = _number(row[key], bad, key.replace("_", " "))
    if run["started_at"] is not None and not 0 <= run["started_at"] < 1e11:
        bad.append("bad started at")
        run["started_at"] = None
    status = clean_text(row["status"]) if row["status"] is not None else "?"
    if status == "running" and row.get("host") == socket.gethostname() and row.get("pid") \
            and not _alive(row["pid"]):
        status = "lost"
    run["status"] = status
    checkpoint = row.get("checkpoint")
    run["checkpoint"] = clean_text(show_path(checkpoint)) if isinstance(
        checkpoint, (str, bytes)) and checkpoint else None
    run["confusion"] = _confusion(row.get("confusion"), bad)
    run["study"] = clean_text(row["study"]) if row.get("study") is not None else None
    run["trial"] = row.get("trial") if isinstance(row.get("trial"), int) else None
    run["host"] = clean_text(row["host"]) if isinstance(row.get("host"), str) else None
    return run
