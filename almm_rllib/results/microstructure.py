"""Microstructure statistics of a market day, computed by one code path on real data and on the simulator.

The statistics (issue 15, item 2) read a source-independent description of a day, a :class:`MarketDay`:

* :class:`QuoteSeries`: the best quotes after every event (``time``, ``bid``, ``ask`` in money, NaN for an
  empty side; ``bid_size``, ``ask_size`` the depth at the touch, in shares);
* :class:`MarketOrders`: one row per aggressive order (``time``, ``sign`` +1 buy / -1 sell, ``size`` in
  shares, ``first_price`` = the price of its first execution, ``deepest_price`` = the furthest price it
  reached), plus one row per passive execution it caused (``fill_order`` = the index of its market order,
  ``fill_time``, ``fill_price``, ``fill_size``; the maker's side is ``-sign`` of its market order).

Two adapters build it: :func:`lobster_day` from a LOBSTER pair (``data.lobster``) and :func:`simulator_day` /
:func:`record_simulator` from the core ``MarketSimulator``'s public API (``step`` fills and the best quotes
between steps). Both group executions into market orders with :func:`group_executions`.

Time semantics (as-of joins on the quote series): the mid **in force at t** is that of the last quote row with
``time <= t`` (the book after every event up to and including t); the mid **just before** a market order at
``t`` is that of the last row with ``time < t``. The mid of a row with an empty side is the last two-sided
mid. A horizon ``t + H`` past the end of the series is left out (not clipped).

Statistics (:func:`microstructure_stats`; units: money = quote currency per share, sizes in shares, time in
seconds; ``hs`` = in half-spreads: the money figure over the mean half-spread in force just before the market
orders it averages over, same weights):

* ``response``: R(tau) = E[sign x (mid(t + tau) - mid just before t)] over market orders, tau in ``TAUS``;
  ``response_growth``: R(60 s) / R(1 s) over the orders observed at both (jackknife standard error);
* ``markout``: per passive execution ``maker_side x (mid(t + H) - price)``, H in ``MARKOUT_HORIZONS``,
  quantity-weighted, by the depth (ticks) of the execution behind its order's first price (0, 1, 2, 3+);
* ``walk``: share of market orders whose deepest price is 0, 1, 2, 3+ ticks beyond their first price;
* ``sign_acf``: sample autocorrelation of market-order signs (in order of arrival) at ``SIGN_LAGS``;
* ``signature``: realised variance per second of the mid sampled every ``SIGNATURE_S`` seconds (money^2/s and
  log-return variance per second), and ``return_acf``: lag 1..5 autocorrelation of 1-s mid changes;
* ``spread`` (time-weighted distribution, ticks), ``touch_depth`` (time-weighted mean depth at the touch over
  the mean market-order size), ``arrivals`` (coefficient of variation of inter-arrival times and Fano factors
  of market-order counts in windows of ``FANO_WINDOWS`` seconds; 1 and 1 for a Poisson process).

Means of correlated events carry a batch-means standard error (``N_BATCHES`` contiguous batches), which the
tolerance bands of :func:`compare` use. Layer: results (numpy only; imports core and data lazily, inside the
adapters).

Run ``python -m almm_rllib.results.microstructure`` to print the AMZN and AAPL figures and a simulator run.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from almm_rllib.core.market_facts import SESSION_SECONDS

if TYPE_CHECKING:
    from almm_rllib.core.market import MarketSimulator
    from almm_rllib.core.market_config import MarketConfig
    from almm_rllib.data.lobster import LobsterData

__all__ = [
    "DEPTH_BUCKETS",
    "FANO_WINDOWS",
    "GROWTH_TOL",
    "KNOWN_GAPS",
    "MARKOUT_HORIZONS",
    "SIGNATURE_S",
    "SIGN_LAGS",
    "TAUS",
    "CompareRow",
    "MarketDay",
    "MarketOrders",
    "MicrostructureError",
    "QuoteSeries",
    "arrivals",
    "compare",
    "failure_cause",
    "format_failures",
    "format_robustness",
    "format_rows",
    "format_stats",
    "group_executions",
    "known_gap",
    "lobster_day",
    "main",
    "markouts",
    "microstructure_stats",
    "pool_stats",
    "real_rank",
    "record_simulator",
    "response_function",
    "response_growth",
    "seed_robustness",
    "signature",
    "simulator_day",
    "spread_stats",
    "touch_depth",
    "walk",
]

TAUS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
MARKOUT_HORIZONS = (1.0, 10.0, 60.0)
DEPTH_BUCKETS = ("0", "1", "2", "3+")
SIGN_LAGS = (1, 2, 5, 10, 20, 50, 100)
SIGNATURE_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
RETURN_ACF_LAGS = 5
FANO_WINDOWS = (1.0, 10.0, 60.0)
#: Contiguous batches of the batch-means standard error.
N_BATCHES = 20
#: A mean, autocorrelation or quantile needs at least this many points (else NaN).
MIN_POINTS = 10
#: Relative half-width of the band on R(60 s)/R(1 s) (see :func:`compare`).
GROWTH_TOL = 0.3

#: Rows the shipped simulator is known to miss, with the measured cause ((row-name prefixes), cause). The report
#: prints the cause beside a failing row that starts with a prefix; a failing row not listed here is not a
#: known gap of the model (run ``--seeds`` to see whether it is one day's sampling noise). The measurements
#: are in docs/market-calibration.md ("Measured at event resolution" and "The two failing rows, re-scanned over
#: 16 seeds").
KNOWN_GAPS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        tuple(f"maker markout 1 s, depth {d} ticks" for d in ("1", "2", "3+")),
        "known gap of the model: after a market order that walks, the sweep rule moves the efficient price to "
        "within 4 ticks of its deepest execution and the requotes re-centre the book on it, so within a second "
        "the mid is often past a fill behind the first price, where on the day it stays short of it and partly "
        "reverts (docs/market-calibration.md, 'Measured at event resolution'; with walks sized by the book, "
        "flow.walk_beyond_best, these rows fail on fewer days: 'A new preset, measured over 144 days')",
    ),
    (
        ("Fano factor of counts in 1 s",),
        "known gap of the model: market orders are a Hawkes process with one exponential kernel, whose Fano "
        "factor reaches its plateau within a second; the day's grows slowly from 5.3 at 1 s to 15.5 at 60 s. "
        "A slower kernel or a second, slow kernel brings the 1-s factor down but breaks the signature plot "
        "(docs/market-calibration.md, 'The two failing rows, re-scanned over 16 seeds')",
    ),
)


def known_gap(name: str) -> str | None:
    """The measured cause of a row the simulator is known to miss (:data:`KNOWN_GAPS`), or None."""
    for prefixes, cause in KNOWN_GAPS:
        if name.startswith(prefixes):
            return cause
    return None


class MicrostructureError(ValueError):
    """A quote series or market-order table is malformed; the message names the field and the source."""


def _arr(x, name: str, src: str, dtype=np.float64) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(x, dtype))
    if a.ndim != 1:
        raise MicrostructureError(f"{src}: {name} must be one-dimensional, got shape {a.shape}")
    return a


def _check_time(t: np.ndarray, name: str, src: str) -> None:
    if not np.isfinite(t).all():
        raise MicrostructureError(
            f"{src}: {name} has a non-finite value at row {int(np.argmin(np.isfinite(t)))}"
        )
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        raise MicrostructureError(f"{src}: {name} goes backwards at row {int(back[0]) + 1}")


# ------------------------------------------------------------------------------------------------------------
# the normalised description


@dataclass(frozen=True)
class QuoteSeries:
    """Best quotes after each event, in time order (money; depth at the touch in shares)."""

    time: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    tick_size: float
    #: End of the observation window (the last row lasts until then); default the last row's time.
    end: float | None = None
    source: str = "quotes"

    def __post_init__(self) -> None:
        src = self.source
        for name in ("time", "bid", "ask", "bid_size", "ask_size"):
            object.__setattr__(self, name, _arr(getattr(self, name), name, src))
        n = self.time.size
        if n < 2:
            raise MicrostructureError(f"{src}: a quote series needs at least 2 rows, got {n}")
        for name in ("bid", "ask", "bid_size", "ask_size"):
            if getattr(self, name).size != n:
                raise MicrostructureError(f"{src}: {name} has {getattr(self, name).size} rows, time has {n}")
        _check_time(self.time, "time", src)
        if not (math.isfinite(self.tick_size) and self.tick_size > 0):
            raise MicrostructureError(f"{src}: tick_size must be a positive number, got {self.tick_size!r}")
        two = np.isfinite(self.bid) & np.isfinite(self.ask)
        if not two.any():
            raise MicrostructureError(f"{src}: no row has both a bid and an ask")
        bad = np.flatnonzero(two & (self.ask <= self.bid))
        if bad.size:
            raise MicrostructureError(f"{src}: crossed or locked quotes (ask <= bid) at row {int(bad[0])}")
        end = float(self.time[-1]) if self.end is None else float(self.end)
        if not end >= self.time[-1]:
            raise MicrostructureError(f"{src}: end ({end}) is before the last row ({self.time[-1]})")
        object.__setattr__(self, "end", end)

    @property
    def start(self) -> float:
        return float(self.time[0])

    def mid(self) -> np.ndarray:
        """Mid of each row; a row with an empty side carries the last two-sided mid (NaN before the first)."""
        return _ffill((self.bid + self.ask) / 2)

    def spread(self) -> np.ndarray:
        """Ask - bid of each row, the last two-sided one for a one-sided row (money)."""
        return _ffill(self.ask - self.bid)

    def row_at(self, t: np.ndarray) -> np.ndarray:
        """Index of the row in force at ``t`` (last row with time <= t); -1 before the first row."""
        return np.searchsorted(self.time, t, side="right") - 1

    def row_before(self, t: np.ndarray) -> np.ndarray:
        """Index of the row in force just before ``t`` (last row with time < t); -1 if none."""
        return np.searchsorted(self.time, t, side="left") - 1


@dataclass(frozen=True)
class MarketOrders:
    """Aggressive orders and the passive executions they caused (money, shares, seconds)."""

    time: np.ndarray
    sign: np.ndarray
    size: np.ndarray
    first_price: np.ndarray
    deepest_price: np.ndarray
    fill_order: np.ndarray
    fill_time: np.ndarray
    fill_price: np.ndarray
    fill_size: np.ndarray
    tick_size: float
    source: str = "market orders"

    def __post_init__(self) -> None:
        src = self.source
        for name in ("time", "size", "first_price", "deepest_price", "fill_time", "fill_price", "fill_size"):
            object.__setattr__(self, name, _arr(getattr(self, name), name, src))
        object.__setattr__(self, "sign", _arr(self.sign, "sign", src, np.int64))
        object.__setattr__(self, "fill_order", _arr(self.fill_order, "fill_order", src, np.int64))
        n, m = self.time.size, self.fill_order.size
        for name in ("sign", "size", "first_price", "deepest_price"):
            if getattr(self, name).size != n:
                raise MicrostructureError(f"{src}: {name} has {getattr(self, name).size} rows, time has {n}")
        for name in ("fill_time", "fill_price", "fill_size"):
            if getattr(self, name).size != m:
                raise MicrostructureError(
                    f"{src}: {name} has {getattr(self, name).size} rows, fill_order {m}"
                )
        _check_time(self.time, "time", src)
        if not np.isin(self.sign, (-1, 1)).all():
            raise MicrostructureError(f"{src}: sign must be +1 (buy) or -1 (sell)")
        if m and (self.fill_order.min() < 0 or self.fill_order.max() >= n):
            raise MicrostructureError(f"{src}: fill_order must index the market orders (0..{n - 1})")
        if not (math.isfinite(self.tick_size) and self.tick_size > 0):
            raise MicrostructureError(f"{src}: tick_size must be a positive number, got {self.tick_size!r}")
        with np.errstate(invalid="ignore"):
            back = self.sign * (self.deepest_price - self.first_price) < -1e-9 * self.tick_size
        if back.any():
            raise MicrostructureError(
                f"{src}: order {int(np.argmax(back))}'s deepest price is better than its first price"
            )

    def __len__(self) -> int:
        return int(self.time.size)

    def depth_ticks(self) -> np.ndarray:
        """Ticks each order reached beyond its first price (int)."""
        return np.rint(self.sign * (self.deepest_price - self.first_price) / self.tick_size).astype(np.int64)

    def fill_depth_ticks(self) -> np.ndarray:
        """Ticks each execution lies behind the first price of its market order (int, >= 0)."""
        s = self.sign[self.fill_order]
        fp = self.first_price[self.fill_order]
        return np.rint(s * (self.fill_price - fp) / self.tick_size).astype(np.int64)


@dataclass(frozen=True)
class MarketDay:
    """One observed (or simulated) stretch of a market: its quotes and its market orders."""

    name: str
    quotes: QuoteSeries
    orders: MarketOrders
    info: dict = field(default_factory=dict)


def group_executions(
    time,
    aggressor,
    price,
    size,
    *,
    tick_size: float,
    order_id=None,
    source: str = "executions",
) -> MarketOrders:
    """Group executions (in the order they happened) into market orders.

    ``aggressor``: +1 when the taker bought. With ``order_id`` (the taker's id, as the simulator's fills
    carry), executions with the same id form one order; without it (LOBSTER), a run of consecutive executions
    with the same time stamp and aggressor side is one order (how a walk through the book is printed).
    Returns the :class:`MarketOrders` with one execution row per input row.
    """
    t = _arr(time, "time", source)
    a = _arr(aggressor, "aggressor", source, np.int64)
    p = _arr(price, "price", source)
    q = _arr(size, "size", source)
    n = t.size
    if not (a.size == p.size == q.size == n):
        raise MicrostructureError(f"{source}: time, aggressor, price and size must have the same length")
    _check_time(t, "time", source)
    if n and not np.isin(a, (-1, 1)).all():
        raise MicrostructureError(f"{source}: aggressor must be +1 or -1")
    if n == 0:
        e = np.zeros(0)
        return MarketOrders(e, e, e, e, e, e, e, e, e, tick_size=tick_size, source=source)
    if order_id is None:
        new = np.r_[True, (t[1:] != t[:-1]) | (a[1:] != a[:-1])]
        order = np.cumsum(new) - 1
    else:
        oid = _arr(order_id, "order_id", source, np.int64)
        if oid.size != n:
            raise MicrostructureError(f"{source}: order_id must have one entry per execution")
        # order of first appearance
        uniq, first, inv = np.unique(oid, return_index=True, return_inverse=True)
        rank = np.empty(uniq.size, np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
        order = rank[inv]
        starts = np.sort(first)
        if (a[starts][order] != a).any():
            raise MicrostructureError(f"{source}: one order id has executions on both sides")
    k = int(order.max()) + 1
    starts = np.flatnonzero(np.r_[True, np.diff(order) != 0]) if order_id is None else np.sort(first)
    sgn = a[starts]
    deep = np.where(sgn > 0, _group_max(p, order, k), -_group_max(-p, order, k))
    return MarketOrders(
        time=t[starts],
        sign=sgn,
        size=np.bincount(order, weights=q, minlength=k),
        first_price=p[starts],
        deepest_price=deep,
        fill_order=order,
        fill_time=t,
        fill_price=p,
        fill_size=q,
        tick_size=tick_size,
        source=source,
    )


def _group_max(x: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    out = np.full(k, -np.inf)
    np.maximum.at(out, group, x)
    return out


# ------------------------------------------------------------------------------------------------------------
# adapters


def lobster_day(data: LobsterData, name: str | None = None) -> MarketDay:
    """A LOBSTER pair as a :class:`MarketDay`: quotes after every message (the orderbook file's best level),
    market orders from the visible executions (type 4; the aggressor is opposite to the resting order's
    direction). Hidden executions (type 5) have no reliable side or depth and are left out (counted in
    ``info``)."""
    from almm_rllib.data.lobster import MSG_EXECUTE, MSG_HIDDEN, TICK_SIZE

    src = name or f"LOBSTER {data.ticker} {data.date}"
    m = data.messages
    t = m["time"].to_numpy(np.float64)
    ap, asz, bp, bsz = data.level_arrays()
    quotes = QuoteSeries(
        time=t,
        bid=bp[:, 0] * TICK_SIZE,
        ask=ap[:, 0] * TICK_SIZE,
        bid_size=bsz[:, 0].astype(np.float64),
        ask_size=asz[:, 0].astype(np.float64),
        tick_size=TICK_SIZE,
        source=src,
    )
    typ = m["type"].to_numpy()
    ex = typ == MSG_EXECUTE
    orders = group_executions(
        t[ex],
        -m["direction"].to_numpy(np.int64)[ex],
        m["price"].to_numpy(np.float64)[ex] * TICK_SIZE,
        m["size"].to_numpy(np.float64)[ex],
        tick_size=TICK_SIZE,
        source=src,
    )
    info = {"source": "lobster", "ticker": data.ticker, "date": data.date, "levels": data.levels}
    info["hidden_executions_left_out"] = int((typ == MSG_HIDDEN).sum())
    return MarketDay(src, quotes, orders, info)


def record_simulator(
    sim: MarketSimulator, *, seconds: float, dt: float = 1.0, name: str = "simulator"
) -> MarketDay:
    """Step ``sim`` for ``seconds`` in steps of ``dt`` and describe what happened as a :class:`MarketDay`.

    Through the simulator's public API only: every fill of :meth:`MarketSimulator.step` (grouped into market
    orders by ``taker_order_id``; marketable limit orders count, as they do in LOBSTER) and the best quotes
    with the depth at the touch. With a simulator built with ``quote_tape=True`` (as :func:`simulator_day`
    builds it) the quotes are its tape: a row after every event that changed the touch, the resolution of a
    LOBSTER day, so "the mid just before" a market order and "the mid ``tau`` later" mean what they mean on the
    real day. Without it they are read after each step, so they are known only every ``dt`` seconds (the mid
    "just before" an order may then be up to ``dt`` old, and a 1-s horizon is measured between step ends).
    Prices in money (ticks x tick size), sizes in shares (lots x lot size).
    """
    from almm_rllib.core.market_state_nb import (
        TAPE_ASK,
        TAPE_ASK_LOTS,
        TAPE_BID,
        TAPE_BID_LOTS,
        TAPE_TIME,
    )
    from almm_rllib.core.schema import BUY, FILL_DTYPE, SELL

    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"record_simulator: dt must be a positive number of seconds, got {dt!r}")
    if not (math.isfinite(seconds) and seconds >= 2 * dt):
        raise ValueError(
            f"record_simulator: seconds must cover at least two steps of {dt} s, got {seconds!r}"
        )
    cfg = sim.config
    if cfg.model != "lob":
        raise ValueError(f"record_simulator needs the order-book market (model='lob'), got {cfg.model!r}")
    n = int(round(seconds / dt))
    tick, lot = float(cfg.tick_size), float(cfg.lot_size)
    tape = sim.quote_tape

    def quote() -> np.ndarray:
        bb, ba = sim.best_ticks()
        row = np.array([sim.time, np.nan, np.nan, 0.0, 0.0])
        if bb is not None:
            row[TAPE_BID], row[TAPE_BID_LOTS] = bb, sim.level_lots(BUY, bb)
        if ba is not None:
            row[TAPE_ASK], row[TAPE_ASK_LOTS] = ba, sim.level_lots(SELL, ba)
        return row[None, :]

    rows = [quote()]
    fills = []
    for _ in range(n):
        f = sim.step(float(dt)).fills
        if f.size:
            fills.append(f)
        rows.append(sim.step_quotes() if tape else quote())
    qr = np.concatenate(rows)
    f = np.concatenate(fills) if fills else np.zeros(0, FILL_DTYPE)
    # the kernel processes a step's events in time order; a stable sort keeps a walk's fills together anyway
    f = f[np.argsort(f["time"], kind="stable")]
    orders = group_executions(
        f["time"],
        f["aggressor"],
        f["price"] * tick,
        f["qty"] * lot,
        order_id=f["taker_order_id"],
        tick_size=tick,
        source=name,
    )
    quotes = QuoteSeries(
        qr[:, TAPE_TIME],
        qr[:, TAPE_BID] * tick,
        qr[:, TAPE_ASK] * tick,
        qr[:, TAPE_BID_LOTS] * lot,
        qr[:, TAPE_ASK_LOTS] * lot,
        tick_size=tick,
        end=float(sim.time),
        source=name,
    )
    info = {
        "source": "simulator",
        "dt": float(dt),
        "seconds": float(seconds),
        "quote_resolution": "event" if tape else f"{float(dt):g} s",
    }
    return MarketDay(name, quotes, orders, info)


def simulator_day(
    config: MarketConfig | None = None,
    *,
    seconds: float = 20_000.0,
    dt: float = 1.0,
    seed: int = 11,
    burn_in_seconds: float = 300.0,
) -> MarketDay:
    """The background market alone (no agents), ``burn_in_seconds`` unrecorded, then :func:`record_simulator`
    with the quotes at event resolution (the simulator's quote tape)."""
    from almm_rllib.core.market import MarketSimulator
    from almm_rllib.core.market_config import MarketConfig

    config = MarketConfig() if config is None else config
    sim = MarketSimulator(config, n_agents=0, seed=seed, quote_tape=True)
    if burn_in_seconds > 0:
        sim.run_background(int(math.ceil(burn_in_seconds / dt)), float(dt))
    day = record_simulator(sim, seconds=seconds, dt=dt, name=f"simulator seed {seed}")
    day.info.update(seed=seed, burn_in_seconds=float(burn_in_seconds))
    return day


# ------------------------------------------------------------------------------------------------------------
# numerical helpers


def _ffill(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    idx = np.where(ok, np.arange(x.size), 0)
    np.maximum.accumulate(idx, out=idx)
    out = x[idx]
    out[: int(np.argmax(ok)) if ok.any() else x.size] = np.nan
    return out


def _acf(x: np.ndarray, lags) -> list[float]:
    """Textbook sample autocorrelation (mean removed, lag-k products over the total sum of squares)."""
    x = np.asarray(x, np.float64)
    out = [math.nan] * len(lags)
    if x.size < MIN_POINTS:
        return out
    d = x - x.mean()
    den = float(d @ d)
    if den <= 0:
        return out
    for j, k in enumerate(lags):
        if x.size - k >= MIN_POINTS:
            out[j] = float(d[:-k] @ d[k:] / den)
    return out


def _wmean_se(x: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float, int]:
    """Weighted mean, its batch-means standard error (``N_BATCHES`` contiguous batches, in the given order:
    robust to the serial correlation of overlapping horizons and long-memory signs) and the count."""
    x = np.asarray(x, np.float64)
    w = np.ones(x.size) if w is None else np.asarray(w, np.float64)
    ok = np.isfinite(x) & (w > 0)
    x, w = x[ok], w[ok]
    n = int(x.size)
    if n < MIN_POINTS:
        return math.nan, math.nan, n
    mean = float(np.average(x, weights=w))
    b = min(N_BATCHES, n // 2)
    edges = np.linspace(0, n, b + 1).astype(np.int64)
    bm = np.array([np.average(x[i:j], weights=w[i:j]) for i, j in zip(edges[:-1], edges[1:], strict=True)])
    return mean, float(bm.std(ddof=1) / math.sqrt(b)), n


def _wquantiles(x: np.ndarray, w: np.ndarray, qs) -> list[float]:
    ok = np.isfinite(x) & (w > 0)
    x, w = x[ok], w[ok]
    if x.size == 0:
        return [math.nan] * len(qs)
    o = np.argsort(x, kind="stable")
    cw = np.cumsum(w[o])
    return [float(x[o][min(int(np.searchsorted(cw, q * cw[-1])), x.size - 1)]) for q in qs]


def _mid_at(q: QuoteSeries, mid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Mid in force at each t; NaN before the first row or after ``q.end``."""
    i = q.row_at(t)
    out = np.where(i >= 0, mid[np.maximum(i, 0)], np.nan)
    out[t > q.end] = np.nan
    return out


# ------------------------------------------------------------------------------------------------------------
# the statistics


def _before(day: MarketDay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mid, half-spread, row) just before each market order."""
    q, mo = day.quotes, day.orders
    mid, sp = q.mid(), q.spread()
    i = q.row_before(mo.time)
    ok = i >= 0
    m0 = np.where(ok, mid[np.maximum(i, 0)], np.nan)
    hs = np.where(ok, sp[np.maximum(i, 0)] / 2, np.nan)
    return m0, hs, i


def _response_terms(day: MarketDay, tau: float) -> np.ndarray:
    """sign x (mid(t + tau) - mid just before t) per market order (NaN where the horizon is not observed)."""
    q, mo = day.quotes, day.orders
    m0, _, _ = _before(day)
    return mo.sign * (_mid_at(q, q.mid(), mo.time + tau) - m0)


def response_function(day: MarketDay, taus=TAUS) -> dict:
    """R(tau) over market orders, money and half-spreads, with batch-means standard errors."""
    _, hs, _ = _before(day)
    out: dict = {}
    for tau in taus:
        d = _response_terms(day, tau)
        r, se, n = _wmean_se(d)
        h = _mean_where(hs, np.isfinite(d))
        out[f"{tau:g}"] = {
            "tau_s": float(tau),
            "n": n,
            "money": r,
            "money_se": se,
            "hs": r / h,
            "hs_se": se / h,
        }
    return out


def response_growth(day: MarketDay, tau: float = 60.0, base: float = 1.0) -> dict:
    """R(tau) / R(base) over the orders observed at both horizons, with a jackknife standard error."""
    g, se = _ratio_se(_response_terms(day, tau), _response_terms(day, base))
    return {"tau_s": float(tau), "base_s": float(base), "value": g, "se": se}


def _ratio_se(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """mean(x) / mean(y) over the rows where both are finite, and its delete-one-batch jackknife standard error
    (``N_BATCHES`` contiguous batches), which keeps the correlation of x and y and of neighbouring rows."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < MIN_POINTS or y.sum() == 0:
        return math.nan, math.nan
    b = min(N_BATCHES, x.size // 2)
    edges = np.linspace(0, x.size, b + 1).astype(np.int64)
    sx = np.add.reduceat(x, edges[:-1])
    sy = np.add.reduceat(y, edges[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        jack = (sx.sum() - sx) / (sy.sum() - sy)
    se = (
        float(math.sqrt((b - 1) / b * np.sum((jack - jack.mean()) ** 2)))
        if np.isfinite(jack).all()
        else math.nan
    )
    return float(x.sum() / y.sum()), se


def _mean_where(x: np.ndarray, sel: np.ndarray, w: np.ndarray | None = None) -> float:
    """(Weighted) mean of ``x`` over ``sel`` and finite values; NaN if nothing is left."""
    ok = sel & np.isfinite(x)
    if not ok.any():
        return math.nan
    return float(np.average(x[ok], weights=None if w is None else w[ok]))


def _bucket(depth: np.ndarray) -> np.ndarray:
    return np.minimum(depth, len(DEPTH_BUCKETS) - 1)


def markouts(day: MarketDay, horizons=MARKOUT_HORIZONS) -> dict:
    """The maker's markout of passive executions, quantity-weighted, per depth bucket and over all."""
    q, mo = day.quotes, day.orders
    mid = q.mid()
    _, hs, _ = _before(day)
    side = -mo.sign[mo.fill_order]  # the maker's side
    b = _bucket(mo.fill_depth_ticks())
    hs_f = hs[mo.fill_order]
    out: dict = {}
    for label, sel in [("all", np.ones(b.size, bool))] + [(k, b == j) for j, k in enumerate(DEPTH_BUCKETS)]:
        row: dict = {"n": int(sel.sum()), "shares": float(mo.fill_size[sel].sum())}
        for h in horizons:
            mk = side[sel] * (_mid_at(q, mid, mo.fill_time[sel] + h) - mo.fill_price[sel])
            v, se, _ = _wmean_se(mk, mo.fill_size[sel])
            hh = _mean_where(hs_f[sel], np.isfinite(mk), mo.fill_size[sel])
            row[f"{h:g}"] = {"money": v, "money_se": se, "hs": v / hh, "hs_se": se / hh}
        out[label] = row
    return out


def walk(day: MarketDay) -> dict:
    """How far market orders walk: shares reaching 0, 1, 2, 3+ ticks beyond their first price."""
    mo = day.orders
    n = len(mo)
    d = mo.depth_ticks()
    b = _bucket(d)
    out = {"n": n, "mean_ticks": float(d.mean()) if n else math.nan}
    for j, k in enumerate(DEPTH_BUCKETS):
        out[k] = float(np.mean(b == j)) if n else math.nan
    out["beyond_first"] = float(np.mean(d > 0)) if n else math.nan
    return out


def _grid(first: float, end: float, step: float) -> np.ndarray:
    """first, first + step, ... up to end (a point within 1e-9 steps past ``end``, from the rounding of a
    clock summed step by step, is pulled back onto it)."""
    grid = first + step * np.arange(int(math.floor((end - first) / step + 1e-9)) + 1)
    return np.minimum(grid, end)


def signature(day: MarketDay, sampling=SIGNATURE_S) -> dict:
    """Realised variance per second of the mid sampled on clock grids (money^2/s, and of log returns per second),
    and the lag-1..5 autocorrelation of 1-s mid changes."""
    q = day.quotes
    mid = q.mid()
    first = q.time[int(np.argmax(np.isfinite(mid)))]
    out: dict = {}
    for s in sampling:
        grid = _grid(first, q.end, s)
        m = _mid_at(q, mid, grid)
        dm = np.diff(m)
        r = np.diff(np.log(m))
        ok = dm.size >= MIN_POINTS
        out[f"{s:g}"] = {
            "sampling_s": float(s),
            "n": int(dm.size),
            "rv_money2_per_s": float(np.mean(dm**2) / s) if ok else math.nan,
            "rv_rel_per_s": float(np.mean(r**2) / s) if ok else math.nan,
        }
    top = out[f"{sampling[-1]:g}"]["rv_rel_per_s"]
    for v in out.values():
        v["ratio_to_longest"] = v["rv_rel_per_s"] / top if top and math.isfinite(top) else math.nan
    grid = _grid(first, q.end, 1.0)
    dm1 = np.diff(_mid_at(q, mid, grid))
    return {"rv": out, "return_acf": _acf(dm1, range(1, RETURN_ACF_LAGS + 1))}


def spread_stats(day: MarketDay) -> dict:
    """Time-weighted distribution of the spread (ticks): each row weighs the time until the next row."""
    q = day.quotes
    # prices are ticks x tick size in money, so a spread in ticks carries rounding noise (8.9999999999975 for
    # 9 ticks at $222): snapped to the nearest 1e-6 tick before it is compared with band edges
    s = np.round(q.spread() / q.tick_size, 6)
    w = np.diff(np.r_[q.time, q.end])
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    ok = np.isfinite(s) & (w > 0)
    mean = float(np.average(s[ok], weights=w[ok])) if ok.any() else math.nan
    vals = _wquantiles(s, w, qs)
    out = {"mean_ticks": mean, **{f"p{round(p * 100)}": v for p, v in zip(qs, vals, strict=True)}}
    out["mean_money"] = mean * q.tick_size
    si = np.rint(s[ok]).astype(np.int64)
    out["frac_1_tick"] = float(w[ok][si <= 1].sum() / w[ok].sum()) if ok.any() else math.nan
    return out


def touch_depth(day: MarketDay) -> dict:
    """Time-weighted mean depth at the touch (mean of the two sides) over the mean market-order size."""
    q, mo = day.quotes, day.orders
    w = np.diff(np.r_[q.time, q.end])
    d = (q.bid_size + q.ask_size) / 2
    depth = float(np.average(d, weights=w)) if w.sum() > 0 else math.nan
    size = float(mo.size.mean()) if len(mo) else math.nan
    return {"depth_shares": depth, "mo_size_shares": size, "ratio": depth / size if size > 0 else math.nan}


def arrivals(day: MarketDay, windows=FANO_WINDOWS) -> dict:
    """Clustering of market-order arrivals: rate, coefficient of variation of inter-arrival times (1 for a
    Poisson process, > 1 clustered) and Fano factors (variance / mean of counts per window; 1 for Poisson)."""
    q, mo = day.quotes, day.orders
    t = mo.time
    span = q.end - q.start
    out: dict = {"n": len(mo), "rate_per_s": len(mo) / span if span > 0 else math.nan}
    gaps = np.diff(t)
    out["cv"] = (
        float(gaps.std(ddof=1) / gaps.mean()) if gaps.size >= MIN_POINTS and gaps.mean() > 0 else math.nan
    )
    fano = {}
    for w in windows:
        k = int(math.floor(span / w))
        if k < MIN_POINTS:
            fano[f"{w:g}"] = math.nan
            continue
        c = np.bincount(((t - q.start) // w).astype(np.int64), minlength=k)[:k]
        fano[f"{w:g}"] = float(c.var(ddof=1) / c.mean()) if c.mean() > 0 else math.nan
    out["fano"] = fano
    return out


def microstructure_stats(day: MarketDay) -> dict:
    """Every statistic of the module docstring for one day (plain dict of floats, lists and dicts)."""
    sig = signature(day)
    q = day.quotes
    return {
        "name": day.name,
        "info": dict(day.info),
        "seconds": float(q.end - q.start),
        "n_market_orders": len(day.orders),
        "n_executions": int(day.orders.fill_order.size),
        "mean_mid": float(np.nanmean(q.mid())),
        "tick_size": q.tick_size,
        "response": response_function(day),
        "response_growth": response_growth(day),
        "markout": markouts(day),
        "walk": walk(day),
        "sign_acf": dict(zip(map(str, SIGN_LAGS), _acf(day.orders.sign, SIGN_LAGS), strict=True)),
        "signature": sig["rv"],
        "return_acf": sig["return_acf"],
        "spread": spread_stats(day),
        "touch_depth": touch_depth(day),
        "arrivals": arrivals(day),
    }


# ------------------------------------------------------------------------------------------------------------
# comparison with tolerance bands


class CompareRow(NamedTuple):
    """One statistic of the real day beside the simulator's, with its band (lo, hi) and verdict."""

    name: str
    real: float
    sim: float
    band: tuple[float, float]
    verdict: str  #: "pass", "fail", or "n/a" (a figure is missing: too little data)
    why: str


def _se2(a: float, b: float) -> float:
    """Combined standard error of a difference (a missing one counts as 0)."""
    return math.sqrt(sum(x * x for x in (a, b) if x is not None and math.isfinite(x)))


def _band_abs(real: float, a: float) -> tuple[float, float]:
    return real - a, real + a


def _band_rel(real: float, rel: float, se: float = 0.0) -> tuple[float, float]:
    h = max(rel * abs(real), 2 * se)
    return real - h, real + h


def _band_factor(real: float, f: float, se: float = 0.0) -> tuple[float, float]:
    """From real/f to real*f (same sign), widened to real +- 2 se when that is wider."""
    lo, hi = sorted((real / f, real * f))
    return min(lo, real - 2 * se), max(hi, real + 2 * se)


def _row(name: str, real: float, sim: float, band: tuple[float, float], why: str) -> CompareRow:
    vals = (real, sim, *band)
    if not all(v is not None and math.isfinite(v) for v in vals):
        return CompareRow(name, real, sim, band, "n/a", why + " [a figure is missing: too little data]")
    return CompareRow(name, real, sim, band, "pass" if band[0] <= sim <= band[1] else "fail", why)


# Long on purpose: the acceptance table itself, one statistic and its band a few lines each, read top to
# bottom like the report it produces; the band rules are shared helpers above.
def compare(real: dict, sim: dict) -> list[CompareRow]:
    """Each statistic of ``real`` (the LOBSTER day's :func:`microstructure_stats`) beside ``sim``'s, with a
    tolerance band and a verdict. Scale-free units throughout (half-spreads, ticks, ratios, correlations), so a
    market with another price level is judged on shape, not on its dollar figures.

    Bands (``se`` = the batch-means standard errors of both figures combined; one real day is a small sample,
    so every band is at least two of them wide on each side):

    * R(tau) in half-spreads: from real/2 to 2 x real. The size of the response relative to the spread decides
      whether quoting at the touch pays; a factor 2 leaves room for a preset whose spread is not the day's
      exactly but still catches a response that is absent or an order of magnitude off.
    * R(60)/R(1): real +- 35% (about two standard errors on the AMZN day): the response must grow after the
      trade as much as on the real day; an impact that reverts (ratio < 1) fails.
    * markouts (half-spreads): the sign is what matters (a passive fill adversely selected or not), so the
      band runs from real/3 to 3 x real (the same sign) when the real figure is significant (> 2 se);
      otherwise real +- max(2 se, 0.25 half-spreads), i.e. "not distinguishable from the real day".
    * walk shares: real +- max(50%, 1 point): the depth behind the touch against the order sizes.
    * sign autocorrelation: real +- 0.1 at lags 1..5, +- 0.05 beyond (the sample ACF of ~6,600 signs has a
      standard error of ~0.012 without memory, two to four times that with it).
    * signature ratios RV(s)/RV(60 s): real +- 0.25 (the 60-s RV from ~400 intervals has a ~10% error):
      flat for a martingale, rising with s for mean reversion (the free lunch of a sweep that reverts).
    * 1-s return autocorrelation: real +- 0.05 (lag-1 bid-ask bounce of the mid would show as < -0.05).
    * volatility per sqrt-second (60-s sampling), spread mean/median/p95, touch depth over order size, the
      inter-arrival CV and Fano factors: relative (factor or percentage, each row says which): the preset is
      fitted to these levels, but one day has intraday seasonality that a stationary model need not mimic.
    """
    rows: list[CompareRow] = []
    rr, rs = real["response"], sim["response"]
    for k in (f"{x:g}" for x in TAUS):
        a, b = rr[k], rs.get(k, {})
        se = _se2(a["hs_se"], b.get("hs_se"))
        rows.append(
            _row(
                f"R({k} s) / half-spread",
                a["hs"],
                b.get("hs", math.nan),
                _band_factor(a["hs"], 2.0, se),
                "factor 2 of the real response in half-spreads (or 2 se)",
            )
        )
    ga, gb = real["response_growth"], sim["response_growth"]
    g_r, g_s = ga.get("value", math.nan), gb.get("value", math.nan)
    rows.append(
        _row(
            "R(60 s) / R(1 s)",
            g_r,
            g_s,
            _band_rel(g_r, GROWTH_TOL, _se2(ga.get("se"), gb.get("se"))),
            f"+-{GROWTH_TOL:.0%} (or 2 se): the response keeps growing for a minute as on the real day",
        )
    )
    for h in (f"{x:g}" for x in MARKOUT_HORIZONS):
        for bk in ("all", *DEPTH_BUCKETS):
            a = real["markout"][bk][h]
            b = sim["markout"].get(bk, {}).get(h, {})
            se = _se2(a["hs_se"], b.get("hs_se"))
            if math.isfinite(a["hs"]) and abs(a["hs"]) > 2 * a["hs_se"]:
                band, why = _band_factor(a["hs"], 3.0, se), "same sign, within a factor 3 (or 2 se)"
            else:
                band = _band_abs(a["hs"], max(2 * se, 0.25)) if math.isfinite(se) else (math.nan, math.nan)
                why = "real figure not significant: within 2 se or 0.25 half-spreads of it"
            depth = "all depths" if bk == "all" else f"depth {bk} ticks"
            rows.append(
                _row(f"maker markout {h} s, {depth} / half-spread", a["hs"], b.get("hs", math.nan), band, why)
            )
    for k in ("beyond_first", "1", "2", "3+"):
        a, b = real["walk"][k], sim["walk"][k]
        label = (
            "market orders walking >= 1 tick" if k == "beyond_first" else f"market orders walking {k} ticks"
        )
        rows.append(
            _row(label, a, b, _band_rel(a, 0.5) if a >= 0.02 else _band_abs(a, 0.01), "+-50% or 1 point")
        )
    for k, a in real["sign_acf"].items():
        w = 0.1 if int(k) <= 5 else 0.05
        rows.append(
            _row(f"sign ACF lag {k}", a, sim["sign_acf"].get(k, math.nan), _band_abs(a, w), f"+-{w:g}")
        )
    sr, ss = real["signature"], sim["signature"]
    for k in list(sr)[:-1]:
        a = sr[k]["ratio_to_longest"]
        b = ss.get(k, {}).get("ratio_to_longest", math.nan)
        rows.append(_row(f"signature RV({k} s) / RV({list(sr)[-1]} s)", a, b, _band_abs(a, 0.25), "+-0.25"))
    last = list(sr)[-1]
    va = math.sqrt(sr[last]["rv_rel_per_s"])
    vb = math.sqrt(ss.get(last, {}).get("rv_rel_per_s", math.nan))
    rows.append(
        _row(f"volatility per sqrt-s ({last}-s sampling)", va, vb, _band_factor(va, 1.5), "factor 1.5")
    )
    for j, a in enumerate(real["return_acf"]):
        rows.append(
            _row(f"1-s mid change ACF lag {j + 1}", a, sim["return_acf"][j], _band_abs(a, 0.05), "+-0.05")
        )
    for k, rel in (("mean_ticks", 0.25), ("p50", 0.25), ("p95", 0.35)):
        a, b = real["spread"][k], sim["spread"][k]
        rows.append(
            _row(f"spread {k.replace('_ticks', '')} (ticks)", a, b, _band_rel(a, rel), f"+-{rel:.0%}")
        )
    a, b = real["touch_depth"]["ratio"], sim["touch_depth"]["ratio"]
    rows.append(_row("touch depth / mean market-order size", a, b, _band_factor(a, 2.0), "factor 2"))
    a, b = real["arrivals"]["cv"], sim["arrivals"]["cv"]
    rows.append(_row("market-order inter-arrival CV", a, b, _band_rel(a, 0.35), "+-35% (1 = Poisson)"))
    for k, a in real["arrivals"]["fano"].items():
        b = sim["arrivals"]["fano"].get(k, math.nan)
        rows.append(
            _row(f"Fano factor of counts in {k} s", a, b, _band_factor(a, 2.0), "factor 2 (1 = Poisson)")
        )
    return rows


# ------------------------------------------------------------------------------------------------------------
# text output


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, int | np.integer):
        return str(int(x))
    ax = abs(float(x))
    return f"{x:.{digits}g}" if ax >= 1e-3 or ax == 0 else f"{x:.2e}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header] + [[c if isinstance(c, str) else _fmt(c) for c in r] for r in rows]
    w = [max(len(r[j]) for r in cells) for j in range(len(header))]
    lines = ["  ".join(c.ljust(w[j]) for j, c in enumerate(r)) for r in cells]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def format_stats(st: dict) -> str:
    """Plain-text tables of one day's :func:`microstructure_stats`."""
    out = [
        f"== {st['name']}: {st['seconds']:.0f} s, {st['n_market_orders']} market orders, "
        f"{st['n_executions']} passive executions, mean mid {_fmt(st['mean_mid'])} (tick {st['tick_size']:g})"
    ]
    out.append(
        _table(
            ["tau (s)", "n", "R (money)", "se", "R (half-spreads)", "se"],
            [[k, v["n"], v["money"], v["money_se"], v["hs"], v["hs_se"]] for k, v in st["response"].items()],
        )
    )
    g = st["response_growth"]
    out.append(f"R({g['tau_s']:g} s) / R({g['base_s']:g} s) = {_fmt(g['value'], 3)} +- {_fmt(g['se'], 2)}")
    hs = [f"{x:g}" for x in MARKOUT_HORIZONS]
    out.append(
        _table(
            ["maker markout", "n", "shares"] + [f"{h} s (money)" for h in hs] + [f"{h} s (hs)" for h in hs],
            [
                [f"depth {k}" if k != "all" else "all", v["n"], v["shares"]]
                + [v[h]["money"] for h in hs]
                + [f"{_fmt(v[h]['hs'], 3)} +- {_fmt(v[h]['hs_se'], 2)}" for h in hs]
                for k, v in st["markout"].items()
            ],
        )
    )
    w = st["walk"]
    out.append(
        "walk (share of market orders reaching d ticks beyond the first price): "
        + ", ".join(f"{k}: {_fmt(w[k], 3)}" for k in DEPTH_BUCKETS)
        + f"; >= 1: {_fmt(w['beyond_first'], 3)}"
    )
    out.append("sign ACF: " + ", ".join(f"lag {k}: {_fmt(v, 3)}" for k, v in st["sign_acf"].items()))
    out.append(
        _table(
            ["sampling (s)", "n", "RV money^2/s", "RV rel/s", "ratio to longest"],
            [
                [k, v["n"], v["rv_money2_per_s"], v["rv_rel_per_s"], v["ratio_to_longest"]]
                for k, v in st["signature"].items()
            ],
        )
    )
    out.append("1-s mid change ACF lags 1..5: " + ", ".join(_fmt(v, 3) for v in st["return_acf"]))
    s = st["spread"]
    out.append(
        "spread (ticks, time-weighted): "
        + ", ".join(f"{k}: {_fmt(s[k], 4)}" for k in ("mean_ticks", "p5", "p25", "p50", "p75", "p95"))
        + f"; <= 1 tick: {_fmt(s['frac_1_tick'], 3)}"
    )
    d = st["touch_depth"]
    out.append(
        f"touch depth {_fmt(d['depth_shares'])} shares / mean market order {_fmt(d['mo_size_shares'])} shares "
        f"= {_fmt(d['ratio'], 3)}"
    )
    a = st["arrivals"]
    out.append(
        f"arrivals: {_fmt(a['rate_per_s'], 3)} /s, inter-arrival CV {_fmt(a['cv'], 3)}, Fano "
        + ", ".join(f"{k} s: {_fmt(v, 3)}" for k, v in a["fano"].items())
    )
    return "\n".join(out)


def format_rows(
    rows: list[CompareRow],
    real_name: str = "real",
    sim_name: str = "sim",
    extra: list[tuple[str, list[Any]]] | None = None,
) -> str:
    """The comparison as a plain-text table, with a count of verdicts; ``extra``: (head, one value per row)
    columns put before the band rule."""
    extra = extra or []
    body = [
        [r.name, r.real, r.sim, f"[{_fmt(r.band[0], 3)}, {_fmt(r.band[1], 3)}]", r.verdict]
        + [col[i] for _, col in extra]
        + [r.why]
        for i, r in enumerate(rows)
    ]
    n = {v: sum(r.verdict == v for r in rows) for v in ("pass", "fail", "n/a")}
    head = ["statistic", real_name, sim_name, "band", "verdict", *(h for h, _ in extra), "why"]
    return _table(head, body) + f"\n{n['pass']} pass, {n['fail']} fail, {n['n/a']} n/a"


def failure_cause(name: str) -> str:
    """Why a failing row fails, as far as it is known: its :func:`known_gap` or, for any other row, that it is
    not a known gap of the model."""
    return known_gap(name) or (
        "not a known gap of the model: see on how many simulated days it fails (almm market-report --days, or "
        "--seeds here; a band two standard errors wide fails on some days by chance)"
    )


def format_failures(rows: list[CompareRow]) -> str:
    """One line per failing row: its name and :func:`failure_cause` (empty when none fails)."""
    return "\n".join(f"  - {r.name}: {failure_cause(r.name)}" for r in rows if r.verdict == "fail")


# ------------------------------------------------------------------------------------------------------------
# command line: python -m almm_rllib.results.microstructure


def _lobster_pairs(folder: Path, tickers) -> list[tuple[Path, Path]]:
    pairs = []
    for tk in tickers:
        msgs = sorted(folder.glob(f"{tk}_*_message_*.csv"))
        if not msgs:
            raise FileNotFoundError(f"no LOBSTER message file for {tk} in {folder}")
        pairs.append((msgs[0], msgs[0].with_name(msgs[0].name.replace("_message_", "_orderbook_"))))
    return pairs


def _is_se(key: str) -> bool:
    return key == "se" or key.endswith("_se")


def _pool_leaf(key: str, values: list) -> Any:
    first = values[0]
    if isinstance(first, dict):
        return {k: _pool_leaf(str(k), [v[k] for v in values]) for k in first}
    if isinstance(first, list | tuple):
        return [_pool_leaf(key, [v[i] for v in values]) for i in range(len(first))]
    if isinstance(first, bool) or not isinstance(first, int | float | np.integer | np.floating):
        return first
    x = np.array([float(v) for v in values])
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan
    if _is_se(key):  # standard error of the mean of independent days
        return float(math.sqrt(np.sum(x * x)) / x.size)
    return float(np.mean(x))


def pool_stats(days: list[dict]) -> dict:
    """The mean over simulated days of their :func:`microstructure_stats`, in the same layout, so that
    :func:`compare` judges the simulator's expected figure rather than one day's draw: every number is the mean
    of the days where it is finite, every standard error (``se``, ``*_se``) that of the mean
    (``sqrt(sum se^2) / n``), texts are the first day's; ``info`` is the first day's with ``days`` (their
    number) and, for several days, ``seed`` the list of their seeds."""
    if not days:
        raise ValueError("pool_stats: give at least one day's statistics")
    out = _pool_leaf("", [{k: v for k, v in d.items() if k != "info"} for d in days])
    info = days[0].get("info") or {}
    seeds = [(d.get("info") or {}).get("seed") for d in days]
    out["info"] = {**info, "days": len(days)}
    if len(days) > 1:
        out["info"]["seed"] = seeds
        label = ", ".join(str(s) for s in seeds) if None not in seeds else f"{len(days)} days"
        out["name"] = f"simulator, mean of {len(days)} days (seeds {label})"
    return out


def real_rank(real: float, sims: list[float]) -> float:
    """Where ``real`` falls among the simulated days' figures ``sims``: the share of them below it (ties count
    half; NaN ones left out). 0 or 1: the real day lies outside every simulated day, a sign that the model
    misses the statistic even when the band lets it pass. NaN without finite figures."""
    x = np.array([v for v in sims if v is not None and math.isfinite(v)], dtype=float)
    if x.size == 0 or real is None or not math.isfinite(real):
        return math.nan
    return float((np.sum(x < real) + 0.5 * np.sum(x == real)) / x.size)


def seed_robustness(
    real: dict,
    seeds: list[int],
    *,
    config: MarketConfig | None = None,
    seconds: float = SESSION_SECONDS,
    dt: float = 1.0,
    burn_in_seconds: float = 300.0,
    known: dict[int, dict] | None = None,
) -> dict:
    """:func:`compare` of ``real`` with a simulator run on each of ``seeds``: one seed's verdicts carry the
    sampling noise of a single day (a row whose band is two standard errors wide fails by chance now and then),
    so a preset is judged on how often each row fails. ``known``: the :func:`microstructure_stats` of seeds
    already simulated with these settings (not run again). Returns ``{"seeds", "fails_per_seed", "mean_fails",
    "at_most_one", "row_fails", "row_values", "pooled"}``: ``at_most_one`` the seeds with at most one failing
    row, ``row_fails`` mapping each row that failed on some seed to the number of seeds it failed on (most
    first), ``row_values`` each row's simulated figure per seed, ``pooled`` the days' :func:`pool_stats`."""
    if not seeds:
        raise ValueError("seed_robustness: give at least one seed")
    per_seed, counts, values, days = [], {}, {}, []
    for seed in seeds:
        stats = (known or {}).get(seed)
        if stats is None:
            day = simulator_day(config, seconds=seconds, seed=seed, dt=dt, burn_in_seconds=burn_in_seconds)
            stats = microstructure_stats(day)
        days.append(stats)
        rows = compare(real, stats)
        failed = [r.name for r in rows if r.verdict == "fail"]
        per_seed.append(len(failed))
        for name in failed:
            counts[name] = counts.get(name, 0) + 1
        for r in rows:
            values.setdefault(r.name, []).append(r.sim)
    return {
        "seeds": list(seeds),
        "fails_per_seed": per_seed,
        "mean_fails": float(np.mean(per_seed)),
        "at_most_one": sum(f <= 1 for f in per_seed),
        "row_fails": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "row_values": values,
        "pooled": pool_stats(days),
    }


def format_robustness(res: dict) -> str:
    n = len(res["seeds"])
    lines = [
        f"failing rows per seed ({', '.join(str(s) for s in res['seeds'])}): "
        f"{', '.join(str(f) for f in res['fails_per_seed'])}; mean {res['mean_fails']:.2f}; "
        f"at most one on {res['at_most_one']} of {n} seeds"
    ]
    lines += [f"  {name}: fails on {k} of {n} seeds" for name, k in res["row_fails"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the microstructure statistics of LOBSTER days and of a simulator run, and the comparison."""
    from almm_rllib.data.lobster import read_lobster

    p = argparse.ArgumentParser(prog="python -m almm_rllib.results.microstructure", description=main.__doc__)
    p.add_argument("--lobster", default=os.environ.get("ALMM_LOBSTER_DIR"), help="LOBSTER folder")
    p.add_argument("--tickers", default="AMZN,AAPL", help="comma-separated; the first is compared")
    p.add_argument("--seconds", type=float, default=20_000.0, help="simulated seconds (0: no simulation)")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--seeds",
        default=None,
        metavar="A,B,...",
        help="instead of one comparison, run every seed and print how often each row fails",
    )
    p.add_argument(
        "--dt",
        type=float,
        default=1.0,
        help="simulator step: the env's default 1 s (also its quotes' resolution)",
    )
    args = p.parse_args(argv)
    folder = (
        Path(args.lobster) if args.lobster else Path(__file__).resolve().parents[3] / "shared/data/lobster"
    )
    real = []
    for mpath, opath in _lobster_pairs(folder, args.tickers.split(",")):
        st = microstructure_stats(lobster_day(read_lobster(mpath, opath)))
        real.append(st)
        print(format_stats(st), end="\n\n")
    if args.seconds > 0 and args.seeds:
        try:
            seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
        except ValueError:
            p.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
        rb = seed_robustness(real[0], seeds, seconds=args.seconds, dt=args.dt)
        print(format_robustness(rb))
        print(f"\nthe mean over these {len(seeds)} days against the real day:")
        print(
            format_rows(compare(real[0], rb["pooled"]), real[0]["info"].get("ticker") or "real", "simulated")
        )
    elif args.seconds > 0:
        sim = microstructure_stats(simulator_day(seconds=args.seconds, seed=args.seed, dt=args.dt))
        print(format_stats(sim), end="\n\n")
        rows = compare(real[0], sim)
        print(format_rows(rows, real[0]["info"].get("ticker") or "real", "simulator"))
        if any(r.verdict == "fail" for r in rows):
            print("why the failing rows fail:\n" + format_failures(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
