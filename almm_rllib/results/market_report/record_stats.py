"""Stylised facts of a recorded market: one function for the simulator and for real data alike.

The statistics are computed from a record array alone (rows = steps of ``dt`` seconds, columns =
``market_nb.REC_*``), so the same code measures the simulator, a synthetic array in the tests, and a LOBSTER
day resampled onto the same clock grid (:func:`~.real_data.lobster_record`). :func:`market_stats` is a list of
named families (spread, depth, returns, signature, order-flow imbalance, activity, regimes), each a function
of the checked record; a new family (issue 15's response function, markouts by depth, sign autocorrelation)
is one more such function and one more key, measured on both sides by construction.

Units: prices in ticks, sizes in lots, time in seconds; returns are log returns of the mid over one step
unless a key says otherwise (``_ticks``: mid change in ticks; ``_bps``: basis points); volatilities are
relative per sqrt-second (the unit of ``RegimeConfig.volatility``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from almm_rllib.results.market_report.estimators import (
    MIN_POINTS,
    acf,
    corr,
    ffill,
    kurtosis,
    norm_cdf,
    norm_ppf,
    skew,
    slope,
    std,
)

if TYPE_CHECKING:
    from almm_rllib.core.market_config import RegimeConfig

#: Horizons (in steps) of the volatility signature; a horizon is kept when it has at least 30 returns.
SIGNATURE_STEPS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
#: Tail probabilities of the standardised-return quantiles.
TAIL_PROBS = (0.001, 0.01, 0.05, 0.95, 0.99, 0.999)


def rec_columns():
    """The record layout (``market_nb``: ``REC_*`` column indices), imported on first use (numba)."""
    from almm_rllib.core import market_nb as mk

    return mk


def blocks(mid: np.ndarray, flow: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log returns and tick changes of the mid over non-overlapping blocks of ``h`` rows, and the flow summed
    over each block: block j runs from row j*h to row (j+1)*h, its flow is rows j*h+1 .. (j+1)*h (the steps
    that moved the mid from one sampled row to the next)."""
    m = mid[::h]
    cs = np.r_[0.0, np.cumsum(flow)]
    idx = np.arange(0, mid.size, h)
    f = cs[idx[1:] + 1] - cs[idx[:-1] + 1]
    return np.diff(np.log(m)), np.diff(m), f


def _return_stats(r: np.ndarray, dm: np.ndarray, seconds: float, lags: int) -> dict:
    """Distribution and dependence of one series of returns over ``seconds``-long intervals."""
    from almm_rllib.core.risk import var_cvar

    out: dict = {"n": int(r.size), "horizon_s": float(seconds)}
    vol = std(r)
    out["vol"] = vol
    out["vol_per_sqrt_s"] = vol / math.sqrt(seconds)
    out["std_ticks"] = std(dm)
    out["mean_abs_ticks"] = float(np.abs(dm).mean()) if dm.size else math.nan
    out["frac_zero"] = float(np.mean(dm == 0)) if dm.size else math.nan
    out["skew"] = skew(r)
    out["kurtosis"] = kurtosis(r)
    out["acf"] = acf(r, lags)
    out["abs_acf"] = acf(np.abs(r), lags)
    out["sq_acf"] = acf(r**2, lags)
    ok = r.size >= MIN_POINTS and vol > 0
    z = (r - r.mean()) / vol if ok else r
    out["tails"] = {
        "quantiles": {f"{p:g}": float(np.quantile(z, p)) if ok else math.nan for p in TAIL_PROBS},
        "normal": {f"{p:g}": norm_ppf(p) for p in TAIL_PROBS},
        "frac_beyond_4sd": float(np.mean(np.abs(z) > 4)) if ok else math.nan,
        "normal_frac_beyond_4sd": float(2 * (1 - norm_cdf(4.0))),
    }
    risk: dict = {}
    for a in (0.95, 0.99):
        if r.size:
            vc = var_cvar(r, a)
            risk[f"{a:g}"] = {
                "var": vc.var,
                "cvar": vc.cvar,
                "var_bps": 1e4 * vc.var,
                "cvar_bps": 1e4 * vc.cvar,
            }
        else:
            risk[f"{a:g}"] = {"var": math.nan, "cvar": math.nan, "var_bps": math.nan, "cvar_bps": math.nan}
    out["var_cvar"] = risk
    return out


