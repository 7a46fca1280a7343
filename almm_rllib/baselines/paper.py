"""The stylized market of Avellaneda & Stoikov (2008, section 4), in plain numpy, for tests and docs.

It does not use the env or the core: each step of length ``dt``

1. the strategy sees a :class:`~almm_rllib.baselines.base.MarketView` (mid ``s``, inventory ``q`` in
   shares, the true ``sigma``, time and horizon; no book, so ``best_bid``/``best_ask`` are NaN) and returns
   its action;
   the action's offsets are turned back into prices with ``tick_size`` **without rounding** (the paper's
   prices are continuous); a side with a size of at least half a lot is quoted;
2. each quoted side at distance ``delta`` from the mid (``s - bid`` or ``ask - s``) is hit with probability
   ``min(1, A * exp(-k * delta) * dt)``, independently of the other side; a hit trades **one share** at the
   quote, whatever the quoted size;
3. the mid moves ``+sigma * sqrt(dt)`` or ``-sigma * sqrt(dt)`` with probability 1/2 each.

``fill_after_move=True`` swaps 2 and 3: the distances are measured from the mid *after* its move (the quotes
are still the ones set before it). Both are discretisations of the same continuous-time model; the second
adds a little adverse selection (a quote is likelier to be hit when the mid has just moved towards it).
The paper does not say which it used; the test suite checks that its reported mean profits lie between
the two, up to sampling error.

Profit is ``cash + q_T * s_T`` (money), no terminal penalty, as in the paper. Paths use independent streams
spawned from one ``np.random.SeedSequence(seed)``, so two strategies run with the same seed see the same mid
paths and the same uniforms (common random numbers), and each path reseeds the strategy with its own seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from almm_rllib.baselines.avellaneda_stoikov import (
    PAPER_A,
    PAPER_DT,
    PAPER_GAMMA,
    PAPER_K,
    PAPER_S0,
    PAPER_SIGMA,
    PAPER_T,
    AvellanedaStoikov,
    Symmetric,
)
from almm_rllib.baselines.base import ASK_OFFSET, ASK_SIZE, BID_OFFSET, BID_SIZE, MarketView, Strategy
from almm_rllib.core.config import Config, check

#: A side is quoted when its size would round to at least one lot.
_MIN_QUOTED_SIZE = 0.5
#: Cap on the exponent of the fill probability (a quote far through the mid is hit with probability 1).
_MAX_EXPONENT = 50.0

#: Which version of the paper :data:`PAPER_TABLE_GAMMA_0_1` comes from: the table of the October 2006 working
#: paper of Avellaneda & Stoikov, "High-frequency trading in a limit order book" (the model and the strategy
#: are cited from the 2008 article in Quantitative Finance; these figures are not that article's). Tables label
#: the figures with this string.
PAPER_TABLE_SOURCE = "AS working paper (Oct 2006)"
#: Figures of the October 2006 working paper's table (:data:`PAPER_TABLE_SOURCE`) for gamma = 0.1, 1000
#: simulations: money for profits, shares for final inventories; ``*_std`` are standard deviations across paths.
PAPER_TABLE_GAMMA_0_1: dict[str, dict[str, float]] = {
    "inventory": {"profit": 62.94, "profit_std": 5.89, "final_q_std": 2.80},
    "symmetric": {"profit": 67.21, "profit_std": 13.43, "final_q_std": 8.66},
}
#: Number of simulated paths behind :data:`PAPER_TABLE_GAMMA_0_1`.
PAPER_N_PATHS = 1000


@dataclass(frozen=True)
class PaperMarket(Config):
    """The stylized market. Defaults: the paper's numerical section."""

    s0: float = PAPER_S0
    """Initial mid, money."""
    T: float = PAPER_T
    """Horizon, seconds (> 0)."""
    sigma: float = PAPER_SIGMA
    """Volatility of the mid, money per sqrt-second (>= 0); also what the strategies see as ``view.sigma``."""
    dt: float = PAPER_DT
    """Step length, seconds (> 0; ``T / dt`` must be an integer)."""
    A: float = PAPER_A
    """Fill intensity of a quote at the mid, per second (>= 0)."""
    k: float = PAPER_K
    """Decay of the fill intensity with the distance from the mid, per money (>= 0)."""
    tick_size: float = 0.01
    """Money per tick: only converts the action's offsets back to prices (nothing is rounded)."""
    fill_after_move: bool = False
    """Measure fill distances from the mid after the step's move (see the module docstring)."""

    def _validate(self) -> None:
        check(math.isfinite(self.s0), "s0", f"must be finite, got {self.s0}")
        for f, strict in (("T", True), ("sigma", False), ("dt", True), ("A", False), ("k", False)):
            x = getattr(self, f)
            ok = math.isfinite(x) and (x > 0 if strict else x >= 0)
            check(ok, f, f"must be finite and {'>' if strict else '>='} 0, got {x}")
        ratio = self.T / self.dt
        check(abs(ratio - round(ratio)) < 1e-9 * ratio, "dt", f"must divide T={self.T}, got {self.dt}")
        t = self.tick_size
        check(math.isfinite(t) and t > 0, "tick_size", f"must be finite and > 0, got {t}")

    @property
    def n_steps(self) -> int:
        """``T / dt`` (200 for the paper)."""
        return round(self.T / self.dt)


