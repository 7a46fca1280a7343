"""The market step kernel: one compiled call advances the market by ``dt`` seconds.

``lob_step_nb`` does, in order (where each part lives in brackets):

1. **Regime** [:mod:`price_nb`]: the continuous-time Markov chain jumps over the window; the regime at the end
   of the window sets the volatility and the flow rates of the whole window.
2. **Fair price** [:mod:`price_nb`]: geometric Brownian motion with the regime's volatility plus
   compound-Poisson jumps; the temporary-impact displacement decays.
3. **Background arrivals** [:mod:`flow_nb`]: limit and market orders as Poisson processes, every random number
   an event needs drawn up front from the flow stream [:mod:`rng_nb`], so the draws never depend on the book or
   the agents (common random numbers).
4. **Cancellations** [:mod:`flow_nb`]: state-dependent hazards against per-order Exp(1) budgets.
5. **Agents' delayed messages** [:mod:`orders_nb`] whose latency has elapsed are released.
6. Everything is applied to the book [:mod:`book_nb`] **in time order** (this module); background orders are
   priced when they arrive, from the book at that instant [:mod:`flow_nb`].
7. **Accounts** and the agents' impact model [:mod:`accounts_nb`]. Every market order (background, or an
   agent's marketable order) also moves the efficient price as it executes [:mod:`price_nb`].

The state and its named indices are in :mod:`market_state_nb`; the stylized Avellaneda-Stoikov market is
:mod:`stylized_nb`. This module re-exports the state layout, the stream ids and the agent-quote kernels, so
``market_nb`` stays the one import of the market kernel's callers (``mk.F_FAIR``, ``mk.set_quote_nb``, ...).

All kernels run without numba's reference counting (``NJIT_HOT``) and allocate nothing: every buffer is in the
:class:`MarketState`. The per-event helpers are ``NJIT_INLINE`` and are inlined into ``lob_step_nb`` across
modules (numba inlines at IR level, so the split costs nothing at run time).
"""

from __future__ import annotations

import numba
import numpy as np

from . import book_nb as bk
from .accounts_nb import account_fill_nb, apply_impact_nb
from .flow_nb import (
    bg_limit_price_nb,
    gen_arrivals_nb,
    gen_cancels_nb,
    market_side_nb,
    market_size_nb,
    requote_price_nb,
    size_lots_nb,
    takeback_order_nb,
)
from .market_state_nb import *  # noqa: F403  (re-export: the state layout is part of the kernel's interface)
from .market_state_nb import (
    F_FAIR,
    F_INFO_ADV,
    F_LAST_MID,
    F_TIME,
    I_CNT_CANCEL,
    I_CNT_LIMIT_BUY,
    I_CNT_LIMIT_SELL,
    I_CNT_MARKET,
    I_DROPPED,
    I_HWM,
    I_N_AGENTS,
    I_N_BG_EVENTS,
    I_N_EVENTS,
    I_N_FILLS,
    I_NEXT_BG_ID,
    I_REGIME,
    I_REJECTED,
    I_TAPE_N,
    K_AGENT,
    K_BG_CANCEL,
    K_BG_LIMIT,
    K_BG_MARKET,
    MARKET_ERR_EVENTS_FULL,
    MARKET_ERR_RNG,
    O_SIZE,
    P_P_REFILL,
    P_P_REQUOTE,
    P_SIZE_MODEL,
    REC_ASK,
    REC_BID,
    REC_DEPTH,
    REC_DEPTH_N,
    REC_FAIR,
    REC_MID,
    REC_MKT_BUY,
    REC_MKT_SELL,
    REC_N_BG,
    REC_N_ORDERS,
    REC_REGIME,
    REC_TIME,
    RQ_BUDGET,
    RQ_DIST,
    RQ_SIZE,
    RQ_U,
    TAPE_ASK,
    TAPE_ASK_LOTS,
    TAPE_BID,
    TAPE_BID_LOTS,
    TAPE_TIME,
    U_ANCHOR,
    U_BUDGET,
    U_DIST,
    U_INSIDE,
    U_RF,
    U_RQ,
    U_SIZE,
    MarketState,
)
from .nbopts import NJIT_HOT, NJIT_INLINE
from .orders_nb import (
    agent_resting_nb,
    in_flight_nb,
    keeps_order_nb,
    latency_nb,
    release_pending_nb,
    set_quote_direct_nb,
    set_quote_nb,
)
from .price_nb import advance_fair_nb, advance_regime_nb, market_order_impact_nb, walk_floor_nb
from .rng_nb import N_STREAMS, S_AGENT, S_FLOW, S_PRICE
from .schema import (
    BACKGROUND_OWNER,
    BUY,
    EV_LIMIT,
    EV_MARKET,
    NO_PRICE,
    SELL,
    STATUS_FILL_BUFFER_FULL,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
)
from .stylized_nb import stylized_step_nb