def _ofi_stats(f: np.ndarray, dm: np.ndarray) -> dict:
    """Order-flow imbalance (lots) vs the same interval's and the next interval's mid change (ticks)."""
    b, icpt = slope(f, dm)
    c = corr(f, dm)
    nxt_slope, _ = slope(f[:-1], dm[1:]) if f.size > 1 else (math.nan, math.nan)
    return {
        "n": int(f.size),
        "corr": c,
        "r2": c * c if math.isfinite(c) else math.nan,
        "slope_ticks_per_lot": b,
        "intercept_ticks": icpt,
        "next_corr": corr(f[:-1], dm[1:]) if f.size > 1 else math.nan,
        "next_slope_ticks_per_lot": nxt_slope,
        "mean_abs_lots": float(np.abs(f).mean()) if f.size else math.nan,
    }


def valid_rows(rec: np.ndarray) -> np.ndarray:
    """The rows from the first one with a mid onwards, the mid forward-filled."""
    mk = rec_columns()
    rec = np.asarray(rec, np.float64)
    if rec.ndim != 2 or rec.shape[1] != mk.REC_SIZE:
        raise ValueError(f"a market record must be float[n_steps, {mk.REC_SIZE}], got shape {rec.shape}")
    mid = rec[:, mk.REC_MID]
    ok = np.isfinite(mid) & (mid > 0)
    if not ok.any():
        raise ValueError("the market record has no row with a positive mid price")
    rec = rec[int(np.argmax(ok)) :].copy()
    mid = rec[:, mk.REC_MID]
    mid[~(np.isfinite(mid) & (mid > 0))] = np.nan
    rec[:, mk.REC_MID] = ffill(mid)
    return rec


def market_stats(
    rec: np.ndarray,
    *,
    dt: float,
    tick_size: float = 0.01,
    regimes: RegimeConfig | None = None,
    lags: int = 20,
    coarse: int = 10,
) -> dict:
    """The stylised facts of one recorded market (``rec``: float[n_steps, REC_SIZE], rows ``dt`` seconds apart).

    Keys (units in the module docstring):

    * ``n_steps``, ``dt``, ``seconds``, ``mean_price`` (money: mid ticks x ``tick_size``);
    * ``spread``: best ask - best bid in ticks over the rows with both sides: ``mean``, ``std``, ``median``,
      ``p5``..``p99``, ``pmf`` (ticks -> fraction), ``frac_1_to_3`` (1 to 3 ticks), ``frac_one_tick``,
      ``frac_one_sided`` (a side empty), ``frac_crossed`` (<= 0), ``mean_bps`` (spread / mid x 1e4);
    * ``depth``: ``bid`` and ``ask`` mean lots at the 1st..5th best non-empty level (NaN where the source has no
      such level), ``level1_mean`` (both sides), ``shape`` (per level, mean over sides / level 1);
    * ``returns``: ``step`` (one row, ``dt`` s) and ``coarse`` (``coarse`` rows): ``n``, ``vol``,
      ``vol_per_sqrt_s``, ``std_ticks``, ``mean_abs_ticks``, ``frac_zero``, ``skew``, ``kurtosis`` (excess),
      ``acf``/``abs_acf``/``sq_acf`` (lags 1..``lags`` of r, \\|r\\| and r^2), ``tails`` (quantiles of the
      standardised return vs the normal's, share beyond 4 sd), ``var_cvar`` at 95% and 99% (``core.risk``,
      of log returns, positive = loss for a long position; also in bps);
    * ``signature``: ``horizon_s``, ``vol_per_sqrt_s`` and ``variance_ratio`` (var of h-step returns over h
      times the one-step variance: 1 for a random walk, > 1 trending, < 1 mean-reverting) per horizon;
    * ``ofi``: ``step`` and ``coarse``: aggressive buy minus sell lots vs the mid change in ticks over the same
      interval (``corr``, ``slope_ticks_per_lot``, ``r2``) and over the next one (``next_corr``,
      ``next_slope_ticks_per_lot``);
    * ``activity``: aggressive lots per second, background events per second, mean resting orders;
    * ``regimes``: :func:`regime_stats` when ``regimes`` is given and the record has a regime column, else None.
    """
    mk = rec_columns()
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"market_stats.dt must be a positive number of seconds, got {dt!r}")
    if not (isinstance(coarse, int) and coarse >= 2):
        raise ValueError(f"market_stats.coarse must be an integer >= 2, got {coarse!r}")
    rec = valid_rows(rec)
    n = rec.shape[0]
    mid = rec[:, mk.REC_MID]
    out: dict = {"n_steps": int(n), "dt": float(dt), "seconds": float(n * dt)}
    out["mean_price"] = float(np.mean(mid) * tick_size)
    out["spread"] = spread_stats(rec)
    out["depth"] = depth_stats(rec)
    flow = np.nan_to_num(rec[:, mk.REC_MKT_BUY] - rec[:, mk.REC_MKT_SELL])
    r1, dm1, f1 = blocks(mid, flow, 1)
    rc, dmc, fc = blocks(mid, flow, coarse)
    out["returns"] = {
        "step": _return_stats(r1, dm1, dt, lags),
        "coarse": {**_return_stats(rc, dmc, coarse * dt, lags), "steps": coarse},
    }
    out["signature"] = signature_stats(mid, dt)
    out["ofi"] = {"step": _ofi_stats(f1, dm1), "coarse": {**_ofi_stats(fc, dmc), "steps": coarse}}
    out["activity"] = activity_stats(rec, dt)
    reg = rec[:, mk.REC_REGIME]
    out["regimes"] = (
        regime_stats(rec, dt=dt, regimes=regimes, coarse=coarse)
        if (regimes is not None and np.isfinite(reg).all())
        else None
    )
    return out


