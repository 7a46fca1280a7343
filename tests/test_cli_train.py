"""``almm train`` / ``almm demo`` through the real entry point: progress lines, Ctrl-C, ``--resume``.

Small on purpose (the smoke experiment, a few hundred env steps): every run starts its own Ray. Processes are
followed by PID, never by name.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.cli_procs import descendants, kill_all, start_almm, wait_for, wait_gone

pytestmark = [pytest.mark.ray, pytest.mark.slow]

#: Ray of each run on its own temp dir; one CPU each for the driver's Ray (the smoke runner takes 0.5)
RAY_ENV = {"RAY_TMPDIR": "/tmp/almm_cli_ray", "RAY_DEDUP_LOGS": "0"}


def _progress_csv(storage):
    found = sorted(storage.glob("smoke/PPO_*/progress.csv"))
    return found[0] if found else None


def _rows(storage) -> int:
    p = _progress_csv(storage)
    if p is None or not p.stat().st_size:
        return 0
    return max(0, len(p.read_text().strip().splitlines()) - 1)


def _interrupt_after_first_iteration(proc, storage, log):
    """Wait for the first training result, then Ctrl-C the run (its whole process group, as a terminal does);
    returns (exit code, the run's process tree, log text)."""
    ok = wait_for(lambda: _rows(storage) >= 1, timeout=600, step=0.5)
    tree = descendants(proc.pid)
    if not ok:
        proc.kill()
        kill_all(tree)
        pytest.fail(f"no training result came: {log.read_text()[-3000:]}")
    try:
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=180)
        left = wait_gone(tree, timeout=30)
    finally:
        kill_all(descendants(proc.pid) | tree)
    return rc, left, log.read_text()


def test_demo_ctrl_c_stops_instead_of_evaluating(tmp_path):
    storage, out = tmp_path / "tune", tmp_path / "results"
    log = tmp_path / "demo.log"
    proc = start_almm(
        "demo",
        "--experiment",
        "experiments/smoke.yaml",
        "--set",
        "stop.training_iteration=50",
        "--storage",
        str(storage),
        "--out",
        str(out),
        "--seeds",
        "2",
        "--num-cpus",
        "2",
        "--progress-s",
        "1",
        env=RAY_ENV,
        log=log,
    )
    rc, left, text = _interrupt_after_first_iteration(proc, storage, log)
    assert rc == 130, text[-3000:]
    assert not left, f"processes of the run survived the interrupt: {left}"
    assert "nothing evaluated" in text and "--resume" in text
    assert "[2/2]" not in text
    assert not out.exists() or not any(out.iterdir())
