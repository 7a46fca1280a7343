"""Helpers of the CLI tests: run ``almm`` in a subprocess, find its process tree, check nothing of it survives.

Processes are followed by PID through ``/proc/<pid>/stat`` (parent ids), never by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def almm(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m almm_rllib.cli ARGS`` to the end (the real entry point, in its own interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "almm_rllib.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def start_almm(*args: str, env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start ``almm ARGS`` in a session of its own (a terminal's Ctrl-C reaches its whole process group)."""
    out = open(log, "w") if log else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "almm_rllib.cli", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        start_new_session=True,
    )


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a live process, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[1]), rest[0]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pids) -> set[int]:
    """Those of ``pids`` still running (zombies, already dead but not yet reaped, do not count)."""
    out = set()
    for p in pids:
        st = _stat(p)
        if st is not None and st[1] not in ("Z", "X"):
            out.add(p)
    return out


def wait_gone(pids, timeout: float) -> set[int]:
    """Wait up to ``timeout`` s for every pid to end; returns those still alive."""
    deadline = time.monotonic() + timeout
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left


def kill_all(pids) -> None:
    """Clean-up of a failed test: SIGKILL exactly these pids."""
    for p in alive(pids):
        try:
            os.kill(p, 9)
        except OSError:
            pass


def wait_for(pred, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False
