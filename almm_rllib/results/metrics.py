"""Per-episode metrics, exactly as defined in ``docs/metrics.md``, computed from the step and fill logs.

:func:`episode_metrics` computes every figure for one strategy x seed x agent; :func:`episodes_table` does it
for every group of a step log and returns a DataFrame that matches the pinned ``episodes`` schema.

Choices ``metrics.md`` leaves open, made here once (and mirrored in the field docs of the episodes schema):

* ``x = dpnl_1..dpnl_n`` is computed from the ``pnl`` column as ``diff([0, pnl_1..pnl_n])``, which is the
  definition of ``dpnl``. When the step log also carries a ``dpnl`` column it must agree with it (relative
  tolerance 1e-9), so a logging bug cannot hide behind two inconsistent columns.
* "std is 0" (Sharpe): a standard deviation at or below ``64 * machine epsilon * max|pnl|`` is rounding
  noise of a P&L path with constant increments, and counts as 0. ``sharpe`` is NaN when ``n < 2`` (no
  dispersion can be estimated from one step).
* ``max_drawdown_pct`` is 0 when ``max_drawdown`` is 0; when several steps share the largest drawdown, the
  first one is the trough ``t*``.
* ``var_95``/``cvar_95`` and ``inventory_var_95`` are computed by :mod:`almm_rllib.core.risk` (``var_cvar``:
  numpy's default linear quantile at exactly 0.05; ``inventory_var``).
* ``inventory_var_95``: 1.645 as written in ``metrics.md`` (not ``norm.ppf(0.95) = 1.64485``); ``h`` is
  ``step_dt`` when given, else the median spacing of the ``time`` column (NaN for a single step without
  ``step_dt``). Steps whose ``sigma_t`` or ``mid_t`` is NaN (a volatility estimate still warming up) are
  left out of the mean; NaN if no step is left.
* Round trips (``win_rate``, ``profit_factor``) are matched FIFO on the fill log, starting flat; one round
  trip is one matched piece (an opening quantity closed by one fill), see :func:`fifo_round_trips`. Their
  realised P&L is gross of fees and impact costs (the fill log carries neither). ``win_rate`` is NaN when no
  round trip closed; a round trip with exactly zero P&L counts in the denominator, not as a win.
* ``adverse_selection``: ``mid(t)`` is the mid in force at t, the ``mid`` of the last step whose end
  ``time <= t`` (with 1e-9 s tolerance for float times, :func:`mid_in_force`); ``mid(t_fill)`` is the fill
  log's ``mid_at_fill`` (the evaluation runner writes exactly that). When ``t_fill + H`` is past the last step,
  the last step's mid is in force (late fills are measured over a shorter horizon); when it is before the
  first step's end, the mid before the episode is, which is the fill's own ``mid_at_fill``.
* ``inventory_std`` is the population standard deviation (ddof = 0) of the path ``q_1..q_n``, a description
  of the path rather than an estimate (0 for a single step).
* ``fill_ratio`` is NaN when the agent never posted; ``spread_captured``/``adverse_selection`` are NaN when it
  never filled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from almm_rllib.core.risk import inventory_var, sharpe_ratio, sortino_ratio, var_cvar
from almm_rllib.results import schema as S

#: z-value of the one-sided 95% normal quantile, as written in metrics.md.
Z_95 = 1.645
#: Tail probability of the historical VaR / CVaR.
VAR_ALPHA = 0.95
#: Tolerance on float times when looking up the mid in force at a time (seconds).
TIME_TOL = 1e-9
#: Relative tolerance of the dpnl-column consistency check.
DPNL_RTOL = 1e-9

_STEP_COLUMNS_NEEDED = (
    S.STEP,
    S.TIME,
    S.MID,
    S.INVENTORY,
    S.PNL,
    S.POSTED_BID_QTY,
    S.POSTED_ASK_QTY,
    S.FILLED_BID_QTY,
    S.FILLED_ASK_QTY,
    S.SIGMA,
)
_FILL_COLUMNS_NEEDED = (S.TIME, S.SIDE, S.PRICE, S.QTY, S.MID_AT_FILL)

ROUND_TRIP_COLUMNS = (
    "direction",
    "qty",
    "open_time",
    "open_step",
    "open_price",
    "close_time",
    "close_step",
    "close_price",
    "pnl",
)


# ----------------------------------------------------------------------------------------------------
# Building blocks.


def drawdown_path(pnl) -> np.ndarray:
    """Drawdown ``max_{s<=t} pnl_s - pnl_t``, t = 0..n, on the path ``[0, pnl_1..pnl_n]`` (n+1 values)."""
    path = np.concatenate([[0.0], np.asarray(pnl, dtype=np.float64)])
    return np.maximum.accumulate(path) - path


def mid_in_force(time: np.ndarray, mid: np.ndarray, t, before) -> np.ndarray:
    """``mid(t)`` of metrics.md: the ``mid`` of the last step whose end ``time <= t`` (``TIME_TOL`` tolerance;
    the last step's mid when ``t`` is past the end), ``before`` (the mid before the first step; a number or
    one per ``t``) when no step has ended by ``t``. ``time`` sorted. Used for ``mid(t_fill + H)`` of
    ``adverse_selection`` and the markouts."""
    t = np.asarray(t, np.float64)
    idx = np.searchsorted(time, t + TIME_TOL, side="right") - 1
    return np.where(idx >= 0, mid[np.maximum(idx, 0)], before)


def fifo_round_trips(fills: pd.DataFrame | None) -> pd.DataFrame:
    """Match an agent's fills into round trips, first in first out, starting from a flat position.

    Fills are taken in time order (ties: ``step``, then the order of the log). Each fill first closes open
    lots of the opposite side, oldest first; when a fill is larger than the oldest open lot, it is split and
    the rest closes the next lot; when it is smaller, the lot is split and its remainder stays open with its
    original price and time. Whatever a fill does not close opens a new lot on its own side.

    Every matched piece is one round trip, with realised P&L ``qty * (sell price - buy price)``:
    ``direction = +1`` for a long round trip (bought first, then sold), ``-1`` for a short one. Lots still
    open at the end are not round trips. Quantities below ``1e-9`` of the largest fill are rounding residues
    and are dropped.

    Returns:
        DataFrame with columns :data:`ROUND_TRIP_COLUMNS`, one row per round trip, in closing order.
    """
    rows: list[tuple] = []
    if fills is None or len(fills) == 0:
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in ROUND_TRIP_COLUMNS}).astype(
            {"direction": np.int8, "open_step": np.int64, "close_step": np.int64}
        )
    order_cols = [S.TIME, S.STEP] if S.STEP in fills.columns else [S.TIME]
    f = fills.sort_values(order_cols, kind="mergesort")
    side = f[S.SIDE].to_numpy(np.int64)
    qty = f[S.QTY].to_numpy(np.float64)
    price = f[S.PRICE].to_numpy(np.float64)
    time = f[S.TIME].to_numpy(np.float64)
    step = f[S.STEP].to_numpy(np.int64) if S.STEP in f.columns else np.full(len(f), -1, np.int64)
    if np.any((side != 1) & (side != -1)):
        raise ValueError("fills: side must be +1 (bought) or -1 (sold)")
    if not np.all(qty > 0):
        raise ValueError("fills: qty must be > 0")
    tol = 1e-9 * float(qty.max())

    open_lots: deque[list] = deque()  # [side, remaining qty, price, time, step]
    for s, q, p, t, k in zip(side, qty, price, time, step):
        remaining = float(q)
        while remaining > tol and open_lots and open_lots[0][0] == -s:
            lot = open_lots[0]
            m = min(remaining, lot[1])
            direction = int(lot[0])  # the opening side: +1 long trip, -1 short trip
            buy_price, sell_price = (lot[2], p) if direction == 1 else (p, lot[2])
            rows.append(
                (
                    direction,
                    m,
                    lot[3],
                    lot[4],
                    lot[2],
                    float(t),
                    int(k),
                    float(p),
                    m * (sell_price - buy_price),
                )
            )
            lot[1] -= m
            remaining -= m
            if lot[1] <= tol:
                open_lots.popleft()
        if remaining > tol:
            open_lots.append([int(s), remaining, float(p), float(t), int(k)])
    out = pd.DataFrame(rows, columns=list(ROUND_TRIP_COLUMNS))
    return out.astype({"direction": np.int8, "open_step": np.int64, "close_step": np.int64})


def _check_columns(df: pd.DataFrame, needed, what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")


def _single_key(df: pd.DataFrame, what: str) -> tuple | None:
    cols = [c for c in S.KEY_COLUMNS if c in df.columns]
    if not cols or len(df) == 0:
        return None
    uniq = df[cols].drop_duplicates()
    if len(uniq) > 1:
        raise ValueError(
            f"{what} holds {len(uniq)} episodes ({cols}); episode_metrics takes one strategy/seed/agent, "
            "use episodes_table for many"
        )
    return tuple(zip(cols, uniq.iloc[0].tolist()))


def _infer_step_dt(time: np.ndarray) -> float:
    if time.size < 2:
        return float("nan")
    return float(np.median(np.diff(time)))


# ----------------------------------------------------------------------------------------------------
# One episode.


# The steps of :func:`episode_metrics` (inputs, arrays, fills, inventory), moved out of it unchanged.


def _checked_inputs(steps, fills, capital, horizon_s, liquidation_cost, step_dt) -> pd.DataFrame:
    """Check :func:`episode_metrics`' arguments; returns ``fills`` (an empty fill log for None)."""
    if not isinstance(steps, pd.DataFrame):
        raise TypeError(f"steps must be a pandas DataFrame, got {type(steps).__name__}")
    _check_columns(steps, _STEP_COLUMNS_NEEDED, "steps")
    if len(steps) == 0:
        raise ValueError("steps: the episode has no steps")
    if fills is None:
        fills = pd.DataFrame({c: [] for c in _FILL_COLUMNS_NEEDED})
    _check_columns(fills, _FILL_COLUMNS_NEEDED, "fills")
    key = _single_key(steps, "steps")
    fkey = _single_key(fills, "fills")
    if key is not None and fkey is not None:
        kd, fd = dict(key), dict(fkey)
        clash = {c: (kd[c], fd[c]) for c in kd.keys() & fd.keys() if kd[c] != fd[c]}
        if clash:
            raise ValueError(f"fills belong to another episode than steps: {clash}")
    if not (np.isfinite(capital) and capital > 0):
        raise ValueError(f"capital must be a positive number, got {capital}")
    if not (np.isfinite(horizon_s) and horizon_s >= 0):
        raise ValueError(f"horizon_s must be >= 0, got {horizon_s}")
    if not (np.isfinite(liquidation_cost) and liquidation_cost >= 0):
        raise ValueError(f"liquidation_cost must be >= 0, got {liquidation_cost}")
    if step_dt is not None and not (np.isfinite(step_dt) and step_dt > 0):
        raise ValueError(f"step_dt must be > 0, got {step_dt}")
    return fills


