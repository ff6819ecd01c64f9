"""What a run costs the machine, from psutil: the run's process CPU %, resident memory and
threads, and the machine's load and free memory. The dashboard shows it on the Train tab and
in the race's leaderboard, and each epoch's figures are recorded in the history."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import psutil

MIN_INTERVAL = 0.5  # seconds between two real samples; a reader in between gets the last one


@dataclass(frozen=True)
class Usage:
    cpu_percent: float  # of one core: 200 is two cores busy
    rss_mb: float
    threads: int
    load1: float  # the machine's 1-minute load average
    free_mb: float  # the machine's available memory
    samples_per_s: float | None = None  # the run's training speed, where the caller knows it

    def line(self) -> str:
        """One line of at most 31 characters (the Train tab's left column at 80x24)."""
        return (f"cpu {self.cpu_percent:.0f}% {self.rss_mb:.0f}M {self.threads}t · "
                f"ld {self.load1:.1f} {self.free_mb / 1024:.1f}G")

    def short(self) -> str:
        """For a leaderboard cell: CPU and memory."""
        return f"{self.cpu_percent:.0f}% {self.rss_mb:.0f}M"


def machine_line() -> str:
    """The machine now, for a status line: 'load 1.23 · 3.4G free'."""
    free = psutil.virtual_memory().available / 2**30
    return f"load {os.getloadavg()[0]:.2f} · {free:.1f}G free"


class Sampler:
    """Samples one process (a run's child, or this process for `mnist-tui train`); a sample
    at most every MIN_INTERVAL seconds, the last one kept. Never raises: a process that is
    gone gives None."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.lock = threading.Lock()
        self.last: Usage | None = None
        self.at = 0.0
        try:
            self.process = psutil.Process(pid)
            self.process.cpu_percent(None)  # starts the CPU clock: the next call measures
        except psutil.Error:
            self.process = None

    def sample(self) -> Usage | None:
        with self.lock:
            now = time.monotonic()
            if self.process is None or now - self.at < MIN_INTERVAL:
                return self.last
            try:
                with self.process.oneshot():
                    cpu = self.process.cpu_percent(None)
                    rss = self.process.memory_info().rss / 2**20
                    threads = self.process.num_threads()
            except psutil.Error:
                self.process = None
                return self.last
            self.last = Usage(cpu, rss, threads, os.getloadavg()[0],
                              psutil.virtual_memory().available / 2**20)
            self.at = now
            return self.last
