"""Avellaneda-Stoikov (2008) inventory strategy and the paper's symmetric comparison strategy.

M. Avellaneda, S. Stoikov, "High-frequency trading in a limit order book", Quantitative Finance 8(3), 2008.
With mid ``s``, inventory ``q``, risk aversion ``gamma``, volatility ``sigma`` and time left ``tau = T - t``:

* reservation price  ``r = s - q * gamma * sigma^2 * tau``
* optimal total spread  ``delta_a + delta_b = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k)``
* quotes  ``bid = r - spread / 2``, ``ask = r + spread / 2``.

Units, consistent with the paper's numerical section (``S0 = 100``, ``T = 1``, ``sigma = 2``, ``dt = 0.005``,
``A = 140``, ``k = 1.5``, ``gamma`` in {0.01, 0.1, 1}, one share per fill):

* ``s``, ``r`` and the spread: money (quote currency per share);
* ``q``: **shares** (``MarketView.inventory``, signed), as in the paper where one fill is one share;
* ``sigma``: money per sqrt-second; ``tau``: seconds;
* ``gamma``: per money (``q * gamma * sigma^2 * tau`` is then money); ``k``: per money of distance from the
  mid (the fill intensity is ``A * exp(-k * delta)``).

In an env whose lot is ``L`` shares, the inventory term grows with the position in shares: a one-lot fill
moves ``r`` by ``L * gamma * sigma^2 * tau``. Pick ``gamma`` with that in mind (the spread term does not
scale with ``L``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from almm_rllib.baselines.base import MarketView, Strategy
from almm_rllib.core.config import Config, check
from almm_rllib.core.market_config import StylizedConfig

# The paper's numerical section (section 4): the one home of its constants in the package (the strategies'
# defaults, :mod:`.paper`, ``almm simulate --paper``). Its market's ``sigma``, ``A`` and ``k`` are the core's
# stylized market's defaults (:class:`~almm_rllib.core.market_config.StylizedConfig`, the same market).
_PAPER_MARKET = StylizedConfig()
#: Volatility of the mid, money per sqrt-second.
PAPER_SIGMA: float = _PAPER_MARKET.sigma
#: Fill intensity of a quote at the mid, per second.
PAPER_A: float = _PAPER_MARKET.A
#: Decay of the fill intensity with the distance from the mid, per money.
PAPER_K: float = _PAPER_MARKET.k
#: Initial mid, money.
PAPER_S0 = 100.0
#: Horizon, seconds.
PAPER_T = 1.0
#: Step length, seconds (200 steps).
PAPER_DT = 0.005
#: The risk aversions of the paper's tables, per money; the strategies' default is :data:`PAPER_GAMMA`.
PAPER_GAMMAS: tuple[float, ...] = (0.01, 0.1, 1.0)
PAPER_GAMMA = PAPER_GAMMAS[1]


def as_reservation_price(s: float, q: float, gamma: float, sigma: float, tau: float) -> float:
    """``r = s - q * gamma * sigma^2 * tau``, money (``q`` in shares, ``gamma`` per money, ``tau`` in s)."""
    return s - q * gamma * sigma * sigma * tau


def as_optimal_spread(gamma: float, sigma: float, tau: float, k: float) -> float:
    """``gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k)``: the total spread ``delta_a + delta_b``
    (money) of the inventory strategy at time-to-end ``tau`` seconds."""
    return gamma * sigma * sigma * tau + (2.0 / gamma) * math.log1p(gamma / k)


@dataclass(frozen=True)
class AvellanedaStoikovParams(Config):
    """Parameters of :class:`AvellanedaStoikov` (and :class:`Symmetric`). Defaults: the paper, gamma=0.1."""

    gamma: float = PAPER_GAMMA
    """Risk aversion, per money (> 0). The paper uses 0.01, 0.1 and 1 (:data:`PAPER_GAMMAS`)."""
    k: float = PAPER_K
    """Decay of the fill intensity with the quote's distance from the mid, per money (> 0). Paper: 1.5."""
    sigma: float | None = None
    """Volatility of the mid, money per sqrt-second (>= 0); None uses the view's online estimate."""
    order_size: int = 1
    """Size of each quote, lots (>= 1)."""
    rolling_horizon: float | None = None
    """When set (seconds, > 0), ``T - t`` is replaced by this constant window: for episodes whose end is
    unknown or far away. None uses the view's ``horizon - time`` (finite horizon, the paper)."""

    def _validate(self) -> None:
        check(
            math.isfinite(self.gamma) and self.gamma > 0, "gamma", f"must be finite and > 0, got {self.gamma}"
        )
        check(math.isfinite(self.k) and self.k > 0, "k", f"must be finite and > 0, got {self.k}")
        s = self.sigma
        check(s is None or (math.isfinite(s) and s >= 0), "sigma", f"must be finite and >= 0, got {s}")
        check(self.order_size >= 1, "order_size", f"must be >= 1, got {self.order_size}")
        h = self.rolling_horizon
        check(
            h is None or (math.isfinite(h) and h > 0), "rolling_horizon", f"must be finite and > 0, got {h}"
        )


class AvellanedaStoikov(Strategy):
    """The paper's inventory strategy: quotes ``r -/+ spread / 2`` around the reservation price ``r``."""

    name = "avellaneda_stoikov"
    params_cls = AvellanedaStoikovParams

    def _tau(self, view: MarketView) -> float:
        window = self.params.rolling_horizon
        if window is not None:
            return window
        if not math.isfinite(view.horizon):
            raise ValueError(
                f"{type(self).__name__}: MarketView.horizon is {view.horizon}; set "
                f"{self.params_cls.__name__}.rolling_horizon when the episode's end is unknown"
            )
        return max(view.horizon - view.time, 0.0)

    def quotes(self, view: MarketView) -> tuple[float, float]:
        """``(bid, ask)`` target prices in money for this view."""
        p = self.params
        sigma = self._sigma(view, p.sigma)
        tau = self._tau(view)
        r = as_reservation_price(view.mid, view.inventory, p.gamma, sigma, tau)
        half = 0.5 * as_optimal_spread(p.gamma, sigma, tau, p.k)
        return r - half, r + half

    def act(self, view: MarketView) -> np.ndarray:
        bid, ask = self.quotes(view)
        size = self.params.order_size
        return self.prices_to_action(view, bid, ask, size, size)


@dataclass(frozen=True)
class SymmetricParams(AvellanedaStoikovParams):
    """Parameters of :class:`Symmetric`: the same fields and units as :class:`AvellanedaStoikovParams`."""


class Symmetric(AvellanedaStoikov):
    """The paper's comparison strategy: the inventory strategy's total spread at time ``t``, centred on the
    mid instead of the reservation price (so it ignores the inventory)."""

    name = "symmetric"
    params_cls = SymmetricParams

    def quotes(self, view: MarketView) -> tuple[float, float]:
        p = self.params
        half = 0.5 * as_optimal_spread(p.gamma, self._sigma(view, p.sigma), self._tau(view), p.k)
        return view.mid - half, view.mid + half