def _episode_arrays(steps: pd.DataFrame):
    """The episode's steps sorted by ``step`` (checked: unique steps, time forward, finite pnl) and its
    ``time, pnl, mid, q, sigma`` columns, ``x = diff([0, pnl])`` checked against a ``dpnl`` column, and
    ``scale = max|pnl|``."""
    st = steps.sort_values(S.STEP, kind="mergesort")
    step_no = st[S.STEP].to_numpy(np.int64)
    if np.any(np.diff(step_no) == 0):
        dup = step_no[np.flatnonzero(np.diff(step_no) == 0)[0]]
        raise ValueError(f"steps: step {dup} appears more than once")
    time = st[S.TIME].to_numpy(np.float64)
    if np.any(np.diff(time) < 0):
        bad = step_no[np.flatnonzero(np.diff(time) < 0)[0] + 1]
        raise ValueError(f"steps: time goes backwards at step {bad}")
    pnl = st[S.PNL].to_numpy(np.float64)
    if not np.all(np.isfinite(pnl)):
        bad = step_no[np.flatnonzero(~np.isfinite(pnl))[0]]
        raise ValueError(f"steps: pnl is not finite at step {bad}")
    mid = st[S.MID].to_numpy(np.float64)
    q = st[S.INVENTORY].to_numpy(np.float64)
    sigma = st[S.SIGMA].to_numpy(np.float64)

    x = np.diff(pnl, prepend=0.0)
    scale = float(np.max(np.abs(pnl)))
    if S.DPNL in st.columns:
        logged = st[S.DPNL].to_numpy(np.float64)
        bad = ~np.isclose(logged, x, rtol=DPNL_RTOL, atol=DPNL_RTOL * max(1.0, scale))
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"steps: dpnl disagrees with diff(pnl) at step {step_no[i]}: logged {logged[i]!r}, "
                f"pnl gives {x[i]!r}"
            )
    return st, time, pnl, mid, q, sigma, x, scale


