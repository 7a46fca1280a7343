"""A live session: one :class:`~almm_rllib.evaluation.LiveEpisode` with start, pause, single step, reset and a
speed control, advanced by the page's timer without blocking it.

The simulated clock follows the wall clock: each :meth:`LiveSession.tick` advances ``speed`` simulated seconds
per wall second elapsed since the previous tick (whole steps; the fraction carries over), so the episode runs
at the chosen speed whatever the page's refresh rate. A tick never runs more than :data:`MAX_TICK_WALL_S` of
wall time's worth of simulation (a page that was hidden does not come back to a finished episode).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any

import numpy as np

from almm_rllib.dashboard.paths import DashboardError
from almm_rllib.env import EnvConfig
from almm_rllib.evaluation.live import REWARD_COMPONENTS, LiveEpisode
from almm_rllib.evaluation.policies import Policy
from almm_rllib.results import schema as S

#: Simulated seconds per wall second the speed control offers.
SPEEDS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Most wall seconds one tick catches up on.
MAX_TICK_WALL_S = 1.0
#: While running, the metrics row (every episode metric of the steps so far: ~50-100 ms, the costliest part
#: of an update) is recomputed at most this often; the chart follows every update.
METRICS_EVERY_S = 1.0
#: Ticks over which :meth:`LiveSession.update_rate` is measured.
RATE_WINDOW = 20
#: The metrics row: (label, episode-metric column or live field, format).
METRICS_ROW: tuple[tuple[str, str, str], ...] = (
    ("P&L ($)", S.TOTAL_PNL, "{:,.2f}"),
    ("Sharpe so far", S.SHARPE, "{:.2f}"),
    ("Inventory (shares)", S.FINAL_INVENTORY, "{:,.0f}"),
    ("Fills", S.N_FILLS, "{:,d}"),
    ("Spread captured ($/share)", S.SPREAD_CAPTURED, "{:.4f}"),
    ("Adverse selection ($/share)", S.ADVERSE_SELECTION, "{:.4f}"),
)


@dataclasses.dataclass
class LiveSession:
    """What the Live Simulation page keeps between reruns (in ``st.session_state``)."""

    policy: Policy
    config: EnvConfig
    seed: int
    speed: float = 10.0
    running: bool = False
    episode: LiveEpisode | None = None
    last_wall: float | None = None
    carry_s: float = 0.0
    updates: int = 0
    tick_times: collections.deque = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=RATE_WINDOW)
    )

    def __post_init__(self) -> None:
        self.reset()

    # ----------------------------------------------------------------------------------------- controls
    def reset(self) -> None:
        """A fresh episode on the same seed, paused."""
        self.episode = LiveEpisode(self.policy, self.config, self.seed, run_id="live")
        self.running = False
        self.last_wall = None
        self.carry_s = 0.0
        self.updates = 0
        self.tick_times.clear()
        self._metrics = None

    def start(self, now: float) -> None:
        if self.episode.done:
            raise DashboardError("the episode is over: press Reset to run it again")
        self.running = True
        self.last_wall = now

    def pause(self) -> None:
        self.running = False
        self.last_wall = None
        self.tick_times.clear()

    def single_step(self) -> int:
        """One step (pauses first)."""
        self.pause()
        return self.episode.step(1)

    def set_speed(self, speed: float) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise DashboardError(f"speed must be > 0 simulated seconds per second, got {speed!r}")
        self.speed = float(speed)

    def tick(self, now: float) -> int:
        """Advance by the simulated time due since the last tick; returns the steps taken. Stops running at
        the end of the episode."""
        if not self.running or self.episode.done:
            self.running = False
            return 0
        wall = 0.0 if self.last_wall is None else min(max(now - self.last_wall, 0.0), MAX_TICK_WALL_S)
        self.last_wall = now
        due = self.carry_s + wall * self.speed
        n = int(due // self.config.dt)
        self.carry_s = due - n * self.config.dt
        taken = self.episode.step(n) if n > 0 else 0
        if self.episode.done:
            self.running = False
        self.updates += 1
        self.tick_times.append(now)
        return taken

    def update_rate(self) -> float:
        """Ticks per wall second over the last :data:`RATE_WINDOW` ticks while running (NaN before two)."""
        t = self.tick_times
        if len(t) < 2 or t[-1] <= t[0]:
            return float("nan")
        return (len(t) - 1) / (t[-1] - t[0])

    # -------------------------------------------------------------------------------------------- views
    @property
    def time(self) -> float:
        return self.episode.time

    @property
    def status(self) -> str:
        if self.episode.done:
            return "finished"
        if self.running:
            return "running"
        return "paused" if self.episode.k else "ready"

    def metrics_row(self, now: float | None = None) -> list[tuple[str, str]]:
        """The metrics row as ``(label, formatted value)`` (``-`` before the first step or when undefined).

        While running (``now`` given), a row at most :data:`METRICS_EVERY_S` old is reused: the charts follow
        every update, the row of episode metrics once a second. Paused or finished, it is always current."""
        k = self.episode.k
        cached = self._metrics
        if cached is not None and (
            cached[0] == k or (self.running and now is not None and now - cached[1] < METRICS_EVERY_S)
        ):
            return cached[2]
        m = self.episode.metrics()
        out = []
        for label, key, fmt in METRICS_ROW:
            v = m.get(key)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                out.append((label, "-"))
            else:
                out.append((label, fmt.format(int(v) if fmt.endswith("d}") else float(v))))
        self._metrics = (k, now if now is not None else float("-inf"), out)
        return out

    def view(self, levels: int = 10) -> dict[str, Any]:
        """Everything the live chart draws, as plain arrays (no frames: the page redraws it several times a
        second): per step ``time``, ``mid``, the agent's ``bid``/``ask`` quotes, ``pnl``, ``inventory`` and the
        cumulative reward components (``cum_<component>``); the fills (``fill_time``, ``fill_side``,
        ``fill_price``); the L2 book now (``depth``: side, price, shares, own_shares) and the quotes now."""
        ep = self.episode
        out: dict[str, Any] = {
            "time": ep.series(S.TIME),
            "mid": ep.series(S.MID),
            "bid": ep.series(S.BID_PRICE),
            "ask": ep.series(S.ASK_PRICE),
            "pnl": ep.series(S.PNL),
            "inventory": ep.series(S.INVENTORY),
        }
        for c in REWARD_COMPONENTS:
            out[f"cum_{c}"] = np.cumsum(ep.series(c))
        f = ep.fill_array()
        out["fill_time"], out["fill_side"], out["fill_price"] = f[:, 0], f[:, 1], f[:, 2]
        out["depth"] = ep.depth(levels)
        out["depth_note"] = "no L2 depth view for this market"
        out["bid_now"] = ep.info.get("bid_price")
        out["ask_now"] = ep.info.get("ask_price")
        out["tick"] = ep.core.market_config.tick_size
        return out
