"""The market's configuration: frozen dataclasses, one docstring per field, validated on construction.

Units: prices in money, volatilities *relative* per sqrt-second (a 1e-4 volatility on a $100 stock moves it
about 1 cent per sqrt-second), rates per second, sizes in lots, times in seconds.

The class defaults are the ``amzn_2012_06_21`` preset (``PRESETS`` at the end of this module, read from
``presets/NAME.json``; a YAML picks one with ``market: {preset: NAME}``), written by ``almm calibrate-market``
(``evaluation/market_fit.py``; what was fitted, the objective, the data, the seed and the command line are in
the file's ``fit``): AMZN's price level and tick, the day's market-order rate and sizes, Hawkes-clustered
arrivals, metaorder and follower signs, informed flow on the latent diffusion's next 35 s, a square-root
propagator impact, sweeps that move the efficient price to near their deepest execution
(``formation.walk_gap_ticks``), market orders sized to the best queue (``flow.p_walk``, ``flow.p_clear``), and
per-regime ``diffusion_scale`` so that the configured volatility is the mid's total. A test holds the class
defaults and the preset file together. The old generic large-tick market is the ``generic_large_tick`` preset.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Literal

import numpy as np

from .config import Config, ConfigError, _deep_update, check
from .impact import ImpactConfig
from .market_facts import ROUND_LOT_SHARES


@dataclasses.dataclass(frozen=True)
class RegimeConfig(Config):
    """Volatility regimes: a continuous-time Markov chain over named regimes."""

    names: tuple[str, ...] = ("low", "medium", "high")
    """Regime names; the curriculum pins one by name."""
    volatility: tuple[float, ...] = (7.169e-05, 9.374e-05, 0.0001323)
    """Relative volatility of the latent fair price per sqrt-second, per regime (>= 0)."""
    transition_rates: tuple[tuple[float, ...], ...] = (
        (0.0, 1 / 240, 1 / 960),
        (1 / 240, 0.0, 1 / 480),
        (1 / 480, 1 / 240, 0.0),
    )
    """Generator matrix of the chain, per second. Off-diagonal entries are the rates of jumping from row
    regime to column regime (>= 0). The diagonal may be given as 0 (filled in) or as minus the row sum; any
    other diagonal is refused, as is a row whose rates do not sum to zero."""
    switching: bool = True
    """False pins the chain to ``initial`` for the whole episode (the curriculum's fixed-volatility phases)."""
    initial: str | None = None
    """Regime at reset (a name); None draws it from the chain's stationary distribution."""
    limit_rate_mult: tuple[float, ...] = (0.8, 1.0, 1.4)
    """Multiplier of the background limit-order rate per regime (more activity when volatile)."""
    market_rate_mult: tuple[float, ...] = (0.7, 1.0, 1.8)
    """Multiplier of the background market-order rate per regime."""
    cancel_rate_mult: tuple[float, ...] = (0.6, 1.0, 2.0)
    """Multiplier of the background cancellation hazard per regime."""
    diffusion_scale: tuple[float, ...] = ()
    """Per regime, the latent diffusion's volatility as a share of ``volatility``, in (0, 1] (empty: 1 for
    every regime). Market orders move the price too (``FormationConfig``), so a diffusion at the full
    configured volatility gives a mid that is more volatile than configured; ``almm calibrate-market`` fits
    these shares so that the mid's realised volatility in each regime is the configured one (measured at
    10-s sampling in the pinned regime)."""

    def _validate(self) -> None:
        n = len(self.names)
        check(n >= 1, "names", "must name at least one regime")
        check(len(set(self.names)) == n, "names", f"must be unique, got {self.names}")
        for f in ("volatility", "limit_rate_mult", "market_rate_mult", "cancel_rate_mult"):
            v = getattr(self, f)
            check(len(v) == n, f, f"must have one entry per regime ({n}), got {len(v)}")
            for i, x in enumerate(v):
                check(math.isfinite(x) and x >= 0, f"{f}[{i}]", f"must be finite and >= 0, got {x}")
        if self.diffusion_scale:
            check(
                len(self.diffusion_scale) == n,
                "diffusion_scale",
                f"must be empty or have one entry per regime ({n}), got {len(self.diffusion_scale)}",
            )
            for i, x in enumerate(self.diffusion_scale):
                check(0 < x <= 1, f"diffusion_scale[{i}]", f"must be in (0, 1], got {x}")
        q = self.transition_rates
        check(len(q) == n, "transition_rates", f"must be a {n}x{n} matrix, got {len(q)} rows")
        for i, row in enumerate(q):
            check(len(row) == n, f"transition_rates[{i}]", f"must have {n} entries, got {len(row)}")
            off = 0.0
            for j, x in enumerate(row):
                check(math.isfinite(x), f"transition_rates[{i}][{j}]", f"must be finite, got {x}")
                if i != j:
                    check(x >= 0, f"transition_rates[{i}][{j}]", f"must be >= 0 (a rate), got {x}")
                    off += x
            d = row[i]
            check(
                d == 0 or abs(d + off) <= 1e-9 * max(1.0, off),
                f"transition_rates[{i}]",
                f"is not a generator row: the diagonal must be 0 or minus the row's other rates ({-off}), got {d}",
            )
        if self.initial is not None:
            check(self.initial in self.names, "initial", f"must be one of {self.names}, got {self.initial!r}")
        if not self.switching:
            check(self.initial is not None, "initial", "must name the pinned regime when switching is false")

    def generator(self) -> np.ndarray:
        """The rate matrix Q with its diagonal filled in (rows sum to zero)."""
        q = np.array(self.transition_rates, dtype=np.float64)
        np.fill_diagonal(q, 0.0)
        np.fill_diagonal(q, -q.sum(axis=1))
        return q

    def stationary(self) -> np.ndarray:
        """Stationary distribution pi (pi Q = 0, sum 1); uniform over communicating regimes if degenerate."""
        q = self.generator()
        n = q.shape[0]
        a = np.vstack([q.T, np.ones(n)])
        b = np.zeros(n + 1)
        b[-1] = 1.0
        pi, *_ = np.linalg.lstsq(a, b, rcond=None)
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclasses.dataclass(frozen=True)
class JumpConfig(Config):
    """Optional jumps of the latent fair price (compound Poisson, normal relative sizes)."""

    rate: float = 0.0
    """Jumps per second (0 = no jumps)."""
    size_std: float = 1e-3
    """Standard deviation of a jump's relative size (1e-3 = 10 basis points)."""

    def _validate(self) -> None:
        check(
            math.isfinite(self.rate) and self.rate >= 0, "rate", f"must be finite and >= 0, got {self.rate}"
        )
        check(self.size_std >= 0, "size_std", f"must be >= 0, got {self.size_std}")


@dataclasses.dataclass(frozen=True)
class FlowConfig(Config):
    """Background order flow: Poisson arrivals per side and type, state-dependent cancellations."""

    limit_rate: float = 1.4
    """Base rate of background limit orders per side, per second (times the regime multiplier)."""
    market_rate: float = 0.14632
    """Base rate of background market orders per side, per second (times the regime multiplier)."""
    cancel_rate: float = 0.05
    """Base cancellation hazard of a resting background order at the fair price, per second. Calibrated with
    ``almm market-report`` so that the mid tracks the fair price like a random walk (variance ratio ~1 at 10 s,
    lag-1 return autocorrelation ~0) instead of lagging it."""
    cancel_distance_coef: float = 0.05
    """The hazard grows with distance d (ticks) from the fair price: cancel_rate * (1 + coef * d)."""
    cancel_stale_rate: float = 0.3
    """Extra cancellation hazard (per second, scaled by the regime's ``cancel_rate_mult``) per tick that a
    background quote stands inside ``cancel_stale_margin`` ticks of the fair price or through it: a bid the fair
    price has fallen towards, an ask it has risen towards. Real quotes left behind by a price move are pulled
    (or picked off) within seconds; without this they stay until a market order takes them, the other side
    re-centres up to them and the spread collapses to a tick. 0 = off."""
    cancel_stale_margin: float = -6.0
    """Ticks from the fair price inside which a background quote counts as stale (see ``cancel_stale_rate``);
    negative: only quotes that far through the fair price count."""
    limit_distance: Literal["geometric", "uniform"] = "geometric"
    """Distribution of a new limit order's distance (ticks) behind its reference price."""
    limit_distance_p: float = 0.3
    """Geometric: success probability (mean distance 1/p - 1 ticks; clustered at the touch). Uniform: unused."""
    limit_distance_max: int = 30
    """Largest distance in ticks (geometric draws are clipped; uniform draws are 0..max)."""
    limit_distance_min: int = 13
    """Ticks added to every drawn distance: background limit orders rest at least this far behind their
    reference price (a wide-spread market's quotes sit several ticks away from the efficient price)."""
    p_anchor_fair: float = 0.85
    """Probability that a limit order is placed relative to the fair price (plus temporary impact) rather than
    relative to the best quote on its side: the channel through which the book follows the fair price."""
    p_inside_spread: float = 0.02
    """Probability that a limit order improves the best quote (lands inside the spread) when the spread is
    wider than one tick."""
    size_model: Literal["lognormal", "geometric"] = "lognormal"
    """Distribution of limit-order sizes in lots (rounded, at least one lot)."""
    size_mu: float = 0.5
    """Lognormal mu of limit-order sizes (lots); geometric: unused."""
    size_sigma: float = 0.5
    """Lognormal sigma of limit-order sizes; geometric: the mean size in lots."""
    market_size_mu: float = -0.7076
    """Lognormal mu of market-order sizes (lots)."""
    market_size_sigma: float = 1.3689
    """Lognormal sigma of market-order sizes."""
    informed_slope: float = 0.0
    """Market orders that are neither informed nor metaorder children lean toward the efficient price: they buy
    with probability 1 / (1 + exp(-slope * (fair - mid) / tick)), so they eat the stale side when the book
    lags the efficient price."""
    p_informed: float = 0.3
    """Share of background market orders that are informed: they trade in the direction of the efficient price's
    coming move (the latent increments not yet in it, see ``FormationConfig.info_lead``), so a passive fill
    against them is adversely selected. Needs ``formation.info_lead`` > 0."""
    p_follow: float = 0.45
    """Share of background market orders that repeat the side of the last background market order (herding,
    an order split over seconds): the short memory of order signs, which decays geometrically with the lag
    (``sign_acf`` at lags 1-5), beside the metaorders' long memory."""
    p_walk: float = 0.045
    """Share of background market orders that may walk the book beyond the opposite best price; the others take
    at most the volume resting at that price (their drawn size capped by it). Real market orders are sized to
    the liquidity at the touch: large price changes come from gaps in the book, rarely from orders larger than
    the best queue (Farmer, Gillemot, Lillo, Mike & Sen 2004). 1 = every order takes its drawn size."""
    walk_beyond_best: bool = True
    """How an order of the ``p_walk`` share is sized: False, its drawn size (it walks only when that is larger
    than the opposite best queue); True (the AMZN preset, whose ``p_walk`` 0.045 is then the day's share of
    walking orders, 4.5%), the whole volume at the background's opposite best plus its drawn size, so it always
    walks, and how far depends on the depth behind the touch, not on the tail of the size distribution."""
    p_clear: float = 0.4
    """Share of background market orders that take exactly the whole volume at the opposite best price
    (whatever their drawn size): orders sized to clear the best queue, which make the mid move at once (the
    large immediate response of the real day's mid). ``p_walk + p_clear`` <= 1; the rest take
    ``min(drawn size, volume at the best)``."""
    p_metaorder: float = 0.1
    """Share of background market orders that are child orders of metaorders (Lillo, Mike & Farmer 2005): the
    source of the long memory of order signs."""
    metaorder_count: int = 2
    """Metaorders live at once; each child order belongs to one of them picked uniformly."""
    metaorder_tail: float = 1.4
    """Pareto tail exponent of metaorder lengths (child orders, at least one; > 1). The signs' autocorrelation
    decays like lag ** -(tail - 1): 1.5 gives the exponent 0.5 seen in equities (Lillo & Farmer 2004)."""
    hawkes_branching: float = 0.75
    """Branching ratio of market-order arrivals (a Hawkes process with exponential kernel, in [0, 1)): the mean
    number of market orders each one triggers. 0 = Poisson. ``market_rate`` stays the mean rate."""
    hawkes_decay: float = 10.0
    """Decay rate of the Hawkes kernel, per second (the clusters last about 1 / decay)."""
    hawkes_slow_branching: float = 0.0
    """Branching ratio of a second, slow Hawkes kernel (0 = one kernel). With it the Fano factor of market-order
    counts keeps growing from 1-s to 60-s windows, as on a real day, instead of saturating at
    ``1 / (1 - hawkes_branching) ** 2`` within a second. ``hawkes_branching + hawkes_slow_branching`` < 1."""
    hawkes_slow_decay: float = 0.1
    """Decay rate of the slow kernel, per second."""
    p_requote: float = 1.0
    """Probability that a background market order which traded brings, at once, a new background limit order
    on its own side (a buy brings a bid), priced ``requote_distance`` ticks behind the efficient price the order
    left: liquidity providers re-centring their quotes on the price a trade revealed, which is how a real book
    follows the price within a second (market orders excite limit orders on their own side; Large 2007,
    Bacry, Mastromatteo & Muzy 2015). 0 = off (the generic large-tick market)."""
    p_refill: float = 0.7
    """Probability that a background market order which traded brings a new background limit order on the
    side it took liquidity from, ``requote_distance`` ticks beyond the efficient price it left (the depleted
    side refilling around the new price). 0 = off."""
    requote_distance_min: int = 8
    """Ticks added to a requote's or refill's drawn distance from the efficient price."""
    requote_distance_p: float = 0.5
    """Geometric success probability of the drawn part of that distance (mean 1/p - 1 ticks)."""

    def _validate(self) -> None:
        for f in (
            "limit_rate",
            "market_rate",
            "cancel_rate",
            "cancel_distance_coef",
            "cancel_stale_rate",
            "informed_slope",
            "hawkes_decay",
            "hawkes_slow_decay",
        ):
            x = getattr(self, f)
            check(math.isfinite(x) and x >= 0, f, f"must be finite and >= 0, got {x}")
        check(
            math.isfinite(self.cancel_stale_margin),
            "cancel_stale_margin",
            f"must be a finite number of ticks, got {self.cancel_stale_margin}",
        )
        for f in ("p_follow", "p_informed", "p_metaorder", "p_walk", "p_clear", "p_requote", "p_refill"):
            x = getattr(self, f)
            check(0 <= x <= 1, f, f"must be a probability in [0, 1], got {x}")
        check(
            self.p_follow + self.p_informed + self.p_metaorder < 1,
            "p_metaorder",
            f"plus p_informed and p_follow must be < 1 (some flow must lean toward the price), got "
            f"{self.p_informed} + {self.p_metaorder} + {self.p_follow}",
        )
        check(
            self.p_walk + self.p_clear <= 1,
            "p_clear",
            f"plus p_walk must be <= 1, got {self.p_clear} + {self.p_walk}",
        )
        check(self.metaorder_count >= 1, "metaorder_count", f"must be >= 1, got {self.metaorder_count}")
        check(
            math.isfinite(self.metaorder_tail) and self.metaorder_tail > 1,
            "metaorder_tail",
            f"must be > 1 (finite mean length), got {self.metaorder_tail}",
        )
        check(
            0 <= self.hawkes_branching < 1,
            "hawkes_branching",
            f"must be in [0, 1) (>= 1 explodes), got {self.hawkes_branching}",
        )
        if self.hawkes_branching > 0:
            check(self.hawkes_decay > 0, "hawkes_decay", f"must be > 0, got {self.hawkes_decay}")
        check(
            self.hawkes_slow_branching >= 0 and self.hawkes_branching + self.hawkes_slow_branching < 1,
            "hawkes_slow_branching",
            f"must be >= 0 and, plus hawkes_branching, < 1 (>= 1 explodes), got {self.hawkes_slow_branching} + "
            f"{self.hawkes_branching}",
        )
        if self.hawkes_slow_branching > 0:
            check(
                self.hawkes_slow_decay > 0, "hawkes_slow_decay", f"must be > 0, got {self.hawkes_slow_decay}"
            )
        check(
            self.requote_distance_min >= 0,
            "requote_distance_min",
            f"must be >= 0, got {self.requote_distance_min}",
        )
        check(
            0 < self.requote_distance_p <= 1,
            "requote_distance_p",
            f"must be in (0, 1], got {self.requote_distance_p}",
        )
        check(
            0 < self.limit_distance_p <= 1,
            "limit_distance_p",
            f"must be in (0, 1], got {self.limit_distance_p}",
        )
        check(
            self.limit_distance_max >= 0, "limit_distance_max", f"must be >= 0, got {self.limit_distance_max}"
        )
        check(
            self.limit_distance_min >= 0, "limit_distance_min", f"must be >= 0, got {self.limit_distance_min}"
        )
        for f in ("p_anchor_fair", "p_inside_spread"):
            x = getattr(self, f)
            check(0 <= x <= 1, f, f"must be a probability in [0, 1], got {x}")
        check(self.size_sigma > 0, "size_sigma", f"must be > 0, got {self.size_sigma}")
        check(self.market_size_sigma > 0, "market_size_sigma", f"must be > 0, got {self.market_size_sigma}")
        if self.size_model == "geometric":
            check(
                self.size_sigma >= 1,
                "size_sigma",
                "is the mean size for the geometric model and must be >= 1",
            )


@dataclasses.dataclass(frozen=True)
class FormationConfig(Config):
    """How order flow forms the efficient price (see ``price_nb``): every market order, background or an
    agent's marketable order, moves it by ``I(v) = impact_ticks * (v / impact_ref_lots) ** impact_exponent``
    ticks in its direction, a share ``permanent_share`` for good and the rest decaying exponentially; informed
    traders see the latent diffusion ``info_lead`` seconds before it reaches the price."""

    impact_ticks: float = 1.15
    """Total impact of a market order of ``impact_ref_lots`` lots, ticks (0 = market orders move nothing)."""
    impact_exponent: float = 0.5
    """Concavity of impact in size, in (0, 1]: 0.5 is the square-root law."""
    impact_ref_lots: float = 1.0
    """Reference size of ``impact_ticks``, lots (> 0)."""
    permanent_share: float = 0.85
    """Share of the impact that is permanent, in [0, 1]; the rest is transient."""
    transient_halflife: float = 5.0
    """Half-life of the transient part, seconds (> 0)."""
    info_lead: float = 35.0
    """Seconds by which the informed traders (``flow.p_informed``) know the latent diffusion's increments before
    they reach the efficient price (0 = no informed signal; the diffusion applies at once). The warm-up should
    last at least this long so that the signal starts in its steady state."""
    informed_takeback: float = 0.0
    """Share of the informed market orders (``flow.p_informed``) whose permanent impact (square-root part and
    sweep move) leaves the efficient price again as the information they traded on arrives, at rate
    ``1 / info_lead``, in [0, 1]. 1 is Kyle's accounting: informed trading brings the coming move forward and
    adds nothing to it, so the price's long-run variance is the diffusion's plus the uninformed orders' impact.
    0 (the AMZN preset): the informed orders' impact stays, on top of the move they anticipated; their signal
    then predicts the price beyond their own impact. Which orders: by the order's own uniform, so a share, not a
    fraction of every order's impact (docs/market-calibration.md, "The take-back, made explicit")."""
    follower_takeback: float = 1.0
    """Share of the follower market orders (``flow.p_follow``, herding: they repeat the last order's side and
    know nothing) whose permanent impact leaves the efficient price at the same rate ``1 / info_lead``, in
    [0, 1]: for them the take-back is a slow transient part, which keeps the followers' short sign memory from
    trending the price. The AMZN preset takes back all of it (1); the preset before it had 2/3, the first
    ``p_informed`` = 0.3 of the uniform, which the side rule gives to followers since ``p_follow`` = 0.45 comes
    first, the rule the kernel applied by accident. With ``info_lead`` = 0 nothing is taken back."""
    walk_gap_ticks: float | None = 4.0
    """A sweep is information: after a market order (background or an agent's) whose deepest execution was at
    price ``P``, the efficient price (permanent + transient + the agents' temporary impact) is moved, permanently,
    to no more than ``walk_gap_ticks`` behind ``P`` (below it after a buy, above after a sell) when the
    square-root impact left it further back. The book then refills around the new level instead of reverting,
    so a quote resting deep in the book is filled only when the price is going through it (no free lunch for
    depth). For a background order, ``P`` is the deepest price of its walk through the background's own orders:
    the agents' quotes fill it but do not shorten the move (no passive quote can hold the price); for an agent's
    marketable order, the deepest price it traded at. None = off (the impact is the square-root law alone)."""

    def _validate(self) -> None:
        for f in ("impact_ticks", "info_lead"):
            x = getattr(self, f)
            check(math.isfinite(x) and x >= 0, f, f"must be finite and >= 0, got {x}")
        check(
            0 < self.impact_exponent <= 1,
            "impact_exponent",
            f"must be in (0, 1] (concave), got {self.impact_exponent}",
        )
        for f in ("impact_ref_lots", "transient_halflife"):
            x = getattr(self, f)
            check(math.isfinite(x) and x > 0, f, f"must be finite and > 0, got {x}")
        for f in ("permanent_share", "informed_takeback", "follower_takeback"):
            x = getattr(self, f)
            check(0 <= x <= 1, f, f"must be in [0, 1], got {x}")
        if self.walk_gap_ticks is not None:
            g = self.walk_gap_ticks
            check(math.isfinite(g) and g >= 0, "walk_gap_ticks", f"must be None or finite and >= 0, got {g}")


@dataclasses.dataclass(frozen=True)
class LatencyConfig(Config):
    """Agents' message latency: each new order or cancel reaches the book after a delay drawn per message."""

    model: Literal["constant", "uniform", "lognormal"] = "constant"
    """Latency distribution."""
    mean: float = 0.005
    """Constant: the latency (s). Lognormal: the mean (s)."""
    low: float = 0.001
    """Uniform: lower bound (s)."""
    high: float = 0.010
    """Uniform: upper bound (s)."""
    sigma: float = 0.5
    """Lognormal: sigma of log-latency."""

    def _validate(self) -> None:
        check(
            math.isfinite(self.mean) and self.mean >= 0, "mean", f"must be finite and >= 0, got {self.mean}"
        )
        check(self.low >= 0, "low", f"must be >= 0, got {self.low}")
        check(
            math.isfinite(self.high) and self.high >= self.low,
            "high",
            f"must be >= low ({self.low}), got {self.high}",
        )
        check(self.sigma >= 0, "sigma", f"must be >= 0, got {self.sigma}")


@dataclasses.dataclass(frozen=True)
class FeeConfig(Config):
    """Exchange fees in basis points of notional; negative = rebate. Paid to the exchange's account."""

    maker_bps: float = 0.0
    """Fee on passive (maker) fills, basis points."""
    taker_bps: float = 0.0
    """Fee on aggressive (taker) fills, basis points."""

    def _validate(self) -> None:
        check(abs(self.maker_bps) < 1e4, "maker_bps", f"must be within +-10000 bps, got {self.maker_bps}")
        check(abs(self.taker_bps) < 1e4, "taker_bps", f"must be within +-10000 bps, got {self.taker_bps}")


@dataclasses.dataclass(frozen=True)
class StylizedConfig(Config):
    """The Avellaneda-Stoikov (2008) stylized market of the paper's numerical section.

    The mid moves up or down by sigma * sqrt(dt) with equal probability each step; each agent quote at distance
    delta (money) from the mid is filled with probability A * exp(-k * delta) * dt per step (capped at 1).
    """

    sigma: float = 2.0
    """Volatility of the mid in money per sqrt-second (the paper: 2)."""
    A: float = 140.0
    """Arrival intensity scale per second (the paper: 140)."""
    k: float = 1.5
    """Decay of fill intensity with distance, per unit of money (the paper: 1.5)."""
    fill_size: Literal["quote", "one_lot"] = "one_lot"
    """How much of a hit quote fills: one lot (the paper's unit orders) or the whole quoted size."""

    def _validate(self) -> None:
        check(self.sigma >= 0, "sigma", f"must be >= 0, got {self.sigma}")
        check(self.A >= 0, "A", f"must be >= 0, got {self.A}")
        check(self.k > 0, "k", f"must be > 0, got {self.k}")


@dataclasses.dataclass(frozen=True)
class MarketConfig(Config):
    """One simulated market: the order book market (``model="lob"``) or the stylized AS market."""

    model: Literal["lob", "stylized"] = "lob"
    """``"lob"``: the limit order book with background flow; ``"stylized"``: the Avellaneda-Stoikov market."""
    tick_size: float = 0.01
    """Money per tick (> 0)."""
    lot_size: int = ROUND_LOT_SHARES
    """Shares per lot (>= 1)."""
    initial_price: float = 222.70
    """Fair price at reset, money (> 0, on the tick grid is not required)."""
    typical_spread_ticks: float = 12.85
    """The market's typical bid-ask spread in ticks, as measured on the data a preset describes (AMZN
    2012-06-21: 12.8). Not an input of the simulation: the scale that price-dependent settings outside the
    market follow (the env's default action box)."""
    book_capacity: int = 16_384
    """Resting orders the book can hold (background orders beyond it are dropped and counted)."""
    book_window: int = 4_096
    """Ticks in the book's price window (a power of two); it re-centres as the price drifts."""
    initial_depth_levels: int = 10
    """At reset the book is seeded with this many levels per side, one tick apart around the fair price."""
    initial_depth_lots: int = 2
    """Lots per seeded level."""
    warmup_seconds: float = 90.0
    """Background flow run at reset before the episode starts, so the book is in its steady state."""
    regimes: RegimeConfig = dataclasses.field(
        default_factory=lambda: RegimeConfig(
            limit_rate_mult=(1.0, 1.2, 1.6),
            market_rate_mult=(0.7, 1.0, 1.4),
            cancel_rate_mult=(0.6, 1.0, 1.4),
            diffusion_scale=(0.841, 0.5098, 0.8073),
        )
    )
    """Volatility regimes. The default market's diffusion scales are fitted to its three regimes; a
    ``RegimeConfig`` built on its own leaves them at 1 (it may have other regimes)."""
    jumps: JumpConfig = dataclasses.field(default_factory=JumpConfig)
    """Jumps of the fair price."""
    flow: FlowConfig = dataclasses.field(default_factory=FlowConfig)
    """Background order flow."""
    formation: FormationConfig = dataclasses.field(default_factory=FormationConfig)
    """How market orders move the efficient price; the informed traders' lead."""
    latency: LatencyConfig = dataclasses.field(default_factory=LatencyConfig)
    """Agents' message latency."""
    impact: ImpactConfig = dataclasses.field(default_factory=lambda: ImpactConfig(model="none"))
    """Market impact of agents' aggressive trades (moves the fair price and the background quotes)."""
    charge_impact_cost: bool = True
    """Deduct the impact model's cost of an agent's aggressive trades from its cash (paid to the exchange's
    account so that money is conserved). The book walk already charges the spread crossed; the impact cost is
    the model's estimate on top of it."""
    fees: FeeConfig = dataclasses.field(default_factory=FeeConfig)
    """Exchange fees."""
    stylized: StylizedConfig = dataclasses.field(default_factory=StylizedConfig)
    """Parameters of the stylized market (used when ``model="stylized"``)."""
    max_events_per_step: int = 2_048
    """Capacity of the per-step event buffer (background + agents); a step that would need more is an error."""
    max_fills_per_step: int = 16_384
    """Capacity of the per-step fill buffer."""

    def _validate(self) -> None:
        check(
            math.isfinite(self.tick_size) and self.tick_size > 0,
            "tick_size",
            f"must be > 0, got {self.tick_size}",
        )
        check(self.lot_size >= 1, "lot_size", f"must be >= 1, got {self.lot_size}")
        check(
            math.isfinite(self.initial_price) and self.initial_price > 0,
            "initial_price",
            f"must be > 0, got {self.initial_price}",
        )
        check(
            math.isfinite(self.typical_spread_ticks) and self.typical_spread_ticks > 0,
            "typical_spread_ticks",
            f"must be > 0, got {self.typical_spread_ticks}",
        )
        check(self.book_capacity >= 16, "book_capacity", f"must be >= 16, got {self.book_capacity}")
        w = self.book_window
        check(w >= 64 and w & (w - 1) == 0, "book_window", f"must be a power of two >= 64, got {w}")
        check(
            self.initial_price / self.tick_size > w,
            "initial_price",
            f"must be more than book_window ticks above zero ({w * self.tick_size}), got {self.initial_price}",
        )
        check(self.initial_depth_levels >= 0, "initial_depth_levels", "must be >= 0")
        check(self.initial_depth_lots >= 1, "initial_depth_lots", "must be >= 1")
        check(self.warmup_seconds >= 0, "warmup_seconds", f"must be >= 0, got {self.warmup_seconds}")
        check(self.max_events_per_step >= 16, "max_events_per_step", "must be >= 16")
        check(self.max_fills_per_step >= 16, "max_fills_per_step", "must be >= 16")
        if 2 * self.initial_depth_levels > self.book_capacity:
            raise ConfigError("initial_depth_levels", "seeds more orders than book_capacity holds")
        if self.flow.p_informed > 0:
            check(
                self.formation.info_lead > 0,
                "formation.info_lead",
                "must be > 0 when flow.p_informed > 0 (the informed traders need something to know)",
            )

    @property
    def n_regimes(self) -> int:
        return len(self.regimes.names)

    @classmethod
    def _from_dict(cls, data: dict, prefix: str) -> MarketConfig:
        """``preset: NAME`` picks the base market; the other keys override it (nested keys one by one)."""
        if "preset" not in data:
            return super()._from_dict(data, prefix)
        rest = dict(data)
        name = rest.pop("preset")
        key = f"{prefix}.preset" if prefix else "preset"
        if name not in PRESETS:
            raise ConfigError(
                key, f"is not a known market preset: {name!r} (known: {', '.join(sorted(PRESETS))})"
            )
        base = copy.deepcopy(PRESETS[name])
        _deep_update(base, rest)
        return super()._from_dict(base, prefix)

    @classmethod
    def preset(cls, name: str, overrides: dict | None = None) -> MarketConfig:
        """The named preset (see ``PRESETS``) with ``overrides`` applied."""
        return cls.from_dict({"preset": name, **(overrides or {})})


#: Where the named presets live: one JSON file per preset, ``NAME.json``, each ``{"name", "description", "fit",
#: "market"}`` with ``market`` the complete market mapping (``MarketConfig.to_dict()``) and ``fit`` what
#: ``almm calibrate-market`` fitted (None for a hand-set preset). Written by
#: :func:`almm_rllib.evaluation.market_fit.write_preset` (temp name, then renamed).
PRESET_DIR = Path(__file__).resolve().parent / "presets"


def read_preset_file(path: str | Path) -> dict:
    """One preset file as its mapping, checked: a clear ``ConfigError`` naming the file otherwise."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError("preset", f"cannot read the market preset file {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("market"), dict):
        raise ConfigError("preset", f"{path} is not a market preset file (no 'market' mapping)")
    MarketConfig.from_dict(doc["market"], source=str(path))  # refuses a bad market now, naming the file
    return doc


def load_presets(folder: str | Path = PRESET_DIR) -> dict[str, dict]:
    """The market mapping of every ``NAME.json`` in ``folder``, by NAME."""
    return {p.stem: read_preset_file(p)["market"] for p in sorted(Path(folder).glob("*.json"))}


#: Named markets (``market: {preset: NAME, ...overrides}`` in YAML, ``MarketConfig.preset(NAME)`` in Python),
#: each the complete market mapping read from ``PRESET_DIR``. ``amzn_2012_06_21`` is fitted to the LOBSTER
#: sample day by ``almm calibrate-market`` and equals the class defaults (a test holds them together);
#: ``generic_large_tick`` is the market this project started with, kept bit for bit.
PRESETS: dict[str, dict] = load_presets()
DEFAULT_PRESET = "amzn_2012_06_21"