def spread_stats(rec: np.ndarray) -> dict:
    """The ``spread`` family of :func:`market_stats` (``rec``: checked rows, :func:`valid_rows`)."""
    mk = rec_columns()
    bid, ask = rec[:, mk.REC_BID], rec[:, mk.REC_ASK]
    two = np.isfinite(bid) & np.isfinite(ask)
    s = (ask - bid)[two]
    sp: dict = {"n": int(s.size), "frac_one_sided": float(1 - two.mean())}
    if s.size:
        sp.update(
            mean=float(s.mean()),
            std=std(s),
            median=float(np.median(s)),
            **{f"p{q}": float(np.quantile(s, q / 100)) for q in (5, 25, 75, 95, 99)},
            max=float(s.max()),
            frac_one_tick=float(np.mean(s == 1)),
            frac_1_to_3=float(np.mean((s >= 1) & (s <= 3))),
            frac_crossed=float(np.mean(s <= 0)),
            mean_bps=float(np.mean(s / ((ask + bid)[two] / 2)) * 1e4),
        )
        vals, cnt = np.unique(np.rint(s).astype(np.int64), return_counts=True)
        sp["pmf"] = {int(v): float(c / s.size) for v, c in zip(vals, cnt) if c / s.size >= 1e-4}
    else:
        sp.update(
            {
                k: math.nan
                for k in (
                    "mean std median p5 p25 p75 p95 p99 max frac_one_tick frac_1_to_3 frac_crossed mean_bps"
                ).split()
            }
        )
        sp["pmf"] = {}
    return sp


def depth_stats(rec: np.ndarray) -> dict:
    """The ``depth`` family of :func:`market_stats`: mean lots per level and side, the profile's shape."""
    mk = rec_columns()
    d = rec[:, mk.REC_DEPTH : mk.REC_DEPTH + 2 * mk.REC_DEPTH_N]
    with np.errstate(invalid="ignore"):
        dmean = [
            float(np.nanmean(d[:, j])) if np.isfinite(d[:, j]).any() else math.nan for j in range(d.shape[1])
        ]
    nb = mk.REC_DEPTH_N
    both = [(dmean[j] + dmean[nb + j]) / 2 for j in range(nb)]
    return {
        "bid": dmean[:nb],
        "ask": dmean[nb:],
        "level1_mean": both[0],
        "shape": [b / both[0] if both[0] and math.isfinite(both[0]) else math.nan for b in both],
    }