#: names other modules import from here although they live elsewhere (see the module docstring)
__all__ = [
    "N_STREAMS",
    "S_AGENT",
    "S_FLOW",
    "S_PRICE",
    "MarketState",
    "agent_resting_nb",
    "in_flight_nb",
    "keeps_order_nb",
    "latency_nb",
    "lob_run_nb",
    "lob_step_nb",
    "set_quote_direct_nb",
    "set_quote_nb",
    "stylized_step_nb",
]


# ---------------------------------------------------------------------------------------------------------------
# the step


@numba.njit(**NJIT_INLINE)
def _sort_by_time_nb(ms, n):
    """Stable insertion sort of event indices by time (lists are short and mostly ordered)."""
    order = ms.order
    for j in range(n):
        order[j] = j
    for j in range(1, n):
        x = order[j]
        tx = ms.ev[x].time
        k = j - 1
        while k >= 0 and ms.ev[order[k]].time > tx:
            order[k + 1] = order[k]
            k -= 1
        order[k + 1] = x


@numba.njit(**NJIT_INLINE)
def _apply_nb(st, fills, nfill, etype, side, price, qty, owner, oid, t):
    """One book event, with every argument cast to one signature so the book kernel compiles once."""
    return bk.apply_event_call_nb(
        st,
        fills,
        np.int64(nfill),
        np.int64(etype),
        np.int64(side),
        np.int64(price),
        np.int64(qty),
        np.int64(owner),
        np.int64(oid),
        np.float64(t),
    )


@numba.njit(**NJIT_INLINE)
def _build_events_nb(ms, t0, dt, r):
    """The step's event list: background arrivals and cancels, then the agents' released messages, sorted by
    time into ``ms.order``. Returns (events, background events), events -1 when the list is full."""
    n = gen_arrivals_nb(ms, 0, t0, dt, r)
    if n < 0:
        return -1, 0
    n = gen_cancels_nb(ms, n, t0, dt, r)
    if n < 0:
        return -1, 0
    n_bg = n
    n = release_pending_nb(ms, n, t0 + dt)
    if n < 0:
        return -1, 0
    _sort_by_time_nb(ms, n)
    return n, n_bg


@numba.njit(**NJIT_INLINE)
def _rest_bg_limit_nb(ms, side, price, qty, budget, t, nfill):
    """A background limit order of ``side`` at ``price`` (ticks) for ``qty`` lots enters the book at ``t``; a
    resting one gets its cancellation ``budget``. Returns (book status, end of the fills)."""
    st = ms.book
    ms.i[I_CNT_LIMIT_BUY if side == BUY else I_CNT_LIMIT_SELL] += 1
    oid = ms.i[I_NEXT_BG_ID]
    ms.i[I_NEXT_BG_ID] += 1
    status, filled, rested, nfill2 = _apply_nb(
        st, ms.fills, nfill, EV_LIMIT, side, price, qty, BACKGROUND_OWNER, oid, t
    )
    if status == STATUS_FILL_BUFFER_FULL:
        return status, nfill2
    if status == STATUS_OK and rested > 0:
        slot = bk.hm_find_nb(st, oid)
        ms.bg_budget[slot] = budget
        ms.bg_acc[slot] = 0.0
        if slot + 1 > ms.i[I_HWM]:
            ms.i[I_HWM] = slot + 1
    elif status == STATUS_ORDER_TABLE_FULL or status >= 5:
        ms.i[I_DROPPED] += 1
    return status, nfill2


