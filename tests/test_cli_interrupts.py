"""Ctrl-C, SIGTERM and SIGKILL on ``almm evaluate`` through the real entry point: the run stops at once with its
worker processes, a kill leaves no worker running, and the next run into the folder clears what it left.

Processes are found and checked by PID (``/proc``), never by name.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.cli_procs import alive, descendants, kill_all, start_almm, wait_for, wait_gone

#: a run long enough to be interrupted: 2 workers, one baseline, many default-market episodes
LONG_RUN = ("evaluate", "static_spread", "--seeds", "400", "--workers", "2", "--no-report", "--no-progress")


def _start_with_workers(tmp_path, name: str):
    proc = start_almm(*LONG_RUN, "--out", str(tmp_path), "--run-name", name, log=tmp_path / f"{name}.log")
    # wait until both workers run and the run folder holds its first temporary file (work has started)
    ok = wait_for(
        lambda: len(descendants(proc.pid)) >= 2 and any((tmp_path / name).glob(".*.tmp")), timeout=120
    )
    if not ok:
        tree = descendants(proc.pid)
        proc.kill()
        kill_all(tree)
        pytest.fail(f"the evaluation did not start its workers: {(tmp_path / f'{name}.log').read_text()}")
    return proc, descendants(proc.pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_evaluate_and_its_workers_at_once(tmp_path, sig):
    proc, tree = _start_with_workers(tmp_path, "run")
    try:
        t0 = time.monotonic()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # a terminal's Ctrl-C: the whole foreground process group
        else:
            os.kill(proc.pid, sig)
        rc = proc.wait(timeout=30)
        took = time.monotonic() - t0
        left = wait_gone(tree, timeout=2.0)
    finally:
        kill_all(tree | {proc.pid})
    log = (tmp_path / "run.log").read_text()
    assert rc == (130 if sig == signal.SIGINT else 143), log  # 128 + the signal, as a shell reports it
    assert took < 3.0, f"took {took:.1f} s to stop"
    assert not left, f"worker processes survived: {left}"
    assert "Traceback" not in log, log
    assert "almm evaluate: interrupted" in log
    # no temporary file and no empty run folder is left behind
    assert not (tmp_path / "run").exists(), list((tmp_path / "run").iterdir())


def test_sigkill_leaves_no_worker_and_next_run_clears_temp_files(tmp_path):
    proc, tree = _start_with_workers(tmp_path, "run")
    assert len(tree) >= 2
    stale = list((tmp_path / "run").glob(".*.tmp"))
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = wait_gone(tree, timeout=3.0)
    finally:
        kill_all(tree)
    assert not left, f"workers outlived the SIGKILLed parent: {left}"
    assert stale and all(p.exists() for p in stale)  # the kill left them (nothing could remove them)

    from tests.cli_procs import almm

    res = almm(
        "evaluate",
        "static_spread",
        "--seeds",
        "1",
        "--workers",
        "1",
        "--no-report",
        "--no-progress",
        "--out",
        str(tmp_path),
        "--run-name",
        "run",
    )
    assert res.returncode == 0, res.stderr
    assert not any(p.exists() for p in stale)
    assert not list((tmp_path / "run").glob(".*.tmp"))
    assert (tmp_path / "run" / "version.json").is_file()
    assert not alive(tree)
