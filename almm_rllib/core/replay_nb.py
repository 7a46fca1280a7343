"""Compiled replay market: a real message stream through the project's book, with agents' orders inside.

The real book (a :class:`~almm_rllib.core.book_nb.BookState`) replays a stream of *replay operations*
(``OP_DTYPE``), which a data reader builds from a message file (LOBSTER: ``almm_rllib.data.lobster.stream``).
The agents' orders are **not** in that book: they sit in a small side table (:class:`ReplayAgents`) that
follows the real queues. The replay never reacts to the agents: every real message is applied exactly as the
file says, whatever the agents did (no market impact on later messages). This is the standard assumption of
queue-position backtesters such as hftbacktest and is stated in the docs and in every backtest report.

Operations (``OP_DTYPE.kind``)
------------------------------
* ``RP_ADD``: a limit order rests (post-only; a real order never crosses the real book). Ids from
  ``SYNTHETIC_ID_BASE`` up are synthetic volume (a level seeded or re-synchronised from an orderbook file).
* ``RP_CANCEL``: ``qty`` lots leave a resting order (>= its size: it is deleted), keeping its place.
* ``RP_EXEC``: ``qty`` lots of a resting order trade (a visible execution at the order's price).
* ``RP_HIDDEN``: a hidden order on ``side`` traded ``qty`` at ``price`` (the visible book is unchanged).
* ``RP_RESET``: the level ``(side, price)`` is replaced by one synthetic order ``order_id`` of ``qty`` lots
  (0: emptied). Liquidity that reached the visible window from deeper levels, or left it unseen.

Each operation carries the index ``msg`` of the message it comes from and the message's time. The book stores
each real order's *arrival sequence* (the index of the operation that rested it) in ``o_time``.

Agent orders and their queue place
----------------------------------
An agent's limit order reaching the book at operation index ``seq`` joins the back of its level: its
``ahead`` is the level's real quantity then. After that, for every real operation at its side and price:

* **exact FIFO where the file names the orders**: a cancellation or execution of an order that arrived before
  the agent (arrival sequence < ``seq``) moves it forward by the quantity removed; one that arrived after it
  does not (it is behind). Real orders joining the level join behind it.
* **executions fill it**: an execution at its price of an order *behind* it, or of volume whose place is
  unknown, fills the agent by the amount the executed quantity exceeds the quantity ahead
  (``min(remaining, max(0, q - ahead))``). An execution at a price *worse* than the agent's (the agent
  would have been hit first), visible or hidden, fills it the same way; a real limit order arriving on the
  other side at or through the agent's price fills it up to that order's size (the real order still rests:
  no impact). Hidden executions (``RP_HIDDEN``) at the agent's price fill it beyond the displayed quantity
  ahead (displayed orders have priority over hidden ones at one price).
* **probabilistic where the file cannot tell**: removals of synthetic volume that appeared after the agent
  arrived, and level re-synchronisations (``RP_RESET``) that shrink its level, are split between the front
  and the back of the agent with hftbacktest's power probabilistic queue model: with ``front = ahead``,
  ``back = level - front`` and a decrease ``chg``, the chance that it came from the back is
  ``p = back**n / (back**n + front**n)`` and the new ``ahead`` is
  ``min(front - (1 - p) chg + min(back - p chg, 0), level - chg)`` (floored at 0); ``n`` is
  ``RPP_QUEUE_POWER`` (default 3). A re-synchronisation that *grows* the level reveals volume the file never
  showed arriving (it slid in from deeper levels, possibly older than the agent): it is put ahead of the agent
  (conservative). Real orders the file shows arriving always join behind.

The agents' aggressive orders take the resting real liquidity at real prices, level by level, up to their
limit and the real quantity shown; the real book is not changed (no impact). The rest of an aggressive limit
order rests.

Shadow consumption (the same real shares are not taken twice)
--------------------------------------------------------------
Real shares an agent has traded against (its aggressive orders taking a level, and a real limit order that
arrived through an agent's price and filled it before resting) are recorded per level ``(side, price)`` in a
*shadow* table (``s_side``, ``s_price``, ``s_qty``) and treated as the **front** of that level's queue,
gone in the agents' world though still in the real book:

* a later aggressive agent order can take only ``level - shadow`` at that price;
* an agent order joining that level has ``level - shadow`` real lots ahead of it (never more than that);
* a real execution or cancellation of ``q`` lots of an order with ``before`` real lots ahead of it in the
  book's FIFO queue removes ``min(q, max(0, shadow - before))`` lots of the shadow (the part of the order
  the agents had taken: an execution of the front order uses the shadow up first). Those lots neither move
  agent orders forward nor fill them; only the rest acts on the agents as described above;
* a re-synchronisation (``RP_RESET``: volume of unknown place) leaves the shadow no larger than the level,
  ``shadow = min(shadow, level)``. The real messages deplete the shadow, never the agents' own activity.

A level's entry is dropped when its shadow reaches 0. The table holds ``max_shadow`` levels (full: status
``RS_SHADOW_FULL``).

Latency and look-ahead: an agent's order or cancel submitted at time ``t`` reaches the book at
``t + latency``, after every real operation stamped at or before that arrival time. ``replay_advance_nb``
applies operations with time ``<= t_end`` only; nothing later is read.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from . import book_nb as bk
from .nbopts import NJIT_HOT, NJIT_INLINE
from .schema import BUY, NO_ORDER, NO_PRICE, SELL

#: Replay operation record (see the module docstring).
OP_DTYPE = np.dtype(
    [
        ("time", np.float64),
        ("msg", np.int64),
        ("kind", np.int8),
        ("side", np.int8),
        ("price", np.int64),
        ("qty", np.int64),
        ("order_id", np.int64),
    ],
    align=True,
)
RP_ADD = 1
RP_CANCEL = 2
RP_EXEC = 3
RP_HIDDEN = 4
RP_RESET = 5

#: Synthetic ids (seeded or re-synchronised levels) start here; file ids must stay below it.
SYNTHETIC_ID_BASE = np.int64(1 << 62)
#: Owner of file orders and of synthetic orders in the replayed book.
FILE_OWNER = 0
SYNTHETIC_OWNER = np.int32(np.iinfo(np.int32).max)

#: One fill of an agent's order. ``side`` +1: the agent bought. ``maker`` 1: its resting order was filled.
AGENT_FILL_DTYPE = np.dtype(
    [
        ("time", np.float64),
        ("owner", np.int32),
        ("order_id", np.int64),
        ("side", np.int8),
        ("price", np.int64),
        ("qty", np.int64),
        ("maker", np.int8),
    ],
    align=True,
)

# pending agent instructions (kinds)
AG_LIMIT = 1  #: a limit order (aggressive part takes real liquidity, the rest rests)
AG_CANCEL = 2  #: cancel an agent order by id

# header slots (ReplayAgents.hdr, int64)
RH_CURSOR = 0  #: next operation to apply (= operations applied so far)
RH_P_HEAD = 1  #: pending instructions: first unread (monotone counters; slots modulo capacity)
RH_P_TAIL = 2
RH_N_FILLS = 3  #: agent fills recorded since the last clear
RH_STATUS = 4  #: first error (RS_*), 0 when fine
RH_BAD_OP = 5  #: the operation index that failed
RH_SLOTS = 6  #: agent order slots in use are below this (high-water mark; loops stop here)
RH_N_SHADOW = 7  #: shadow levels in use (entries 0 .. RH_N_SHADOW - 1, compact)
RH_SIZE = 8

# parameters (ReplayAgents.par, float64)
RPP_QUEUE_POWER = 0  #: n of the power probabilistic queue model
RPP_SIZE = 4

# statuses
RS_OK = 0
RS_BAD_OP = 1  #: a real operation the book cannot apply (the stream does not match the book)
RS_AGENT_TABLE_FULL = 2
RS_PENDING_FULL = 3
RS_FILL_BUFFER_FULL = 4
RS_SHADOW_FULL = 5

STATUS_TEXT = {
    RS_OK: "ok",
    RS_BAD_OP: "a replay operation the book cannot apply (stream and book disagree)",
    RS_AGENT_TABLE_FULL: "agent order table full",
    RS_PENDING_FULL: "too many agent instructions in flight",
    RS_FILL_BUFFER_FULL: "agent fill buffer full",
    RS_SHADOW_FULL: "shadow consumption table full (too many levels with real shares the agents took)",
}


class ReplayAgents(NamedTuple):
    """The agents' side of the replay: their resting orders, instructions in flight and fills."""

    hdr: np.ndarray  # int64[RH_SIZE]
    par: np.ndarray  # float64[RPP_SIZE]
    a_id: np.ndarray  # int64[K], -1 for a free slot
    a_owner: np.ndarray  # int32[K]
    a_side: np.ndarray  # int8[K]
    a_price: np.ndarray  # int64[K]
    a_qty: np.ndarray  # int64[K] remaining lots
    a_ahead: np.ndarray  # float64[K] real lots ahead in the queue
    a_seq: np.ndarray  # int64[K] operation index at arrival
    p_time: np.ndarray  # float64[P] arrival time
    p_kind: np.ndarray  # int8[P]
    p_owner: np.ndarray  # int32[P]
    p_id: np.ndarray  # int64[P]
    p_side: np.ndarray  # int8[P]
    p_price: np.ndarray  # int64[P]
    p_qty: np.ndarray  # int64[P]
    fills: np.ndarray  # AGENT_FILL_DTYPE[F]
    s_side: np.ndarray  # int8[S] shadow consumption: the level's side
    s_price: np.ndarray  # int64[S] its price
    s_qty: np.ndarray  # int64[S] real lots of it the agents took (the front of its queue)