@numba.njit(**NJIT_INLINE)
def _bg_limit_event_nb(ms, x, nfill):
    """Event ``x``, a background limit order: priced on arrival. Returns (book status, end of the fills)."""
    e = ms.ev[x]
    d = ms.bg_draws[x]
    price = bg_limit_price_nb(ms, e.side, d[U_ANCHOR], d[U_INSIDE], d[U_DIST], e.time)
    qty = size_lots_nb(ms.p[P_SIZE_MODEL], d[U_SIZE])
    return _rest_bg_limit_nb(ms, e.side, price, qty, d[U_BUDGET], e.time, nfill)


@numba.njit(**NJIT_INLINE)
def _requote_nb(ms, d, col, prob, side, t, nfill):
    """The requote whose numbers start at column ``col`` of ``d``, when its uniform falls below ``prob``: a
    background limit order of ``side`` priced by ``requote_price_nb``. Returns (status, end of the fills)."""
    if prob <= 0.0 or d[col + RQ_U] >= prob:
        return STATUS_OK, nfill
    price = requote_price_nb(ms, side, d[col + RQ_DIST], t)
    qty = size_lots_nb(ms.p[P_SIZE_MODEL], d[col + RQ_SIZE])
    return _rest_bg_limit_nb(ms, side, price, qty, d[col + RQ_BUDGET], t, nfill)


@numba.njit(**NJIT_INLINE)
def _deepest_nb(fills, lo, hi, side):
    """The deepest price (ticks) that an aggressive order of ``side`` traded at among ``fills[lo:hi]`` (its own
    executions), ``NO_PRICE`` when it traded nothing."""
    best = NO_PRICE
    for j in range(lo, hi):
        px = fills[j].price
        if best == NO_PRICE or (px > best if side == BUY else px < best):
            best = px
    return best


@numba.njit(**NJIT_INLINE)
def _bg_market_event_nb(ms, x, nfill):
    """Event ``x``, a background market order: its side and size are chosen on arrival; it moves the efficient
    price by the square-root impact of its size (whatever the book could fill) and, when it walked the book, to
    near the deepest price it reaches in the background's own orders (``walk_floor_nb``). The agents' resting
    quotes are left out of that walk: they fill the order all the same, but a sweep's information does not
    depend on who stood in its way, so an agent cannot hold the efficient price up or down with a large passive
    quote (it could, when the walk counted its orders: a one-sided quote at the touch absorbed the sweeps of one
    side only, and the price drifted the other way under the agent's own position). Returns (status, end of
    fills)."""
    ms.i[I_CNT_MARKET] += 1
    d = ms.bg_draws[x]
    t = ms.ev[x].time
    side = market_side_nb(ms, d, t)
    qty = market_size_nb(ms, d, side)
    oid = ms.i[I_NEXT_BG_ID]
    ms.i[I_NEXT_BG_ID] += 1
    _, _, deepest = bk.owner_walk_nb(ms.book, side, qty, BACKGROUND_OWNER)
    status, filled, rested, nfill2 = _apply_nb(
        ms.book, ms.fills, nfill, EV_MARKET, side, NO_PRICE, qty, BACKGROUND_OWNER, oid, t
    )
    sign = 1.0 if side == BUY else -1.0
    perm = market_order_impact_nb(ms, t, sign, qty)
    perm += walk_floor_nb(ms, t, sign, deepest)
    # the share of followers and informed orders whose impact leaves as the information arrives (Kyle for the
    # informed; formation.informed_takeback, formation.follower_takeback)
    if takeback_order_nb(ms, d):
        ms.f[F_INFO_ADV] += perm
    if status == STATUS_FILL_BUFFER_FULL or nfill2 == nfill:
        return status, nfill2
    # liquidity providers re-centre on the price the trade revealed (flow.p_requote, flow.p_refill)
    status, nfill2 = _requote_nb(ms, d, U_RQ, ms.p[P_P_REQUOTE], side, t, nfill2)
    if status == STATUS_FILL_BUFFER_FULL:
        return status, nfill2
    return _requote_nb(ms, d, U_RF, ms.p[P_P_REFILL], SELL if side == BUY else BUY, t, nfill2)