def signature_stats(mid: np.ndarray, dt: float) -> dict:
    """The volatility signature: vol per sqrt-second and variance ratio at each of ``SIGNATURE_STEPS``."""
    sig_h, sig_v = [], []
    for h in SIGNATURE_STEPS:
        rh = np.diff(np.log(mid[::h]))
        if rh.size >= 30:
            sig_h.append(h * dt)
            sig_v.append(std(rh) / math.sqrt(h * dt))
    v1 = sig_v[0] if sig_v else math.nan
    return {
        "horizon_s": sig_h,
        "vol_per_sqrt_s": sig_v,
        "variance_ratio": [(v / v1) ** 2 if v1 > 0 else math.nan for v in sig_v],
    }


def activity_stats(rec: np.ndarray, dt: float) -> dict:
    """Aggressive lots and background events per second, the buyers' share, mean resting orders."""
    mk = rec_columns()
    n = rec.shape[0]
    agg = rec[:, mk.REC_MKT_BUY] + rec[:, mk.REC_MKT_SELL]
    return {
        "aggressive_lots_per_s": float(np.nansum(agg) / (n * dt)) if np.isfinite(agg).any() else math.nan,
        "buy_share": float(np.nansum(rec[:, mk.REC_MKT_BUY]) / np.nansum(agg))
        if np.nansum(agg) > 0
        else math.nan,
        "events_per_s": float(np.nansum(rec[:, mk.REC_N_BG]) / (n * dt))
        if np.isfinite(rec[:, mk.REC_N_BG]).any()
        else math.nan,
        "mean_resting_orders": float(np.nanmean(rec[:, mk.REC_N_ORDERS]))
        if np.isfinite(rec[:, mk.REC_N_ORDERS]).any()
        else math.nan,
    }