def new_replay_agents(
    max_orders: int = 64,
    max_pending: int = 256,
    max_fills: int = 4096,
    queue_power: float = 3.0,
    max_shadow: int = 256,
) -> ReplayAgents:
    """Empty agent tables. ``queue_power``: n of the probabilistic queue model (> 0); ``max_shadow``: levels
    the shadow consumption table holds."""
    if not (queue_power > 0 and np.isfinite(queue_power)):
        raise ValueError(f"queue_power must be finite and > 0, got {queue_power}")
    for name, v in (
        ("max_orders", max_orders),
        ("max_pending", max_pending),
        ("max_fills", max_fills),
        ("max_shadow", max_shadow),
    ):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    par = np.zeros(RPP_SIZE, np.float64)
    par[RPP_QUEUE_POWER] = queue_power
    k, p = max_orders, max_pending
    return ReplayAgents(
        hdr=np.zeros(RH_SIZE, np.int64),
        par=par,
        a_id=np.full(k, -1, np.int64),
        a_owner=np.zeros(k, np.int32),
        a_side=np.zeros(k, np.int8),
        a_price=np.zeros(k, np.int64),
        a_qty=np.zeros(k, np.int64),
        a_ahead=np.zeros(k, np.float64),
        a_seq=np.zeros(k, np.int64),
        p_time=np.zeros(p, np.float64),
        p_kind=np.zeros(p, np.int8),
        p_owner=np.zeros(p, np.int32),
        p_id=np.zeros(p, np.int64),
        p_side=np.zeros(p, np.int8),
        p_price=np.zeros(p, np.int64),
        p_qty=np.zeros(p, np.int64),
        fills=np.zeros(max_fills, AGENT_FILL_DTYPE),
        s_side=np.zeros(max_shadow, np.int8),
        s_price=np.zeros(max_shadow, np.int64),
        s_qty=np.zeros(max_shadow, np.int64),
    )