@numba.njit(**NJIT_INLINE)
def _message_event_nb(ms, x, k, nfill):
    """Event ``x`` of kind ``k``, fully specified in ``ms.ev``: a background cancel or an agent's message.
    Returns (status, end of fills)."""
    e = ms.ev[x]
    if k == K_BG_CANCEL:
        ms.i[I_CNT_CANCEL] += 1
    status, filled, rested, nfill2 = _apply_nb(
        ms.book, ms.fills, nfill, e.type, e.side, e.price, e.qty, e.owner, e.order_id, e.time
    )
    if k == K_AGENT and e.type == EV_LIMIT:
        if status != STATUS_OK and status != STATUS_FILL_BUFFER_FULL:
            ms.i[I_REJECTED] += 1
        elif filled > 0:  # a marketable agent order moves the efficient price like any market order
            sign = 1.0 if e.side == BUY else -1.0
            market_order_impact_nb(ms, e.time, sign, filled)
            walk_floor_nb(ms, e.time, sign, _deepest_nb(ms.fills, nfill, nfill2, e.side))
    return status, nfill2


@numba.njit(**NJIT_INLINE)
def _touch_nb(st):
    """(best bid, best ask, lots at each) of the book (``NO_PRICE`` and 0 for an empty side)."""
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    bq = bk.level_qty_nb(st, BUY, bb) if bb != NO_PRICE else 0
    aq = bk.level_qty_nb(st, SELL, ba) if ba != NO_PRICE else 0
    return bb, ba, bq, aq


@numba.njit(**NJIT_INLINE)
def _tape_row_nb(row, t, bb, ba, bq, aq):
    """One row of the quote tape (``TAPE_*`` columns)."""
    row[TAPE_TIME] = t
    row[TAPE_BID] = np.nan if bb == NO_PRICE else bb
    row[TAPE_ASK] = np.nan if ba == NO_PRICE else ba
    row[TAPE_BID_LOTS] = bq
    row[TAPE_ASK_LOTS] = aq