def episode_metrics(
    steps: pd.DataFrame,
    fills: pd.DataFrame | None,
    *,
    capital: float,
    horizon_s: float,
    liquidation_cost: float = 0.0,
    step_dt: float | None = None,
) -> dict[str, Any]:
    """Every per-episode metric of ``docs/metrics.md`` for one strategy x seed x agent.

    Args:
        steps: the episode's rows of the step log (any order; sorted by ``step`` here). Needs at least
            ``step, time, mid, inventory, pnl, posted_*_qty, filled_*_qty, sigma``; a ``dpnl`` column, if
            present, is checked against ``pnl``.
        fills: the episode's rows of the fill log (``time, side, price, qty, mid_at_fill``; ``step`` breaks
            time ties); ``None`` or empty when the agent never filled.
        capital: the env config's notional capital (money, > 0), denominator of ``max_drawdown_pct``.
        horizon_s: the env config's horizon H in seconds (>= 0) for ``adverse_selection``.
        liquidation_cost: the impact model's cost (money, >= 0) of liquidating the final inventory ``q_n``.
        step_dt: the length of one step in seconds for ``inventory_var_95``; inferred from ``time`` if None.

    Returns:
        ``{metric: value}`` for every column of :data:`schema.EPISODE_METRICS` (``n_steps, total_pnl, ...``).
        See the module docstring for the edge cases (NaN rules).
    """
    fills = _checked_inputs(steps, fills, capital, horizon_s, liquidation_cost, step_dt)

    st, time, pnl, mid, q, sigma, x, scale = _episode_arrays(steps)
    n = len(st)

    out: dict[str, Any] = {S.N_STEPS: n}

    # -- P&L ---------------------------------------------------------------------------------------------
    total = float(pnl[-1])
    out[S.TOTAL_PNL] = total
    out[S.TOTAL_PNL_LIQUIDATED] = total - float(liquidation_cost)

    # the rules (NaN for n < 2, 0 for a rounding-noise std) are core.risk's, shared with the env's summary
    mean_x = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else 0.0
    out[S.SHARPE] = sharpe_ratio(mean_x, sd, n, scale)
    out[S.SORTINO] = sortino_ratio(mean_x, float(np.sqrt(np.mean(np.minimum(x, 0.0) ** 2))), n)

    dd = drawdown_path(pnl)
    trough = int(np.argmax(dd))
    mdd = float(dd[trough])
    peak = float(np.maximum.accumulate(np.concatenate([[0.0], pnl]))[trough])
    out[S.MAX_DRAWDOWN] = mdd
    out[S.MAX_DRAWDOWN_PCT] = mdd / (capital + peak)
    out[S.CALMAR] = total / mdd if mdd > 0 else float("nan")

    vc = var_cvar(x, VAR_ALPHA)
    out[S.VAR_95], out[S.CVAR_95] = float(vc.var), float(vc.cvar)

    h = float(step_dt) if step_dt is not None else _infer_step_dt(time)
    ok = np.isfinite(q) & np.isfinite(mid) & np.isfinite(sigma)
    if np.isfinite(h) and ok.any():
        out[S.INVENTORY_VAR_95] = inventory_var(q[ok], mid[ok], sigma[ok], h, z=Z_95)
    else:
        out[S.INVENTORY_VAR_95] = float("nan")

    out.update(_fill_metrics(st, fills, time, mid, horizon_s))

    out.update(_inventory_metrics(q, fills))

    return {k: out[k] for k in S.EPISODE_METRICS}


