"""The market-making step on the replay market: one compiled call per environment step.

Same quote rules, features, observation and reward as ``mm_nb.mm_step_nb`` (it reuses its quote pricing,
measurement and accumulators), with the market replaced by the replayed day (``replay_nb``): one agent
(owner 1), its quotes reaching the book after a constant latency, the day advanced by ``dt`` per step.
Differences, stated: no fees and no impact model (aggressive quotes pay the real prices they take; the impact
cost feature is 0); the replay does not react to the agent. Sizes: the agent quotes lots of ``MP_LOT``
shares (``RS_LOT``), but the replay's quantities are shares and a partial execution can fill part of a lot,
so inside this kernel every quantity is in shares: ``MP_LOT`` is 1 and ``MP_INV_LIMIT`` is the limit in
shares (the env sets both); only the action's sizes are lots.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from . import book_nb as bk
from . import market_state_nb as ms_layout
from . import mm_nb as mm
from . import replay_nb as rp
from .agent_schema import STEP_NON_FINITE
from .nbopts import NJIT_HOT
from .schema import BUY, FILL_DTYPE, NO_PRICE, SELL

# replay episode state (float64 vector)
RS_NOW = 0  #: seconds after midnight
RS_LATENCY = 1  #: seconds from quote to book
RS_NEXT_ID = 2  #: next agent order id
RS_INV = 3  #: shares held
RS_CASH = 4  #: money
RS_W_ID = 5  #: working order id per side (bid, ask), -1 when none
RS_W_PX = 7  #: its price (ticks)
RS_W_LOTS = 9  #: the shares it was quoted with
RS_W_ARRIVE = 11  #: when it reaches the book
RS_LOT = 13  #: shares per lot of the action's sizes
RS_SIZE = 16

AGENT_OWNER = 1


class FillView(NamedTuple):
    """The step's agent fills in the simulated market's layout (``i[I_N_FILLS]`` and ``fills``), so that the
    env's fill tables and ``mm_nb``'s measurement and accumulators read them unchanged. ``p``, ``imp`` and
    ``f`` only complete the fields ``mm_nb._measure_nb`` names for the simulator's terminal liquidation, which
    the replay never asks for (``MP_LIQUIDATE`` is 0: the env liquidates against the real book)."""

    i: np.ndarray  # int64[ms_layout.I_SIZE]
    fills: np.ndarray  # FILL_DTYPE[F]
    p: np.ndarray  # float64[ms_layout.P_SIZE], unused
    imp: np.ndarray  # float64[8], unused
    f: np.ndarray  # float64[ms_layout.F_SIZE], unused


def new_fill_view(capacity: int) -> FillView:
    return FillView(
        i=np.zeros(ms_layout.I_SIZE, np.int64),
        fills=np.zeros(capacity, FILL_DTYPE),
        p=np.zeros(ms_layout.P_SIZE, np.float64),
        imp=np.zeros(8, np.float64),
        f=np.zeros(ms_layout.F_SIZE, np.float64),
    )


@numba.njit(**NJIT_HOT)
def _alive_nb(ag, rs, side_idx, now):
    """The working order on one side still counts: in flight or resting."""
    oid = np.int64(rs[RS_W_ID + side_idx])
    if oid < 0:
        return False
    if rs[RS_W_ARRIVE + side_idx] > now:
        return True
    return rp.find_agent_order_nb(ag, oid) >= 0


@numba.njit(**NJIT_HOT)
def _working_qty_nb(ag, rs, side_idx, now):
    """Shares the working order of one side can still fill."""
    oid = np.int64(rs[RS_W_ID + side_idx])
    if oid < 0:
        return 0.0
    if rs[RS_W_ARRIVE + side_idx] > now:
        return rs[RS_W_LOTS + side_idx]
    k = rp.find_agent_order_nb(ag, oid)
    return float(ag.a_qty[k]) if k >= 0 else 0.0


@numba.njit(**NJIT_HOT)
def _quote_nb(ag, rs, side_idx, price, qty, room, now):
    """Keep, replace or withdraw the working order of one side (``qty``, ``room``: shares). Returns the shares
    quoted (after the inventory limit)."""
    side = BUY if side_idx == 0 else SELL
    alive = _alive_nb(ag, rs, side_idx, now)
    if alive and rs[RS_W_PX + side_idx] == price and rs[RS_W_LOTS + side_idx] == qty and qty <= room:
        return qty
    if alive:
        # the working order may still fill until its cancel arrives: leave room for it
        room -= _working_qty_nb(ag, rs, side_idx, now)
        rp.agent_submit_nb(
            ag, now + rs[RS_LATENCY], rp.AG_CANCEL, AGENT_OWNER, np.int64(rs[RS_W_ID + side_idx]), side, 0, 0
        )
    cap = np.int64(np.floor(room + 1e-9))
    if qty > cap:
        qty = cap
    if qty <= 0:
        rs[RS_W_ID + side_idx] = -1.0
        return 0
    oid = np.int64(rs[RS_NEXT_ID])
    rs[RS_NEXT_ID] += 1.0
    arrive = now + rs[RS_LATENCY]
    rp.agent_submit_nb(ag, arrive, rp.AG_LIMIT, AGENT_OWNER, oid, side, price, qty)
    rs[RS_W_ID + side_idx] = oid
    rs[RS_W_PX + side_idx] = price
    rs[RS_W_LOTS + side_idx] = qty
    rs[RS_W_ARRIVE + side_idx] = arrive
    return qty


@numba.njit(**NJIT_HOT)
def _queue_frac_nb(st, ag, rs, side_idx, now):
    """(shares resting, shares ahead / shares at the level including the agent's): 1.0 when not resting."""
    oid = np.int64(rs[RS_W_ID + side_idx])
    if oid < 0 or rs[RS_W_ARRIVE + side_idx] > now:
        return 0.0, 1.0
    k = rp.find_agent_order_nb(ag, oid)
    if k < 0:
        return 0.0, 1.0
    ahead, level = rp.agent_queue_nb(st, ag, k)
    tot = level + ag.a_qty[k]
    return float(ag.a_qty[k]), (ahead / tot if tot > 0 else 0.0)


@numba.njit(**NJIT_HOT)
def _collect_fills_nb(ag, rs, view, feat, tick):
    """Move the agent's fills into ``view`` (simulated market layout) and the account; fill the step's counts."""
    n = ag.hdr[rp.RH_N_FILLS]
    if n > view.fills.shape[0]:
        n = view.fills.shape[0]
    fb = 0.0
    fa = 0.0
    tb = 0.0
    ts = 0.0
    for j in range(n):
        a = ag.fills[j]
        f = view.fills[j]
        q = float(a.qty)
        f.time = a.time
        f.price = a.price
        f.qty = a.qty
        if a.maker == 1:
            f.maker_owner = AGENT_OWNER
            f.taker_owner = 0
            f.maker_order_id = a.order_id
            f.taker_order_id = -1
            f.aggressor = -a.side
            if a.side == BUY:
                fb += q
            else:
                fa += q
        else:
            f.maker_owner = 0
            f.taker_owner = AGENT_OWNER
            f.maker_order_id = -1
            f.taker_order_id = a.order_id
            f.aggressor = a.side
            if a.side == BUY:
                tb += q
            else:
                ts += q
        rs[RS_INV] += a.side * q
        rs[RS_CASH] -= a.side * a.price * tick * a.qty
    view.i[ms_layout.I_N_FILLS] = n
    ag.hdr[rp.RH_N_FILLS] = 0
    feat[0, mm.FT_FILLED_BID] = fb
    feat[0, mm.FT_FILLED_ASK] = fa
    feat[0, mm.FT_TAKER_BUY] = tb
    feat[0, mm.FT_TAKER_SELL] = ts
    feat[0, mm.FT_N_FILLS] = n


@numba.njit(**NJIT_HOT)
def replay_mm_step_nb(st, ag, ops, view, rs, act, mp, es, feat, obs, acc):
    """Quote, replay ``dt`` seconds of the day, measure, reward (one agent). ``act`` float[1, 4] raw action.

    Returns 0, ``STEP_NON_FINITE`` (nothing done; ``feat[0, FT_BAD]`` = the index) or ``100 + RS_*`` when
    the replay failed.
    """
    for j in range(4):
        x = act[0, j]
        if not np.isfinite(x):
            feat[0, mm.FT_BAD] = j
            return STEP_NON_FINITE
        lo = mp[mm.MP_ACT_LOW + j]
        hi = mp[mm.MP_ACT_HIGH + j]
        act[0, j] = lo if x < lo else (hi if x > hi else x)
    lot = np.int64(rs[RS_LOT])
    tick = mp[mm.MP_TICK]
    limit = mp[mm.MP_INV_LIMIT]
    now = rs[RS_NOW]
    mid = bk.mid_ticks_nb(st)
    if np.isnan(mid):
        mid = es[mm.ES_LAST_MID]
    inv = rs[RS_INV]
    bid, ask = mm.quote_prices_nb(mid, act[0, 0], act[0, 1])
    b_lots = np.int64(np.floor(act[0, 2] + 0.5))
    a_lots = np.int64(np.floor(act[0, 3] + 0.5))
    b_qty = _quote_nb(ag, rs, 0, bid, b_lots * lot, limit - inv, now)
    a_qty = _quote_nb(ag, rs, 1, ask, a_lots * lot, limit + inv, now)
    f = feat[0]
    f[mm.FT_MID_BEFORE] = mid
    f[mm.FT_QUOTE_BID] = bid if b_qty > 0 else np.nan
    f[mm.FT_QUOTE_ASK] = ask if a_qty > 0 else np.nan
    f[mm.FT_QUOTE_BID_LOTS] = b_qty / lot
    f[mm.FT_QUOTE_ASK_LOTS] = a_qty / lot
    t1 = now + mp[mm.MP_DT]
    status = rp.replay_advance_nb(st, ag, ops, t1)
    if status != rp.RS_OK:
        return 100 + status
    rs[RS_NOW] = t1
    es[mm.ES_STEP] += 1.0
    _collect_fills_nb(ag, rs, view, feat, tick)
    mid1 = bk.mid_ticks_nb(st)
    if np.isnan(mid1):
        mid1 = es[mm.ES_LAST_MID]
    b = st.hdr[bk.H_BEST_BID]
    s = st.hdr[bk.H_BEST_ASK]
    f[mm.FT_MID] = mid1
    f[mm.FT_BID] = np.nan if b == NO_PRICE else float(b)
    f[mm.FT_ASK] = np.nan if s == NO_PRICE else float(s)
    f[mm.FT_SPREAD] = float(s - b) if (b != NO_PRICE and s != NO_PRICE) else 0.0
    f[mm.FT_IMBALANCE] = bk.imbalance_nb(st, np.int64(mp[mm.MP_IMB_LEVELS]))
    rb, qb = _queue_frac_nb(st, ag, rs, 0, t1)
    ra, qa = _queue_frac_nb(st, ag, rs, 1, t1)
    f[mm.FT_REST_BID] = rb
    f[mm.FT_REST_ASK] = ra
    f[mm.FT_QPOS_BID] = qb
    f[mm.FT_QPOS_ASK] = qa
    f[mm.FT_IMPACT] = 0.0
    f[mm.FT_FEES] = 0.0
    f[mm.FT_INV] = rs[RS_INV]
    f[mm.FT_CASH] = rs[RS_CASH]
    mm._measure_nb(view, mp, es, feat, obs, 1, mid1, None)
    mm._accumulate_nb(view, mp, feat, acc, 1, t1)
    return 0