@numba.njit(**NJIT_HOT)
def lob_step_nb(ms, dt):
    """Advance the order-book market by ``dt`` seconds. Returns a status (STATUS_OK when all went well)."""
    n_agents = ms.i[I_N_AGENTS]
    t0 = ms.f[F_TIME]
    for a in range(n_agents):
        for c in range(O_SIZE):
            ms.out[a, c] = 0.0
    r = advance_regime_nb(ms, dt)
    advance_fair_nb(ms, dt, r)
    n, n_bg = _build_events_nb(ms, t0, dt, r)
    if n < 0:
        return MARKET_ERR_EVENTS_FULL
    nfill = 0
    tape = ms.tape.shape[0] > 0
    ntape = 0
    t_bb, t_ba, t_bq, t_aq = NO_PRICE, NO_PRICE, 0, 0
    if tape:
        t_bb, t_ba, t_bq, t_aq = _touch_nb(ms.book)
    for j in range(n):
        x = ms.order[j]
        k = ms.kind[x]
        if k == K_BG_LIMIT:
            status, nfill2 = _bg_limit_event_nb(ms, x, nfill)
        elif k == K_BG_MARKET:
            status, nfill2 = _bg_market_event_nb(ms, x, nfill)
        else:
            status, nfill2 = _message_event_nb(ms, x, k, nfill)
        if status == STATUS_FILL_BUFFER_FULL:
            return STATUS_FILL_BUFFER_FULL
        for fi in range(nfill, nfill2):
            account_fill_nb(ms, ms.fills[fi], n_agents)
        nfill = nfill2
        if tape and ntape < ms.tape.shape[0]:
            bb, ba, bq, aq = _touch_nb(ms.book)
            if bb != t_bb or ba != t_ba or bq != t_bq or aq != t_aq:
                _tape_row_nb(ms.tape[ntape], ms.ev[x].time, bb, ba, bq, aq)
                ntape += 1
                t_bb, t_ba, t_bq, t_aq = bb, ba, bq, aq
    ms.i[I_TAPE_N] = ntape
    apply_impact_nb(ms, n_agents, dt)
    for s in range(N_STREAMS):
        if ms.rpos[s] > ms.rbuf.shape[1]:
            return MARKET_ERR_RNG
    mid = bk.mid_ticks_nb(ms.book)
    if not np.isnan(mid):
        ms.f[F_LAST_MID] = mid
    ms.f[F_TIME] = t0 + dt
    ms.i[I_N_EVENTS] = n
    ms.i[I_N_BG_EVENTS] = n_bg
    ms.i[I_N_FILLS] = nfill
    return STATUS_OK


# ---------------------------------------------------------------------------------------------------------------
# background-only runs (warm-up, realism report, benchmark)


@numba.njit(**NJIT_INLINE)
def _record_step_nb(ms, r, dpx, dq):
    """One row of a background run's record (``REC_*`` columns) after a step."""
    st = ms.book
    r[REC_TIME] = ms.f[F_TIME]
    r[REC_MID] = ms.f[F_LAST_MID]
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    r[REC_BID] = np.nan if bb == NO_PRICE else bb
    r[REC_ASK] = np.nan if ba == NO_PRICE else ba
    r[REC_FAIR] = ms.f[F_FAIR]
    r[REC_REGIME] = ms.i[I_REGIME]
    r[REC_N_BG] = ms.i[I_N_BG_EVENTS]
    buy = 0.0
    sell = 0.0
    for fi in range(ms.i[I_N_FILLS]):
        f = ms.fills[fi]
        if f.aggressor == BUY:
            buy += f.qty
        else:
            sell += f.qty
    r[REC_MKT_BUY] = buy
    r[REC_MKT_SELL] = sell
    r[REC_N_ORDERS] = st.hdr[bk.H_N_LIVE]
    for side in range(2):
        nlv = bk.depth_nb(st, BUY if side == 0 else SELL, REC_DEPTH_N, dpx, dq)
        for j in range(REC_DEPTH_N):
            r[REC_DEPTH + side * REC_DEPTH_N + j] = dq[j] if j < nlv else 0.0


@numba.njit(**NJIT_HOT)
def lob_run_nb(ms, dt, n_steps, low_water, rec, dpx, dq):
    """Run up to ``n_steps`` steps of the order-book market in one call, recording one row of ``rec`` per step
    (``rec`` may have zero rows: no recording). Stops early, before a step, when a random-number buffer falls
    below ``low_water`` unread numbers, so Python can refill it. Returns (steps done, status)."""
    for k in range(n_steps):
        for s in range(N_STREAMS):
            if ms.rbuf.shape[1] - ms.rpos[s] < low_water:
                return k, STATUS_OK
        status = lob_step_nb(ms, dt)
        if status != STATUS_OK:
            return k, status
        if k < rec.shape[0]:
            _record_step_nb(ms, rec[k], dpx, dq)
    return n_steps, STATUS_OK