@dataclass(frozen=True)
class PaperResult:
    """Per-path outcome of :func:`simulate`; every array has shape ``(n_paths,)``."""

    strategy: str
    """The strategy's registry name."""
    profit: np.ndarray
    """``cash + q_T * s_T``, money."""
    final_inventory: np.ndarray
    """``q_T``, shares."""
    mean_spread: np.ndarray
    """Average of ``ask - bid`` over the steps where both sides were quoted, money (NaN if never)."""
    bid_fills: np.ndarray
    """Number of bid hits (shares bought)."""
    ask_fills: np.ndarray
    """Number of ask hits (shares sold)."""

    def summary(self) -> dict[str, float]:
        """The paper's table row: means and standard deviations (``ddof=1``) across paths."""
        return {
            "spread": float(np.nanmean(self.mean_spread)),
            "profit": float(self.profit.mean()),
            "profit_std": float(self.profit.std(ddof=1)),
            "final_q": float(self.final_inventory.mean()),
            "final_q_std": float(self.final_inventory.std(ddof=1)),
        }


def simulate(
    strategy: Strategy, n_paths: int = PAPER_N_PATHS, seed: int = 0, market: PaperMarket | None = None
) -> PaperResult:
    """Run ``strategy`` over ``n_paths`` independent paths of the stylized market."""
    market = PaperMarket() if market is None else market
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 1:
        raise ValueError(f"simulate: n_paths must be an integer >= 1, got {n_paths!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"simulate: seed must be an integer >= 0, got {seed!r}")
    n_steps = market.n_steps
    dt, tick, sigma = market.dt, market.tick_size, market.sigma
    move = sigma * math.sqrt(dt)
    a_dt, k = market.A * dt, market.k
    after = market.fill_after_move
    nan, inf = math.nan, math.inf

    profit = np.empty(n_paths)
    final_q = np.empty(n_paths)
    mean_spread = np.empty(n_paths)
    bid_fills = np.zeros(n_paths, dtype=np.int64)
    ask_fills = np.zeros(n_paths, dtype=np.int64)

    for path, child in enumerate(np.random.SeedSequence(int(seed)).spawn(n_paths)):
        draws = np.random.default_rng(child).random((3, n_steps))
        ups = (draws[0] < 0.5).tolist()
        u_bid = draws[1].tolist()
        u_ask = draws[2].tolist()
        strategy.reset(seed=int(child.generate_state(1)[0]))
        s, q, cash = market.s0, 0, 0.0
        spread_sum, spread_n, n_bid, n_ask = 0.0, 0, 0, 0
        for i in range(n_steps):
            view = MarketView(
                time=i * dt,
                horizon=market.T,
                mid=s,
                best_bid=nan,
                best_ask=nan,
                tick_size=tick,
                lot_size=1.0,
                inventory=float(q),
                inventory_limit=inf,
                sigma=sigma,
                dt=dt,
                obs=None,
                step=i,
            )
            action = strategy.act(view).tolist()
            quote_bid = action[BID_SIZE] >= _MIN_QUOTED_SIZE
            quote_ask = action[ASK_SIZE] >= _MIN_QUOTED_SIZE
            bid = s - action[BID_OFFSET] * tick
            ask = s + action[ASK_OFFSET] * tick
            if quote_bid and quote_ask:
                spread_sum += ask - bid
                spread_n += 1
            s_next = s + move if ups[i] else s - move
            ref = s_next if after else s
            if quote_bid and u_bid[i] < a_dt * math.exp(min(-k * (ref - bid), _MAX_EXPONENT)):
                q += 1
                cash -= bid
                n_bid += 1
            if quote_ask and u_ask[i] < a_dt * math.exp(min(-k * (ask - ref), _MAX_EXPONENT)):
                q -= 1
                cash += ask
                n_ask += 1
            s = s_next
        profit[path] = cash + q * s
        final_q[path] = q
        mean_spread[path] = spread_sum / spread_n if spread_n else nan
        bid_fills[path] = n_bid
        ask_fills[path] = n_ask

    return PaperResult(
        strategy=strategy.name,
        profit=profit,
        final_inventory=final_q,
        mean_spread=mean_spread,
        bid_fills=bid_fills,
        ask_fills=ask_fills,
    )


def paper_comparison(
    gamma: float = PAPER_GAMMA, n_paths: int = PAPER_N_PATHS, seed: int = 0, market: PaperMarket | None = None
) -> dict[str, PaperResult]:
    """The paper's experiment: ``{"inventory": ..., "symmetric": ...}`` for Avellaneda-Stoikov and the
    symmetric strategy with the market's ``k`` and volatility, on the same paths (same ``seed``)."""
    market = PaperMarket() if market is None else market
    inventory = AvellanedaStoikov(gamma=gamma, k=market.k, sigma=None)
    symmetric = Symmetric(gamma=gamma, k=market.k, sigma=None)
    return {
        "inventory": simulate(inventory, n_paths, seed, market),
        "symmetric": simulate(symmetric, n_paths, seed, market),
    }
