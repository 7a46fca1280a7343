"""The market the page's controls describe: the named presets, the stylized market and the replayed LOBSTER day,
and the mapping of the page's parameters onto an ``EnvConfig``.

Markets (:data:`MARKETS`):

* the order-book presets of ``almm_rllib.core.market_config.PRESETS`` by their names (``market: {preset:
  NAME}`` in a YAML): ``amzn_2012_06_21`` (the default: AMZN's day of 21 June 2012 as an order-flow model) and
  ``generic_large_tick`` (the generic $100 large-tick market this project started with);
* ``stylized (Avellaneda-Stoikov)``: the stylized market of Avellaneda and Stoikov (2008), random-walk mid and
  fills with intensity A exp(-k d) (``MarketConfig(model="stylized")``);
* :data:`REPLAY`: the recorded AMZN day (LOBSTER sample, 21 June 2012) replayed through the book, the agent's
  orders in the real queues (``market: {model: replay, ...}``, ``almm_rllib.env.replay``). Its files are read
  from ``$ALMM_LOBSTER_DIR``, else ``shared/data/lobster`` beside the repository; the seed draws the episode's
  start inside the trading day (9:30-16:00). The day sets its own prices and volatility: the price,
  volatility and phase controls do not apply to it.

Parameters and their ranges (anything else is refused with a message naming the parameter):

* **phase**: a curriculum phase (``almm_rllib.env.PHASES``) or ``None`` (the market as configured: on the
  order-book markets the volatility regimes switch); not for the replayed day;
* **duration**: episode length, 10-500 simulated seconds (one step per second);
* **initial price**: the fair price at reset, $50-200, widened to take in the preset's own price level
  (AMZN: $222.70), which is the default (:func:`defaults`). Tick size, spread and flow stay the preset's
  (in ticks and lots), so a lower price makes the same tick relatively coarser;
* **volatility**: 0.01-0.10, *daily relative* volatility of the fair price. It sets the preset's **medium**
  regime's volatility per sqrt-second to ``daily / sqrt(day_seconds)`` (``day_seconds``:
  ``core.market_facts.SESSION_SECONDS``, the 6.5-hour session) and scales the low and high regimes by the same
  factor, so their ratios stay the preset's. The default is the preset's own (:func:`reference_daily_vol`:
  about 0.014 a day for AMZN's medium regime, 0.0245 for ``generic_large_tick``'s 1.6e-4 per sqrt-second),
  which reproduces the preset exactly. A pinned phase then picks the low, medium or high regime,
  ``regime_switching`` moves between all three. The stylized market's ``sigma`` (money per sqrt-second) is
  scaled by ``daily / reference_daily_vol`` of the default market;
* **latency**: 0-1,000 ms, the constant delay of the agent's messages (the replay's ``latency`` too);
* **seed**: >= 0.
"""

from __future__ import annotations

import math
from pathlib import Path

from almm_rllib.core.config import ConfigError
from almm_rllib.core.market_config import DEFAULT_PRESET, PRESETS, LatencyConfig, MarketConfig
from almm_rllib.core.market_facts import SESSION_SECONDS
from almm_rllib.dashboard.paths import DashboardError
from almm_rllib.env import PHASES, EnvConfig
from almm_rllib.env.replay_config import ReplayMarketConfig
from almm_rllib.results.market_report.real_data import default_lobster_dir

#: Seconds in the trading day that turns a daily volatility into one per sqrt-second.
DAY_SECONDS = SESSION_SECONDS

DURATION_RANGE = (10.0, 500.0)
PRICE_RANGE = (50.0, 200.0)
VOL_RANGE = (0.01, 0.10)
LATENCY_MS_RANGE = (0.0, 1000.0)