def reset_replay_agents(ag: ReplayAgents) -> None:
    """Forget every agent order, instruction, fill, shadow level and the cursor (the book is reset separately)."""
    ag.hdr[:] = 0
    ag.a_id[:] = -1
    ag.a_qty[:] = 0


# ---------------------------------------------------------------------------------------------------------------
# shadow consumption (see the module docstring)


@numba.njit(**NJIT_INLINE)
def _shadow_find_nb(ag, side, price):
    """Index of the shadow entry of level ``(side, price)``, or -1."""
    for j in range(ag.hdr[RH_N_SHADOW]):
        if ag.s_price[j] == price and ag.s_side[j] == side:
            return j
    return -1


@numba.njit(**NJIT_HOT)
def shadow_qty_nb(ag, side, price):
    """Real lots of level ``(side, price)`` the agents have taken and the real messages not yet depleted."""
    j = _shadow_find_nb(ag, side, price)
    return ag.s_qty[j] if j >= 0 else np.int64(0)


@numba.njit(**NJIT_INLINE)
def _shadow_add_nb(ag, side, price, q):
    """The agents took ``q`` real lots of level ``(side, price)``. False (status set) when the table is full."""
    j = _shadow_find_nb(ag, side, price)
    if j >= 0:
        ag.s_qty[j] += q
        return True
    n = ag.hdr[RH_N_SHADOW]
    if n >= ag.s_qty.shape[0]:
        if ag.hdr[RH_STATUS] == RS_OK:
            ag.hdr[RH_STATUS] = RS_SHADOW_FULL
        return False
    ag.s_side[n] = side
    ag.s_price[n] = price
    ag.s_qty[n] = q
    ag.hdr[RH_N_SHADOW] = n + 1
    return True


