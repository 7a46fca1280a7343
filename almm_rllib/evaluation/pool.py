"""The worker-process pool of the evaluation runner: started, interrupted and killed without leftovers.

:class:`WorkerPool` wraps a ``concurrent.futures.ProcessPoolExecutor`` so that

* its workers die with this process: each worker asks the Linux kernel for ``SIGKILL`` when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, through ctypes), so a ``kill -9`` of ``almm evaluate`` leaves no worker running
  on (without it they finish their chunk, ~300 MB each, orphaned). Elsewhere the workers notice the broken
  pipe after their current chunk, as before;
* Ctrl-C (SIGINT) and SIGTERM stop the run at once: the workers ignore SIGINT (the terminal sends it to the
  whole process group; the parent decides), and leaving the ``with`` block with an exception *terminates* the
  workers instead of waiting for their running chunks (``ProcessPoolExecutor.shutdown`` would wait: 54 s on
  600 seeds), and the process can exit right after, even when a worker was ended halfway through sending its
  result (:meth:`WorkerPool.terminate`). :func:`sigterm_as_interrupt` makes SIGTERM raise
  ``KeyboardInterrupt`` in the parent while the pool runs, so both signals take the same path.

The start method is ``fork`` when this process has loaded neither torch nor Ray (workers inherit the imported
modules and compiled kernels) and ``spawn`` otherwise (forking a process that runs OpenMP or Ray threads can
hang a child).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time

#: prctl option of <linux/prctl.h>: signal sent to this process when its parent thread exits.
PR_SET_PDEATHSIG = 1


def start_method() -> str:
    """``fork`` when this process has neither torch nor Ray loaded, else ``spawn``."""
    heavy = "torch" in sys.modules or "ray" in sys.modules
    if heavy or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    return "fork"


def die_with_parent(parent_pid: int) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux); exit now if it already has.

    Returns whether the request was registered (False off Linux or without libc)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent died before the request: nobody would send the signal
        os._exit(1)
    return ok


def _worker_init(parent_pid: int) -> None:
    # one worker per core: a checkpoint's torch (imported later, in this process) reads these at import
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not inherit the parent's handler
    die_with_parent(parent_pid)


class _QuietWakeup:
    """A pool manager thread's wake-up for the interpreter's exit hook that ignores a broken or closed pipe (the
    thread it would wake is then ending anyway)."""

    def __init__(self, wakeup) -> None:
        self._wakeup = wakeup

    def wakeup(self) -> None:
        with contextlib.suppress(OSError):
            self._wakeup.wakeup()


class WorkerPool:
    """A process pool whose workers never outlive the run (see the module docstring).

    Use as a context manager; :attr:`executor` is the ``ProcessPoolExecutor``. Leaving the block normally
    waits for the workers as usual; leaving it with an exception (KeyboardInterrupt included) terminates them.
    """

    def __init__(self, max_workers: int, *, method: str | None = None) -> None:
        ctx = multiprocessing.get_context(method or start_method())
        self.executor = cf.ProcessPoolExecutor(
            max_workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
        )

    def pids(self) -> list[int]:
        """The worker processes' ids (started so far)."""
        procs = getattr(self.executor, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None]

    def terminate(self, grace_s: float = 1.0) -> None:
        """Cancel what is queued and end every worker now: SIGTERM, then SIGKILL after ``grace_s``."""
        procs = list((getattr(self.executor, "_processes", None) or {}).values())
        # shutdown() forgets these
        thread = getattr(self.executor, "_executor_manager_thread", None)
        results = getattr(self.executor, "_result_queue", None)
        self.executor.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        deadline = time.monotonic() + grace_s
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(max(0.0, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(1.0)
        # A worker ended while it was sending a result (a chunk's steps: ~0.6 MB, written to the pipe in pieces)
        # leaves the pool's manager thread blocked reading the rest of that message, and the interpreter's exit
        # hook joins that thread: the process never exits. This process holds the last write end of the result
        # pipe once the workers are gone; closing it ends the read (EOF), the thread takes the pool as broken
        # and ends. Nothing in this process writes to that pipe.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()
        # concurrent.futures' exit hook wakes the pool's manager thread through a pipe that the killed workers'
        # shutdown may have broken or closed by then (an "Exception ignored ... BrokenPipeError / Bad file
        # descriptor" traceback at exit, seen under load): keep the wake-up, without the traceback
        wakeups = getattr(cf.process, "_threads_wakeups", None)
        if thread is not None and wakeups is not None and thread in wakeups:
            wakeups[thread] = _QuietWakeup(wakeups[thread])

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.executor.shutdown(wait=True)
        else:
            self.terminate()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C by :func:`sigterm_as_interrupt` (the CLI exits 143 on it, 130 on Ctrl-C)."""


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the block runs (main thread only), SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so the
    caller's cleanup for Ctrl-C also runs for a ``kill``, and the CLI still exits with SIGTERM's own code
    (143); the previous handler is put back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["Terminated", "WorkerPool", "die_with_parent", "sigterm_as_interrupt", "start_method"]
