"""Figures for looking into a run beyond the per-episode metrics: fill markouts, rolling Sharpe, and portfolios
of several strategies of one run (the dashboard's Deep Analysis and Portfolio View).

Conventions, stated once:

* **markout** of a fill at horizon h: ``side * (mid_{t+h} - price)`` in money per share, positive when the
  mid moved in the agent's favour (``mid_{t+h}`` = ``mid(t + h)``, the mid in force then, as in
  ``adverse_selection``: :func:`metrics.mid_in_force`). So the volume-weighted markout at ``h = H`` is ``spread_captured - adverse_selection`` of the episode.
* **rolling Sharpe** over ``window`` steps: the episode Sharpe of ``metrics.md`` (``core.risk.sharpe_ratio``:
  ``mean / std(ddof=1) * sqrt(window)``, 0 for a flat window) on each window of step P&L changes.
* **portfolio**: holding weight ``w_i`` of strategy i's book on the same seed. Its step P&L is
  ``sum_i w_i dpnl_i``, its inventory ``sum_i w_i q_i`` and so on for every additive column of the step log;
  the mid, sigma and regime are the first member's (with impact the members' mids differ slightly; they only
  enter ``inventory_var_95``). Its per-episode figures are those of :func:`metrics.episodes_table` on that
  combined step log (fill-based metrics are NaN: a portfolio has no fill log of its own).
* **diversification ratio**: ``sum_i |w_i| sigma_i / sigma_p`` with sigma the std of step P&L changes pooled
  over every step of every episode (1: no diversification).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from almm_rllib.core.risk import sharpe_ratio
from almm_rllib.results import schema as S
from almm_rllib.results.metrics import episodes_table, mid_in_force

#: Horizons (seconds) of the trade-level markouts.
MARKOUT_HORIZONS: tuple[float, ...] = (1.0, 10.0, 60.0)
#: Weighting schemes of :func:`portfolio_weights`.
WEIGHTINGS: tuple[str, ...] = ("equal", "inverse_volatility", "custom")
#: Step-log columns a portfolio adds up with its weights.
_ADDITIVE = (S.CASH, S.INVENTORY, S.PNL, S.DPNL, S.REWARD, S.POSTED_BID_QTY, S.POSTED_ASK_QTY)
_ADDITIVE += (S.FILLED_BID_QTY, S.FILLED_ASK_QTY, S.IMPACT_COST)


def markout_column(h: float) -> str:
    return f"markout_{h:g}s"


def fill_markouts(
    steps: pd.DataFrame, fills: pd.DataFrame, horizons: Sequence[float] = MARKOUT_HORIZONS
) -> pd.DataFrame:
    """Every fill with its markouts: the fill rows plus ``spread_captured`` (``side * (mid_at_fill - price)``)
    and one ``markout_<h>s`` column per horizon (money per share; see the module docstring). Fills of several
    episodes are matched to their own episode's steps (by the key columns)."""
    keys = [c for c in S.KEY_COLUMNS if c in fills.columns and c in steps.columns]
    out = fills.copy()
    out["spread_captured"] = fills[S.SIDE].to_numpy(np.float64) * (
        fills[S.MID_AT_FILL].to_numpy(np.float64) - fills[S.PRICE].to_numpy(np.float64)
    )
    for h in horizons:
        out[markout_column(h)] = np.nan
    if len(fills) == 0:
        return out
    step_groups = dict(iter(steps.groupby(keys, sort=False))) if keys else {(): steps}
    groups = fills.groupby(keys, sort=False).indices if keys else {(): np.arange(len(fills))}
    for k, idx in groups.items():
        st = step_groups.get(k)
        if st is None:
            raise ValueError(f"fills of {dict(zip(keys, np.atleast_1d(k)))} have no steps")
        st = st.sort_values(S.STEP, kind="mergesort")
        time = st[S.TIME].to_numpy(np.float64)
        mid = st[S.MID].to_numpy(np.float64)
        f = fills.iloc[idx]
        side = f[S.SIDE].to_numpy(np.float64)
        price = f[S.PRICE].to_numpy(np.float64)
        t = f[S.TIME].to_numpy(np.float64)
        before = f[S.MID_AT_FILL].to_numpy(np.float64)
        for h in horizons:
            out.iloc[idx, out.columns.get_loc(markout_column(h))] = side * (
                mid_in_force(time, mid, t + h, before) - price
            )
    return out


def rolling_sharpe(dpnl, window: int) -> np.ndarray:
    """Sharpe of the step P&L changes over the last ``window`` steps, at every step: each window scored as an
    episode of its own by ``core.risk.sharpe_ratio`` (NaN before the first full window; 0 for a flat one)."""
    if window < 2:
        raise ValueError(f"rolling Sharpe window must be >= 2 steps, got {window}")
    x = np.asarray(dpnl, np.float64)
    r = pd.Series(x).rolling(window)
    mean, sd = r.mean().to_numpy(), r.std(ddof=1).to_numpy()
    out = np.full(x.size, np.nan)
    for i in range(window - 1, x.size):
        path = np.cumsum(x[i - window + 1 : i + 1])
        out[i] = sharpe_ratio(mean[i], sd[i], window, float(np.max(np.abs(path))))
    return out


