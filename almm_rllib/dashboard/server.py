"""Serving the app: the ``streamlit run`` command line, and a server started in a subprocess and stopped by its
process id (what ``almm dashboard`` runs in the foreground, and what the browser tests run in the background)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from almm_rllib.dashboard.paths import RESULTS_ENV

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501
DEFAULT_HOST = "localhost"


def streamlit_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
    """The ``streamlit run`` command line that serves the app on ``host:port`` (headless, no usage stats, no
    file watcher, and no full garbage collection after each run: Streamlit's ``gc.collect(2)`` after every
    script or fragment run walks the whole heap (numba, pandas, plotly, torch) and took two thirds of the live
    mode's server time; Python's own generational collector still runs)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--runner.postScriptGC", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DashboardServer:
    """``streamlit run`` of the app in a subprocess on a free localhost port, for tests and benchmarks.

    Use as a context manager: on entry it waits until ``/_stcore/health`` answers ``ok``; on exit it stops the
    process it started, by its id (SIGTERM, then SIGKILL after ``grace_s``), and its children if any.
    """

    def __init__(
        self, results: Path, *, port: int | None = None, log: Path | None = None, timeout_s: float = 180.0
    ):
        self.results = Path(results)
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = log
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen | None = None

    def start(self) -> DashboardServer:
        env = {**os.environ, RESULTS_ENV: str(self.results)}
        out = open(self.log, "w") if self.log else subprocess.DEVNULL
        self._out = out
        self.proc = subprocess.Popen(
            streamlit_command(self.port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(APP.parents[2]),
        )
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the dashboard server exited with status {self.proc.returncode} (log: {self.log})"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the dashboard server did not answer on {self.url} within {self.timeout_s:.0f} s")

    def children(self) -> list[int]:
        """Process ids of the server's descendants (read from /proc; empty where there is none)."""
        if self.proc is None:
            return []
        kids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
            except OSError:
                continue
            found = [int(x) for x in text.split()]
            kids += found
            todo += found
        return kids

    def stop(self, grace_s: float = 10.0) -> None:
        if self.proc is None:
            return
        kids = self.children()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace_s)
        for pid in kids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if self._out is not subprocess.DEVNULL:
            self._out.close()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