@numba.njit(**NJIT_INLINE)
def _shadow_set_nb(ag, j, q):
    """Set entry ``j`` to ``q`` lots; an entry reaching 0 is dropped (the last one takes its place)."""
    if q > 0:
        ag.s_qty[j] = q
        return
    n = ag.hdr[RH_N_SHADOW] - 1
    ag.s_side[j] = ag.s_side[n]
    ag.s_price[j] = ag.s_price[n]
    ag.s_qty[j] = ag.s_qty[n]
    ag.hdr[RH_N_SHADOW] = n


@numba.njit(**NJIT_INLINE)
def _lots_before_nb(st, slot):
    """Real lots ahead of the resting order in ``slot`` in its level's FIFO queue."""
    n = np.int64(0)
    j = st.o_prev[slot]
    while j != NO_ORDER:
        n += st.o_qty[j]
        j = st.o_prev[j]
    return n


@numba.njit(**NJIT_INLINE)
def _shadow_cap_nb(st, ag, side, price):
    """After a real removal at level ``(side, price)``: the shadow is at most the level, and no agent order
    there has more real lots ahead than the level less the shadow."""
    j = _shadow_find_nb(ag, side, price)
    if j < 0:
        return
    level = bk.level_qty_nb(st, side, price)
    c = ag.s_qty[j]
    if c > level:
        c = level
        _shadow_set_nb(ag, j, c)
    room = float(level - c)
    for k in range(ag.hdr[RH_SLOTS]):
        if ag.a_id[k] >= 0 and ag.a_side[k] == side and ag.a_price[k] == price and ag.a_ahead[k] > room:
            ag.a_ahead[k] = room


# ---------------------------------------------------------------------------------------------------------------
# agent-side helpers


@numba.njit(**NJIT_INLINE)
def _record_fill_nb(ag, time, k, qty, price, maker):
    """Fill ``qty`` of agent order ``k`` at ``price``; returns False when the fill buffer is full."""
    n = ag.hdr[RH_N_FILLS]
    if n >= ag.fills.shape[0]:
        if ag.hdr[RH_STATUS] == RS_OK:
            ag.hdr[RH_STATUS] = RS_FILL_BUFFER_FULL
        return False
    f = ag.fills[n]
    f.time = time
    f.owner = ag.a_owner[k]
    f.order_id = ag.a_id[k]
    f.side = ag.a_side[k]
    f.price = price
    f.qty = qty
    f.maker = maker
    ag.hdr[RH_N_FILLS] = n + 1
    ag.a_qty[k] -= qty
    if ag.a_qty[k] <= 0:
        ag.a_id[k] = -1
        ag.a_qty[k] = 0
    return True


@numba.njit(**NJIT_HOT)
def prob_front_nb(front, level, chg, power):
    """Lots ahead after ``chg`` lots of unknown place left a level of ``level`` lots (power queue model)."""
    back = level - front
    if back < 0.0:
        back = 0.0
    fb = back**power
    ff = front**power
    p = fb / (fb + ff) if fb + ff > 0.0 else 0.5
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    new_level = level - chg
    if est > new_level:
        est = new_level
    return est if est > 0.0 else 0.0


