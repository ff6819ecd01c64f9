"""Where the live runs' hosts listen (core/host.py): the folder `$XDG_RUNTIME_DIR/mnist-tui/`
(else `/tmp/mnist-tui-<uid>/`), 0700 and ours, refused otherwise; and the authkey beside the
sockets (32 random bytes, 0600, made once), which every client and host proves it holds."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

KEY_BYTES = 32


class HostError(Exception):
    """A run cannot be reached (one line for the user)."""


def folder(env: dict[str, str] | None = None, create: bool = True) -> Path:
    """The sockets' folder, made 0700 if needed; refuses one that is not ours or is open to
    others (someone could have made it first in /tmp)."""
    env = os.environ if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR")
    path = Path(runtime) / "mnist-tui" if runtime else Path(f"/tmp/mnist-tui-{os.getuid()}")
    if create:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700, parents=True)
    try:
        st = path.stat()
    except PermissionError as e:
        raise HostError(f"{path}: permission denied") from e
    except FileNotFoundError as e:
        raise HostError(f"no run is going ({path} does not exist)") from e
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise HostError(f"{path}: permission denied (not ours, or open to others)")
    return path


def authkey(where: Path) -> bytes:
    """The shared secret, made once (exclusively, 0600) and read after."""
    key_path = where / "authkey"
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process is writing it right now
            try:
                key = key_path.read_bytes()
            except PermissionError as e:
                raise HostError(f"{key_path}: permission denied") from e
            if len(key) == KEY_BYTES:
                return key
            time.sleep(0.01)
        raise HostError(f"{key_path} is damaged: remove it") from None
    key = os.urandom(KEY_BYTES)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key