def regime_stats(
    rec: np.ndarray, *, dt: float, regimes: RegimeConfig, coarse: int = 10, n_batches: int = 10
) -> dict:
    """Regime occupancy and per-regime volatility of a switching run, against the chain's configuration.

    * ``occupancy``: share of rows in each regime (the regime at the end of each step); ``stationary``: the
      chain's stationary distribution; ``occupancy_se``: batch-means standard error (``n_batches`` contiguous
      batches); ``max_abs_dev``: largest |occupancy - stationary|; ``max_dev_in_se``: the same in standard
      errors;
    * ``n_switches``, ``mean_holding_s`` (completed spells only; NaN when none) vs ``expected_holding_s``
      (1 / the row's total rate);
    * ``vol_step`` and ``vol_coarse``: realised mid volatility per sqrt-second of the returns whose interval
      stays in one regime (regime equal at both ends of every step of it), vs ``configured_vol``.
    """
    mk = rec_columns()
    rec = valid_rows(rec)
    names = list(regimes.names)
    k = len(names)
    reg = rec[:, mk.REC_REGIME].astype(np.int64)
    if reg.min() < 0 or reg.max() >= k:
        raise ValueError(f"regime column holds indices outside 0..{k - 1}")
    n = reg.size
    occ = np.bincount(reg, minlength=k) / n
    pi = regimes.stationary()
    nb = max(2, min(n_batches, n // 2))
    batches = np.array_split(reg, nb)
    bocc = np.array([np.bincount(b, minlength=k) / max(b.size, 1) for b in batches])
    se = bocc.std(axis=0, ddof=1) / math.sqrt(nb)
    dev = np.abs(occ - pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_se = np.where(se > 0, dev / se, np.where(dev > 0, np.inf, 0.0))
    change = np.flatnonzero(reg[1:] != reg[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, n]
    hold: list[list[float]] = [[] for _ in range(k)]
    for a, b in zip(starts[1:-1], ends[1:-1]):  # completed spells: not the first, not the last
        hold[reg[a]].append((b - a) * dt)
    q = regimes.generator()
    mid = rec[:, mk.REC_MID]
    vols: dict = {}
    for label, h in (("vol_step", 1), ("vol_coarse", coarse)):
        per = []
        idx = np.arange(0, n, h)
        if idx.size >= 2:
            a, b = idx[:-1], idx[1:]
            # a block stays in one regime when no change happens in rows a..b
            cs = np.r_[0, np.cumsum(np.r_[0, reg[1:] != reg[:-1]])]
            same = cs[b + 1] - cs[a + 1] == 0
            r = np.log(mid[b] / mid[a])
            for j in range(k):
                sel = same & (reg[a] == j)
                per.append(std(r[sel]) / math.sqrt(h * dt) if sel.sum() >= MIN_POINTS else math.nan)
        else:
            per = [math.nan] * k
        vols[label] = per
    return {
        "names": names,
        "occupancy": occ.tolist(),
        "stationary": pi.tolist(),
        "occupancy_se": se.tolist(),
        "max_abs_dev": float(dev.max()),
        "max_dev_in_se": float(dev_se.max()),
        "n_switches": int(change.size),
        "mean_holding_s": [float(np.mean(x)) if x else math.nan for x in hold],
        "expected_holding_s": [1.0 / -q[j, j] if q[j, j] < 0 else math.inf for j in range(k)],
        "configured_vol": list(regimes.volatility),
        **vols,
        "coarse_steps": coarse,
    }


def fair_stats(rec: np.ndarray, dt: float, coarse: int) -> dict:
    """Volatility of the latent fair price and the mid's tracking of it (pinned runs)."""
    mk = rec_columns()
    fair = rec[:, mk.REC_FAIR]
    mid = rec[:, mk.REC_MID]
    if not np.isfinite(fair).all():
        return {
            "vol_step": math.nan,
            "vol_coarse": math.nan,
            "gap_std_ticks": math.nan,
            "gap_mean_ticks": math.nan,
            "gap_acf_step": math.nan,
        }
    gap = mid - fair
    return {
        "vol_step": std(np.diff(np.log(fair))) / math.sqrt(dt),
        "vol_coarse": std(np.diff(np.log(fair[::coarse]))) / math.sqrt(coarse * dt),
        "gap_std_ticks": std(gap),
        "gap_mean_ticks": float(np.mean(gap)),
        "gap_acf_step": acf(gap, 1)[0],
    }


def pinned_summary(stats: dict, fair: dict, configured: float) -> dict:
    rs, rc = stats["returns"]["step"], stats["returns"]["coarse"]
    sig = stats["signature"]
    long_v = sig["vol_per_sqrt_s"][-1] if sig["vol_per_sqrt_s"] else math.nan
    long_h = sig["horizon_s"][-1] if sig["horizon_s"] else math.nan

    def ratio(v):
        return v / configured if configured > 0 else math.nan

    return {
        "configured_vol": configured,
        "mid_vol_step": rs["vol_per_sqrt_s"],
        "mid_vol_coarse": rc["vol_per_sqrt_s"],
        "mid_vol_long": long_v,
        "long_horizon_s": long_h,
        "fair_vol_step": fair["vol_step"],
        "fair_vol_coarse": fair["vol_coarse"],
        "ratio_step": ratio(rs["vol_per_sqrt_s"]),
        "ratio_coarse": ratio(rc["vol_per_sqrt_s"]),
        "ratio_long": ratio(long_v),
        "fair_ratio": ratio(fair["vol_step"]),
        "gap_std_ticks": fair["gap_std_ticks"],
        "spread_mean": stats["spread"]["mean"],
        "frac_one_tick": stats["spread"]["frac_one_tick"],
        "depth_level1": stats["depth"]["level1_mean"],
        "acf1_step": rs["acf"][0],
        "acf1_coarse": rc["acf"][0],
        "variance_ratio_coarse": vr_at(stats, stats["returns"]["coarse"]["horizon_s"]),
        "kurtosis_step": rs["kurtosis"],
        "abs_acf1_step": rs["abs_acf"][0],
        "ofi_corr_step": stats["ofi"]["step"]["corr"],
        "aggressive_lots_per_s": stats["activity"]["aggressive_lots_per_s"],
    }


def vr_at(stats: dict, horizon_s: float) -> float:
    sig = stats["signature"]
    for h, v in zip(sig["horizon_s"], sig["variance_ratio"]):
        if abs(h - horizon_s) < 1e-9 * max(1.0, horizon_s):
            return v
    return math.nan