@numba.njit(**NJIT_INLINE)
def _better_nb(side, a, b):
    """Price ``a`` is strictly better (more aggressive) than ``b`` for a resting order on ``side``."""
    return a > b if side == BUY else a < b


@numba.njit(**NJIT_INLINE)
def _fill_through_nb(ag, time, side, price, qty, same_level):
    """Execution volume ``qty`` at ``price`` against resting ``side``: fill agent orders strictly better than
    ``price`` (pass ``same_level`` False) or at ``price`` whose place is not known to be ahead of the executed
    volume (``same_level`` True: the caller passes only volume not known to be ahead). Returns lots left."""
    left = qty
    for k in range(ag.hdr[RH_SLOTS]):
        if left <= 0:
            break
        if ag.a_id[k] < 0 or ag.a_side[k] != side:
            continue
        ap = ag.a_price[k]
        if same_level:
            if ap != price:
                continue
        elif not _better_nb(side, ap, price):
            continue
        free = left - ag.a_ahead[k]
        if free <= 0.0:
            continue
        q = min(np.int64(free), ag.a_qty[k])
        if q > 0:
            if not _record_fill_nb(ag, time, k, q, ap, 1):
                return 0
            left -= q
    return left


@numba.njit(**NJIT_INLINE)
def _agents_on_add_nb(ag, time, side, price, qty):
    """A real order rests on ``side`` at ``price``: agent orders on the other side at or through it fill."""
    left = qty
    for k in range(ag.hdr[RH_SLOTS]):
        if left <= 0:
            break
        if ag.a_id[k] < 0 or ag.a_side[k] == side:
            continue
        ap = ag.a_price[k]
        crosses = price <= ap if ag.a_side[k] == BUY else price >= ap
        if crosses:
            q = min(left, ag.a_qty[k])
            if not _record_fill_nb(ag, time, k, q, ap, 1):
                return
            # the real order still rests: the lots it traded with the agent are gone in the agents' world
            if not _shadow_add_nb(ag, side, price, q):
                return
            left -= q


@numba.njit(**NJIT_INLINE)
def _agents_on_remove_nb(ag, time, side, price, q, level_before, oseq, synthetic, is_exec, absorbed):
    """``q`` real lots left the level ``(side, price)`` (holding ``level_before``) from an order that
    arrived at operation ``oseq``; the first ``absorbed`` of them were shares the agents had already taken
    (shadow consumption: they act on no agent order at that level)."""
    left = q
    if is_exec:
        left = _fill_through_nb(ag, time, side, price, q, False)
    if absorbed > 0:
        q -= absorbed
        left = left - absorbed if left > absorbed else 0
        level_before -= absorbed
        if q <= 0:
            return
    power = ag.par[RPP_QUEUE_POWER]
    for k in range(ag.hdr[RH_SLOTS]):
        if ag.a_id[k] < 0 or ag.a_side[k] != side or ag.a_price[k] != price:
            continue
        ahead_known = oseq < ag.a_seq[k]
        if ahead_known:
            a = ag.a_ahead[k] - q
            ag.a_ahead[k] = a if a > 0.0 else 0.0
        elif is_exec:
            # executed volume not known to be ahead: whatever exceeds the quantity ahead fills the agent
            front = ag.a_ahead[k]
            free = left - front
            if free > 0.0:
                fq = min(np.int64(free), ag.a_qty[k])
                if fq > 0:
                    if not _record_fill_nb(ag, time, k, fq, price, 1):
                        return
                    left -= fq
            if synthetic:
                a = front - q
                ag.a_ahead[k] = a if a > 0.0 else 0.0
        elif synthetic:
            ag.a_ahead[k] = prob_front_nb(ag.a_ahead[k], float(level_before), float(q), power)


@numba.njit(**NJIT_INLINE)
def _agents_on_reset_nb(ag, side, price, level_before, level_after):
    power = ag.par[RPP_QUEUE_POWER]
    for k in range(ag.hdr[RH_SLOTS]):
        if ag.a_id[k] < 0 or ag.a_side[k] != side or ag.a_price[k] != price:
            continue
        if level_after < level_before:
            ag.a_ahead[k] = prob_front_nb(
                ag.a_ahead[k], float(level_before), float(level_before - level_after), power
            )
        else:
            # volume the file reveals without having shown it arrive may be older than the agent: ahead
            ag.a_ahead[k] += float(level_after - level_before)
        if ag.a_ahead[k] > level_after:
            ag.a_ahead[k] = float(level_after)


