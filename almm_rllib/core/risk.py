"""Risk helpers of ``metrics.md``: the episode Sharpe and Sortino ratios, historical VaR / CVaR of a P&L series
and the parametric inventory VaR.

The Sharpe and Sortino rules (edge cases included) live here once: ``results.metrics`` applies them to the step
log, the env's running episode summary to its streaming moments, so both report the same figure.

numpy only. Losses are reported as positive numbers; a figure is negative when even the tail of the series is
a gain (it is not clipped at 0, so that it still ranks strategies).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["STD_ZERO_EPS", "VarCvar", "inventory_var", "sharpe_ratio", "sortino_ratio", "var_cvar"]

#: A standard deviation of the P&L changes at or below this many machine epsilons of ``max|pnl|`` is rounding
#: noise of a path with constant increments, and counts as 0 (Sharpe 0).
STD_ZERO_EPS = 64.0


def sharpe_ratio(mean: float, std: float, n: int, scale: float) -> float:
    """The episode-horizon Sharpe ratio of ``metrics.md``: ``mean(x) / std(x, ddof=1) * sqrt(n)``.

    ``x = dpnl_1..dpnl_n``; ``mean``/``std`` are its mean and sample standard deviation (ddof 1), ``scale`` is
    ``max|pnl_t|``. NaN when ``n < 2`` (no dispersion can be estimated from one step); 0 when
    ``std <= STD_ZERO_EPS * eps * scale`` (a flat or constant-increment path).
    """
    if n < 2:
        return float("nan")
    if not std > STD_ZERO_EPS * np.finfo(np.float64).eps * scale:
        return 0.0
    return float(mean / std * math.sqrt(n))


def sortino_ratio(mean: float, downside: float, n: int) -> float:
    """``mean(x) / sqrt(mean(min(x, 0)**2)) * sqrt(n)`` (``downside`` is the square root); NaN when no step
    lost money (``downside == 0``)."""
    if not downside > 0.0:
        return float("nan")
    return float(mean / downside * math.sqrt(n))


#: numpy quantile method used for the historical VaR: numpy's default, ``"linear"`` (type 7 of Hyndman and
#: Fan): the ``p``-quantile of the sorted ``x_(0) <= ... <= x_(n-1)`` interpolates linearly at position
#: ``(n - 1) * p``.
QUANTILE_METHOD = "linear"


class VarCvar(NamedTuple):
    """Historical value at risk and expected shortfall, money, positive = loss."""

    var: float
    """``-quantile(x, 1 - alpha)``."""
    cvar: float
    """``-mean(x[x <= quantile(x, 1 - alpha)])``; always >= ``var``."""


def var_cvar(x, alpha: float = 0.95) -> VarCvar:
    """Historical VaR and CVaR (expected shortfall) at level ``alpha``, reported as positive losses.

    Exactly as ``metrics.md`` defines ``var_95`` / ``cvar_95`` for ``alpha = 0.95``, with ``x`` the per-step
    P&L changes ``dpnl_1..dpnl_n`` (money)::

        qa   = quantile(x, 1 - alpha)          # numpy, method "linear" (numpy's default)
        var  = -qa
        cvar = -mean(x[x <= qa])

    The tail level ``1 - alpha`` is rounded to 12 decimals, so that ``alpha = 0.95`` uses exactly 0.05 (in
    binary ``1 - 0.95`` is 0.05000000000000004). The tail ``x[x <= qa]`` is never empty, since
    ``qa >= min(x)``.

    Args:
        x: 1-D array-like of finite numbers, at least one.
        alpha: confidence level, strictly between 0 and 1.

    Raises ``ValueError`` for empty, non-1-D or non-finite input and for ``alpha`` outside (0, 1).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise ValueError(f"var_cvar.alpha must be a number in (0, 1), got {alpha!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"var_cvar.alpha must be in (0, 1), got {alpha!r}")
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"var_cvar.x must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("var_cvar.x is empty: VaR / CVaR need at least one observation")
    if not np.all(np.isfinite(arr)):
        raise ValueError("var_cvar.x must be finite (found NaN or inf)")
    level = round(1.0 - float(alpha), 12)
    qa = float(np.quantile(arr, level, method=QUANTILE_METHOD))
    tail = arr[arr <= qa]
    return VarCvar(var=-qa, cvar=-float(np.mean(tail)))


def inventory_var(q, mid, sigma, h: float, z: float = 1.645) -> float:
    """Parametric inventory VaR of ``metrics.md``: ``mean_t |q_t| * mid_t * z * sigma_t * sqrt(h)``, money.

    Args:
        q: inventory per step, shares (signed), 1-D array-like.
        mid: mid price per step, money per share; same length as ``q`` or a scalar.
        sigma: **relative** volatility per step, fraction of the price per sqrt(second); same length as ``q``
            or a scalar.
        h: horizon in seconds (``metrics.md``: one step), >= 0.
        z: normal quantile, 1.645 for one-sided 95%.

    Raises ``ValueError`` for empty or non-finite input, mismatched lengths, negative ``sigma``, ``mid``
    or ``h``.
    """
    qa = np.asarray(q, dtype=np.float64)
    if qa.ndim != 1:
        raise ValueError(f"inventory_var.q must be 1-D, got shape {qa.shape}")
    if qa.size == 0:
        raise ValueError("inventory_var.q is empty: need at least one step")
    cols = {"q": qa}
    for name, value in (("mid", mid), ("sigma", sigma)):
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != qa.shape):
            raise ValueError(
                f"inventory_var.{name} must be a scalar or have the shape of q {qa.shape}, got {arr.shape}"
            )
        if np.any(arr < 0.0):
            raise ValueError(f"inventory_var.{name} must be >= 0")
        cols[name] = arr
    for name, arr in cols.items():
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"inventory_var.{name} must be finite (found NaN or inf)")
    for name, value in (("h", h), ("z", z)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"inventory_var.{name} must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"inventory_var.{name} must be finite, got {value!r}")
    if float(h) < 0.0:
        raise ValueError(f"inventory_var.h must be >= 0 (seconds), got {h!r}")
    per_step = np.abs(qa) * cols["mid"] * float(z) * cols["sigma"] * math.sqrt(float(h))
    return float(np.mean(per_step))