STYLIZED = "stylized (Avellaneda-Stoikov)"
REPLAY = "replay: AMZN 2012-06-21 (LOBSTER)"
#: The replayed day's ticker (the LOBSTER sample day in shared/data/lobster).
REPLAY_TICKER = "AMZN"
#: The page's markets: name -> description (the default first).
MARKETS: dict[str, str] = {
    DEFAULT_PRESET: "AMZN on 21 June 2012 as an order-flow model (the default market preset)",
    **{
        name: "the generic $100 large-tick order-book market (preset)"
        if name == "generic_large_tick"
        else "order-book market preset"
        for name in PRESETS
        if name != DEFAULT_PRESET
    },
    STYLIZED: "the stylized market of Avellaneda and Stoikov (2008): random-walk mid, fills with intensity "
    "A exp(-k d)",
    REPLAY: "the recorded AMZN day replayed through the book, the agent's orders in the real queues; the seed "
    "draws the episode's start",
}
#: The phase choice that leaves the market as configured.
NO_PHASE = "as configured"
PHASE_CHOICES: tuple[str, ...] = (NO_PHASE, *PHASES)


def _check_market(name: str) -> str:
    if name not in MARKETS:
        raise DashboardError(f"unknown market {name!r}; choose one of {', '.join(MARKETS)}")
    return name


def base_market(name: str) -> MarketConfig:
    """The simulated market ``name`` as its preset defines it (not for :data:`REPLAY`)."""
    if _check_market(name) == REPLAY:
        raise DashboardError("the replayed day is not a simulated market")
    if name == STYLIZED:
        return MarketConfig(model="stylized")
    return MarketConfig.preset(name)


def reference_daily_vol(mc: MarketConfig) -> float:
    """Daily relative volatility of ``mc``'s medium (middle) regime."""
    vols = sorted(mc.regimes.volatility)
    return vols[len(vols) // 2] * math.sqrt(DAY_SECONDS)


#: Daily volatility of the default market's medium regime.
REFERENCE_DAILY_VOL = reference_daily_vol(MarketConfig())


def defaults(name: str) -> tuple[float, float] | None:
    """(initial price, daily volatility) that reproduce market ``name`` as defined; None for the replay."""
    if _check_market(name) == REPLAY:
        return None
    mc = base_market(name)
    return mc.initial_price, reference_daily_vol(MarketConfig() if name == STYLIZED else mc)


def price_range(name: str) -> tuple[float, float]:
    """The initial price's range for market ``name``: $50-200, widened to take in the preset's own price."""
    d = defaults(name)
    p0 = d[0] if d else PRICE_RANGE[0]
    return min(PRICE_RANGE[0], p0), max(PRICE_RANGE[1], p0)


def _in_range(name: str, value: float, lo: float, hi: float, unit: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DashboardError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise DashboardError(f"{name} must be between {lo:g}{unit} and {hi:g}{unit}, got {value!r}")
    return v


def lobster_dir() -> Path:
    """The LOBSTER folder of the replayed day (``$ALMM_LOBSTER_DIR``, else ``shared/data/lobster`` beside the
    repository); a message naming both when neither exists."""
    d = default_lobster_dir()
    if d is None:
        raise DashboardError(
            "replay market: no LOBSTER folder found: set ALMM_LOBSTER_DIR to a folder holding the "
            f"{REPLAY_TICKER} message and orderbook files (e.g. AMZN_2012-06-21_34200000_57600000_message_1.csv), "
            "or put them in shared/data/lobster beside the repository"
        )
    return d


def market_config(
    name: str, initial_price: float, daily_vol: float, latency_ms: float
) -> MarketConfig | ReplayMarketConfig:
    """Market ``name`` at this price, volatility and latency (see the module docstring; the replay takes only
    the latency)."""
    lat = _in_range("latency", latency_ms, *LATENCY_MS_RANGE, " ms")
    if _check_market(name) == REPLAY:
        return ReplayMarketConfig(data=str(lobster_dir()), ticker=REPLAY_TICKER, latency=lat / 1000.0)
    price = _in_range("initial price", initial_price, *price_range(name), " $")
    vol = _in_range("volatility", daily_vol, *VOL_RANGE)
    base = base_market(name)
    factor = vol / defaults(name)[1]
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
    name: str,
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
    if phase is not None and name == REPLAY:
        raise DashboardError(
            f"the replayed day has no curriculum phases (its volatility is the day's): choose {NO_PHASE!r}"
        )
    mc = market_config(name, initial_price, daily_vol, latency_ms)
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
