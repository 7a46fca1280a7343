"""The estimators behind every market statistic, one set for the simulator and the real day.

Small, dependency-light functions of numpy arrays: each returns NaN (never raises) when the data cannot
support the figure (too few points, a constant series, non-finite values), so that a short sample yields a
report with gaps rather than an error. Used by :mod:`.record_stats` (the simulator and LOBSTER data resampled
onto the same clock grid) and :mod:`.lobster_stats` (a LOBSTER day's own events); new statistics (issue 15:
response functions, markouts, sign autocorrelation) should be built from these too.
"""

from __future__ import annotations

import math

import numpy as np

#: Correlations, autocorrelations, regression slopes, skew and kurtosis need at least this many points (else NaN).
MIN_POINTS = 10
#: Quantiles of a :func:`summary`.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def as_float(x) -> float:
    """A plain float (NaN for None)."""
    return math.nan if x is None else float(x)


def acf(x: np.ndarray, lags: int) -> list[float]:
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


def corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN for fewer than ``MIN_POINTS`` pairs or a constant side."""
    if a.size < MIN_POINTS or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y`` on ``x``."""
    if x.size < MIN_POINTS:
        return math.nan, math.nan
    vx = float(np.var(x))
    if vx == 0:
        return math.nan, math.nan
    b = float(np.mean((x - x.mean()) * (y - y.mean())) / vx)
    return b, float(y.mean() - b * x.mean())


def _central_moment_ratio(x: np.ndarray, k: int, min_n: int) -> float:
    """m_k / m_2^(k/2) of ``x`` (central moments, biased); NaN below ``max(min_n, MIN_POINTS)`` points or for
    a constant series."""
    if x.size < max(min_n, MIN_POINTS):
        return math.nan
    d = x - x.mean()
    m2 = float((d**2).mean())
    if m2 == 0:
        return math.nan
    return float((d**k).mean()) / m2 ** (k / 2)


def kurtosis(x: np.ndarray) -> float:
    """Excess kurtosis (0 for a normal), unbiased (Fisher, as ``scipy.stats.kurtosis(bias=False)``)."""
    n = x.size
    g2 = _central_moment_ratio(x, 4, 4) - 3.0
    return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))) if not math.isnan(g2) else math.nan


def skew(x: np.ndarray) -> float:
    """Sample skewness, bias-corrected (as ``scipy.stats.skew(bias=False)``); NaN for few points or constants."""
    n = x.size
    g1 = _central_moment_ratio(x, 3, 3)
    return float(g1 * math.sqrt(n * (n - 1)) / (n - 2)) if not math.isnan(g1) else math.nan


def std(x: np.ndarray) -> float:
    """Sample standard deviation (ddof 1); NaN below 2 points."""
    return float(np.std(x, ddof=1)) if x.size >= 2 else math.nan


def norm_ppf(p: float) -> float:
    """The standard normal quantile function (scipy)."""
    from scipy.stats import norm

    return float(norm.ppf(p))


def ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (leading NaNs stay NaN)."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(x.shape, np.nan)
    idx = np.where(ok, np.arange(x.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return x[idx]


def norm_cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def lagged_corr(x: np.ndarray, lags: int) -> list[float]:
    """Pearson correlation of ``x[:-k]`` with ``x[k:]`` for k = 1..``lags`` (each pair's own means and
    deviations, unlike :func:`acf`); NaN where fewer than ``MIN_POINTS`` pairs or a side is constant."""
    return [corr(x[:-k], x[k:]) if x.size > k else math.nan for k in range(1, lags + 1)]


def wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Weighted quantile: the smallest value whose cumulative weight reaches ``q`` of the total."""
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][min(np.searchsorted(cw, q * cw[-1]), x.size - 1)])


def summary(x, w=None) -> dict[str, float]:
    """n, mean, std, min, quantiles and max of ``x`` (weights ``w``: time-weighted, ``n`` = row count)."""
    x = np.asarray(x, np.float64)
    keep = ~np.isnan(x)
    x = x[keep]
    out: dict[str, float] = {"n": int(x.size)}
    if w is not None:
        w = np.asarray(w, np.float64)[keep]
    if x.size == 0 or (w is not None and w.sum() <= 0):
        out.update({"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan})
        out.update({f"p{round(q * 100)}": math.nan for q in QUANTILES})
        return out
    if w is None:
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if x.size > 1 else math.nan
        qs = {f"p{round(q * 100)}": float(np.quantile(x, q)) for q in QUANTILES}
    else:
        mean = float(np.average(x, weights=w))
        std = float(math.sqrt(np.average((x - mean) ** 2, weights=w)))
        qs = {f"p{round(q * 100)}": wquantile(x, w, q) for q in QUANTILES}
    out.update({"mean": mean, "std": std, "min": float(x.min()), **qs, "max": float(x.max())})
    return out


def pmf(values: np.ndarray, w: np.ndarray | None = None, min_frac: float = 1e-3) -> dict[int, float]:
    """Fractions of each integer value (weighted), keeping values with at least ``min_frac``."""
    import pandas as pd

    values = np.asarray(values)
    if values.size == 0:
        return {}
    w = np.ones(values.size) if w is None else np.asarray(w, np.float64)
    tot = w.sum()
    if tot <= 0:
        return {}
    s = pd.Series(w).groupby(values).sum() / tot
    return {int(k): float(v) for k, v in s.items() if v >= min_frac}
