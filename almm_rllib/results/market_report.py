"""Market realism report: does the simulated background market behave like a market?

:func:`market_report` runs the order-book market alone (no agents) for a long stretch with the regime chain
switching, plus one run per regime with the regime pinned (so each regime's volatility is measured without
switches), computes the stylised facts of :func:`market_stats` on the recorded steps and writes, atomically,

* ``market_stats.json``: every figure (simulated, per pinned regime, real LOBSTER data, plausibility checks, the
  summary table, the configuration);
* ``report.html``: a self-contained page (inline PNG plots drawn on matplotlib's Agg canvas, no pyplot state)
  that explains each figure and says whether the simulated market passes a plausibility check.

Units: prices in ticks, sizes in **lots** (LOBSTER shares are divided by 100, the simulator's default lot),
time in seconds, returns are log returns of the mid price over one step of ``dt`` seconds unless a key says
otherwise (``_ticks``: mid change in ticks; ``_bps``: basis points), volatilities are *relative* per
sqrt-second (the unit of ``RegimeConfig.volatility``).

The statistics are computed from a record array alone (rows = steps, columns = ``market_nb.REC_*``), so the same
function measures the simulator, a synthetic array in the tests, and real NASDAQ data resampled onto the same
clock grid (:func:`lobster_record`): the AMZN column of the summary is computed by the same code as the
simulated one. Layer: results (numpy, scipy, matplotlib, pandas; no ray, torch or gymnasium); heavy modules
are imported inside the functions that need them, so ``almm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from almm_rllib.core.market_config import FlowConfig, MarketConfig, RegimeConfig

__all__ = [
    "AUTO",
    "REPORT_HTML",
    "STATS_FILE",
    "STATS_KEYS",
    "add_market_report_parser",
    "default_lobster_dir",
    "default_seconds",
    "find_lobster_pair",
    "format_summary",
    "lobster_record",
    "market_report",
    "market_stats",
    "plausibility_checks",
    "regime_stats",
    "simulate",
]

REPORT_HTML = "report.html"
STATS_FILE = "market_stats.json"
#: ``compare_lobster`` default: the shared LOBSTER folder beside the repository if it exists.
AUTO = "auto"
#: Top-level keys of ``market_stats.json``.
STATS_KEYS = ("meta", "simulated", "per_regime", "lobster", "checks", "summary")
#: Statistics need at least this many points (else NaN), as in ``data.lobster``.
MIN_POINTS = 10
#: Horizons (in steps) of the volatility signature; a horizon is kept when it has at least 30 returns.
SIGNATURE_STEPS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
#: Tail probabilities of the standardised-return quantiles.
TAIL_PROBS = (0.001, 0.01, 0.05, 0.95, 0.99, 0.999)
#: Shares per lot used to express LOBSTER sizes in lots.
LOBSTER_LOT_SHARES = 100
#: Mean holding times per regime the default run length covers (see :func:`default_seconds`).
SWITCHES_PER_RUN = 60
#: Fewer regime switches than this and the occupancy check says the run is too short to judge.
MIN_SWITCHES_TO_JUDGE = 20
#: Copies of the recordings alive at once while the statistics run (estimate for :func:`check_memory`).
ANALYSIS_COPIES = 4
#: One NASDAQ session, the length of the AMZN sample: the shortest default run.
SESSION_SECONDS = 23_400.0


# ------------------------------------------------------------------------------------------------------------
# small numerical helpers


def _f(x) -> float:
    """A plain float (NaN for None)."""
    return math.nan if x is None else float(x)


def _acf(x: np.ndarray, lags: int) -> list[float]:
    """Sample autocorrelation at lags 1..``lags`` (the textbook estimator: mean removed, lag-k cross products
    over the total sum of squares, as statsmodels' ``acf``). NaN for a lag with fewer than ``MIN_POINTS``
    pairs, a constant series or one with a non-finite value."""
    x = np.asarray(x, np.float64)
    out = [math.nan] * lags
    if x.size < MIN_POINTS or not np.isfinite(x).all():
        return out
    d = x - x.mean()
    den = float(d @ d)
    if den <= 0:
        return out
    for k in range(1, lags + 1):
        if x.size - k >= MIN_POINTS:
            out[k - 1] = float(d[:-k] @ d[k:] / den)
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < MIN_POINTS or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y`` on ``x``."""
    if x.size < MIN_POINTS:
        return math.nan, math.nan
    vx = float(np.var(x))
    if vx == 0:
        return math.nan, math.nan
    b = float(np.mean((x - x.mean()) * (y - y.mean())) / vx)
    return b, float(y.mean() - b * x.mean())


def _kurtosis(x: np.ndarray) -> float:
    """Excess kurtosis (0 for a normal), unbiased (Fisher, as ``scipy.stats.kurtosis(bias=False)``)."""
    n = x.size
    if n < max(4, MIN_POINTS):
        return math.nan
    d = x - x.mean()
    m2 = float((d**2).mean())
    if m2 == 0:
        return math.nan
    g2 = float((d**4).mean()) / m2**2 - 3.0
    return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _skew(x: np.ndarray) -> float:
    n = x.size
    if n < max(3, MIN_POINTS):
        return math.nan
    d = x - x.mean()
    m2 = float((d**2).mean())
    if m2 == 0:
        return math.nan
    g1 = float((d**3).mean()) / m2**1.5
    return float(g1 * math.sqrt(n * (n - 1)) / (n - 2))


def _std(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if x.size >= 2 else math.nan


def _norm_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (leading NaNs stay NaN)."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(x.shape, np.nan)
    idx = np.where(ok, np.arange(x.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return x[idx]


def _jsonable(x: Any) -> Any:
    """Plain JSON: NaN and inf become null, numpy scalars and arrays become Python numbers and lists."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


# ------------------------------------------------------------------------------------------------------------
# statistics of a record array


def _rec_columns():
    from almm_rllib.core import market_nb as mk

    return mk


def _blocks(mid: np.ndarray, flow: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    vol = _std(r)
    out["vol"] = vol
    out["vol_per_sqrt_s"] = vol / math.sqrt(seconds)
    out["std_ticks"] = _std(dm)
    out["mean_abs_ticks"] = float(np.abs(dm).mean()) if dm.size else math.nan
    out["frac_zero"] = float(np.mean(dm == 0)) if dm.size else math.nan
    out["skew"] = _skew(r)
    out["kurtosis"] = _kurtosis(r)
    out["acf"] = _acf(r, lags)
    out["abs_acf"] = _acf(np.abs(r), lags)
    out["sq_acf"] = _acf(r**2, lags)
    ok = r.size >= MIN_POINTS and vol > 0
    z = (r - r.mean()) / vol if ok else r
    out["tails"] = {
        "quantiles": {f"{p:g}": float(np.quantile(z, p)) if ok else math.nan for p in TAIL_PROBS},
        "normal": {f"{p:g}": _norm_ppf(p) for p in TAIL_PROBS},
        "frac_beyond_4sd": float(np.mean(np.abs(z) > 4)) if ok else math.nan,
        "normal_frac_beyond_4sd": float(2 * (1 - _norm_cdf(4.0))),
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


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _ofi_stats(f: np.ndarray, dm: np.ndarray) -> dict:
    """Order-flow imbalance (lots) vs the same interval's and the next interval's mid change (ticks)."""
    slope, icpt = _slope(f, dm)
    c = _corr(f, dm)
    nxt_slope, _ = _slope(f[:-1], dm[1:]) if f.size > 1 else (math.nan, math.nan)
    return {
        "n": int(f.size),
        "corr": c,
        "r2": c * c if math.isfinite(c) else math.nan,
        "slope_ticks_per_lot": slope,
        "intercept_ticks": icpt,
        "next_corr": _corr(f[:-1], dm[1:]) if f.size > 1 else math.nan,
        "next_slope_ticks_per_lot": nxt_slope,
        "mean_abs_lots": float(np.abs(f).mean()) if f.size else math.nan,
    }


def _valid_rows(rec: np.ndarray) -> np.ndarray:
    """The rows from the first one with a mid onwards, the mid forward-filled."""
    mk = _rec_columns()
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
    rec[:, mk.REC_MID] = _ffill(mid)
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
    mk = _rec_columns()
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"market_stats.dt must be a positive number of seconds, got {dt!r}")
    if not (isinstance(coarse, int) and coarse >= 2):
        raise ValueError(f"market_stats.coarse must be an integer >= 2, got {coarse!r}")
    rec = _valid_rows(rec)
    n = rec.shape[0]
    mid = rec[:, mk.REC_MID]
    bid, ask = rec[:, mk.REC_BID], rec[:, mk.REC_ASK]
    out: dict = {"n_steps": int(n), "dt": float(dt), "seconds": float(n * dt)}
    out["mean_price"] = float(np.mean(mid) * tick_size)

    # spread
    two = np.isfinite(bid) & np.isfinite(ask)
    s = (ask - bid)[two]
    sp: dict = {"n": int(s.size), "frac_one_sided": float(1 - two.mean())}
    if s.size:
        sp.update(
            mean=float(s.mean()),
            std=_std(s),
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
    out["spread"] = sp

    # depth
    d = rec[:, mk.REC_DEPTH : mk.REC_DEPTH + 2 * mk.REC_DEPTH_N]
    with np.errstate(invalid="ignore"):
        dmean = [
            float(np.nanmean(d[:, j])) if np.isfinite(d[:, j]).any() else math.nan for j in range(d.shape[1])
        ]
    nb = mk.REC_DEPTH_N
    both = [(dmean[j] + dmean[nb + j]) / 2 for j in range(nb)]
    out["depth"] = {
        "bid": dmean[:nb],
        "ask": dmean[nb:],
        "level1_mean": both[0],
        "shape": [b / both[0] if both[0] and math.isfinite(both[0]) else math.nan for b in both],
    }

    # returns, OFI
    flow = np.nan_to_num(rec[:, mk.REC_MKT_BUY] - rec[:, mk.REC_MKT_SELL])
    r1, dm1, f1 = _blocks(mid, flow, 1)
    rc, dmc, fc = _blocks(mid, flow, coarse)
    out["returns"] = {
        "step": _return_stats(r1, dm1, dt, lags),
        "coarse": {**_return_stats(rc, dmc, coarse * dt, lags), "steps": coarse},
    }
    sig_h, sig_v = [], []
    for h in SIGNATURE_STEPS:
        rh = np.diff(np.log(mid[::h]))
        if rh.size >= 30:
            sig_h.append(h * dt)
            sig_v.append(_std(rh) / math.sqrt(h * dt))
    v1 = sig_v[0] if sig_v else math.nan
    out["signature"] = {
        "horizon_s": sig_h,
        "vol_per_sqrt_s": sig_v,
        "variance_ratio": [(v / v1) ** 2 if v1 > 0 else math.nan for v in sig_v],
    }
    out["ofi"] = {"step": _ofi_stats(f1, dm1), "coarse": {**_ofi_stats(fc, dmc), "steps": coarse}}

    agg = rec[:, mk.REC_MKT_BUY] + rec[:, mk.REC_MKT_SELL]
    out["activity"] = {
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
    reg = rec[:, mk.REC_REGIME]
    out["regimes"] = (
        regime_stats(rec, dt=dt, regimes=regimes, coarse=coarse)
        if (regimes is not None and np.isfinite(reg).all())
        else None
    )
    return out


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
    mk = _rec_columns()
    rec = _valid_rows(rec)
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
                per.append(_std(r[sel]) / math.sqrt(h * dt) if sel.sum() >= MIN_POINTS else math.nan)
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


def _fair_stats(rec: np.ndarray, dt: float, coarse: int) -> dict:
    """Volatility of the latent fair price and the mid's tracking of it (pinned runs)."""
    mk = _rec_columns()
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
        "vol_step": _std(np.diff(np.log(fair))) / math.sqrt(dt),
        "vol_coarse": _std(np.diff(np.log(fair[::coarse]))) / math.sqrt(coarse * dt),
        "gap_std_ticks": _std(gap),
        "gap_mean_ticks": float(np.mean(gap)),
        "gap_acf_step": _acf(gap, 1)[0],
    }


def _pinned_summary(stats: dict, fair: dict, configured: float) -> dict:
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
        "variance_ratio_coarse": _vr_at(stats, stats["returns"]["coarse"]["horizon_s"]),
        "kurtosis_step": rs["kurtosis"],
        "abs_acf1_step": rs["abs_acf"][0],
        "ofi_corr_step": stats["ofi"]["step"]["corr"],
        "aggressive_lots_per_s": stats["activity"]["aggressive_lots_per_s"],
    }


def _vr_at(stats: dict, horizon_s: float) -> float:
    sig = stats["signature"]
    for h, v in zip(sig["horizon_s"], sig["variance_ratio"]):
        if abs(h - horizon_s) < 1e-9 * max(1.0, horizon_s):
            return v
    return math.nan


# ------------------------------------------------------------------------------------------------------------
# simulation


def default_seconds(config: MarketConfig) -> float:
    """Run length covering ``SWITCHES_PER_RUN`` mean holding times of the slowest regime, at least one session."""
    q = config.regimes.generator()
    rates = -np.diag(q)
    slow = float(1.0 / rates[rates > 0].min()) if (rates > 0).any() else 0.0
    return float(max(SESSION_SECONDS, SWITCHES_PER_RUN * slow))


def _n_steps(seconds: float, dt: float) -> int:
    return max(int(math.ceil(seconds / dt - 1e-9)), 2)


def _available_memory() -> float:
    """Bytes of memory available now (Linux ``MemAvailable``; else physical memory; inf when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def check_memory(seconds: float, pinned_seconds: float, dt: float, n_pinned: int) -> float:
    """Refuse a run whose recordings would not fit in memory, before anything runs (a float64 row of
    ``REC_SIZE`` columns per step, for the switching run and each pinned run, about ``ANALYSIS_COPIES`` times
    over while the statistics are computed). Returns the estimate in bytes."""
    mk = _rec_columns()
    rows = seconds / dt + n_pinned * pinned_seconds / dt
    need = rows * mk.REC_SIZE * 8.0 * ANALYSIS_COPIES
    have = _available_memory()
    if need > 0.8 * have:
        most = 0.8 * have / (mk.REC_SIZE * 8.0 * ANALYSIS_COPIES * (1 + n_pinned)) * dt
        raise ValueError(
            f"--seconds {seconds:g}: the recordings would need about {need / 2**30:,.1f} GiB of memory and "
            f"{have / 2**30:,.1f} GiB are available; at most about {most:,.0f} seconds fit"
        )
    return need


def simulate(
    config: MarketConfig, *, seconds: float, dt: float, seed: int, burn_in_seconds: float = 300.0
) -> np.ndarray:
    """Background market alone: ``burn_in_seconds`` unrecorded, then ``seconds`` recorded (``REC_*`` rows)."""
    from almm_rllib.core.market import MarketSimulator

    sim = MarketSimulator(config, n_agents=0, seed=seed)
    if burn_in_seconds > 0:
        sim.run_background(_n_steps(burn_in_seconds, dt), dt)
    return sim.run_background(_n_steps(seconds, dt), dt, record=True)


def _pinned(config: MarketConfig, name: str) -> MarketConfig:
    return config.replace(regimes=config.regimes.replace(switching=False, initial=name))


# ------------------------------------------------------------------------------------------------------------
# real data


def default_lobster_dir() -> Path | None:
    """``$ALMM_LOBSTER_DIR`` if set, else ``shared/data/lobster`` beside the repository, if it exists."""
    env = os.environ.get("ALMM_LOBSTER_DIR")
    cands = [Path(env)] if env else []
    cands.append(Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster")
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

    mk = _rec_columns()
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
    rec[:, mk.REC_MID] = _ffill((bid + ask) / 2)
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


def _lobster_section(path, *, dt: float, lags: int, coarse: int) -> tuple[dict, np.ndarray]:
    from almm_rllib.data.lobster import TICK_SIZE, lobster_stats, read_lobster

    mpath, opath = find_lobster_pair(path)
    data = read_lobster(mpath, opath)
    rec = lobster_record(data, dt=dt)
    st = market_stats(rec, dt=dt, tick_size=TICK_SIZE, lags=lags, coarse=coarse)
    ls = lobster_stats(data)
    mo = ls["market_orders"]
    sec = {
        "ticker": data.ticker,
        "date": data.date,
        "levels": data.levels,
        "message_file": str(mpath),
        "orderbook_file": str(opath),
        "lot_shares": LOBSTER_LOT_SHARES,
        "stats": st,
        "market_order_mean_lots": _f(mo["size_shares"]["mean"]) / LOBSTER_LOT_SHARES,
        "market_orders_per_s": _f(mo.get("rate_per_s")),
        "limit_order_mean_lots": _f(ls["limit_orders"]["size_shares"]["mean"]) / LOBSTER_LOT_SHARES,
        "lobster_stats": ls,
        "notes": (
            f"{data.ticker} traded near ${st['mean_price']:.0f} with a $0.01 tick, so its spread in ticks is far "
            "wider than a $100 stock's; compare shapes and dimensionless figures (bps, correlations, "
            "autocorrelations, kurtosis, variance ratios, spread over one-step volatility). "
            f"A level-{data.levels} file: depth beyond level {data.levels} is unobserved."
        ),
    }
    return sec, rec


# ------------------------------------------------------------------------------------------------------------
# checks and summary


def _check(cid: str, title: str, value: str, criterion: str, passed: bool | None, why: str) -> dict:
    return {"id": cid, "title": title, "value": value, "criterion": criterion, "passed": passed, "why": why}


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    x = float(x)
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:,.{max(digits - 1 - int(math.floor(math.log10(a))), 0)}f}"


def plausibility_checks(
    sim: dict, per_regime: dict | None, *, vol_tolerance: float = 0.25, switching: bool = True
) -> list[dict]:
    """Pass/fail plausibility checks of the simulated market (``passed`` None = not applicable).

    ``sim`` is :func:`market_stats` of the switching run; ``per_regime`` maps regime names to the pinned-run
    summaries (``configured_vol``, ``mid_vol_step``, ``mid_vol_coarse``, ``fair_ratio``...)."""
    out = []
    sp = sim["spread"]
    f13 = sp["frac_1_to_3"]
    out.append(
        _check(
            "spread",
            "Spread mostly 1-3 ticks",
            f"{_fmt(100 * f13)}% of steps",
            ">= 80% of steps with a spread of 1 to 3 ticks, none crossed",
            bool(f13 >= 0.8 and sp["frac_crossed"] == 0),
            "A liquid large-tick stock trades at a spread of one or a few ticks most of the time.",
        )
    )
    rs, rc = sim["returns"]["step"], sim["returns"]["coarse"]
    a1 = rs["acf"][0]
    out.append(
        _check(
            "bounce",
            "Negative lag-1 autocorrelation of one-step mid returns",
            _fmt(a1),
            "< 0",
            bool(a1 < 0) if math.isfinite(a1) else None,
            "Bid-ask bounce and quote refills make consecutive mid changes partly reverse; a positive value "
            "means the mid trends (it lags a moving value and catches up over several steps).",
        )
    )
    ac = rc["acf"][0]
    out.append(
        _check(
            "acf_coarse",
            f"Lag-1 autocorrelation near zero at {rc['horizon_s']:g} s",
            _fmt(ac),
            "|acf| < 0.1",
            bool(abs(ac) < 0.1) if math.isfinite(ac) else None,
            "Beyond the microstructure horizon returns are close to unpredictable from their own past.",
        )
    )
    aa = rs["abs_acf"]
    if switching:
        ok = bool(aa[0] > 0 and np.nanmean(aa) > 0)
        out.append(
            _check(
                "clustering",
                "Volatility clustering: |r| positively autocorrelated",
                f"lag 1 {_fmt(aa[0])}, mean of lags 1-{len(aa)} {_fmt(float(np.nanmean(aa)))}",
                "lag 1 > 0 and mean over the lags > 0",
                ok,
                "Regime switches make calm and busy stretches last, so large moves follow large moves.",
            )
        )
    else:
        out.append(
            _check(
                "clustering",
                "Volatility clustering",
                _fmt(aa[0]),
                "applies when regimes switch",
                None,
                "The regime is pinned: there is nothing to cluster.",
            )
        )
    k1 = rs["kurtosis"]
    out.append(
        _check(
            "tails",
            "Heavy tails: excess kurtosis of one-step returns",
            _fmt(k1),
            "> 0",
            bool(k1 > 0) if math.isfinite(k1) else None,
            "Real short-horizon returns are leptokurtic; here a mixture of regimes, discrete ticks and "
            "occasional catch-up moves of the book produce it.",
        )
    )
    oc = sim["ofi"]["step"]["corr"]
    out.append(
        _check(
            "ofi",
            "Order-flow imbalance moves the price the same step",
            _fmt(oc),
            "corr(aggressive buy - sell lots, mid change) > 0",
            bool(oc > 0) if math.isfinite(oc) else None,
            "Buying pressure lifts the price (Cont, Kukanov and Stoikov 2014).",
        )
    )
    reg = sim.get("regimes")
    if reg is not None and switching and len(reg["names"]) > 1:
        tol = 3.0
        ok = bool(reg["max_dev_in_se"] <= tol or reg["max_abs_dev"] <= 0.02)
        criterion = f"every |occupancy - stationary| within {tol:g} batch-means standard errors (or 0.02)"
        if reg["n_switches"] < MIN_SWITCHES_TO_JUDGE:  # batch means of a few spells say nothing
            ok = None
            criterion = (
                f"too short to judge: {reg['n_switches']} regime switches, at least {MIN_SWITCHES_TO_JUDGE} "
                "needed (a longer --seconds; the default covers many)"
            )
        out.append(
            _check(
                "occupancy",
                "Regime occupancy matches the chain's stationary distribution",
                ", ".join(
                    f"{n} {_fmt(o, 2)} vs {_fmt(p, 2)}"
                    for n, o, p in zip(reg["names"], reg["occupancy"], reg["stationary"])
                ),
                criterion,
                ok,
                "Checks the regime chain: time spent in each regime converges to pi with pi Q = 0.",
            )
        )
    if per_regime:
        hc = next(iter(per_regime.values())).get("coarse_horizon_s")
        coarse_label = f"{hc:g}-s returns" if hc else "coarse returns"
        for key, label in (("ratio_step", "one-step returns"), ("ratio_coarse", coarse_label)):
            ratios = {n: v[key] for n, v in per_regime.items()}
            fin = [x for x in ratios.values() if math.isfinite(x)]
            ok = bool(fin and all(1 - vol_tolerance <= x <= 1 / (1 - vol_tolerance) for x in fin))
            out.append(
                _check(
                    f"vol_{'step' if key == 'ratio_step' else 'coarse'}",
                    f"Realised mid volatility per regime matches the configured value ({label})",
                    ", ".join(f"{n} x{_fmt(x, 2)}" for n, x in ratios.items()),
                    f"realised / configured in [{1 - vol_tolerance:g}, {1 / (1 - vol_tolerance):.3g}] in every "
                    "pinned regime",
                    ok,
                    "RegimeConfig.volatility is the fair price's volatility; a book that tracks the fair price "
                    "realises it in its mid. A low ratio means the mid lags the fair price.",
                )
            )
        fr = {n: v["fair_ratio"] for n, v in per_regime.items()}
        fin = [x for x in fr.values() if math.isfinite(x)]
        out.append(
            _check(
                "fair_vol",
                "The latent fair price has the configured volatility",
                ", ".join(f"{n} x{_fmt(x, 3)}" for n, x in fr.items()),
                "realised / configured within 5% in every pinned regime",
                bool(fin and all(abs(x - 1) <= 0.05 for x in fin)),
                "Simulator sanity: the GBM of the fair price is what the configuration says.",
            )
        )
    return out


def _row(figure: str, unit: str, sim, lob, note: str = "") -> dict:
    return {"figure": figure, "unit": unit, "simulated": sim, "amzn": lob, "note": note}


def _expected_lognormal_lots(mu: float, sigma: float) -> float:
    """Mean of max(1, round(exp(mu + sigma z))): the simulator's lognormal order size in lots."""
    from scipy.stats import lognorm

    dist = lognorm(s=sigma, scale=math.exp(mu))
    kmax = int(min(max(dist.ppf(1 - 1e-12), 3), 1e6)) + 2
    k = np.arange(2, kmax + 1)
    pk = dist.cdf(k + 0.5) - dist.cdf(k - 0.5)
    return float(dist.cdf(1.5) + (k * pk).sum())


def _mean_order_lots(flow: FlowConfig, market: bool) -> float:
    if market:
        return _expected_lognormal_lots(flow.market_size_mu, flow.market_size_sigma)
    if flow.size_model == "lognormal":
        return _expected_lognormal_lots(flow.size_mu, flow.size_sigma)
    return float(flow.size_sigma)


def summary_rows(stats: dict) -> list[dict]:
    """The summary table: simulated (switching run) beside AMZN, same units, one row per figure."""
    sim = stats["simulated"]
    lob = (stats.get("lobster") or {}).get("stats")
    extra = stats.get("lobster") or {}
    meta = stats["meta"]

    def g(s, *path):
        if s is None:
            return None
        for p in path:
            if s is None:
                return None
            s = s[p] if isinstance(s, dict) else (s[p] if isinstance(p, int) and p < len(s) else None)
        return s

    def both(*path):
        return g(sim, *path), g(lob, *path)

    def spread_over_vol(s):
        if s is None:
            return None
        v = s["returns"]["step"]["std_ticks"]
        return s["spread"]["mean"] / v if v and math.isfinite(v) and v > 0 else math.nan

    def depth_over_mo(s, mo):
        if s is None or mo is None:
            return None
        return s["depth"]["level1_mean"] / mo

    dt = meta["dt"]
    hc = sim["returns"]["coarse"]["horizon_s"]
    mo_sim = meta.get("market_order_mean_lots")
    mo_lob = extra.get("market_order_mean_lots")
    vr_sim = _vr_at(sim, hc)
    vr_lob = _vr_at(lob, hc) if lob else None
    rows = [
        _row("mean price", "$", *both("mean_price"), "AMZN is a ~$220 stock, the default market a $100 one"),
        _row("spread, mean", "ticks", *both("spread", "mean"), "not comparable across price levels"),
        _row("spread, median", "ticks", *both("spread", "median")),
        _row("spread 1-3 ticks", "share of time", *both("spread", "frac_1_to_3")),
        _row("spread in bps", "bps of price", *both("spread", "mean_bps"), "dimensionless"),
        _row(
            f"spread / std of {dt:g}-s mid change",
            "ratio",
            spread_over_vol(sim),
            spread_over_vol(lob),
            "spread in units of one-step price noise",
        ),
        _row("depth at level 1 (mean of sides)", "lots (100 sh)", *both("depth", "level1_mean")),
        _row("market-order size, mean", "lots", mo_sim, mo_lob, "sim: expectation from the FlowConfig"),
        _row(
            "level-1 depth / market-order size",
            "ratio",
            depth_over_mo(sim, mo_sim),
            depth_over_mo(lob, mo_lob),
            "how many typical market orders clear the touch",
        ),
        _row("aggressive volume", "lots / s", *both("activity", "aggressive_lots_per_s")),
        _row(f"mid vol at {dt:g} s", "per sqrt-s", *both("returns", "step", "vol_per_sqrt_s")),
        _row(f"mid vol at {hc:g} s", "per sqrt-s", *both("returns", "coarse", "vol_per_sqrt_s")),
        _row(
            f"variance ratio VR({hc:g} s)",
            "ratio",
            vr_sim,
            vr_lob,
            "1 = random walk, > 1 trending, < 1 mean-reverting",
        ),
        _row(f"return acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "acf", 0)),
        _row(f"return acf lag 1 at {hc:g} s", "corr", *both("returns", "coarse", "acf", 0)),
        _row(f"|r| acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "abs_acf", 0)),
        _row(f"r^2 acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "sq_acf", 0)),
        _row(
            f"|r| acf mean of lags 1-{len(sim['returns']['step']['abs_acf'])}",
            "corr",
            float(np.nanmean(sim["returns"]["step"]["abs_acf"])),
            float(np.nanmean(lob["returns"]["step"]["abs_acf"])) if lob else None,
        ),
        _row(f"excess kurtosis at {dt:g} s", "", *both("returns", "step", "kurtosis")),
        _row(f"excess kurtosis at {hc:g} s", "", *both("returns", "coarse", "kurtosis")),
        _row(f"steps with no mid change ({dt:g} s)", "share", *both("returns", "step", "frac_zero")),
        _row(f"OFI vs same-step mid change ({dt:g} s)", "corr", *both("ofi", "step", "corr")),
        _row(f"OFI vs next-step mid change ({dt:g} s)", "corr", *both("ofi", "step", "next_corr")),
        _row(f"OFI vs mid change at {hc:g} s", "corr", *both("ofi", "coarse", "corr")),
        _row(
            "OFI impact slope", "ticks / lot", *both("ofi", "step", "slope_ticks_per_lot"), "scale-dependent"
        ),
        _row(
            f"VaR 95% of {dt:g}-s mid return", "bps", *both("returns", "step", "var_cvar", "0.95", "var_bps")
        ),
        _row(
            f"CVaR 95% of {dt:g}-s mid return",
            "bps",
            *both("returns", "step", "var_cvar", "0.95", "cvar_bps"),
        ),
        _row(
            f"VaR 99% of {dt:g}-s mid return", "bps", *both("returns", "step", "var_cvar", "0.99", "var_bps")
        ),
        _row(
            f"CVaR 99% of {dt:g}-s mid return",
            "bps",
            *both("returns", "step", "var_cvar", "0.99", "cvar_bps"),
        ),
    ]
    return rows


def format_summary(stats: dict) -> str:
    """The summary table and the checks as plain text."""
    rows = summary_rows(stats)
    has_lob = stats.get("lobster") is not None
    head = ["figure", "unit", "simulated"] + (["AMZN"] if has_lob else [])
    body = [
        [r["figure"], r["unit"], _fmt(r["simulated"])] + ([_fmt(r["amzn"])] if has_lob else []) for r in rows
    ]
    w = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(cells))

    out = [line(head), "  ".join("-" * x for x in w), *map(line, body), ""]
    for c in stats["checks"]:
        mark = {True: "PASS", False: "FAIL", None: " n/a"}[c["passed"]]
        judged = (
            ""
            if c["passed"] is not None or not c["criterion"].startswith("too short")
            else f" ({c['criterion']})"
        )
        out.append(f"[{mark}] {c['title']}: {c['value']}{judged}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------------------
# figures (matplotlib's Agg canvas, no pyplot state)

_SIM, _AMZN, _FAIR = "#1f77b4", "#d62728", "#7f7f7f"
_REG_COLORS = ("#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _figure(width: float = 8.0, height: float = 3.8, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plot_spread(sim: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(9, 3.6, 2)
    pm = sim["spread"]["pmf"]
    a.bar(list(pm), list(pm.values()), color=_SIM, width=0.8)
    a.set_xlabel("spread (ticks)")
    a.set_ylabel("share of time")
    a.set_title("simulated")
    a.set_xlim(0, max(10, max(pm) + 1) if pm else 10)
    if lob is not None:
        pl = lob["spread"]["pmf"]
        b.bar(list(pl), list(pl.values()), color=_AMZN, width=0.8)
        b.set_title("AMZN (a $220 stock: wider in ticks)")
        b.set_xlabel("spread (ticks)")
    else:
        b.text(0.5, 0.5, "no LOBSTER data", ha="center", va="center", transform=b.transAxes)
        b.set_axis_off()
    return _png(fig)


def _plot_depth(sim: dict, per_regime_stats: dict, lob: dict | None) -> str:
    fig, (a,) = _figure(8, 3.8)
    lv = np.arange(1, len(sim["depth"]["bid"]) + 1)
    a.bar(-lv, sim["depth"]["bid"], color=_SIM, alpha=0.35, label="bids (switching run)")
    a.bar(lv, sim["depth"]["ask"], color=_SIM, alpha=0.6, label="asks (switching run)")
    for i, (name, st) in enumerate(per_regime_stats.items()):
        c = _REG_COLORS[i % len(_REG_COLORS)]
        a.plot(-lv, st["depth"]["bid"], "o-", color=c, label=f"{name} (pinned)")
        a.plot(lv, st["depth"]["ask"], "o-", color=c)
    if lob is not None:
        a.plot(
            [-1, 1],
            [lob["depth"]["bid"][0], lob["depth"]["ask"][0]],
            "D",
            color=_AMZN,
            ms=8,
            label="AMZN level 1",
        )
    a.axvline(0, color="k", lw=0.5)
    a.set_xticks(np.r_[-lv[::-1], lv], [str(x) for x in np.r_[lv[::-1], lv]])
    a.set_xlabel("level (bid side left, ask side right)")
    a.set_ylabel("mean lots")
    a.legend(fontsize=8, ncols=2)
    return _png(fig)


def _acf_panel(ax, series: list[tuple[str, list[float], str]], n: int, title: str) -> None:
    for label, acf, color in series:
        lags = np.arange(1, len(acf) + 1)
        ax.plot(lags, acf, "o-", color=color, label=label, ms=3)
    if n > 0:
        band = 2 / math.sqrt(n)
        ax.axhspan(-band, band, color="0.85", zorder=0, label="+-2/sqrt(n)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def _plot_acf(sim: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(10, 3.8, 2)
    for ax, key in ((a, "step"), (b, "coarse")):
        rs = sim["returns"][key]
        series = [("simulated", rs["acf"], _SIM)]
        if lob is not None:
            series.append(("AMZN", lob["returns"][key]["acf"], _AMZN))
        _acf_panel(ax, series, rs["n"], f"mid-return autocorrelation, {rs['horizon_s']:g}-s returns")
    return _png(fig)


def _plot_vol(per_regime: dict, sim: dict, per_regime_stats: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(11, 4.0, 2)
    names = list(per_regime)
    x = np.arange(len(names))
    w = 0.16
    cols = (
        ("configured_vol", "configured", "k"),
        ("fair_vol_step", "fair price", _FAIR),
        ("mid_vol_step", "mid, one step", _SIM),
        ("mid_vol_coarse", "mid, coarse", "#17becf"),
        ("mid_vol_long", "mid, longest horizon", "#9467bd"),
    )
    for i, (k, label, c) in enumerate(cols):
        a.bar(x + (i - 2) * w, [per_regime[n][k] for n in names], w, color=c, label=label)
    reg = sim.get("regimes")
    if reg is not None:
        a.plot(x, reg["vol_step"], "x", color="r", ms=9, label="mid, one step (switching run)")
    a.set_xticks(x, names)
    a.set_ylabel("relative vol per sqrt-second")
    a.set_title("volatility per regime (pinned runs)", fontsize=10)
    a.legend(fontsize=7)
    for i, (name, st) in enumerate(per_regime_stats.items()):
        sg = st["signature"]
        b.plot(
            sg["horizon_s"],
            sg["vol_per_sqrt_s"],
            "o-",
            color=_REG_COLORS[i % len(_REG_COLORS)],
            ms=3,
            label=name,
        )
        b.axhline(per_regime[name]["configured_vol"], color=_REG_COLORS[i % len(_REG_COLORS)], ls=":", lw=1)
    sg = sim["signature"]
    b.plot(sg["horizon_s"], sg["vol_per_sqrt_s"], "s-", color=_SIM, ms=3, label="switching run")
    if lob is not None:
        sg = lob["signature"]
        b.plot(sg["horizon_s"], sg["vol_per_sqrt_s"], "D-", color=_AMZN, ms=3, label="AMZN")
    b.set_xscale("log")
    b.set_xlabel("horizon (s)")
    b.set_ylabel("vol per sqrt-second")
    b.set_title("volatility signature (dotted: configured)", fontsize=10)
    b.legend(fontsize=7)
    return _png(fig)


def _plot_clustering(sim: dict, pinned: dict | None, lob: dict | None) -> str:
    fig, (a, b) = _figure(10, 3.8, 2)
    for ax, key, title in ((a, "abs_acf", "|r|"), (b, "sq_acf", "r^2")):
        series = [("simulated, switching", sim["returns"]["step"][key], _SIM)]
        if pinned is not None:
            series.append(("simulated, one regime pinned", pinned["returns"]["step"][key], _FAIR))
        if lob is not None:
            series.append(("AMZN", lob["returns"]["step"][key], _AMZN))
        _acf_panel(ax, series, sim["returns"]["step"]["n"], f"autocorrelation of {title}, one-step returns")
    return _png(fig)


def _plot_tails(r_sim: np.ndarray, r_pin: np.ndarray | None, r_lob: np.ndarray | None) -> str:
    from scipy.stats import norm

    fig, (a, b) = _figure(10, 4.0, 2)
    for r, label, c in (
        (r_sim, "simulated, switching", _SIM),
        (r_pin, "simulated, pinned", _FAIR),
        (r_lob, "AMZN", _AMZN),
    ):
        if r is None or r.size < MIN_POINTS or np.std(r) == 0:
            continue
        z = np.sort((r - r.mean()) / r.std(ddof=1))
        p = (np.arange(1, z.size + 1) - 0.5) / z.size
        keep = np.unique(
            np.r_[
                np.linspace(0, z.size - 1, 2000).astype(int),
                np.arange(min(50, z.size)),
                np.arange(max(z.size - 50, 0), z.size),
            ]
        )
        a.plot(norm.ppf(p[keep]), z[keep], ".", ms=3, color=c, label=label)
        lim = np.quantile(np.abs(z), 0.999) * 1.2
        bins = np.linspace(-lim, lim, 61)
        h, e = np.histogram(z, bins=bins, density=True)
        b.step((e[:-1] + e[1:]) / 2, np.maximum(h, 1e-6), where="mid", color=c, label=label)
    g = np.linspace(-5, 5, 101)
    a.plot(g, g, "k--", lw=0.8, label="normal")
    a.set_xlabel("normal quantile")
    a.set_ylabel("standardised return quantile")
    a.set_title("QQ plot vs the normal", fontsize=10)
    a.legend(fontsize=8)
    b.plot(g, norm.pdf(g), "k--", lw=0.8, label="normal")
    b.set_yscale("log")
    b.set_ylim(1e-5, None)
    b.set_xlabel("standardised return")
    b.set_title("density (log scale)", fontsize=10)
    b.legend(fontsize=8)
    return _png(fig)


def _binned(
    x: np.ndarray, y: np.ndarray, nbins: int = 21, min_count: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` in equal-width bins of ``x`` between its 0.5% and 99.5% quantiles (bins with at least
    ``min_count`` points; flow is mostly zero on real data, so quantile bins would collapse)."""
    if x.size < MIN_POINTS:
        return np.array([]), np.array([])
    lo, hi = np.quantile(x, [0.005, 0.995])
    if hi <= lo:
        return np.array([]), np.array([])
    edges = np.linspace(lo, hi, nbins + 1)
    idx = np.searchsorted(edges, x, side="right") - 1
    xs, ys = [], []
    for i in range(nbins):
        sel = idx == i
        if sel.sum() >= min_count:
            xs.append(x[sel].mean())
            ys.append(y[sel].mean())
    return np.array(xs), np.array(ys)


def _plot_ofi(f_sim, dm_sim, f_lob, dm_lob, sim: dict, lob: dict | None) -> str:
    fig, axes = _figure(10, 3.8, 2)
    for ax, f, dm, st, label, c in (
        (axes[0], f_sim, dm_sim, sim, "simulated", _SIM),
        (axes[1], f_lob, dm_lob, lob, "AMZN", _AMZN),
    ):
        if f is None or st is None:
            ax.text(0.5, 0.5, "no LOBSTER data", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        xs, ys = _binned(f, dm)
        ax.plot(xs, ys, "o", color=c, label="mean mid change per OFI bin")
        o = st["ofi"]["step"]
        if math.isfinite(o["slope_ticks_per_lot"]):
            g = np.linspace(np.quantile(f, 0.01), np.quantile(f, 0.99), 2)
            ax.plot(
                g,
                o["intercept_ticks"] + o["slope_ticks_per_lot"] * g,
                "k--",
                lw=1,
                label=f"OLS, corr {o['corr']:.2f}",
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel("aggressive buy - sell lots in the step")
        ax.set_ylabel("mid change in the step (ticks)")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    return _png(fig)


def _plot_regimes(reg: dict, rec: np.ndarray, dt: float) -> str:
    mk = _rec_columns()
    fig, (a, b) = _figure(11, 3.8, 2)
    x = np.arange(len(reg["names"]))
    a.bar(
        x - 0.2,
        reg["occupancy"],
        0.4,
        yerr=2 * np.asarray(reg["occupancy_se"]),
        color=_SIM,
        label="realised (+-2 se)",
    )
    a.bar(x + 0.2, reg["stationary"], 0.4, color=_FAIR, label="stationary pi")
    a.set_xticks(x, reg["names"])
    a.set_ylabel("share of time")
    a.set_title("regime occupancy", fontsize=10)
    a.legend(fontsize=8)
    n = min(rec.shape[0], max(int(3600 / dt), 2))
    t = np.arange(n) * dt
    b.plot(t, rec[:n, mk.REC_FAIR], color=_FAIR, lw=0.6, label="fair price")
    b.plot(t, rec[:n, mk.REC_MID], color=_SIM, lw=1.0, label="mid")
    rg = rec[:n, mk.REC_REGIME].astype(int)
    lo, hi = np.nanmin(rec[:n, mk.REC_MID]), np.nanmax(rec[:n, mk.REC_MID])
    for j, name in enumerate(reg["names"]):
        b.fill_between(
            t,
            lo,
            hi,
            where=rg == j,
            color=_REG_COLORS[j % len(_REG_COLORS)],
            alpha=0.15,
            step="mid",
            label=name,
        )
    b.set_xlabel("seconds")
    b.set_ylabel("ticks")
    b.set_title("first hour: mid, fair price and regime", fontsize=10)
    b.legend(fontsize=7, ncols=2)
    return _png(fig)


def _plot_tracking(rec: np.ndarray, dt: float, name: str) -> str:
    mk = _rec_columns()
    fig, (a,) = _figure(9, 3.4)
    n = min(rec.shape[0], max(int(600 / dt), 2))
    t = np.arange(n) * dt
    a.step(t, rec[:n, mk.REC_BID], where="post", color="#2ca02c", lw=0.7, label="best bid")
    a.step(t, rec[:n, mk.REC_ASK], where="post", color="#d62728", lw=0.7, label="best ask")
    a.plot(t, rec[:n, mk.REC_FAIR], color="k", lw=0.9, label="fair price")
    a.set_xlabel("seconds")
    a.set_ylabel("ticks")
    a.set_title(f"ten minutes of the pinned '{name}' regime: quotes vs the latent fair price", fontsize=10)
    a.legend(fontsize=8)
    return _png(fig)


def _plot_var(r: np.ndarray, sim: dict) -> str:
    fig, (a,) = _figure(8, 3.4)
    x = 1e4 * r
    lim = np.quantile(np.abs(x), 0.999) * 1.2 if x.size else 1.0
    a.hist(x, bins=np.linspace(-lim, lim, 81), color=_SIM, alpha=0.7)
    vc = sim["returns"]["step"]["var_cvar"]
    for key, ls in (("0.95", "--"), ("0.99", ":")):
        a.axvline(-vc[key]["var_bps"], color="k", ls=ls, label=f"VaR {float(key):.0%}")
        a.axvline(-vc[key]["cvar_bps"], color="r", ls=ls, label=f"CVaR {float(key):.0%}")
    a.set_yscale("log")
    a.set_xlabel("one-step mid return (bps)")
    a.set_ylabel("steps")
    a.legend(fontsize=8)
    return _png(fig)


# ------------------------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child,td.l{text-align:left}
.pass{color:#fff;background:#2e7d32;border-radius:3px;padding:0 .4em;font-weight:600}
.fail{color:#fff;background:#c62828;border-radius:3px;padding:0 .4em;font-weight:600}
.na{color:#fff;background:#777;border-radius:3px;padding:0 .4em;font-weight:600}
.meta{color:#555;font-size:.9em}.note{background:#fff8e1;padding:.5em .8em;border-left:3px solid #f9a825}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
"""


def _badge(passed: bool | None) -> str:
    cls, txt = {True: ("pass", "PASS"), False: ("fail", "FAIL"), None: ("na", "n/a")}[passed]
    return f'<span class="{cls}">{txt}</span>'


def _checks_for(checks: list[dict], *ids: str) -> str:
    items = [c for c in checks if c["id"] in ids]
    if not items:
        return ""
    lis = "".join(
        f"<li>{_badge(c['passed'])} <b>{html.escape(c['title'])}</b>: {html.escape(c['value'])} "
        f"(criterion: {html.escape(c['criterion'])}). {html.escape(c['why'])}</li>"
        for c in items
    )
    return f"<ul>{lis}</ul>"


def _img(b64: str, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"></figure>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _render_html(stats: dict, figs: dict[str, str]) -> str:
    meta = stats["meta"]
    sim = stats["simulated"]
    lob = stats.get("lobster")
    checks = stats["checks"]
    n_pass = sum(c["passed"] is True for c in checks)
    n_fail = sum(c["passed"] is False for c in checks)
    dt = meta["dt"]
    hc = sim["returns"]["coarse"]["horizon_s"]
    title = "almm_rllib market realism report"
    p = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head><body>',
        f"<h1>{title}</h1>",
        '<p class="meta">'
        + html.escape(
            f"background market alone (no agents), seed {meta['seed']}, {meta['seconds']:,.0f} s at dt = {dt:g} s "
            f"with regime switching after a {meta['burn_in_seconds']:g} s burn-in, plus {meta['pinned_seconds']:,.0f} s "
            f"per pinned regime; almm_rllib {meta['version']}"
        )
        + "</p>",
        f"<p>Plausibility checks: <b>{n_pass} passed</b>, <b>{n_fail} failed</b> of {len(checks)}. "
        "Each section says what its figure shows and which check it supports. Figures are computed from the "
        "step records by one function for the simulation and the real data alike.</p>",
        _checks_for(checks, *[c["id"] for c in checks]),
    ]
    # summary
    rows = summary_rows(stats)
    head = ["figure", "unit", "simulated"] + (["AMZN"] if lob else []) + ["note"]
    body = [
        [r["figure"], r["unit"], _fmt(r["simulated"])] + ([_fmt(r["amzn"])] if lob else []) + [r["note"]]
        for r in rows
    ]
    p += ["<h2>Summary: simulated vs real</h2>"]
    if lob:
        p.append(
            f'<p class="note">{html.escape(lob["notes"])} Real data: {html.escape(lob["ticker"] or "?")} '
            f"{html.escape(lob['date'] or '')}, NASDAQ via LOBSTER, resampled onto the same {dt:g}-s grid; "
            f"sizes in lots of {lob['lot_shares']} shares.</p>"
        )
    else:
        p.append('<p class="note">No LOBSTER data was compared (none found, or switched off).</p>')
    p.append(_table(head, body))

    # per-regime
    per = stats["per_regime"]
    if per:
        p.append("<h2>Per-regime volatility (pinned runs)</h2>")
        p.append(
            "<p>Each regime is run alone (switching off) so that its volatility is measured without switches. "
            "<i>configured</i> is <code>RegimeConfig.volatility</code>, the volatility of the latent fair price; "
            "the mid is measured at one step, at the coarse horizon and at the longest horizon with 30 returns. "
            "The right panel is the volatility signature: vol per sqrt-second against the horizon. A flat line at "
            "the configured level is a market whose mid follows the fair price; a line rising with the horizon "
            "is a mid that lags (it under-reacts at short horizons and catches up later, which also shows up as "
            "positive return autocorrelation); a falling line is noise that reverts (bid-ask bounce).</p>"
        )
        ph = [
            "regime",
            "configured",
            "fair",
            "mid 1 step",
            "mid coarse",
            "mid longest",
            "ratio step",
            "ratio coarse",
            "ratio longest",
            "|mid - fair| sd (ticks)",
            "spread",
            "depth L1",
            "acf1",
            "VR coarse",
        ]
        pr = [
            [
                n,
                _fmt(v["configured_vol"]),
                _fmt(v["fair_vol_step"]),
                _fmt(v["mid_vol_step"]),
                _fmt(v["mid_vol_coarse"]),
                _fmt(v["mid_vol_long"]),
                _fmt(v["ratio_step"]),
                _fmt(v["ratio_coarse"]),
                _fmt(v["ratio_long"]),
                _fmt(v["gap_std_ticks"]),
                _fmt(v["spread_mean"]),
                _fmt(v["depth_level1"]),
                _fmt(v["acf1_step"]),
                _fmt(v["variance_ratio_coarse"]),
            ]
            for n, v in per.items()
        ]
        p += [
            _table(ph, pr),
            _img(figs["vol"], "volatility per regime"),
            _checks_for(checks, "vol_step", "vol_coarse", "fair_vol"),
        ]
        if "tracking" in figs:
            p.append(
                "<p>The quotes against the latent fair price in one pinned regime: how closely and how fast the "
                "book follows the value it is built around.</p>"
            )
            p.append(_img(figs["tracking"], "quotes vs fair price"))

    p += [
        "<h2>Spread</h2>",
        "<p>Share of time at each bid-ask spread (ticks), sampled at the end of every step. A liquid stock near "
        "$100 with a one-cent tick mostly trades at one or two ticks. AMZN, at $220, has a much wider spread in "
        "ticks, so compare its spread in bps and in units of one-step price noise (summary table) rather than "
        "the tick counts.</p>",
        _img(figs["spread"], "spread distribution"),
        _checks_for(checks, "spread"),
        "<h2>Depth profile</h2>",
        "<p>Mean lots resting at the five best non-empty price levels per side, for the switching run and each "
        "pinned regime (depth thins when the market is volatile and cancels faster). The AMZN file has level 1 "
        "only.</p>",
        _img(figs["depth"], "depth profile"),
        "<h2>Mid-return autocorrelation</h2>",
        f"<p>Autocorrelation of log mid returns at lags 1 to {len(sim['returns']['step']['acf'])}, for "
        f"{dt:g}-s returns (left) and {hc:g}-s returns (right); the grey band is +-2/sqrt(n), the 95% band of "
        "a series without autocorrelation. Real mid returns are close to unpredictable: a large-tick stock "
        "shows a small negative lag-1 value at short horizons (bid-ask bounce, quote refills), a small-tick "
        "one such as AMZN a value near zero, and neither shows much at longer horizons. A clearly positive "
        "value that decays over several lags is a mid that trends after its value moved: it lags.</p>",
        _img(figs["acf"], "return autocorrelation"),
        _checks_for(checks, "bounce", "acf_coarse"),
        "<h2>Volatility clustering</h2>",
        "<p>Autocorrelation of |r| and of r^2 of one-step returns. Positive, slowly decaying values mean calm "
        "and busy periods persist. In the simulator they come from the regime chain: the grey line (one regime "
        "pinned) shows what remains without switches.</p>",
        _img(figs["clustering"], "volatility clustering"),
        _checks_for(checks, "clustering"),
        "<h2>Heavy tails</h2>",
        "<p>QQ plot of standardised one-step returns against the normal, and their density on a log scale. "
        "Points above the dashed line on the right (below it on the left) are fat tails. Discrete ticks make "
        "the short-horizon QQ plot a staircase.</p>",
        _table(
            ["", "simulated"] + (["AMZN"] if lob else []),
            [
                [f"excess kurtosis, {dt:g} s", _fmt(sim["returns"]["step"]["kurtosis"])]
                + ([_fmt(lob["stats"]["returns"]["step"]["kurtosis"])] if lob else []),
                [f"excess kurtosis, {hc:g} s", _fmt(sim["returns"]["coarse"]["kurtosis"])]
                + ([_fmt(lob["stats"]["returns"]["coarse"]["kurtosis"])] if lob else []),
                [
                    "share beyond 4 sd (normal 6.3e-05)",
                    _fmt(sim["returns"]["step"]["tails"]["frac_beyond_4sd"]),
                ]
                + ([_fmt(lob["stats"]["returns"]["step"]["tails"]["frac_beyond_4sd"])] if lob else []),
            ]
            + [
                [
                    f"standardised quantile {q} (normal {_fmt(sim['returns']['step']['tails']['normal'][q])})",
                    _fmt(sim["returns"]["step"]["tails"]["quantiles"][q]),
                ]
                + ([_fmt(lob["stats"]["returns"]["step"]["tails"]["quantiles"][q])] if lob else [])
                for q in sim["returns"]["step"]["tails"]["quantiles"]
            ],
        ),
        _img(figs["tails"], "QQ plot"),
        _checks_for(checks, "tails"),
        "<h2>Order-flow imbalance</h2>",
        "<p>Aggressive buy minus sell lots in a step against the mid change in the same step (binned means and "
        "the least-squares line). A positive slope is the price impact of order flow. The next-step correlation "
        f"(summary table) says whether flow predicts the next move: the simulated value is "
        f"{_fmt(sim['ofi']['step']['next_corr'])}"
        + (f", AMZN's {_fmt(lob['stats']['ofi']['step']['next_corr'])}" if lob else "")
        + ". AMZN's flow counts visible and hidden executions.</p>",
        _img(figs["ofi"], "order-flow imbalance"),
        _checks_for(checks, "ofi"),
    ]
    reg = sim.get("regimes")
    if reg is not None:
        p += [
            "<h2>Regimes</h2>",
            "<p>Share of time in each regime against the stationary distribution of the configured chain, with "
            "batch-means error bars, and the first hour of the switching run (mid, fair price, regime).</p>",
            _table(
                [
                    "regime",
                    "occupancy",
                    "stationary",
                    "se",
                    "mean spell (s)",
                    "expected spell (s)",
                    "mid vol 1 step (switching run)",
                    "configured vol",
                ],
                [
                    [
                        n,
                        _fmt(reg["occupancy"][j]),
                        _fmt(reg["stationary"][j]),
                        _fmt(reg["occupancy_se"][j]),
                        _fmt(reg["mean_holding_s"][j]),
                        _fmt(reg["expected_holding_s"][j]),
                        _fmt(reg["vol_step"][j]),
                        _fmt(reg["configured_vol"][j]),
                    ]
                    for j, n in enumerate(reg["names"])
                ],
            ),
            f"<p>{reg['n_switches']} regime changes observed.</p>",
            _img(figs["regimes"], "regime occupancy"),
            _checks_for(checks, "occupancy"),
        ]
    vc = sim["returns"]["step"]["var_cvar"]
    p += [
        "<h2>Value at risk of one-step mid returns</h2>",
        "<p>Historical VaR and CVaR (expected shortfall) of one-step log mid returns, as positive losses of a "
        "long position (<code>core.risk.var_cvar</code>, the metrics.md definition).</p>",
        _table(
            ["level", "VaR (bps)", "CVaR (bps)"] + (["AMZN VaR", "AMZN CVaR"] if lob else []),
            [
                [f"{float(k):.0%}", _fmt(v["var_bps"]), _fmt(v["cvar_bps"])]
                + (
                    [
                        _fmt(lob["stats"]["returns"]["step"]["var_cvar"][k]["var_bps"]),
                        _fmt(lob["stats"]["returns"]["step"]["var_cvar"][k]["cvar_bps"]),
                    ]
                    if lob
                    else []
                )
                for k, v in vc.items()
            ],
        ),
        _img(figs["var"], "VaR"),
        "<h2>Configuration</h2>",
        "<details><summary>MarketConfig</summary><pre>"
        + html.escape(json.dumps(meta["config"], indent=2))
        + "</pre></details>",
        '<p class="meta">All figures: market_stats.json beside this page.</p>',
        "</body></html>",
    ]
    return "\n".join(x for x in p if x)


# ------------------------------------------------------------------------------------------------------------
# the report


def market_report(
    config: MarketConfig | None = None,
    *,
    seconds: float | None = None,
    dt: float = 1.0,
    seed: int = 0,
    out_dir="market_report",
    compare_lobster=AUTO,
    pinned_seconds: float | None = None,
    burn_in_seconds: float = 300.0,
    lags: int = 20,
    coarse: int = 10,
    vol_tolerance: float = 0.25,
) -> Path:
    """Run the background market alone, measure it, and write ``report.html`` and ``market_stats.json``.

    Args:
        config: the market (``model="lob"``); default ``MarketConfig()``.
        seconds: recorded length of the switching run; default :func:`default_seconds` (at least one 6.5-hour
            session and ``SWITCHES_PER_RUN`` mean spells of the slowest regime).
        dt: step length in seconds (returns, OFI and autocorrelations are per step; "coarse" = ``coarse`` steps).
        seed: seed of the switching run; pinned run ``i`` uses ``seed + 1 + i``.
        out_dir: folder for the two files (created if missing).
        compare_lobster: a LOBSTER folder or message file to put real statistics beside the simulated ones;
            ``AUTO`` (default) = the shared folder if it exists (:func:`default_lobster_dir`); None = no
            comparison. An explicit path that does not hold a pair raises ``FileNotFoundError``.
        pinned_seconds: recorded length of each pinned-regime run (default ``seconds``).
        burn_in_seconds: unrecorded run after the simulator's own warm-up, so the book starts in steady state.
        lags: autocorrelation lags; coarse: steps per coarse return; vol_tolerance: the volatility check's
            relative tolerance.

    Returns:
        The path of ``report.html``. Both files are written under temporary names and renamed when complete.
    """
    from almm_rllib import __version__
    from almm_rllib.core.market_config import MarketConfig
    from almm_rllib.results.io import atomic_write

    if config is None:
        config = MarketConfig()
    if not isinstance(config, MarketConfig):
        raise TypeError(f"market_report needs a MarketConfig, got {type(config).__name__}")
    if config.model != "lob":
        raise ValueError(
            f"the realism report measures the order-book market (model='lob'), got model={config.model!r}"
        )
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if seconds is None:
        seconds = default_seconds(config)
    if not (math.isfinite(seconds) and seconds >= 2 * coarse * dt):
        raise ValueError(f"seconds must cover at least {2 * coarse} steps of {dt:g} s, got {seconds!r}")
    if pinned_seconds is None:
        pinned_seconds = seconds
    rc = config.regimes
    switching = bool(rc.switching and len(rc.names) > 1)
    check_memory(seconds, pinned_seconds, dt, len(rc.names))  # every regime also runs pinned
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rec = simulate(config, seconds=seconds, dt=dt, seed=seed, burn_in_seconds=burn_in_seconds)
    sim = market_stats(rec, dt=dt, tick_size=config.tick_size, regimes=rc, lags=lags, coarse=coarse)

    per_regime: dict = {}
    per_stats: dict = {}
    pinned_recs: dict = {}
    for i, name in enumerate(rc.names):
        prec = simulate(
            _pinned(config, name),
            seconds=pinned_seconds,
            dt=dt,
            seed=seed + 1 + i,
            burn_in_seconds=burn_in_seconds,
        )
        st = market_stats(prec, dt=dt, tick_size=config.tick_size, lags=lags, coarse=coarse)
        summ = _pinned_summary(st, _fair_stats(_valid_rows(prec), dt, coarse), rc.volatility[i])
        summ["coarse_horizon_s"] = coarse * dt
        per_regime[name] = summ
        per_stats[name] = st
        pinned_recs[name] = prec

    lob_sec, lob_rec = None, None
    src = default_lobster_dir() if compare_lobster == AUTO else compare_lobster
    if src is not None:
        lob_sec, lob_rec = _lobster_section(src, dt=dt, lags=lags, coarse=coarse)

    meta = {
        "version": __version__,
        "seed": seed,
        "seconds": float(seconds),
        "pinned_seconds": float(pinned_seconds),
        "burn_in_seconds": float(burn_in_seconds),
        "dt": float(dt),
        "coarse_steps": coarse,
        "lags": lags,
        "switching": switching,
        "market_order_mean_lots": _mean_order_lots(config.flow, market=True),
        "limit_order_mean_lots": _mean_order_lots(config.flow, market=False),
        "config": config.to_dict(),
    }
    stats = {
        "meta": meta,
        "simulated": sim,
        "per_regime": per_regime,
        "per_regime_stats": per_stats,
        "lobster": lob_sec,
        "checks": plausibility_checks(sim, per_regime, vol_tolerance=vol_tolerance, switching=switching),
    }
    stats["summary"] = summary_rows(stats)

    mk = _rec_columns()
    lob_st = lob_sec["stats"] if lob_sec else None
    vrec = _valid_rows(rec)
    r_sim, dm_sim, f_sim = _blocks(
        vrec[:, mk.REC_MID], np.nan_to_num(vrec[:, mk.REC_MKT_BUY] - vrec[:, mk.REC_MKT_SELL]), 1
    )
    mid_name = rc.names[len(rc.names) // 2]
    prec = _valid_rows(pinned_recs[mid_name])
    r_pin = np.diff(np.log(prec[:, mk.REC_MID]))
    r_lob = dm_lob = f_lob = None
    if lob_rec is not None:
        lv = _valid_rows(lob_rec)
        r_lob, dm_lob, f_lob = _blocks(
            lv[:, mk.REC_MID], np.nan_to_num(lv[:, mk.REC_MKT_BUY] - lv[:, mk.REC_MKT_SELL]), 1
        )
    figs = {
        "spread": _plot_spread(sim, lob_st),
        "depth": _plot_depth(sim, per_stats, lob_st),
        "acf": _plot_acf(sim, lob_st),
        "vol": _plot_vol(per_regime, sim, per_stats, lob_st),
        "tracking": _plot_tracking(prec, dt, mid_name),
        "clustering": _plot_clustering(sim, per_stats[mid_name], lob_st),
        "tails": _plot_tails(r_sim, r_pin, r_lob),
        "ofi": _plot_ofi(f_sim, dm_sim, f_lob, dm_lob, sim, lob_st),
        "var": _plot_var(r_sim, sim),
    }
    if sim.get("regimes") is not None:
        figs["regimes"] = _plot_regimes(sim["regimes"], vrec, dt)
    page = _render_html(stats, figs)
    payload = json.dumps(_jsonable(stats), indent=1, allow_nan=False)

    def writer(text: str):
        def write(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)

        return write

    atomic_write(out / STATS_FILE, writer(payload))
    return atomic_write(out / REPORT_HTML, writer(page))


# ------------------------------------------------------------------------------------------------------------
# command line


def _load_config(path: str | None) -> MarketConfig:
    from almm_rllib.core.config import ConfigError
    from almm_rllib.core.market_config import MarketConfig

    if path is None:
        return MarketConfig()
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("", f"cannot be read ({e.strerror or e})", str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError("", f"is not valid YAML ({e})", str(p)) from None
    return MarketConfig.from_dict(data, source=str(p))


def _cmd_market_report(args: argparse.Namespace) -> int:
    """Run the background market alone and write a realism report (report.html, market_stats.json)."""
    from almm_rllib.core.config import ConfigError

    try:
        config = _load_config(args.config)
    except ConfigError as e:
        print(f"almm market-report: error: {e}", file=sys.stderr)
        return 2
    compare = None if args.no_lobster else (args.lobster if args.lobster else AUTO)
    try:
        path = market_report(
            config,
            seconds=args.seconds,
            dt=args.dt,
            seed=args.seed,
            out_dir=args.out,
            compare_lobster=compare,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"almm market-report: error: {e}", file=sys.stderr)
        return 2
    stats = json.loads((path.parent / STATS_FILE).read_text(encoding="utf-8"))
    print(format_summary(stats))
    print(f"\nreport: {path}")
    return 0


def add_market_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``market-report`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "market-report",
        help=_cmd_market_report.__doc__,
        description=(
            "Run the simulated background market alone (switching regimes, then each regime pinned), measure "
            "its stylised facts (spread, depth, return autocorrelation, volatility per regime, clustering, "
            "tails, order-flow imbalance, regime occupancy, VaR) beside real NASDAQ data, and write "
            "report.html and market_stats.json."
        ),
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="recorded seconds per run (default: long enough for many regime switches)",
    )
    p.add_argument("--dt", type=float, default=1.0, help="step length in seconds (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="market_report", help="output folder (default ./market_report)")
    p.add_argument(
        "--config", default=None, metavar="FILE.yaml", help="YAML mapping of MarketConfig overrides"
    )
    p.add_argument(
        "--lobster", default=None, metavar="PATH", help="LOBSTER folder or message file to compare with"
    )
    p.add_argument("--no-lobster", action="store_true", help="do not compare with real LOBSTER data")
    p.set_defaults(func=_cmd_market_report)
    return p
