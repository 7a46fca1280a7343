"""Configuration of the replay market (``market: {model: replay, ...}`` in the env config)."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from almm_rllib.core.config import Config, check
from almm_rllib.core.market_config import MarketConfig


@dataclasses.dataclass(frozen=True)
class ReplayMarketConfig(Config):
    """A recorded trading day replayed through the book, the agent's orders in the real queues
    (``almm_rllib.env.replay``). Units: seconds after midnight for times, dollars for prices."""

    model: Literal["replay"] = "replay"
    """Selects the replay market."""
    data: str = ""
    """Folder of the LOBSTER message/orderbook files."""
    ticker: str = ""
    """Ticker of the day to replay (one message/orderbook pair of that ticker in ``data``)."""
    window: tuple[float, ...] | None = None
    """[start, end] of the trading-day window episodes are drawn from, in seconds after midnight (as in the
    file; 34200 = 9:30). None: the whole file."""
    stream: str | None = None
    """The prepared replay stream (``.npz``); filled in by the evaluation layer's resolver from ``data`` and
    ``ticker``. Leave unset in YAML."""
    latency: float = 0.005
    """Seconds from the agent's decision to its order or cancel reaching the book (constant)."""
    queue_power: float = 3.0
    """n of the power probabilistic queue model used where the file cannot tell the agent's place."""
    tick_size: float = 0.01
    """Dollars per tick (NASDAQ: 0.01)."""
    lot_size: int = 100
    """Shares per lot of the agent's quotes."""
    typical_spread_ticks: float = MarketConfig.typical_spread_ticks
    """The day's typical bid-ask spread in ticks; like the simulated market's, it sets the env's default action
    box (``EnvConfig.min_offset_ticks``/``max_offset_ticks``). Default: the AMZN 2012-06-21 figure, the same as
    the default simulated market (the ``amzn_2012_06_21`` preset), so that a policy trained on the default
    simulator has the replay env's action space. Set it to the replayed day's figure for another day."""
    vol_ref: float = 1e-4
    """Reference relative volatility per sqrt-second dividing observation 3 (fixed, not taken from the day)."""

    def _validate(self) -> None:
        if self.window is not None:
            check(len(self.window) == 2, "window", f"must be [start, end], got {list(self.window)}")
            lo, hi = self.window
            check(
                math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi <= 86_400,
                "window",
                f"must be [start, end] seconds after midnight with start < end, got {list(self.window)}",
            )
        check(
            math.isfinite(self.latency) and self.latency >= 0, "latency", f"must be >= 0, got {self.latency}"
        )
        check(
            math.isfinite(self.queue_power) and self.queue_power > 0,
            "queue_power",
            f"must be > 0, got {self.queue_power}",
        )
        check(math.isfinite(self.tick_size) and self.tick_size > 0, "tick_size", "must be > 0")
        check(self.lot_size >= 1, "lot_size", f"must be >= 1, got {self.lot_size}")
        check(
            math.isfinite(self.typical_spread_ticks) and self.typical_spread_ticks > 0,
            "typical_spread_ticks",
            f"must be > 0, got {self.typical_spread_ticks}",
        )
        check(math.isfinite(self.vol_ref) and self.vol_ref > 0, "vol_ref", "must be > 0")
