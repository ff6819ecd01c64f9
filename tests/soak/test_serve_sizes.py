"""`serve` and the terminal sizes a browser asks for (issue 21, item 9). A websocket client
(aiohttp, as textual-serve's page) plays the tabs against a real `mnist-tui serve`.

As found: a session asking for 30000x30000 (the websocket URL's width/height, or a `resize`
message) grew its app past 9 GB within a minute and went on after the tab closed; a negative
size killed the tab's app (IndexError); after 4 tabs opened and closed within a second, the
next connections were told the server was full for about 4 s."""

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
import psutil
import pytest
from helpers import marked_processes, write_dataset

RSS_LIMIT = 600 * 2**20  # a session at the largest size it can have stays far below this


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A real `mnist-tui serve` on 127.0.0.1, its sessions marked so they can be found."""

    def __init__(self, tiny_dir, max_sessions: int = 4) -> None:
        self.marker = uuid.uuid4().hex
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mnist_tui", "serve", "--port", str(self.port),
             "--max-sessions", str(max_sessions), "--data-dir", str(tiny_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, "MNIST_TUI_TEST_MARK": self.marker})
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline and self.proc.poll() is None, "serve did not start"
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)

    def url(self, width, height) -> str:
        return f"http://127.0.0.1:{self.port}/ws?width={width}&height={height}"

    def apps(self) -> list[int]:
        """The sessions' app processes: the server's children (each app's own children, its
        fork server and runs, are counted with it)."""
        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children()
                    if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.Error:
            return []

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        for pid in marked_processes(self.marker):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served(tiny, tmp_path_factory):
    """One server for the module (starting one is seconds of CI's time)."""
    server = Served(write_dataset(tmp_path_factory.mktemp("tiny"), tiny))
    yield server
    server.close()


async def _new_app(served: Served, before: set[int], seconds: float = 30) -> int:
    """The app process a new tab started (earlier tabs' apps may still be ending)."""
    deadline = time.monotonic() + seconds
    while not (new := set(served.apps()) - before):
        assert time.monotonic() < deadline, "no app started"
        await asyncio.sleep(0.1)
    (app,) = new
    return app


async def _until_drawn(ws, seconds: float = 60) -> bytes:
    """Read the tab's terminal output until the dashboard's footer shows (it has drawn)."""
    out = b""
    deadline = time.monotonic() + seconds
    while b"Quit" not in out:
        left = deadline - time.monotonic()
        assert left > 0, out[-500:]
        msg = await asyncio.wait_for(ws.receive(), left)
        assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg
        if msg.type == aiohttp.WSMsgType.BINARY:
            out += msg.data
    return out


def _high_water(pid: int) -> int:
    """The process's peak RSS so far (Linux's VmHWM), or 0 where /proc does not say."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return 0


async def _drain(ws, seconds: float) -> None:
    """Read the tab's output for `seconds`; the socket must stay open."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await asyncio.wait_for(ws.receive(), left)
        except asyncio.TimeoutError:
            return
        assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg


async def _peak_rss(pids: list[int], ws, seconds: float) -> int:
    """The largest RSS any of `pids` (and their children) reached over `seconds`, sampled
    every 0.1 s while the tab's output is drained (a stalled reader would slow the app)."""
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                peak = max(peak, proc.memory_info().rss, _high_water(pid),
                           *(c.memory_info().rss for c in proc.children(recursive=True)))
            except psutil.Error:
                pass
        try:
            await asyncio.wait_for(ws.receive(), 0.1)
        except asyncio.TimeoutError:
            pass
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("how", ["url", "resize"])
def test_a_30000x30000_session_stays_small(served, how):
    async def tab() -> int:
        async with aiohttp.ClientSession() as http:
            size = (30000, 30000) if how == "url" else (80, 24)
            before = set(served.apps())
            async with http.ws_connect(served.url(*size)) as ws:
                await _until_drawn(ws)
                if how == "resize":
                    await ws.send_json(["resize", {"width": 30000, "height": 30000}])
                app = await _new_app(served, before)
                with open(f"/proc/{app}/limits") as f:
                    limit = next(line for line in f if line.startswith("Max data size"))
                assert limit.split()[3] == str(SESSION_MEMORY), limit  # bounded, even if not clamped
                return await _peak_rss([app], ws, 8)

    from mnist_tui.serve import SESSION_MEMORY

    peak = asyncio.run(tab())
    print(f"peak RSS of the served session at 30000x30000 ({how}): {peak / 2**20:.0f} MiB")
    assert peak < RSS_LIMIT


@pytest.mark.slow
@pytest.mark.parametrize("how", ["url", "resize"])
def test_a_negative_size_leaves_the_tabs_app_alive(served, how):
    async def tab() -> bytes:
        async with aiohttp.ClientSession() as http:
            size = (-5, -3) if how == "url" else (80, 24)
            async with http.ws_connect(served.url(*size)) as ws:
                if how == "resize":
                    await _until_drawn(ws)
                    await ws.send_json(["resize", {"width": -5, "height": -3}])
                await _drain(ws, 5)  # the app starts (or takes the resize) at the tiny size
                await ws.send_json(["resize", {"width": 80, "height": 24}])
                await ws.send_json(["stdin", "2"])  # a key: the Matrix tab draws
                out = b""
                deadline = time.monotonic() + 20
                while b"Matrix" not in out and time.monotonic() < deadline:
                    msg = await asyncio.wait_for(ws.receive(), deadline - time.monotonic())
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        break
                    out += msg.data
                return out

    out = asyncio.run(tab())
    assert b"Matrix" in out, out[-500:]


@pytest.mark.slow
def test_closed_tabs_free_their_slots_at_once(tiny_dir):
    """4 tabs (the cap) open and close within a second; the next 4 are all accepted."""
    async def tabs() -> list[bytes]:
        async with aiohttp.ClientSession() as http:
            first = [await http.ws_connect(served.url(80, 24)) for _ in range(4)]
            await asyncio.sleep(0.5)
            for ws in first:
                await ws.close()
            second = [await http.ws_connect(served.url(80, 24)) for _ in range(4)]

            async def first_output(ws) -> bytes:  # a refusal, or the app's first frame
                msg = await asyncio.wait_for(ws.receive(), 60)
                return msg.data if msg.type == aiohttp.WSMsgType.BINARY else b""

            answers = await asyncio.gather(*(first_output(ws) for ws in second))
            for ws in second:
                await ws.close()
            return answers

    served = Served(tiny_dir)  # its own: no earlier tab's app is still ending here
    try:
        answers = asyncio.run(tabs())
    finally:
        served.close()
    refused = [a for a in answers if b"already runs" in a]
    assert not refused, refused[0]
