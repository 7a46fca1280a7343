"""The evaluation's worker pool (evaluation/pool.py) ends for good when it is interrupted, even when a worker is
killed in the middle of sending its result: the process can exit at once afterwards.

The scenario runs in a subprocess of its own with a timeout, so that a pool that does not end fails the test
instead of hanging the test session at its exit.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from almm_rllib.evaluation.pool import WorkerPool
from tests.cli_procs import ROOT, wait_for


def _half_sent_result(flag: str) -> None:
    """In a worker: begin a 1 MB message on the pool's result pipe (header and 100 bytes), as a worker does that
    is killed while sending a large result, then wait to be killed."""
    frame = sys._getframe()
    while frame.f_code.co_name != "_process_worker":  # concurrent.futures' worker loop, which holds the queue
        frame = frame.f_back
    pipe = frame.f_locals["result_queue"]._writer
    os.write(pipe.fileno(), struct.pack("!i", 1 << 20) + b"x" * 100)
    Path(flag).touch()
    time.sleep(120)


def interrupt_during_a_result(flag: str) -> None:
    """Interrupt the pool while a worker is sending its result (in the subprocess); the process must then exit."""
    with contextlib.suppress(KeyboardInterrupt), WorkerPool(2, method="fork") as pool:
        pool.executor.submit(_half_sent_result, flag)
        assert wait_for(lambda: os.path.exists(flag), timeout=60), "the worker did not start its result"
        raise KeyboardInterrupt  # what Ctrl-C or SIGTERM raises in the evaluation's main thread
    print("interrupted", flush=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method, Linux")
def test_interrupted_pool_exits_although_a_worker_died_sending_its_result(tmp_path):
    flag = str(tmp_path / "flag")
    code = f"from tests.test_worker_pool import interrupt_during_a_result as run; run({flag!r})"
    try:
        res = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the process did not exit after the pool was interrupted: {e.stdout} {e.stderr}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "interrupted"
    assert "Traceback" not in res.stderr and "Exception" not in res.stderr, res.stderr
