"""Event statistics of a LOBSTER day: what a market-simulator author calibrates against.

:func:`lobster_stats` reads a day's own messages and book rows (time-weighted spread and depth, message rates,
order sizes, placement distances, clock-grid returns and order-flow imbalance) with the estimators of
:mod:`.estimators`, the ones :func:`~.record_stats.market_stats` applies to the simulator. The two meet in the
report: the day resampled onto the simulator's clock (:func:`~.real_data.lobster_record`) is measured by
``market_stats``, and its clock-grid returns here agree with it (tested).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from almm_rllib.core.market_facts import ROUND_LOT_SHARES, SESSION_SECONDS
from almm_rllib.results.market_report.estimators import (
    MIN_POINTS,
    corr,
    ffill,
    kurtosis,
    lagged_corr,
    pmf,
    std,
    summary,
    wquantile,
)
from almm_rllib.results.microstructure import group_executions

if TYPE_CHECKING:
    from almm_rllib.data.lobster import LobsterData

#: Autocorrelation lags of the clock-grid returns.
RETURN_LAGS = 5


def lobster_stats(data: LobsterData, *, horizons: tuple[float, ...] = (1.0, 10.0, 60.0)) -> dict:
    """Calibration statistics of a LOBSTER pair for the market simulator.

    Units: prices and distances in **ticks** ($0.01), sizes in **shares**, rates in **messages per second**
    over ``duration_s`` (last minus first message time), returns as **log returns** of the mid-price over a
    horizon (dimensionless) unless a key says ``_ticks``. Time-weighted figures weight orderbook row ``i`` by
    the time until the next message (so states that last 0 s within a burst do not count). Distributions are
    summaries ``{n, mean, std, min, p5, p25, p50, p75, p95, p99, max}``; ``pmf`` maps integer values to
    fractions (values below 0.1% left out). A figure that needs more data than the file holds is NaN and its
    ``n`` says why: a std needs 2 points; correlations, slopes and kurtosis ``MIN_POINTS`` (so a 49 s file has
    no 60 s returns and no 10 s correlations).

    Keys:

    * ``frac_shared_timestamp``: messages whose timestamp equals a neighbour's; ``interarrival_s``: time between
      consecutive messages (seconds).
    * ``spread_ticks``: best ask - best bid (rows with both sides): ``time_weighted``, ``per_event`` summaries
      and ``pmf_time``.
    * ``depth_shares``: per side, size at level ``k = 1..levels``: ``mean_time``, ``median_time`` lists
      (time-weighted) and ``mean_event``.
    * ``rates_per_s``: per message type name (``MESSAGE_TYPE_NAMES``), ``buy``/``sell`` (direction = side of
      the resting order) and ``total``; plus ``all``.
    * ``market_orders``: type-4 executions grouped into aggressive orders (a run with one time stamp and
      direction, ``results.microstructure.group_executions``):
      ``size_shares`` summary, ``fills_per_order`` and ``levels_per_order`` means, ``frac_multi_level``,
      ``buy``/``sell`` counts (aggressor = opposite of the resting side), ``rate_per_s``. Hidden executions
      (type 5) are summarised separately in ``hidden_executions`` (``frac_off_tick``: printed between ticks,
      e.g. at a half-penny midpoint).
    * ``limit_orders``: type-1 ``size_shares`` summary, ``frac_round_lot`` (multiple of 100),
      ``frac_100``, ``frac_odd_lot`` (< 100).
    * ``placement_ticks``: distance of each new limit order from the same-side best quote just before it,
      positive = behind the best, 0 = joins it, negative = improves it (inside the spread): summary, ``pmf``,
      ``frac_inside_spread``, ``frac_at_best``, ``frac_behind``. A level-N file only carries orders within
      the visible N levels, so the distribution is truncated there (at 0 for a level-1 file).
    * ``returns``: per horizon ``"1s"``, ``"10s"``, ``"60s"`` (the mid sampled on a clock grid, the last
      row at or before each grid time): ``n`` returns, ``vol`` (std of log returns), ``vol_per_sqrt_s``
      (= vol / sqrt(horizon)), ``vol_session`` (scaled to a 6.5 h session), ``std_ticks`` and
      ``mean_abs_ticks`` (of the mid change), ``kurtosis`` (excess, unbiased), ``frac_zero`` (horizons with no
      mid change), ``acf`` (autocorrelation of the returns at lags 1..5), ``ofi_corr`` (correlation
      of the horizon's order-flow imbalance with the same horizon's mid change), ``ofi_next_corr`` (with the
      next horizon's change) and ``ofi_impact_ticks_per_share`` (least-squares slope of mid change on OFI).
      OFI is Cont, Kukanov & Stoikov (2014) on the best level.
    """
    msgs = data.messages
    t = msgs["time"].to_numpy()
    typ = msgs["type"].to_numpy()
    ap, asz, bp, bsz = data.level_arrays()
    duration = float(t[-1] - t[0])
    w = np.zeros(t.size)
    w[:-1] = np.diff(t)
    out: dict = _session_stats(data, t)
    out.update(_book_stats(ap, asz, bp, bsz, w, data.levels))
    out["rates_per_s"] = _message_rates(typ, msgs["direction"].to_numpy(), duration)
    out.update(_order_stats(msgs, duration))
    out["placement_ticks"] = _placement_stats(msgs, ap, bp)
    mid = ffill((ap[:, 0] + bp[:, 0]) / 2)
    ofi_cum = np.r_[0.0, np.cumsum(ofi_events(ap[:, 0], asz[:, 0], bp[:, 0], bsz[:, 0]))]
    out["returns"] = {f"{h:g}s": _clock_returns(t, mid, ofi_cum, h) for h in horizons}
    return out


def _session_stats(data: LobsterData, t: np.ndarray) -> dict:
    """Ticker, date, levels, message count, first/last time, shared timestamps and interarrival times."""
    return {
        "ticker": data.ticker,
        "date": data.date,
        "levels": data.levels,
        "n_messages": t.size,
        "start_s": float(t[0]),
        "end_s": float(t[-1]),
        "duration_s": float(t[-1] - t[0]),
        "frac_shared_timestamp": float(
            np.mean(np.r_[False, t[1:] == t[:-1]] | np.r_[t[1:] == t[:-1], False])
        ),
        "interarrival_s": summary(np.diff(t)),
    }


def _book_stats(ap, asz, bp, bsz, w: np.ndarray, levels: int) -> dict:
    """``spread_ticks`` and ``depth_shares``, per event and weighted by each row's lifetime ``w``."""
    spread = ap[:, 0] - bp[:, 0]
    two = ~np.isnan(spread)
    depth = {}
    for name, sz in (("bid", bsz), ("ask", asz)):
        depth[name] = {
            "mean_time": [
                float(np.average(sz[:, k], weights=w)) if w.sum() > 0 else math.nan for k in range(levels)
            ],
            "median_time": [
                wquantile(sz[:, k].astype(float), w, 0.5) if w.sum() > 0 else math.nan for k in range(levels)
            ],
            "mean_event": [float(sz[:, k].mean()) for k in range(levels)],
        }
    return {
        "spread_ticks": {
            "time_weighted": summary(spread[two], w[two]),
            "per_event": summary(spread[two]),
            "pmf_time": pmf(np.rint(spread[two]).astype(np.int64), w[two]),
            "frac_one_sided": float(1 - two.mean()),
        },
        "depth_shares": depth,
    }


def _message_rates(typ: np.ndarray, d: np.ndarray, duration: float) -> dict:
    """Messages per second by type name and resting side, and of all messages."""
    from almm_rllib.data.lobster import MESSAGE_TYPE_NAMES

    rates: dict = {}
    for code, name in MESSAGE_TYPE_NAMES.items():
        sel = typ == code
        rates[name] = {
            "buy": float((sel & (d == 1)).sum() / duration) if duration > 0 else math.nan,
            "sell": float((sel & (d == -1)).sum() / duration) if duration > 0 else math.nan,
            "total": float(sel.sum() / duration) if duration > 0 else math.nan,
        }
    rates["all"] = float(typ.size / duration) if duration > 0 else math.nan
    return rates


def _order_stats(msgs, duration: float) -> dict:
    """``market_orders`` (visible executions grouped into orders by ``results.microstructure.group_executions``:
    a run of executions with the same time stamp and side), ``hidden_executions`` and
    ``limit_orders`` (sizes of new orders)."""
    import pandas as pd

    from almm_rllib.data.lobster import MSG_EXECUTE, MSG_HIDDEN, MSG_NEW

    typ = msgs["type"].to_numpy()
    size = msgs["size"].to_numpy()
    price = msgs["price"].to_numpy()
    out: dict = {}
    ex = typ == MSG_EXECUTE
    if ex.any():
        # one grouping of executions into market orders for the whole project: results.microstructure's
        mo = group_executions(
            msgs["time"].to_numpy(np.float64)[ex],
            -msgs["direction"].to_numpy(np.int64)[ex],
            price[ex].astype(np.float64),
            size[ex].astype(np.float64),
            tick_size=1.0,  # LOBSTER prices are in ticks here
            source="LOBSTER executions",
        )
        n = len(mo)
        levels = pd.Series(mo.fill_price).groupby(mo.fill_order).nunique().to_numpy()
        out["market_orders"] = {
            "n": n,
            "size_shares": summary(mo.size),
            "fills_per_order": float(mo.fill_order.size / n),
            "levels_per_order": float(levels.mean()),
            "frac_multi_level": float((levels > 1).mean()),
            "buy": int((mo.sign == 1).sum()),
            "sell": int((mo.sign == -1).sum()),
            "rate_per_s": float(n / duration) if duration > 0 else math.nan,
        }
    else:
        out["market_orders"] = {"n": 0, "size_shares": summary([]), "rate_per_s": 0.0}
    hid = typ == MSG_HIDDEN
    out["hidden_executions"] = {
        "n": int(hid.sum()),
        "size_shares": summary(size[hid]),
        "frac_off_tick": float(np.mean(price[hid] != np.floor(price[hid]))) if hid.any() else math.nan,
    }
    ls = size[typ == MSG_NEW]
    out["limit_orders"] = {
        "size_shares": summary(ls),
        "frac_round_lot": float(np.mean(ls % ROUND_LOT_SHARES == 0)) if ls.size else math.nan,
        "frac_100": float(np.mean(ls == ROUND_LOT_SHARES)) if ls.size else math.nan,
        "frac_odd_lot": float(np.mean(ls < ROUND_LOT_SHARES)) if ls.size else math.nan,
    }
    return out


def _placement_stats(msgs, ap: np.ndarray, bp: np.ndarray) -> dict:
    """Distance of each new limit order from the same-side best just before it (row i-1), in ticks."""
    from almm_rllib.data.lobster import MSG_NEW

    d = msgs["direction"].to_numpy()
    price = msgs["price"].to_numpy()
    idx = np.flatnonzero(msgs["type"].to_numpy() == MSG_NEW)
    idx = idx[idx >= 1]
    buy = d[idx] == 1
    best_prev = np.where(buy, bp[idx - 1, 0], ap[idx - 1, 0])
    dist = np.where(buy, best_prev - price[idx], price[idx] - best_prev)
    dist = dist[~np.isnan(dist)]
    di = np.rint(dist).astype(np.int64)
    return {
        **summary(dist),
        "pmf": pmf(di),
        "frac_inside_spread": float(np.mean(di < 0)) if di.size else math.nan,
        "frac_at_best": float(np.mean(di == 0)) if di.size else math.nan,
        "frac_behind": float(np.mean(di > 0)) if di.size else math.nan,
    }


def ofi_events(ap, asz, bp, bsz) -> np.ndarray:
    """Cont-Kukanov-Stoikov (2014) order-flow imbalance contribution of each row vs the previous (shares).

    e_n = q^b_n 1[P^b_n >= P^b_n-1] - q^b_n-1 1[P^b_n <= P^b_n-1] - q^a_n 1[P^a_n <= P^a_n-1]
    + q^a_n-1 1[P^a_n >= P^a_n-1]; 0 for row 0 and when a best quote is missing.
    """
    e = np.zeros(ap.shape[0])
    pb, pb0, qb, qb0 = bp[1:], bp[:-1], bsz[1:], bsz[:-1]
    pa, pa0, qa, qa0 = ap[1:], ap[:-1], asz[1:], asz[:-1]
    with np.errstate(invalid="ignore"):
        v = qb * (pb >= pb0) - qb0 * (pb <= pb0) - qa * (pa <= pa0) + qa0 * (pa >= pa0)
    ok = ~(np.isnan(pb) | np.isnan(pb0) | np.isnan(pa) | np.isnan(pa0))
    e[1:] = np.where(ok, v, 0.0)
    return e


def clock_grid_series(t, mid, ofi_cum, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log returns and tick changes of the mid, and the summed OFI, between consecutive grid times ``h``
    seconds apart (the grid starts at the first multiple of ``h`` at or after the first two-sided row; each
    grid time takes the last row at or before it). Empty arrays when the grid has fewer than 2 points."""
    first = np.flatnonzero(~np.isnan(mid))
    grid = np.array([])
    if first.size:
        t0 = math.ceil(t[first[0]] / h) * h
        grid = t0 + h * np.arange(int(math.floor((t[-1] - t0) / h)) + 1) if t[-1] >= t0 else grid
    if grid.size < 2:
        return np.array([]), np.array([]), np.array([])
    at = np.searchsorted(t, grid, side="right")  # rows 0..at-1 happened by the grid time
    m = mid[at - 1]
    return np.diff(np.log(m)), np.diff(m), ofi_cum[at[1:]] - ofi_cum[at[:-1]]


def _clock_returns(t, mid, ofi_cum, h: float) -> dict:
    """One horizon of ``returns``: mid volatility, kurtosis, autocorrelation and OFI on a clock grid."""

    r, dm, ofi = clock_grid_series(t, mid, ofi_cum, h)
    vol = std(r)
    # the least-squares slope of dm on ofi (as estimators.slope), in np.cov's summation order, which the
    # published figures were computed with
    var = float(np.var(ofi)) if ofi.size >= MIN_POINTS else 0.0
    return {
        "horizon_s": float(h),
        "n": int(r.size),
        "vol": vol,
        "vol_per_sqrt_s": vol / math.sqrt(h),
        "vol_session": vol * math.sqrt(SESSION_SECONDS / h),
        "std_ticks": std(dm),
        "mean_abs_ticks": float(np.abs(dm).mean()) if dm.size else math.nan,
        "kurtosis": kurtosis(r),
        "frac_zero": float(np.mean(dm == 0)) if dm.size else math.nan,
        "acf": lagged_corr(r, RETURN_LAGS),
        "ofi_corr": corr(ofi, dm),
        "ofi_next_corr": corr(ofi[:-1], dm[1:]) if ofi.size > 1 else math.nan,
        "ofi_impact_ticks_per_share": float(np.cov(ofi, dm, ddof=0)[0, 1] / var) if var > 0 else math.nan,
    }
