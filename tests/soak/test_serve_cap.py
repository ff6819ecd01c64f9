"""`serve --max-sessions`, and the flags given before `serve` reaching every session.
A websocket client (aiohttp, which textual-serve uses) plays the browser tabs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import aiohttp
import pytest
from helpers import marked_processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode().split("\0")


async def _tabs(port: int, marker: str, server_pid: int) -> tuple[list[str], str, bool]:
    url = f"http://127.0.0.1:{port}/ws?width=80&height=24"
    async with aiohttp.ClientSession() as http:
        first = await http.ws_connect(url)
        deadline = time.monotonic() + 30
        apps = []
        while not apps and time.monotonic() < deadline:
            apps = [p for p in marked_processes(marker) if p != server_pid
                    and "mnist_tui" in " ".join(_cmdline(p)) and "serve" not in _cmdline(p)]
            await asyncio.sleep(0.2)
        cmd = _cmdline(apps[0]) if apps else []
        second = await http.ws_connect(url)
        msg = await asyncio.wait_for(second.receive(), 10)
        text = msg.data.decode() if msg.type == aiohttp.WSMsgType.BINARY else repr(msg)
        closed = (await asyncio.wait_for(second.receive(), 10)).type in (
            aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        await first.close()
        await second.close()
    return cmd, text, closed


@pytest.mark.slow
def test_a_tab_over_the_cap_is_told_why_and_flags_reach_each_session(tiny_dir, tmp_path):
    marker = uuid.uuid4().hex
    port = _free_port()
    db = tmp_path / "h.sqlite"
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", "--db", str(db), "--hidden", "32", "serve",
         "--port", str(port), "--max-sessions", "1", "--data-dir", str(tiny_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "MNIST_TUI_TEST_MARK": marker})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        cmd, text, closed = asyncio.run(_tabs(port, marker, server.pid))
        assert "--db" in cmd and cmd[cmd.index("--db") + 1] == str(db), cmd
        assert "--hidden" in cmd and cmd[cmd.index("--hidden") + 1] == "32", cmd
        assert "--data-dir" in cmd and cmd[cmd.index("--data-dir") + 1] == str(tiny_dir), cmd
        assert "--max-sessions 1" in text and "Close another tab" in text
        assert closed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)
