"""Rule-based baselines: static spread, volatility-adaptive spread, random quotes.

These reason directly in the action's units: offsets in ticks from the mid, sizes in lots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from almm_rllib.baselines.base import MarketView, Strategy, offsets_to_action
from almm_rllib.core.config import Config, check


def inventory_fraction(view: MarketView) -> float:
    """``inventory / inventory_limit`` (signed, unclipped); 0 when the view has no usable limit (inf or not
    > 0)."""
    limit = view.inventory_limit
    if math.isfinite(limit) and limit > 0.0:
        return view.inventory / limit
    return 0.0


# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaticSpreadParams(Config):
    """Parameters of :class:`StaticSpread`."""

    half_spread_ticks: float = 2.0
    """Distance of each quote from the mid, ticks (>= 0)."""
    size: int = 1
    """Size of each quote, lots (>= 1)."""

    def _validate(self) -> None:
        h = self.half_spread_ticks
        check(math.isfinite(h) and h >= 0, "half_spread_ticks", f"must be finite and >= 0, got {h}")
        check(self.size >= 1, "size", f"must be >= 1, got {self.size}")


class StaticSpread(Strategy):
    """Quotes ``mid -/+ half_spread_ticks`` with a fixed size, whatever happens."""

    name = "static_spread"
    params_cls = StaticSpreadParams

    def act(self, view: MarketView) -> np.ndarray:
        p = self.params
        return offsets_to_action(p.half_spread_ticks, p.half_spread_ticks, p.size, p.size)


# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VolatilityAdaptiveParams(Config):
    """Parameters of :class:`VolatilityAdaptive`."""

    base_ticks: float = 1.0
    """Half-spread when the volatility is zero, ticks (>= 0)."""
    vol_mult: float = 1.0
    """``c``: ticks of half-spread per tick of the one-step standard deviation ``sigma * sqrt(dt)`` (>= 0)."""
    skew_ticks: float = 2.0
    """Shift of both quotes against the inventory at ``inventory == inventory_limit``, ticks (>= 0); linear
    in ``inventory / inventory_limit``."""
    reduce_only_threshold: float = 0.8
    """At or beyond this fraction of the inventory limit (> 0; > 1 never triggers), quote only the side that
    reduces the position."""
    size: int = 1
    """Size of each quote, lots (>= 1)."""
    sigma: float | None = None
    """Volatility, money per sqrt-second (>= 0); None uses the view's online estimate."""

    def _validate(self) -> None:
        for f in ("base_ticks", "vol_mult", "skew_ticks"):
            x = getattr(self, f)
            check(math.isfinite(x) and x >= 0, f, f"must be finite and >= 0, got {x}")
        r = self.reduce_only_threshold
        check(r > 0, "reduce_only_threshold", f"must be > 0 (inf: never), got {r}")
        check(self.size >= 1, "size", f"must be >= 1, got {self.size}")
        s = self.sigma
        check(s is None or (math.isfinite(s) and s >= 0), "sigma", f"must be finite and >= 0, got {s}")


class VolatilityAdaptive(Strategy):
    """Half-spread ``h = base_ticks + vol_mult * sigma * sqrt(dt) / tick_size`` (ticks), skewed against the
    inventory: with ``x = inventory / inventory_limit`` and ``s = skew_ticks * x`` the offsets are
    ``bid = h + s``, ``ask = h - s`` (long: both quotes move down). At ``x >= reduce_only_threshold`` no bid,
    at ``x <= -reduce_only_threshold`` no ask. Without a usable limit (inf) ``x = 0``."""

    name = "volatility_adaptive"
    params_cls = VolatilityAdaptiveParams

    def act(self, view: MarketView) -> np.ndarray:
        p = self.params
        sigma = self._sigma(view, p.sigma)
        half = p.base_ticks + p.vol_mult * sigma * math.sqrt(view.dt) / view.tick_size
        x = inventory_fraction(view)
        skew = p.skew_ticks * x
        bid_size = 0 if x >= p.reduce_only_threshold else p.size
        ask_size = 0 if x <= -p.reduce_only_threshold else p.size
        return offsets_to_action(half + skew, half - skew, bid_size, ask_size)


# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomParams(Config):
    """Parameters of :class:`RandomQuotes`."""

    min_offset_ticks: float = 1.0
    """Lower bound of each offset, ticks (finite; may be negative)."""
    max_offset_ticks: float = 20.0
    """Upper bound of each offset, ticks (>= min_offset_ticks)."""
    min_size: int = 1
    """Smallest size, lots (>= 0; 0 = sometimes no quote)."""
    max_size: int = 5
    """Largest size, lots (>= min_size, >= 1)."""
    seed: int = 0
    """Seed of ``np.random.default_rng`` at construction (>= 0); ``reset(seed)`` re-seeds."""

    def _validate(self) -> None:
        lo, hi = self.min_offset_ticks, self.max_offset_ticks
        check(math.isfinite(lo), "min_offset_ticks", f"must be finite, got {lo}")
        check(math.isfinite(hi), "max_offset_ticks", f"must be finite, got {hi}")
        check(hi >= lo, "max_offset_ticks", f"must be >= min_offset_ticks ({lo}), got {hi}")
        check(self.min_size >= 0, "min_size", f"must be >= 0, got {self.min_size}")
        check(self.max_size >= 1, "max_size", f"must be >= 1, got {self.max_size}")
        check(
            self.max_size >= self.min_size,
            "max_size",
            f"must be >= min_size ({self.min_size}), got {self.max_size}",
        )
        check(self.seed >= 0, "seed", f"must be >= 0, got {self.seed}")


class RandomQuotes(Strategy):
    """Offsets uniform on ``[min_offset_ticks, max_offset_ticks]`` and sizes uniform on the integers
    ``min_size..max_size``, drawn independently per side and step from ``np.random.default_rng(seed)``."""

    name = "random"
    params_cls = RandomParams

    def __init__(self, params: RandomParams | None = None, **overrides) -> None:
        super().__init__(params, **overrides)
        self._rng = np.random.default_rng(self.params.seed)

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def act(self, view: MarketView) -> np.ndarray:
        p = self.params
        bid_off, ask_off = self._rng.uniform(p.min_offset_ticks, p.max_offset_ticks, size=2)
        bid_size, ask_size = self._rng.integers(p.min_size, p.max_size, size=2, endpoint=True)
        return offsets_to_action(float(bid_off), float(ask_off), float(bid_size), float(ask_size))