def step_pnl_matrix(steps: pd.DataFrame, strategies: Sequence[str]) -> pd.DataFrame:
    """Step P&L changes, one column per strategy, one row per (seed, step) every strategy has."""
    sub = steps[steps[S.STRATEGY].isin(list(strategies))]
    missing = [s for s in strategies if s not in set(sub[S.STRATEGY])]
    if missing:
        raise ValueError(f"strategies not in the run: {missing}")
    wide = sub.pivot_table(index=[S.SEED, S.STEP], columns=S.STRATEGY, values=S.DPNL, aggfunc="first")
    return wide[list(strategies)].dropna()


def portfolio_weights(
    matrix: pd.DataFrame, method: str = "equal", custom: Mapping[str, float] | None = None
) -> pd.Series:
    """Weights summing to 1 over the columns of a :func:`step_pnl_matrix`: ``equal``, ``inverse_volatility``
    (``1 / std`` of each member's step P&L) or ``custom`` (non-negative, normalised)."""
    cols = list(matrix.columns)
    if not cols:
        raise ValueError("a portfolio needs at least one strategy")
    if method == "equal":
        w = pd.Series(1.0, index=cols)
    elif method == "inverse_volatility":
        sd = matrix.std(ddof=1)
        flat = [c for c in cols if not (np.isfinite(sd[c]) and sd[c] > 0)]
        if flat:
            raise ValueError(f"inverse-volatility weights need a P&L that moves; flat: {flat}")
        w = 1.0 / sd
    elif method == "custom":
        custom = dict(custom or {})
        unknown = sorted(set(custom) - set(cols))
        if unknown:
            raise ValueError(f"weights for strategies not in the portfolio: {unknown}")
        w = pd.Series([float(custom.get(c, 0.0)) for c in cols], index=cols)
        bad = [c for c in cols if not (np.isfinite(w[c]) and w[c] >= 0)]
        if bad:
            raise ValueError(f"weights must be finite and >= 0; bad: {bad}")
    else:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {method!r}")
    total = float(w.sum())
    if total <= 0:
        raise ValueError("the weights sum to 0: give at least one strategy a positive weight")
    return w / total


def diversification_ratio(matrix: pd.DataFrame, weights: pd.Series) -> float:
    """``sum_i |w_i| sigma_i / sigma_p`` (NaN when the portfolio's P&L does not move)."""
    w = weights.reindex(matrix.columns).fillna(0.0)
    sd_p = float((matrix * w).sum(axis=1).std(ddof=1))
    num = float((w.abs() * matrix.std(ddof=1)).sum())
    return num / sd_p if sd_p > 0 else float("nan")


def portfolio_steps(steps: pd.DataFrame, weights: pd.Series, name: str = "portfolio") -> pd.DataFrame:
    """The step log of the portfolio (strategy ``name``) on the seeds every member has (module docstring)."""
    members = list(weights.index)
    sub = steps[steps[S.STRATEGY].isin(members)]
    idx = [S.SEED, S.STEP]
    first = sub[sub[S.STRATEGY] == members[0]].set_index(idx).sort_index()
    common = first.index
    total = {c: 0.0 for c in _ADDITIVE}
    for m in members:
        g = sub[sub[S.STRATEGY] == m].set_index(idx)
        common = common.intersection(g.index)
        for c in _ADDITIVE:
            total[c] = total[c] + float(weights[m]) * g[c]
    out = first.loc[common].copy()
    for c in _ADDITIVE:
        out[c] = total[c].loc[common].to_numpy()
    out[S.STRATEGY] = name
    for c in (S.BID_PRICE, S.ASK_PRICE):
        out[c] = np.nan
    out[S.N_FILLS] = 0
    return out.reset_index()[list(steps.columns)]


def portfolio_summary(
    steps: pd.DataFrame,
    weights: pd.Series,
    *,
    capital: float,
    horizon_s: float,
    step_dt: float | None = None,
    name: str = "portfolio",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-episode figures of every member and of the portfolio, and their means.

    Returns ``(episodes, table)``: the :func:`episodes_table` rows of the members and of the portfolio on the
    members' common seeds, and one row per member plus the portfolio with the weight, the mean total P&L,
    mean Sharpe, mean max drawdown and the std of step P&L."""
    members = list(weights.index)
    port = portfolio_steps(steps, weights, name)
    seeds = set(port[S.SEED])
    sub = steps[steps[S.STRATEGY].isin(members) & steps[S.SEED].isin(seeds)]
    both = pd.concat([sub, port], ignore_index=True)
    eps = episodes_table(both, None, capital=capital, horizon_s=horizon_s, step_dt=step_dt)
    rows = []
    for s in [*members, name]:
        e = eps[eps[S.STRATEGY] == s]
        x = both.loc[both[S.STRATEGY] == s, S.DPNL]
        rows.append(
            {
                "strategy": s,
                "weight": float(weights[s]) if s in weights.index else 1.0,
                S.TOTAL_PNL: float(e[S.TOTAL_PNL].mean()),
                S.SHARPE: float(e[S.SHARPE].mean()),
                S.MAX_DRAWDOWN: float(e[S.MAX_DRAWDOWN].mean()),
                "step_pnl_std": float(x.std(ddof=1)),
                "n_episodes": len(e),
            }
        )
    return eps, pd.DataFrame(rows)