def _fill_metrics(st: pd.DataFrame, fills: pd.DataFrame, time, mid, horizon_s: float) -> dict[str, Any]:
    """Round trips, fill ratio, spread captured, adverse selection and volume."""
    out: dict[str, Any] = {}
    # -- fills -------------------------------------------------------------------------------------------
    trips = fifo_round_trips(fills)
    rt = trips["pnl"].to_numpy(np.float64)
    out[S.WIN_RATE] = float(np.mean(rt > 0)) if rt.size else float("nan")
    gross_loss = float(-rt[rt < 0].sum())
    out[S.PROFIT_FACTOR] = float(rt[rt > 0].sum()) / gross_loss if gross_loss > 0 else float("nan")
    out[S.N_ROUND_TRIPS] = int(rt.size)

    posted = float(
        (st[S.POSTED_BID_QTY].to_numpy(np.float64) + st[S.POSTED_ASK_QTY].to_numpy(np.float64)).sum()
    )
    filled = float(
        (st[S.FILLED_BID_QTY].to_numpy(np.float64) + st[S.FILLED_ASK_QTY].to_numpy(np.float64)).sum()
    )
    out[S.FILL_RATIO] = filled / posted if posted > 0 else float("nan")

    fside = fills[S.SIDE].to_numpy(np.float64)
    fqty = fills[S.QTY].to_numpy(np.float64)
    vol = float(fqty.sum())
    if len(fills):
        fmid = fills[S.MID_AT_FILL].to_numpy(np.float64)
        out[S.SPREAD_CAPTURED] = float(
            np.sum(fside * (fmid - fills[S.PRICE].to_numpy(np.float64)) * fqty) / vol
        )
        later = mid_in_force(time, mid, fills[S.TIME].to_numpy(np.float64) + horizon_s, fmid)
        out[S.ADVERSE_SELECTION] = float(np.sum(fside * (fmid - later) * fqty) / vol)
    else:
        out[S.SPREAD_CAPTURED] = float("nan")
        out[S.ADVERSE_SELECTION] = float("nan")
    out[S.VOLUME] = vol
    return out


