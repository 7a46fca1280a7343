"""The market the page's controls describe: presets, and the mapping of its parameters onto an ``EnvConfig``.

Parameters and their ranges (anything else is refused with a message naming the parameter):

* **preset**: one of :data:`PRESETS` (the default order-book market; the same with fair-price jumps and
  square-root impact; the Avellaneda-Stoikov stylized market);
* **phase**: a curriculum phase (``almm_rllib.env.PHASES``) or ``None`` (the market as configured: on the
  order-book market the volatility regimes switch);
* **duration**: episode length, 10-500 simulated seconds (one step per second);
* **initial price**: $50-200 (the fair price at reset);
* **volatility**: 0.01-0.10, *daily relative* volatility of the fair price. It sets the **medium** regime's
  volatility per sqrt-second to ``daily / sqrt(day_seconds)`` (``day_seconds``: ``core.market_facts.SESSION_SECONDS``,
  the 6.5-hour session), and scales the low and high regimes by the same factor, so their ratios stay as
  configured (0.5x and 2x the medium one by default). The default market's medium regime (1.6e-4 per
  sqrt-second) is a daily volatility of 0.0245 (:data:`REFERENCE_DAILY_VOL`); a pinned phase then picks the
  low, medium or high regime, ``regime_switching`` moves between all three. The stylized market's ``sigma``
  (money per sqrt-second) is scaled by the same factor ``daily / REFERENCE_DAILY_VOL``;
* **latency**: 0-1,000 ms, the constant delay of the agent's messages;
* **seed**: >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from almm_rllib.core.config import ConfigError
from almm_rllib.core.impact import ImpactConfig
from almm_rllib.core.market_config import JumpConfig, LatencyConfig, MarketConfig
from almm_rllib.core.market_facts import SESSION_SECONDS
from almm_rllib.dashboard.paths import DashboardError
from almm_rllib.env import PHASES, EnvConfig

#: Seconds in the trading day that turns a daily volatility into one per sqrt-second.
DAY_SECONDS = SESSION_SECONDS
#: Daily volatility of the default market's middle regime.
REFERENCE_DAILY_VOL = sorted(MarketConfig().regimes.volatility)[1] * math.sqrt(DAY_SECONDS)

DURATION_RANGE = (10.0, 500.0)
PRICE_RANGE = (50.0, 200.0)
VOL_RANGE = (0.01, 0.10)
LATENCY_MS_RANGE = (0.0, 1000.0)

#: Market presets: name -> (description, factory).
PRESETS: dict[str, tuple[str, Callable[[], MarketConfig]]] = {
    "order book": ("the default order-book market: Poisson flow, three volatility regimes", MarketConfig),
    "order book, jumps and impact": (
        "the order-book market with fair-price jumps (one a minute, 5 bp) and square-root impact",
        lambda: MarketConfig(jumps=JumpConfig(rate=1 / 60, size_std=5e-4), impact=ImpactConfig(model="sqrt")),
    ),
    "stylized (Avellaneda-Stoikov)": (
        "the stylized market of Avellaneda and Stoikov (2008): random-walk mid, fills with intensity A exp(-k d)",
        lambda: MarketConfig(model="stylized"),
    ),
}
#: The phase choice that leaves the market as configured.
NO_PHASE = "as configured"
PHASE_CHOICES: tuple[str, ...] = (NO_PHASE, *PHASES)


def _in_range(name: str, value: float, lo: float, hi: float, unit: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DashboardError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise DashboardError(f"{name} must be between {lo:g}{unit} and {hi:g}{unit}, got {value!r}")
    return v


def market_config(preset: str, initial_price: float, daily_vol: float, latency_ms: float) -> MarketConfig:
    """The preset's market at this price, volatility and latency (see the module docstring)."""
    if preset not in PRESETS:
        raise DashboardError(f"unknown market preset {preset!r}; choose one of {', '.join(PRESETS)}")
    price = _in_range("initial price", initial_price, *PRICE_RANGE, " $")
    vol = _in_range("volatility", daily_vol, *VOL_RANGE)
    lat = _in_range("latency", latency_ms, *LATENCY_MS_RANGE, " ms")
    base = PRESETS[preset][1]()
    factor = vol / REFERENCE_DAILY_VOL
    try:
        if base.model == "stylized":
            st = base.stylized
            mc = base.replace(stylized=st.replace(sigma=st.sigma * factor))
        else:
            rc = base.regimes
            mc = base.replace(regimes=rc.replace(volatility=tuple(v * factor for v in rc.volatility)))
        return mc.replace(initial_price=price, latency=LatencyConfig(model="constant", mean=lat / 1000.0))
    except ConfigError as e:
        raise DashboardError(f"market: {e}") from e


def env_config(
    preset: str,
    phase: str | None,
    duration_s: float,
    initial_price: float,
    daily_vol: float,
    latency_ms: float,
) -> EnvConfig:
    """The single-agent env config of the page's market parameters (``phase``: a curriculum phase, or
    ``None`` / :data:`NO_PHASE` for the market as configured)."""
    dur = _in_range("episode duration", duration_s, *DURATION_RANGE, " s")
    if phase in (None, NO_PHASE):
        phase = None
    elif phase not in PHASES:
        raise DashboardError(f"unknown phase {phase!r}; choose one of {', '.join(PHASE_CHOICES)}")
    mc = market_config(preset, initial_price, daily_vol, latency_ms)
    try:
        return EnvConfig(market=mc, episode_seconds=dur, dt=1.0, phase=phase, info_level="full")
    except ConfigError as e:
        raise DashboardError(f"environment: {e}") from e


def check_seed(seed) -> int:
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise DashboardError(f"seed must be a whole number >= 0, got {seed!r}") from None
    if s < 0 or s != float(seed):
        raise DashboardError(f"seed must be a whole number >= 0, got {seed!r}")
    return s