# ---------------------------------------------------------------------------------------------------------------
# real operations


@numba.njit(**NJIT_INLINE)
def _apply_op_nb(st, ag, op, seq):
    """Apply operation ``op`` (index ``seq``) to the book and the agents. Returns False if the book refused it."""
    kind = op.kind
    side = op.side
    price = op.price
    if kind == RP_ADD:
        oid = op.order_id
        if (
            op.qty <= 0
            or bk.hm_find_nb(st, oid) != NO_ORDER
            or st.hdr[bk.H_FREE] == NO_ORDER
            or bk._crosses_nb(st, side, price)
            or not bk._can_place_nb(st, price)
        ):
            return False
        _agents_on_add_nb(ag, op.time, side, price, op.qty)
        owner = SYNTHETIC_OWNER if oid >= SYNTHETIC_ID_BASE else FILE_OWNER
        bk._rest_nb(st, oid, side, price, op.qty, owner, float(seq))
        return True
    if kind == RP_CANCEL or kind == RP_EXEC:
        oid = op.order_id
        slot = bk.hm_find_nb(st, oid)
        if slot == NO_ORDER or op.qty <= 0:
            return False
        rem = st.o_qty[slot]
        q = op.qty if op.qty < rem else rem
        p = st.o_price[slot]
        s = st.o_side[slot]
        level = bk.level_qty_nb(st, s, p)
        absorbed = np.int64(0)
        shadow = -1
        if ag.hdr[RH_N_SHADOW] > 0:
            shadow = _shadow_find_nb(ag, s, p)
            if shadow >= 0:
                # the part of this order inside the front lots the agents took
                c = ag.s_qty[shadow]
                room = c - _lots_before_nb(st, slot)
                if room > 0:
                    absorbed = q if q < room else room
                    _shadow_set_nb(ag, shadow, c - absorbed)
        _agents_on_remove_nb(
            ag,
            op.time,
            s,
            p,
            q,
            level,
            np.int64(st.o_time[slot]),
            oid >= SYNTHETIC_ID_BASE,
            kind == RP_EXEC,
            absorbed,
        )
        bk._reduce_nb(st, oid, q)
        if shadow >= 0:
            _shadow_cap_nb(st, ag, s, p)
        return True
    if kind == RP_HIDDEN:
        left = _fill_through_nb(ag, op.time, side, price, op.qty, False)
        _fill_through_nb(ag, op.time, side, price, left, True)
        return True
    if kind == RP_RESET:
        before = bk.level_qty_nb(st, side, price)
        if before > 0:
            mask = st.hdr[bk.H_WINDOW] - 1
            heads = st.bid_head if side == BUY else st.ask_head
            while heads[price & mask] != NO_ORDER:
                bk._unlink_order_nb(st, heads[price & mask])
        if op.qty > 0:
            if (
                bk.hm_find_nb(st, op.order_id) != NO_ORDER
                or st.hdr[bk.H_FREE] == NO_ORDER
                or bk._crosses_nb(st, side, price)
                or not bk._can_place_nb(st, price)
            ):
                return False
            bk._rest_nb(st, op.order_id, side, price, op.qty, SYNTHETIC_OWNER, float(seq))
        _agents_on_reset_nb(ag, side, price, before, op.qty)
        if ag.hdr[RH_N_SHADOW] > 0:
            _shadow_cap_nb(st, ag, side, price)
        return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# agent instructions