def _inventory_metrics(q, fills: pd.DataFrame) -> dict[str, Any]:
    """Inventory path figures and the fill count."""
    out: dict[str, Any] = {}
    # -- inventory ---------------------------------------------------------------------------------------
    out[S.AVG_ABS_INVENTORY] = float(np.mean(np.abs(q)))
    out[S.INVENTORY_STD] = float(np.std(q, ddof=0))
    out[S.MAX_ABS_INVENTORY] = float(np.max(np.abs(q)))
    out[S.FINAL_INVENTORY] = float(q[-1])
    out[S.N_FILLS] = len(fills)
    return out


# ----------------------------------------------------------------------------------------------------
# Many episodes.


def episodes_table(
    steps: pd.DataFrame,
    fills: pd.DataFrame | None,
    *,
    capital: float,
    horizon_s: float,
    liquidation_cost: float | Callable[[pd.DataFrame], float] = 0.0,
    step_dt: float | None = None,
) -> pd.DataFrame:
    """Per-episode metrics for every (run_id, strategy, seed, agent_id) of a step log.

    Episodes are the groups of ``steps`` by :data:`schema.KEY_COLUMNS` (within one run that is the
    (strategy, seed, agent_id) grouping); each group's fills are the fill-log rows with the same key.

    Args:
        steps, fills: step and fill logs (pinned ``steps``/``fills`` columns; ``fills`` may be None/empty).
        capital, horizon_s, step_dt: as in :func:`episode_metrics` (the env config's, same for all episodes).
        liquidation_cost: a number for every episode, or a function of one episode's steps (sorted by step)
            returning the impact model's cost of liquidating its final inventory.

    Returns:
        A DataFrame with exactly the ``episodes`` schema's columns and dtypes, sorted by key.

    Raises:
        ValueError: fills whose key has no steps, or any error of :func:`episode_metrics` (the message
            names the episode).
    """
    _check_columns(steps, S.KEY_COLUMNS, "steps")
    if fills is None:
        fills = pd.DataFrame({c: pd.Series(dtype=object) for c in (*S.KEY_COLUMNS, *_FILL_COLUMNS_NEEDED)})
    _check_columns(fills, S.KEY_COLUMNS, "fills")
    keys = list(S.KEY_COLUMNS)
    fill_groups = {k: g for k, g in fills.groupby(keys, sort=False, dropna=False)} if len(fills) else {}
    step_groups = dict(iter(steps.groupby(keys, sort=True, dropna=False)))
    orphans = [k for k in fill_groups if k not in step_groups]
    if orphans:
        raise ValueError(
            f"fills for episodes without steps (run_id, strategy, seed, agent_id): {orphans[:5]}"
        )
    empty_fills = fills.iloc[0:0]

    rows = []
    for k, g in step_groups.items():
        g = g.sort_values(S.STEP, kind="mergesort")
        cost = liquidation_cost(g) if callable(liquidation_cost) else liquidation_cost
        try:
            m = episode_metrics(
                g,
                fill_groups.get(k, empty_fills),
                capital=capital,
                horizon_s=horizon_s,
                liquidation_cost=float(cost),
                step_dt=step_dt,
            )
        except ValueError as e:
            raise ValueError(f"episode {dict(zip(keys, k))}: {e}") from e
        rows.append({**dict(zip(keys, k)), **m})

    df = pd.DataFrame(rows, columns=list(S.EPISODES_COLUMNS))
    return df.astype(_episodes_dtypes())


def _episodes_dtypes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in S.EPISODES_SCHEMA:
        t = field.type
        if t == pa.string():
            out[field.name] = "str"
        else:
            out[field.name] = t.to_pandas_dtype()
    return out
