"""The agents' orders: latency draws, messages in flight, and the working quotes (step item 5 of
:mod:`market_nb`).

An agent's quote is one working order per side (``MarketState.quotes``). Changing it sends a cancel and a new
order, each delayed by its own latency draw (agent stream) and queued in ``MarketState.pending`` until the step
whose window it reaches the book in.
"""

from __future__ import annotations

import numba
import numpy as np

from . import book_nb as bk
from .market_state_nb import (
    AGENT_ID_SHIFT,
    I_AGENT_SEQ,
    I_N_PENDING,
    K_AGENT,
    NS,
    P_LAT_HIGH,
    P_LAT_LOW,
    P_LAT_MEAN,
    P_LAT_MODEL,
    P_LAT_SIGMA,
    Q_ARRIVAL_NS,
    Q_ID,
    Q_PRICE,
    Q_QTY,
)
from .nbopts import NJIT_HOT, NJIT_INLINE
from .rng_nb import S_AGENT, normal_nb, uni_nb
from .schema import BUY, EV_CANCEL, EV_LIMIT, NO_ORDER, NO_PRICE, SELL


@numba.njit(**NJIT_INLINE)
def latency_nb(ms, p):
    """One message latency in seconds (agent stream)."""
    m = p[P_LAT_MODEL]
    if m == 0.0:
        return p[P_LAT_MEAN]
    if m == 1.0:
        return p[P_LAT_LOW] + (p[P_LAT_HIGH] - p[P_LAT_LOW]) * uni_nb(ms, S_AGENT)
    s = p[P_LAT_SIGMA]
    if p[P_LAT_MEAN] <= 0.0:
        return 0.0
    mu = np.log(p[P_LAT_MEAN]) - 0.5 * s * s  # so that the mean is P_LAT_MEAN
    return np.exp(mu + s * normal_nb(ms, S_AGENT))


@numba.njit(**NJIT_INLINE)
def enqueue_nb(ms, t, etype, side, price, qty, owner, oid):
    k = ms.i[I_N_PENDING]
    if k >= ms.pending.shape[0]:
        return False
    m = ms.pending[k]
    m.time = t
    m.type = etype
    m.side = side
    m.price = price
    m.qty = qty
    m.owner = owner
    m.order_id = oid
    ms.i[I_N_PENDING] = k + 1
    return True


@numba.njit(**NJIT_INLINE)
def release_pending_nb(ms, n, t1):
    """Move agent messages that reach the book before ``t1`` into the step's list (keeping their order)."""
    k = ms.i[I_N_PENDING]
    cap = ms.ev.shape[0]
    keep = 0
    for j in range(k):
        m = ms.pending[j]
        if m.time < t1:
            if n >= cap:
                return -1
            ms.ev[n] = m
            ms.kind[n] = K_AGENT
            n += 1
        else:
            ms.pending[keep] = m
            keep += 1
    ms.i[I_N_PENDING] = keep
    return n


@numba.njit(**NJIT_INLINE)
def in_flight_nb(qs, now):
    """The working order's new-order message has not reached the book yet."""
    return now * NS < qs[Q_ARRIVAL_NS]


@numba.njit(**NJIT_INLINE)
def keeps_order_nb(ms, qs, price, qty, now):
    """A quote of ``qty`` lots at ``price`` equals the working one (``qs``), whose order is resting or still in
    flight: it keeps that order and its queue place."""
    if qs[Q_ID] == NO_ORDER or qs[Q_PRICE] != price or qs[Q_QTY] != qty:
        return False
    return in_flight_nb(qs, now) or bk.hm_find_nb(ms.book, qs[Q_ID]) != NO_ORDER


@numba.njit(**NJIT_HOT)
def set_quote_nb(ms, agent, side_idx, price, qty, now):
    """Ask for agent ``agent`` (0-based) to quote ``qty`` lots at ``price`` ticks on one side (qty 0 = none).

    An unchanged quote (same price and size as sent) whose order is resting or still in flight keeps its order
    and its queue place. Otherwise the old order is cancelled and a new one sent, each message delayed by its
    own latency draw. Returns False if the in-flight queue is full (nothing sent).
    """
    qs = ms.quotes[agent, side_idx]
    owner = agent + 1
    side = BUY if side_idx == 0 else SELL
    oid = qs[Q_ID]
    if oid != NO_ORDER:
        if qty > 0 and keeps_order_nb(ms, qs, price, qty, now):
            return True
        # cancel the working order (harmless if it has been filled meanwhile); never let the cancel overtake
        # the order it cancels when latencies are random, or the order would rest orphaned
        t_cancel = max(now + latency_nb(ms, ms.p), (qs[Q_ARRIVAL_NS] + 1) / NS)
        if not enqueue_nb(ms, t_cancel, EV_CANCEL, side, NO_PRICE, 0, owner, oid):
            return False
        qs[Q_ID] = NO_ORDER
    if qty <= 0:
        return True
    seq = ms.i[I_AGENT_SEQ]
    ms.i[I_AGENT_SEQ] = seq + 1
    new_id = (np.int64(owner) << AGENT_ID_SHIFT) + seq
    t_arr = now + latency_nb(ms, ms.p)
    if not enqueue_nb(ms, t_arr, EV_LIMIT, side, price, qty, owner, new_id):
        return False
    qs[Q_ID] = new_id
    qs[Q_PRICE] = price
    qs[Q_QTY] = qty
    qs[Q_ARRIVAL_NS] = np.int64(np.ceil(t_arr * NS))
    return True


@numba.njit(**NJIT_HOT)
def set_quote_direct_nb(ms, agent, side_idx, price, qty):
    """Stylized market: quotes take effect at once (no book, no latency)."""
    qs = ms.quotes[agent, side_idx]
    if qty <= 0:
        qs[Q_ID] = NO_ORDER
        qs[Q_QTY] = 0
        return True
    if qs[Q_ID] == NO_ORDER or qs[Q_PRICE] != price or qs[Q_QTY] != qty:
        seq = ms.i[I_AGENT_SEQ]
        ms.i[I_AGENT_SEQ] = seq + 1
        qs[Q_ID] = (np.int64(agent + 1) << AGENT_ID_SHIFT) + seq
    qs[Q_PRICE] = price
    qs[Q_QTY] = qty
    return True


@numba.njit(**NJIT_HOT)
def agent_resting_nb(ms, agent, side_idx):
    """(lots resting, lots ahead in queue, orders ahead) of the agent's working order on one side.

    (0, -1, -1) when it has none resting (none sent, in flight, filled or cancelled).
    """
    oid = ms.quotes[agent, side_idx, Q_ID]
    if oid == NO_ORDER:
        return 0, -1, -1
    st = ms.book
    slot = bk.hm_find_nb(st, oid)
    if slot == NO_ORDER:
        return 0, -1, -1
    ahead, rank = bk.queue_position_nb(st, oid)
    return st.o_qty[slot], ahead, rank