@numba.njit(**NJIT_HOT)
def agent_submit_nb(ag, arrival, kind, owner, order_id, side, price, qty):
    """Queue an instruction reaching the book at ``arrival`` (kept in time order: an arrival earlier than the
    one queued before it is moved up to it). Returns False when too many are in flight."""
    head = ag.hdr[RH_P_HEAD]
    tail = ag.hdr[RH_P_TAIL]
    cap = ag.p_time.shape[0]
    if tail - head >= cap:
        ag.hdr[RH_STATUS] = RS_PENDING_FULL
        return False
    if tail > head:
        last = ag.p_time[(tail - 1) % cap]
        if arrival < last:
            arrival = last
    j = tail % cap
    ag.p_time[j] = arrival
    ag.p_kind[j] = kind
    ag.p_owner[j] = owner
    ag.p_id[j] = order_id
    ag.p_side[j] = side
    ag.p_price[j] = price
    ag.p_qty[j] = qty
    ag.hdr[RH_P_TAIL] = tail + 1
    return True


@numba.njit(**NJIT_INLINE)
def _take_level_nb(ag, time, k, side, p, lq):
    """Agent order ``k`` takes what is left to the agents of the real level ``(side, p)`` of ``lq`` lots (the
    level less its shadow), recording the lots taken as shadow. False when a buffer is full."""
    avail = lq - shadow_qty_nb(ag, side, p)
    if avail <= 0:
        return True
    q = min(avail, ag.a_qty[k])
    if not _record_fill_nb(ag, time, k, q, p, 0):
        return False
    return _shadow_add_nb(ag, side, p, q)


@numba.njit(**NJIT_HOT)
def _take_liquidity_nb(st, ag, time, k):
    """Agent order ``k`` takes the real opposite liquidity up to its price, less what the agents already took
    (shadow consumption); the book is not changed."""
    side = ag.a_side[k]
    limit = ag.a_price[k]
    mask = st.hdr[bk.H_WINDOW] - 1
    if side == BUY:
        p = st.hdr[bk.H_BEST_ASK]
        if p == NO_PRICE:
            return
        hi = st.hdr[bk.H_LO] + st.hdr[bk.H_WINDOW]
        while ag.a_id[k] >= 0 and p <= limit and p < hi:
            lq = st.ask_qty[p & mask]
            if lq > 0 and not _take_level_nb(ag, time, k, SELL, p, lq):
                return
            p += 1
    else:
        p = st.hdr[bk.H_BEST_BID]
        if p == NO_PRICE:
            return
        lo = st.hdr[bk.H_LO]
        while ag.a_id[k] >= 0 and p >= limit and p >= lo:
            lq = st.bid_qty[p & mask]
            if lq > 0 and not _take_level_nb(ag, time, k, BUY, p, lq):
                return
            p -= 1


@numba.njit(**NJIT_HOT)
def find_agent_order_nb(ag, order_id):
    """Slot of a live agent order, or -1."""
    for k in range(ag.hdr[RH_SLOTS]):
        if ag.a_id[k] == order_id:
            return k
    return -1


@numba.njit(**NJIT_HOT)
def _arrive_nb(st, ag, j):
    """Instruction ``j`` (ring slot) reaches the book."""
    t = ag.p_time[j]
    if ag.p_kind[j] == AG_CANCEL:
        k = find_agent_order_nb(ag, ag.p_id[j])
        if k >= 0:
            ag.a_id[k] = -1
            ag.a_qty[k] = 0
        return
    k = -1
    for j2 in range(ag.a_id.shape[0]):
        if ag.a_id[j2] < 0:
            k = j2
            break
    if k < 0:
        ag.hdr[RH_STATUS] = RS_AGENT_TABLE_FULL
        return
    if k >= ag.hdr[RH_SLOTS]:
        ag.hdr[RH_SLOTS] = k + 1
    side = ag.p_side[j]
    price = ag.p_price[j]
    ag.a_id[k] = ag.p_id[j]
    ag.a_owner[k] = ag.p_owner[j]
    ag.a_side[k] = side
    ag.a_price[k] = price
    ag.a_qty[k] = ag.p_qty[j]
    ag.a_seq[k] = ag.hdr[RH_CURSOR]
    if bk._crosses_nb(st, side, price):
        _take_liquidity_nb(st, ag, t, k)
    if ag.a_id[k] >= 0:
        # behind the real lots of its level, less those the agents already took (the front)
        ahead = bk.level_qty_nb(st, side, price) - shadow_qty_nb(ag, side, price)
        ag.a_ahead[k] = float(ahead) if ahead > 0 else 0.0


