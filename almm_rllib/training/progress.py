"""Tune callbacks of ``almm train`` / ``almm demo``: a progress line at a steady rate, a resumable progress.csv.

:class:`ProgressLines` prints one line every ``interval_s`` seconds while a run trains (from Tune's control
loop, which turns about every 0.1 s, so the rate does not depend on how long an iteration takes)::

    [train 0:01:40] steps 12,000/60,000 (20%)  iter 6  return -3.21  mm pnl 41.7  left ~0:06:40

``steps`` is ``num_env_steps_sampled_lifetime`` against its stop value (or the iteration against
``training_iteration``), ``return`` the mean episode return, ``mm pnl`` the mean market-making P&L of the
last episodes (``env_runners/mm/pnl``), ``left`` the time to the stop value at the rate of the results so far
(from this session's first result to the latest), less the time since the latest. Before the first result the line says what the run is waiting for.

:class:`ResumableCSVLogger` is Tune's ``CSVLoggerCallback`` except when a resumed trial appends to its
``progress.csv``: Tune then takes the columns of the first new result, in their order, without writing a
header, so the file's rows no longer match its header and pandas cannot read it. Here the appended rows keep
the header the file already has (keys the header lacks are left out, keys a result lacks are empty).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from ray.tune.callback import Callback
from ray.tune.logger import CSVLoggerCallback
from ray.tune.utils import flatten_dict

STEPS_KEY = "num_env_steps_sampled_lifetime"
ITER_KEY = "training_iteration"
RETURN_KEY = "env_runners/episode_return_mean"
PNL_KEY = "env_runners/mm/pnl"


def _hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _num(x) -> str:
    try:
        return f"{float(x):,.2f}"
    except (TypeError, ValueError):
        return "-"


class ProgressLines(Callback):
    """One progress line every ``interval_s`` seconds (see the module docstring).

    Args:
        stop: the experiment's stop mapping (its ``num_env_steps_sampled_lifetime`` or ``training_iteration``
            gives the target and the time left).
        interval_s: seconds between lines.
        label: the line's prefix.
        stream: where the lines go (default stdout).
    """

    def __init__(self, stop: dict, *, interval_s: float = 10.0, label: str = "train", stream=None) -> None:
        self.stop = dict(stop or {})
        self.interval_s = float(interval_s)
        self.label = label
        self.stream = stream
        self.t0 = time.monotonic()
        self.last_print = self.t0
        self.latest: dict = {}
        self.latest_t = self.t0
        self.first: tuple[float, float] | None = None  # (time, progress) of the first result of this session
        self.lines = 0

    def _target(self) -> tuple[str, float] | None:
        for key in (STEPS_KEY, ITER_KEY):
            if key in self.stop:
                return key, float(self.stop[key])
        return None

    def line(self, now: float) -> str:
        head = f"[{self.label} {_hms(now - self.t0)}]"
        r = self.latest
        if not r:
            return f"{head} starting Ray and the env runners; waiting for the first training iteration ..."
        parts = [f"steps {int(r.get(STEPS_KEY, 0)):,}"]
        target = self._target()
        left = ""
        if target is not None:
            key, total = target
            done = float(r.get(key, 0) or 0)
            if key == STEPS_KEY:
                parts[-1] += f"/{int(total):,} ({100 * min(done / total, 1):.0f}%)"
            if self.first is not None and done > self.first[1]:
                rate = (done - self.first[1]) / max(self.latest_t - self.first[0], 1e-9)
                left = f"left ~{_hms(max(0.0, (total - done) / rate - (now - self.latest_t)))}"
        parts.append(f"iter {int(r.get(ITER_KEY, 0))}")
        parts.append(f"return {_num(r.get(RETURN_KEY))}")
        parts.append(f"mm pnl {_num(r.get(PNL_KEY))}")
        if left:
            parts.append(left)
        return f"{head} " + "  ".join(parts)

    def _print(self, now: float) -> None:
        print(self.line(now), file=self.stream or sys.stdout, flush=True)
        self.last_print = now
        self.lines += 1

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.latest = flatten_dict(dict(result), delimiter="/")
        self.latest_t = time.monotonic()
        target = self._target()
        if self.first is None and target is not None:
            self.first = (time.monotonic(), float(self.latest.get(target[0], 0) or 0))

    def on_step_end(self, iteration, trials, **info) -> None:
        now = time.monotonic()
        if now - self.last_print >= self.interval_s:
            self._print(now)

    def on_experiment_end(self, trials, **info) -> None:
        if self.latest:
            self._print(time.monotonic())


class ResumableCSVLogger(CSVLoggerCallback):
    """``CSVLoggerCallback`` whose rows appended after a resume follow the file's existing header."""

    def log_trial_result(self, iteration: int, trial, result: dict):
        if trial not in self._trial_files:
            self._setup_trial(trial)
        if self._trial_csv.get(trial) is None and self._trial_continue.get(trial):
            header = _read_header(Path(trial.local_path, "progress.csv"))
            if header:
                self._trial_csv[trial] = csv.DictWriter(
                    self._trial_files[trial], header, extrasaction="ignore", restval=""
                )
        super().log_trial_result(iteration, trial, result)


def _read_header(path: Path) -> list[str] | None:
    try:
        with open(path, newline="") as f:
            return next(csv.reader(f), None)
    except OSError:
        return None


__all__ = ["ProgressLines", "ResumableCSVLogger"]
