"""Real NASDAQ data beside the simulation: finding a LOBSTER pair and resampling it onto the report's clock.

:func:`lobster_record` turns a LOBSTER day into the simulator's record layout, so that
:func:`~.record_stats.market_stats` measures it with the code that measures the simulator;
:func:`lobster_section` adds the day's own event statistics (:func:`~.lobster_stats.lobster_stats`) and its
microstructure statistics (:func:`almm_rllib.results.microstructure.microstructure_stats` of
:func:`~almm_rllib.results.microstructure.lobster_day`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from almm_rllib.core.market_facts import ROUND_LOT_SHARES
from almm_rllib.results import microstructure as ms
from almm_rllib.results.market_report.estimators import as_float, ffill
from almm_rllib.results.market_report.lobster_stats import lobster_stats
from almm_rllib.results.market_report.record_stats import market_stats, rec_columns

#: Shares per lot used to express LOBSTER sizes in lots.
LOBSTER_LOT_SHARES = ROUND_LOT_SHARES


def default_lobster_dir() -> Path | None:
    """``$ALMM_LOBSTER_DIR`` if set, else ``shared/data/lobster`` beside the repository, if it exists."""
    env = os.environ.get("ALMM_LOBSTER_DIR")
    cands = [Path(env)] if env else []
    cands.append(Path(__file__).resolve().parents[4] / "shared" / "data" / "lobster")
    for c in cands:
        if c.is_dir():
            return c
    return None


def find_lobster_pair(path, ticker: str = "AMZN") -> tuple[Path, Path]:
    """(message file, orderbook file) from a LOBSTER folder (the ``ticker`` pair, else the first pair) or from
    a message file's path. Raises ``FileNotFoundError`` naming what is missing."""
    p = Path(path)
    if p.is_dir():
        msgs = sorted(p.glob(f"{ticker}_*_message_*.csv")) or sorted(p.glob("*_message_*.csv"))
        if not msgs:
            raise FileNotFoundError(f"no LOBSTER message file (*_message_*.csv) in {p}")
        p = msgs[0]
    if not p.is_file():
        raise FileNotFoundError(f"LOBSTER data not found: {p}")
    if "_message_" not in p.name:
        raise FileNotFoundError(f"{p} is not a LOBSTER message file (its name has no '_message_')")
    ob = p.with_name(p.name.replace("_message_", "_orderbook_"))
    if not ob.is_file():
        raise FileNotFoundError(f"the orderbook file paired with {p} is missing: {ob}")
    return p, ob


def lobster_record(data, *, dt: float = 1.0, lot_shares: int = LOBSTER_LOT_SHARES) -> np.ndarray:
    """A LOBSTER pair resampled onto a clock grid of ``dt`` seconds, as ``REC_*`` rows (so that
    :func:`market_stats` measures it exactly as it measures the simulator).

    Row k is the book after the last message at or before grid time ``t_k`` (``t_0`` = the first multiple of
    ``dt`` at or after the first message). Mid/bid/ask in ticks (mid forward-filled over one-sided rows);
    aggressive buy/sell lots = visible (type 4) and hidden (type 5) executions in ``(t_{k-1}, t_k]``, the
    aggressor being opposite to the resting order's direction, in lots of ``lot_shares`` shares; background
    events = messages in the interval; depth in lots for the levels the file has (NaN beyond); fair price,
    regime and resting-order count are NaN (unobserved).
    """
    from almm_rllib.data.lobster import MSG_EXECUTE, MSG_HIDDEN

    mk = rec_columns()
    msgs = data.messages
    t = msgs["time"].to_numpy(np.float64)
    typ = msgs["type"].to_numpy()
    size = msgs["size"].to_numpy(np.float64)
    d = msgs["direction"].to_numpy()
    ap, asz, bp, bsz = data.level_arrays()
    t0 = math.ceil(t[0] / dt) * dt
    if t[-1] < t0 + dt:
        raise ValueError(f"the LOBSTER file covers less than two grid points of {dt} s")
    grid = t0 + dt * np.arange(int(math.floor((t[-1] - t0) / dt + 1e-9)) + 1)
    at = np.searchsorted(t, grid, side="right")
    row = at - 1
    rec = np.full((grid.size, mk.REC_SIZE), np.nan)
    rec[:, mk.REC_TIME] = grid
    bid, ask = bp[row, 0], ap[row, 0]
    rec[:, mk.REC_BID] = bid
    rec[:, mk.REC_ASK] = ask
    rec[:, mk.REC_MID] = ffill((bid + ask) / 2)
    ex = (typ == MSG_EXECUTE) | (typ == MSG_HIDDEN)
    buy = np.where(ex & (d == -1), size, 0.0) / lot_shares
    sell = np.where(ex & (d == 1), size, 0.0) / lot_shares
    prev = np.r_[np.searchsorted(t, grid[0] - dt, side="right"), at[:-1]]
    for col, x in ((mk.REC_MKT_BUY, buy), (mk.REC_MKT_SELL, sell), (mk.REC_N_BG, np.ones(t.size))):
        cs = np.r_[0.0, np.cumsum(x)]
        rec[:, col] = cs[at] - cs[prev]
    nb = mk.REC_DEPTH_N
    for j in range(min(data.levels, nb)):
        rec[:, mk.REC_DEPTH + j] = bsz[row, j] / lot_shares
        rec[:, mk.REC_DEPTH + nb + j] = asz[row, j] / lot_shares
    return rec


def lobster_section(path, *, dt: float, lags: int, coarse: int) -> tuple[dict, np.ndarray]:
    """The report's ``lobster`` section for the pair at ``path``, and the day's record (``REC_*`` rows)."""
    from almm_rllib.data.lobster import TICK_SIZE, read_lobster

    mpath, opath = find_lobster_pair(path)
    data = read_lobster(mpath, opath)
    rec = lobster_record(data, dt=dt)
    st = market_stats(rec, dt=dt, tick_size=TICK_SIZE, lags=lags, coarse=coarse)
    ls = lobster_stats(data)
    mo = ls["market_orders"]
    micro = ms.microstructure_stats(ms.lobster_day(data))
    sec = {
        "ticker": data.ticker,
        "date": data.date,
        "levels": data.levels,
        "message_file": str(mpath),
        "orderbook_file": str(opath),
        "lot_shares": LOBSTER_LOT_SHARES,
        "stats": st,
        "market_order_mean_lots": as_float(mo["size_shares"]["mean"]) / LOBSTER_LOT_SHARES,
        "market_orders_per_s": as_float(mo.get("rate_per_s")),
        "limit_order_mean_lots": as_float(ls["limit_orders"]["size_shares"]["mean"]) / LOBSTER_LOT_SHARES,
        "lobster_stats": ls,
        "microstructure": micro,
        "notes": (
            f"{data.ticker} traded near ${st['mean_price']:.0f} with a $0.01 tick, so its spread in ticks is far "
            "wider than a $100 stock's; compare shapes and dimensionless figures (bps, correlations, "
            "autocorrelations, kurtosis, variance ratios, spread over one-step volatility). "
            f"A level-{data.levels} file: depth beyond level {data.levels} is unobserved."
        ),
    }
    return sec, rec