@numba.njit(**NJIT_HOT)
def _release_nb(st, ag, before, inclusive):
    """Let instructions arriving before ``before`` (or at it, when ``inclusive``) reach the book."""
    cap = ag.p_time.shape[0]
    while ag.hdr[RH_P_HEAD] < ag.hdr[RH_P_TAIL]:
        j = ag.hdr[RH_P_HEAD] % cap
        t = ag.p_time[j]
        if t > before or (t == before and not inclusive):
            break
        ag.hdr[RH_P_HEAD] += 1
        _arrive_nb(st, ag, j)


@numba.njit(**NJIT_HOT)
def replay_advance_nb(st, ag, ops, t_end):
    """Apply every operation with time ``<= t_end`` not applied yet, letting the agents' instructions reach the
    book in time order (after the operations stamped at or before their arrival), then those arriving by
    ``t_end``. Returns the status (``RS_*``); on ``RS_BAD_OP`` ``hdr[RH_BAD_OP]`` names the operation."""
    n = ops.shape[0]
    i = ag.hdr[RH_CURSOR]
    while i < n:
        op = ops[i]
        if op.time > t_end:
            break
        if ag.hdr[RH_P_HEAD] < ag.hdr[RH_P_TAIL]:
            _release_nb(st, ag, op.time, False)
        if not _apply_op_nb(st, ag, op, i):
            ag.hdr[RH_STATUS] = RS_BAD_OP
            ag.hdr[RH_BAD_OP] = i
            ag.hdr[RH_CURSOR] = i
            return RS_BAD_OP
        i += 1
        ag.hdr[RH_CURSOR] = i
    _release_nb(st, ag, t_end, True)
    return ag.hdr[RH_STATUS]


@numba.njit(**NJIT_HOT)
def replay_seek_nb(st, ag, ops, n_ops):
    """Apply operations up to index ``n_ops`` (exclusive) with no agents involved (fast-forward)."""
    i = ag.hdr[RH_CURSOR]
    while i < n_ops:
        if not _apply_op_nb(st, ag, ops[i], i):
            ag.hdr[RH_STATUS] = RS_BAD_OP
            ag.hdr[RH_BAD_OP] = i
            ag.hdr[RH_CURSOR] = i
            return RS_BAD_OP
        i += 1
    ag.hdr[RH_CURSOR] = i
    return RS_OK


@numba.njit(**NJIT_HOT)
def agent_queue_nb(st, ag, k):
    """(lots ahead, real lots at the level less those the agents took) of live agent order ``k``."""
    s, p = ag.a_side[k], ag.a_price[k]
    return ag.a_ahead[k], bk.level_qty_nb(st, s, p) - shadow_qty_nb(ag, s, p)


@numba.njit(**NJIT_HOT)
def _top_nb(st, j, out_bid, out_bid_qty, out_ask, out_ask_qty):
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    out_bid[j] = bb
    out_ask[j] = ba
    out_bid_qty[j] = bk.level_qty_nb(st, BUY, bb) if bb != NO_PRICE else 0
    out_ask_qty[j] = bk.level_qty_nb(st, SELL, ba) if ba != NO_PRICE else 0


@numba.njit(**NJIT_HOT)
def replay_book_tops_nb(st, ag, ops, out_bid, out_bid_qty, out_ask, out_ask_qty):
    """Replay every operation and record the best bid/ask and their sizes after each *message* index
    (``out_*`` have one entry per message; a message without operations repeats the state before it).
    Agents in ``ag`` take part as usual. Returns the status."""
    n = ops.shape[0]
    m = out_bid.shape[0]
    j = 0
    for i in range(n):
        msg = ops[i].msg
        while j < msg and j < m:
            _top_nb(st, j, out_bid, out_bid_qty, out_ask, out_ask_qty)
            j += 1
        if not _apply_op_nb(st, ag, ops[i], i):
            ag.hdr[RH_STATUS] = RS_BAD_OP
            ag.hdr[RH_BAD_OP] = i
            return RS_BAD_OP
    while j < m:
        _top_nb(st, j, out_bid, out_bid_qty, out_ask, out_ask_qty)
        j += 1
    return RS_OK
