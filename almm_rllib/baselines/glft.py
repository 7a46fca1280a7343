"""Gueant-Lehalle-Fernandez-Tapia (2013) closed-form approximation of the optimal quotes.

O. Gueant, C.-A. Lehalle, J. Fernandez-Tapia, "Dealing with the inventory risk: a solution to the market
making problem", Mathematics and Financial Economics 7(4), 2013. The asymptotic (``T -> inf``)
approximations::

    c          = sqrt(sigma^2 gamma / (2 k A) * (1 + gamma/k)^(1 + k/gamma))
    delta_b(q) = (1/gamma) ln(1 + gamma/k) + (2q + 1)/2 * c
    delta_a(q) = (1/gamma) ln(1 + gamma/k) - (2q - 1)/2 * c

with quotes ``bid = s - delta_b``, ``ask = s + delta_a`` around the mid ``s``, and the inventory bound ``Q``:
no bid when ``q >= Q``, no ask when ``q <= -Q``.

Units: ``q`` is the inventory in **units of the order size** (``inventory / (order_size * lot_size)``), ``Q``
likewise; ``delta`` and ``s`` money; ``sigma`` money per sqrt-second; ``k`` per money; ``A`` fills per second
of one order quoted at the mid; ``gamma`` per money *per order*: with one share per order (the 2013 paper,
and :mod:`.paper`) it is the usual per-money risk aversion; with orders of ``D`` shares the formula is
the closed-form approximation of Gueant (2017, "Optimal market making") with ``xi = gamma_share`` and
``Delta = D``, where ``gamma = gamma_share * D``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from almm_rllib.baselines.avellaneda_stoikov import PAPER_A, PAPER_GAMMA, PAPER_K
from almm_rllib.baselines.base import MarketView, Strategy
from almm_rllib.core.config import Config, check

#: Slack when comparing the inventory with the bound ``Q`` (positions rebuilt from shares / lot sizes carry
#: rounding error: ``10 * 0.1 / 0.1`` is not exactly 10).
_BOUND_EPS = 1e-9


def glft_half_spreads(q: float, gamma: float, k: float, A: float, sigma: float) -> tuple[float, float]:
    """``(delta_b, delta_a)`` in money: the GLFT approximate distances of the bid and ask from the mid at
    inventory ``q`` (units of the order size)."""
    base = math.log1p(gamma / k) / gamma
    c = math.sqrt(sigma * sigma * gamma / (2.0 * k * A) * (1.0 + gamma / k) ** (1.0 + k / gamma))
    return base + (2.0 * q + 1.0) / 2.0 * c, base - (2.0 * q - 1.0) / 2.0 * c


@dataclass(frozen=True)
class GLFTParams(Config):
    """Parameters of :class:`GueantLehalleFernandezTapia`. Defaults: the Avellaneda-Stoikov paper's market."""

    gamma: float = PAPER_GAMMA
    """Risk aversion, per money per order (> 0); see the module docstring."""
    k: float = PAPER_K
    """Decay of the fill intensity with distance from the mid, per money (> 0)."""
    A: float = PAPER_A
    """Fill intensity of an order quoted at the mid, per second (> 0)."""
    sigma: float | None = None
    """Volatility of the mid, money per sqrt-second (>= 0); None uses the view's online estimate."""
    Q: int | None = None
    """Inventory bound in orders (>= 1): no bid when ``q >= Q``, no ask when ``q <= -Q``. None derives it
    from the view: ``floor(inventory_limit / (order_size * lot_size))`` (no bound when the view's limit is
    inf or not > 0)."""
    order_size: int = 1
    """Size of each quote, lots (>= 1); also the unit of ``q`` and ``Q``."""

    def _validate(self) -> None:
        for f in ("gamma", "k", "A"):
            x = getattr(self, f)
            check(math.isfinite(x) and x > 0, f, f"must be finite and > 0, got {x}")
        s = self.sigma
        check(s is None or (math.isfinite(s) and s >= 0), "sigma", f"must be finite and >= 0, got {s}")
        check(self.Q is None or self.Q >= 1, "Q", f"must be >= 1, got {self.Q}")
        check(self.order_size >= 1, "order_size", f"must be >= 1, got {self.order_size}")


class GueantLehalleFernandezTapia(Strategy):
    """GLFT closed-form quotes around the mid with the inventory bound ``Q``."""

    name = "gueant_lehalle_fernandez_tapia"
    params_cls = GLFTParams

    def _bound(self, view: MarketView, unit: float) -> float:
        if self.params.Q is not None:
            return float(self.params.Q)
        limit = view.inventory_limit
        if not (math.isfinite(limit) and limit > 0.0):
            return math.inf
        return float(math.floor(limit / unit + _BOUND_EPS))

    def act(self, view: MarketView) -> np.ndarray:
        p = self.params
        unit = p.order_size * view.lot_size
        q = view.inventory / unit
        delta_b, delta_a = glft_half_spreads(q, p.gamma, p.k, p.A, self._sigma(view, p.sigma))
        bound = self._bound(view, unit)
        bid_size = 0 if q >= bound - _BOUND_EPS else p.order_size
        ask_size = 0 if q <= -bound + _BOUND_EPS else p.order_size
        return self.prices_to_action(view, view.mid - delta_b, view.mid + delta_a, bid_size, ask_size)
