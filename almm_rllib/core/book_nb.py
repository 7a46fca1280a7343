"""Compiled limit order book: price-time priority over a ring window of ticks.

State is a :class:`BookState` NamedTuple of preallocated numpy arrays (no ``jitclass``: it must pickle for
Ray). Every mutating kernel takes it as its first argument and changes the arrays in place.

Layout
------
* **Orders** live in a fixed table of ``capacity`` slots (struct-of-arrays ``o_*``). A resting order is a node
  of a doubly linked list (``o_prev``/``o_next``) that is its price level's FIFO queue; free slots form a
  singly linked free list through ``o_next``. Add and cancel are O(1).
* **Price levels** are a ring of ``window`` slots (a power of two) per side: price ``p`` lives at slot
  ``p & (window - 1)``. The book accepts resting prices in ``[lo, lo + window)``. When a price outside that range
  arrives, the window *re-centres* on the occupied range plus the new price; because slots are addressed
  modulo the window nothing moves, so re-centring costs one O(window) scan of occupancy and is rare. A price
  that cannot fit together with the resting orders is refused (``STATUS_OUT_OF_WINDOW``).
* **Order ids** are caller-chosen non-negative ``int64``; an open-addressing hash table (linear probing,
  backward-shift deletion) maps id -> slot in O(1).
* **Best prices** are kept in the header and updated on every add/remove. Only when the best level empties is
  the ring scanned, from the old best outward to the next non-empty level (the gap, not the window).

Semantics
---------
* Limit order: matches the opposite side while its price crosses, at the *resting* prices, FIFO within a level;
  the remainder rests at its limit price. Post-only: refused whole if it would cross.
* Market order: walks the opposite side until filled or the side is empty; the unfilled quantity is reported
  (``STATUS_PARTIAL`` and ``filled`` < requested), never rested.
* Cancel removes; reduce removes ``qty`` lots keeping priority (reducing to zero cancels); replace is cancel +
  new limit order with the same id and owner at the new price (qty 0 keeps the remaining size) and loses
  priority.
* Capacity: a full fill buffer or order table stops the batch *before* the offending event touches the book
  and reports which event it was; the book stays valid.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from .nbopts import NJIT, NJIT_HOT, NJIT_INLINE
from .schema import (
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_LIMIT_POST_ONLY,
    EV_MARKET,
    EV_NOOP,
    EV_REDUCE,
    EV_REPLACE,
    NO_ORDER,
    NO_PRICE,
    SELL,
    STATUS_BAD_EVENT,
    STATUS_DUPLICATE_ID,
    STATUS_FILL_BUFFER_FULL,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
    STATUS_OUT_OF_WINDOW,
    STATUS_PARTIAL,
    STATUS_POST_ONLY_REJECT,
    STATUS_UNKNOWN_ORDER,
)

# Header slots (BookState.hdr, int64).
H_LO = 0  #: lowest price of the tick window
H_BEST_BID = 1  #: best bid in ticks, NO_PRICE when the bid side is empty
H_BEST_ASK = 2  #: best ask in ticks, NO_PRICE when the ask side is empty
H_N_LIVE = 3  #: resting orders
H_FREE = 4  #: head of the free-slot list (NO_ORDER when the table is full)
H_N_BID_LV = 5  #: non-empty bid levels
H_N_ASK_LV = 6  #: non-empty ask levels
H_LAST_MID2 = 7  #: 2 * the last two-sided mid (ticks), NO_PRICE before the book was ever two-sided
H_WINDOW = 8  #: ring size (power of two)
H_CAPACITY = 9  #: order-table capacity
H_N_RECENTRE = 10  #: how many times the window re-centred
H_SIZE = 16

HASH_EMPTY = np.int64(-1)


class BookState(NamedTuple):
    """All arrays of one book. Create with :func:`new_book_state`."""

    hdr: np.ndarray  # int64[H_SIZE]
    o_id: np.ndarray  # int64[cap]
    o_price: np.ndarray  # int64[cap]
    o_qty: np.ndarray  # int64[cap] remaining lots
    o_side: np.ndarray  # int8[cap]
    o_owner: np.ndarray  # int32[cap]
    o_time: np.ndarray  # float64[cap] arrival time
    o_prev: np.ndarray  # int32[cap]
    o_next: np.ndarray  # int32[cap] (free list link for free slots)
    bid_head: np.ndarray  # int32[window]
    bid_tail: np.ndarray  # int32[window]
    bid_qty: np.ndarray  # int64[window]
    bid_cnt: np.ndarray  # int32[window]
    ask_head: np.ndarray
    ask_tail: np.ndarray
    ask_qty: np.ndarray
    ask_cnt: np.ndarray
    hm_keys: np.ndarray  # int64[hsize] order ids, HASH_EMPTY when free
    hm_vals: np.ndarray  # int32[hsize] slots


def new_book_state(capacity: int, window: int, centre: int) -> BookState:
    """Allocate an empty book for ``capacity`` resting orders and a ring of ``window`` ticks around ``centre``."""
    if window < 8 or window & (window - 1):
        raise ValueError(f"window must be a power of two >= 8, got {window}")
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    hbits = max(3, int(np.ceil(np.log2(2 * capacity))))
    hsize = 1 << hbits
    hdr = np.zeros(H_SIZE, np.int64)
    hdr[H_LO] = centre - window // 2
    hdr[H_BEST_BID] = NO_PRICE
    hdr[H_BEST_ASK] = NO_PRICE
    hdr[H_FREE] = 0
    hdr[H_LAST_MID2] = NO_PRICE
    hdr[H_WINDOW] = window
    hdr[H_CAPACITY] = capacity
    o_next = np.arange(1, capacity + 1, dtype=np.int32)
    o_next[-1] = NO_ORDER
    return BookState(
        hdr=hdr,
        o_id=np.full(capacity, -1, np.int64),
        o_price=np.zeros(capacity, np.int64),
        o_qty=np.zeros(capacity, np.int64),
        o_side=np.zeros(capacity, np.int8),
        o_owner=np.zeros(capacity, np.int32),
        o_time=np.zeros(capacity, np.float64),
        o_prev=np.full(capacity, NO_ORDER, np.int32),
        o_next=o_next,
        bid_head=np.full(window, NO_ORDER, np.int32),
        bid_tail=np.full(window, NO_ORDER, np.int32),
        bid_qty=np.zeros(window, np.int64),
        bid_cnt=np.zeros(window, np.int32),
        ask_head=np.full(window, NO_ORDER, np.int32),
        ask_tail=np.full(window, NO_ORDER, np.int32),
        ask_qty=np.zeros(window, np.int64),
        ask_cnt=np.zeros(window, np.int32),
        hm_keys=np.full(hsize, HASH_EMPTY, np.int64),
        hm_vals=np.full(hsize, NO_ORDER, np.int32),
    )


# ---------------------------------------------------------------------------------------------------------------
# id -> slot hash table


@numba.njit(**NJIT_INLINE)
def _hm_home_nb(st, key):
    """Home slot of ``key``: low bits folded with high bits. Sequential ids (the common case) land in
    consecutive slots, which keeps the table cache-friendly; ids that differ only in high bits (e.g. an agent
    prefix) are spread by the fold."""
    k = np.uint64(key)
    return np.int64((k ^ (k >> np.uint64(24)) ^ (k >> np.uint64(44))) & np.uint64(st.hm_keys.shape[0] - 1))


@numba.njit(**NJIT_INLINE)
def hm_find_nb(st, key):
    """Slot of resting order ``key``, or NO_ORDER."""
    mask = st.hm_keys.shape[0] - 1
    i = _hm_home_nb(st, key)
    while True:
        k = st.hm_keys[i]
        if k == key:
            return st.hm_vals[i]
        if k == HASH_EMPTY:
            return NO_ORDER
        i = (i + 1) & mask


@numba.njit(**NJIT_INLINE)
def _hm_insert_nb(st, key, slot):
    mask = st.hm_keys.shape[0] - 1
    i = _hm_home_nb(st, key)
    while st.hm_keys[i] != HASH_EMPTY:
        i = (i + 1) & mask
    st.hm_keys[i] = key
    st.hm_vals[i] = slot


@numba.njit(**NJIT_INLINE)
def _hm_delete_nb(st, key):
    keys = st.hm_keys
    mask = keys.shape[0] - 1
    i = _hm_home_nb(st, key)
    while keys[i] != key:
        i = (i + 1) & mask
    # backward-shift deletion keeps every probe chain unbroken without tombstones
    j = i
    while True:
        j = (j + 1) & mask
        kj = keys[j]
        if kj == HASH_EMPTY:
            break
        h = _hm_home_nb(st, kj)
        # entry j may move to i unless its home lies cyclically in (i, j]
        if i <= j:
            stays = i < h <= j
        else:
            stays = h > i or h <= j
        if stays:
            continue
        keys[i] = kj
        st.hm_vals[i] = st.hm_vals[j]
        i = j
    keys[i] = HASH_EMPTY
    st.hm_vals[i] = NO_ORDER


# ---------------------------------------------------------------------------------------------------------------
# levels and best prices


@numba.njit(**NJIT_HOT)
def _scan_bid_down_nb(st, start):
    """Highest non-empty bid level at or below ``start`` (within the window), or NO_PRICE."""
    if st.hdr[H_N_BID_LV] == 0:
        return NO_PRICE
    mask = st.hdr[H_WINDOW] - 1
    lo = st.hdr[H_LO]
    p = start
    while p >= lo:
        if st.bid_cnt[p & mask] > 0:
            return p
        p -= 1
    return NO_PRICE


@numba.njit(**NJIT_HOT)
def _scan_ask_up_nb(st, start):
    """Lowest non-empty ask level at or above ``start`` (within the window), or NO_PRICE."""
    if st.hdr[H_N_ASK_LV] == 0:
        return NO_PRICE
    mask = st.hdr[H_WINDOW] - 1
    hi = st.hdr[H_LO] + st.hdr[H_WINDOW]
    p = start
    while p < hi:
        if st.ask_cnt[p & mask] > 0:
            return p
        p += 1
    return NO_PRICE


@numba.njit(**NJIT_INLINE)
def _update_last_mid_nb(st):
    bb = st.hdr[H_BEST_BID]
    ba = st.hdr[H_BEST_ASK]
    if bb != NO_PRICE and ba != NO_PRICE:
        st.hdr[H_LAST_MID2] = bb + ba


@numba.njit(**NJIT_INLINE)
def _fits_nb(st, price):
    lo = st.hdr[H_LO]
    return lo <= price < lo + st.hdr[H_WINDOW]


@numba.njit(**NJIT_HOT)
def _occupied_range_nb(st):
    """(min, max) resting price, scanning the ring; (NO_PRICE, NO_PRICE) for an empty book."""
    w = st.hdr[H_WINDOW]
    mask = w - 1
    lo = st.hdr[H_LO]
    pmin = NO_PRICE
    pmax = NO_PRICE
    if st.hdr[H_N_LIVE] == 0:
        return pmin, pmax
    for p in range(lo, lo + w):
        s = p & mask
        if st.bid_cnt[s] > 0 or st.ask_cnt[s] > 0:
            if pmin == NO_PRICE:
                pmin = p
            pmax = p
    return pmin, pmax


@numba.njit(**NJIT_HOT)
def _can_place_nb(st, price):
    """True if ``price`` fits the window now or after re-centring (does not move the window)."""
    if _fits_nb(st, price):
        return True
    pmin, pmax = _occupied_range_nb(st)
    if pmin == NO_PRICE:
        return True
    lo = min(pmin, price)
    hi = max(pmax, price)
    return hi - lo < st.hdr[H_WINDOW]


@numba.njit(**NJIT_HOT)
def _recentre_nb(st, price):
    """Move the window so it holds ``price`` and every resting order, centred on their midpoint.

    Caller guarantees the span fits (``_can_place_nb``). Slots entering the window are empty because every
    occupied price stays inside, so no data moves.
    """
    w = st.hdr[H_WINDOW]
    pmin, pmax = _occupied_range_nb(st)
    if pmin == NO_PRICE:
        st.hdr[H_LO] = price - w // 2
    else:
        lo_need = min(pmin, price)
        hi_need = max(pmax, price)
        lo = (lo_need + hi_need) // 2 - w // 2
        if lo > lo_need:
            lo = lo_need
        if lo + w - 1 < hi_need:
            lo = hi_need - w + 1
        st.hdr[H_LO] = lo
    st.hdr[H_N_RECENTRE] += 1


@numba.njit(**NJIT_INLINE)
def _link_order_nb(st, slot):
    """Append resting order ``slot`` at the tail of its level and update the best price."""
    p = st.o_price[slot]
    s = p & (st.hdr[H_WINDOW] - 1)
    q = st.o_qty[slot]
    st.o_next[slot] = NO_ORDER
    if st.o_side[slot] == BUY:
        tail = st.bid_tail[s]
        st.o_prev[slot] = tail
        if tail == NO_ORDER:
            st.bid_head[s] = slot
            st.hdr[H_N_BID_LV] += 1
        else:
            st.o_next[tail] = slot
        st.bid_tail[s] = slot
        st.bid_qty[s] += q
        st.bid_cnt[s] += 1
        bb = st.hdr[H_BEST_BID]
        if bb == NO_PRICE or p > bb:
            st.hdr[H_BEST_BID] = p
    else:
        tail = st.ask_tail[s]
        st.o_prev[slot] = tail
        if tail == NO_ORDER:
            st.ask_head[s] = slot
            st.hdr[H_N_ASK_LV] += 1
        else:
            st.o_next[tail] = slot
        st.ask_tail[s] = slot
        st.ask_qty[s] += q
        st.ask_cnt[s] += 1
        ba = st.hdr[H_BEST_ASK]
        if ba == NO_PRICE or p < ba:
            st.hdr[H_BEST_ASK] = p
    _update_last_mid_nb(st)


@numba.njit(**NJIT_INLINE)
def _unlink_order_nb(st, slot):
    """Remove resting order ``slot`` from its level (any position), free its slot and its id."""
    p = st.o_price[slot]
    s = p & (st.hdr[H_WINDOW] - 1)
    prv = st.o_prev[slot]
    nxt = st.o_next[slot]
    q = st.o_qty[slot]
    if st.o_side[slot] == BUY:
        if prv == NO_ORDER:
            st.bid_head[s] = nxt
        else:
            st.o_next[prv] = nxt
        if nxt == NO_ORDER:
            st.bid_tail[s] = prv
        else:
            st.o_prev[nxt] = prv
        st.bid_qty[s] -= q
        st.bid_cnt[s] -= 1
        if st.bid_cnt[s] == 0:
            st.hdr[H_N_BID_LV] -= 1
            if p == st.hdr[H_BEST_BID]:
                st.hdr[H_BEST_BID] = _scan_bid_down_nb(st, p - 1)
    else:
        if prv == NO_ORDER:
            st.ask_head[s] = nxt
        else:
            st.o_next[prv] = nxt
        if nxt == NO_ORDER:
            st.ask_tail[s] = prv
        else:
            st.o_prev[nxt] = prv
        st.ask_qty[s] -= q
        st.ask_cnt[s] -= 1
        if st.ask_cnt[s] == 0:
            st.hdr[H_N_ASK_LV] -= 1
            if p == st.hdr[H_BEST_ASK]:
                st.hdr[H_BEST_ASK] = _scan_ask_up_nb(st, p + 1)
    _hm_delete_nb(st, st.o_id[slot])
    st.o_id[slot] = -1
    st.o_qty[slot] = 0
    st.o_prev[slot] = NO_ORDER
    st.o_next[slot] = np.int32(st.hdr[H_FREE])
    st.hdr[H_FREE] = slot
    st.hdr[H_N_LIVE] -= 1
    _update_last_mid_nb(st)


@numba.njit(**NJIT_INLINE)
def _rest_nb(st, order_id, side, price, qty, owner, time):
    """Put a new order on the book (caller checked capacity, window and id). Returns its slot."""
    if not _fits_nb(st, price):
        _recentre_nb(st, price)
    slot = np.int32(st.hdr[H_FREE])
    st.hdr[H_FREE] = st.o_next[slot]
    st.o_id[slot] = order_id
    st.o_price[slot] = price
    st.o_qty[slot] = qty
    st.o_side[slot] = side
    st.o_owner[slot] = owner
    st.o_time[slot] = time
    _hm_insert_nb(st, order_id, slot)
    st.hdr[H_N_LIVE] += 1
    _link_order_nb(st, slot)
    return slot


# ---------------------------------------------------------------------------------------------------------------
# matching


@numba.njit(**NJIT_HOT)
def _dry_match_nb(st, taker_side, limit, qty):
    """(lots that would fill, fills that would be recorded) for a taker, without touching the book.

    ``limit`` NO_PRICE means a market order.
    """
    mask = st.hdr[H_WINDOW] - 1
    filled = 0
    nf = 0
    if taker_side == BUY:
        p = st.hdr[H_BEST_ASK]
        hi = st.hdr[H_LO] + st.hdr[H_WINDOW]
        while p != NO_PRICE and p < hi and qty > filled:
            if limit != NO_PRICE and p > limit:
                break
            o = st.ask_head[p & mask]
            while o != NO_ORDER and qty > filled:
                filled += min(qty - filled, st.o_qty[o])
                nf += 1
                o = st.o_next[o]
            p += 1
    else:
        p = st.hdr[H_BEST_BID]
        lo = st.hdr[H_LO]
        while p != NO_PRICE and p >= lo and qty > filled:
            if limit != NO_PRICE and p < limit:
                break
            o = st.bid_head[p & mask]
            while o != NO_ORDER and qty > filled:
                filled += min(qty - filled, st.o_qty[o])
                nf += 1
                o = st.o_next[o]
            p -= 1
    return filled, nf


@numba.njit(**NJIT_INLINE)
def _walk_start_nb(st, taker_side):
    """Where a taker of ``taker_side`` starts walking the opposite side, where the window ends and the price
    step: (best opposite price or ``NO_PRICE``, one past the last price, +1 or -1)."""
    if taker_side == BUY:
        return st.hdr[H_BEST_ASK], st.hdr[H_LO] + st.hdr[H_WINDOW], 1
    return st.hdr[H_BEST_BID], st.hdr[H_LO] - 1, -1


@numba.njit(**NJIT_INLINE)
def owner_walk_nb(st, taker_side, qty, owner):
    """A taker of ``taker_side`` for ``qty`` lots against ``owner``'s resting orders alone (the others ignored),
    without touching the book: (the first price holding ``owner``'s orders, their lots there, the deepest price
    the taker would reach). ``NO_PRICE`` and 0 when ``owner`` has nothing on that side; with ``qty`` <= 0 the
    deepest price is the first; when ``owner``'s orders run out first, it is the last price holding them."""
    mask = st.hdr[H_WINDOW] - 1
    first = NO_PRICE
    first_lots = 0
    deepest = NO_PRICE
    filled = 0
    p, end, step = _walk_start_nb(st, taker_side)
    if p == NO_PRICE:
        return first, first_lots, deepest
    while p != end:
        o = st.ask_head[p & mask] if taker_side == BUY else st.bid_head[p & mask]
        lots = 0
        while o != NO_ORDER:
            if st.o_owner[o] == owner:
                lots += st.o_qty[o]
            o = st.o_next[o]
        if lots > 0:
            if first == NO_PRICE:
                first = p
                first_lots = lots
            deepest = p
            filled += lots
            if filled >= qty:
                break
        p += step
    return first, first_lots, deepest


@numba.njit(**NJIT_INLINE)
def walk_cost_nb(st, taker_side, qty, exclude_owner, ref):
    """Cost (ticks x lots, measured from the price ``ref`` in ticks) of a taker of ``taker_side`` for ``qty``
    lots walking the opposite side through every resting order but ``exclude_owner``'s, without touching the
    book. Lots the book cannot absorb pay the last price reached (``ref`` when there is none)."""
    mask = st.hdr[H_WINDOW] - 1
    left = qty
    cost = 0.0
    last = ref
    p, end, step = _walk_start_nb(st, taker_side)
    if p != NO_PRICE:
        while p != end and left > 0:
            o = st.ask_head[p & mask] if taker_side == BUY else st.bid_head[p & mask]
            while o != NO_ORDER and left > 0:
                if st.o_owner[o] != exclude_owner:
                    take = min(left, st.o_qty[o])
                    cost += abs(p - ref) * take
                    left -= take
                    last = p
                o = st.o_next[o]
            p += step
    return cost + abs(last - ref) * left


@numba.njit(**NJIT_HOT)
def _match_nb(st, fills, nfill, taker_side, limit, qty, taker_owner, taker_id, time):
    """Execute a taker against the opposite side. Returns (lots filled, new fill count).

    Caller guarantees room in ``fills``.
    """
    mask = st.hdr[H_WINDOW] - 1
    filled = 0
    while filled < qty:
        if taker_side == BUY:
            p = st.hdr[H_BEST_ASK]
            if p == NO_PRICE or (limit != NO_PRICE and p > limit):
                break
            o = st.ask_head[p & mask]
        else:
            p = st.hdr[H_BEST_BID]
            if p == NO_PRICE or (limit != NO_PRICE and p < limit):
                break
            o = st.bid_head[p & mask]
        # consume the level FIFO; _unlink_order_nb moves the best price when the level empties
        tq = min(qty - filled, st.o_qty[o])
        f = fills[nfill]
        f.time = time
        f.price = p
        f.qty = tq
        f.maker_order_id = st.o_id[o]
        f.taker_order_id = taker_id
        f.maker_owner = st.o_owner[o]
        f.taker_owner = taker_owner
        f.aggressor = taker_side
        nfill += 1
        filled += tq
        if tq == st.o_qty[o]:
            _unlink_order_nb(st, o)
        else:
            st.o_qty[o] -= tq
            if taker_side == BUY:
                st.ask_qty[p & mask] -= tq
            else:
                st.bid_qty[p & mask] -= tq
    return filled, nfill


@numba.njit(**NJIT_INLINE)
def _fill_room_nb(st, fills, nfill, taker_side, limit, qty):
    """True if the fill buffer can take every fill this taker could generate."""
    room = fills.shape[0] - nfill
    if room >= st.hdr[H_N_LIVE]:
        return True
    _, nf = _dry_match_nb(st, taker_side, limit, qty)
    return room >= nf


@numba.njit(**NJIT_INLINE)
def _crosses_nb(st, side, price):
    if side == BUY:
        ba = st.hdr[H_BEST_ASK]
        return ba != NO_PRICE and price >= ba
    bb = st.hdr[H_BEST_BID]
    return bb != NO_PRICE and price <= bb


@numba.njit(**NJIT_INLINE)
def _limit_nb(st, fills, nfill, order_id, side, price, qty, owner, time, post_only):
    """One limit order. Returns (status, filled, rested, nfill)."""
    if hm_find_nb(st, order_id) != NO_ORDER:
        return STATUS_DUPLICATE_ID, 0, 0, nfill
    crosses = _crosses_nb(st, side, price)
    if crosses and post_only:
        return STATUS_POST_ONLY_REJECT, 0, 0, nfill
    fillable = 0
    if crosses:
        fillable, _ = _dry_match_nb(st, side, price, qty)
    rests = qty > fillable
    if rests:
        if fillable == 0 and st.hdr[H_FREE] == NO_ORDER:
            return STATUS_ORDER_TABLE_FULL, 0, 0, nfill
        if not _can_place_nb(st, price):
            return STATUS_OUT_OF_WINDOW, 0, 0, nfill
    filled = 0
    if crosses:
        if not _fill_room_nb(st, fills, nfill, side, price, qty):
            return STATUS_FILL_BUFFER_FULL, 0, 0, nfill
        filled, nfill = _match_nb(st, fills, nfill, side, price, qty, owner, order_id, time)
    rested = qty - filled
    if rested > 0:
        _rest_nb(st, order_id, side, price, rested, owner, time)
    return STATUS_OK, filled, rested, nfill


@numba.njit(**NJIT_INLINE)
def _market_nb(st, fills, nfill, order_id, side, qty, owner, time):
    if not _fill_room_nb(st, fills, nfill, side, NO_PRICE, qty):
        return STATUS_FILL_BUFFER_FULL, 0, 0, nfill
    filled, nfill = _match_nb(st, fills, nfill, side, NO_PRICE, qty, owner, order_id, time)
    status = STATUS_OK if filled == qty else STATUS_PARTIAL
    return status, filled, 0, nfill


@numba.njit(**NJIT_INLINE)
def cancel_nb(st, order_id):
    """Cancel a resting order. Returns True if it was resting."""
    slot = hm_find_nb(st, order_id)
    if slot == NO_ORDER:
        return False
    _unlink_order_nb(st, slot)
    return True


@numba.njit(**NJIT_INLINE)
def _reduce_nb(st, order_id, qty):
    """Remove ``qty`` lots from a resting order, keeping its place; reducing to zero or below cancels."""
    slot = hm_find_nb(st, order_id)
    if slot == NO_ORDER:
        return STATUS_UNKNOWN_ORDER
    if qty >= st.o_qty[slot]:
        _unlink_order_nb(st, slot)
        return STATUS_OK
    st.o_qty[slot] -= qty
    s = st.o_price[slot] & (st.hdr[H_WINDOW] - 1)
    if st.o_side[slot] == BUY:
        st.bid_qty[s] -= qty
    else:
        st.ask_qty[s] -= qty
    return STATUS_OK


@numba.njit(**NJIT_INLINE)
def apply_event_nb(st, fills, nfill, etype, side, price, qty, owner, order_id, time):
    """Apply one event. Returns (status, filled, rested, nfill).

    Fatal statuses (table or buffer full) leave the book exactly as it was.
    """
    if etype == EV_LIMIT or etype == EV_LIMIT_POST_ONLY:
        if qty <= 0 or (side != BUY and side != SELL) or order_id < 0:
            return STATUS_BAD_EVENT, 0, 0, nfill
        return _limit_nb(
            st, fills, nfill, order_id, side, price, qty, owner, time, etype == EV_LIMIT_POST_ONLY
        )
    if etype == EV_MARKET:
        if qty <= 0 or (side != BUY and side != SELL):
            return STATUS_BAD_EVENT, 0, 0, nfill
        return _market_nb(st, fills, nfill, order_id, side, qty, owner, time)
    if etype == EV_CANCEL:
        ok = cancel_nb(st, order_id)
        return (STATUS_OK if ok else STATUS_UNKNOWN_ORDER), 0, 0, nfill
    if etype == EV_REDUCE:
        if qty <= 0:
            return STATUS_BAD_EVENT, 0, 0, nfill
        return _reduce_nb(st, order_id, qty), 0, 0, nfill
    if etype == EV_REPLACE:
        slot = hm_find_nb(st, order_id)
        if slot == NO_ORDER:
            return STATUS_UNKNOWN_ORDER, 0, 0, nfill
        o_side = st.o_side[slot]
        o_owner = st.o_owner[slot]
        new_qty = qty if qty > 0 else st.o_qty[slot]
        # check everything the new order needs before cancelling the old one
        crosses = _crosses_nb(st, o_side, price)
        fillable = 0
        if crosses:
            fillable, _ = _dry_match_nb(st, o_side, price, new_qty)
            if not _fill_room_nb(st, fills, nfill, o_side, price, new_qty):
                return STATUS_FILL_BUFFER_FULL, 0, 0, nfill
        if new_qty > fillable and not _can_place_nb(st, price):
            return STATUS_OUT_OF_WINDOW, 0, 0, nfill
        _unlink_order_nb(st, slot)  # frees a slot, so the table has room for the new order
        return _limit_nb(st, fills, nfill, order_id, o_side, price, new_qty, o_owner, time, False)
    if etype == EV_NOOP:
        return STATUS_OK, 0, 0, nfill
    return STATUS_BAD_EVENT, 0, 0, nfill


@numba.njit(**NJIT_HOT)
def apply_event_call_nb(st, fills, nfill, etype, side, price, qty, owner, order_id, time):
    """``apply_event_nb`` behind a real call boundary, for kernels such as the market step that handle a few
    dozen events per call: they compile in seconds instead of inlining the whole book (~30 ns per call)."""
    return apply_event_nb(st, fills, nfill, etype, side, price, qty, owner, order_id, time)


@numba.njit(**NJIT_HOT)
def process_events_nb(st, events, fills, nfill, results):
    """Apply ``events`` in order; fills are appended to ``fills`` from index ``nfill``.

    Returns ``(n_done, nfill, status)``: ``n_done`` events were applied; ``status`` is STATUS_OK, or the fatal
    status of event ``n_done`` which was *not* applied (the book is as it was after event ``n_done - 1``).
    ``results[i]`` holds the status, filled and rested lots of event ``i``.
    """
    n = events.shape[0]
    for i in range(n):
        e = events[i]
        status, filled, rested, nfill2 = apply_event_nb(
            st, fills, nfill, e.type, e.side, e.price, e.qty, e.owner, e.order_id, e.time
        )
        if status >= STATUS_ORDER_TABLE_FULL:
            return i, nfill, status
        nfill = nfill2
        r = results[i]
        r.status = status
        r.filled = filled
        r.rested = rested
    return n, nfill, STATUS_OK


# ---------------------------------------------------------------------------------------------------------------
# queries


@numba.njit(**NJIT_HOT)
def best_bid_nb(st):
    return st.hdr[H_BEST_BID]


@numba.njit(**NJIT_HOT)
def best_ask_nb(st):
    return st.hdr[H_BEST_ASK]


@numba.njit(**NJIT_HOT)
def mid_ticks_nb(st):
    """(best bid + best ask) / 2 in ticks; the last two-sided mid when a side is empty; NaN if never two-sided."""
    m2 = st.hdr[H_LAST_MID2]
    if m2 == NO_PRICE:
        return np.nan
    return m2 * 0.5


@numba.njit(**NJIT_HOT)
def depth_nb(st, side, n_levels, out_price, out_qty):
    """Top ``n_levels`` non-empty levels of one side, best first, into ``out_price``/``out_qty``.

    Returns the number of levels written (fewer when the side is shallower).
    """
    mask = st.hdr[H_WINDOW] - 1
    k = 0
    if side == BUY:
        p = st.hdr[H_BEST_BID]
        if p == NO_PRICE:
            return 0
        lo = st.hdr[H_LO]
        left = st.hdr[H_N_BID_LV]
        while k < n_levels and left > 0 and p >= lo:
            s = p & mask
            if st.bid_cnt[s] > 0:
                out_price[k] = p
                out_qty[k] = st.bid_qty[s]
                k += 1
                left -= 1
            p -= 1
    else:
        p = st.hdr[H_BEST_ASK]
        if p == NO_PRICE:
            return 0
        hi = st.hdr[H_LO] + st.hdr[H_WINDOW]
        left = st.hdr[H_N_ASK_LV]
        while k < n_levels and left > 0 and p < hi:
            s = p & mask
            if st.ask_cnt[s] > 0:
                out_price[k] = p
                out_qty[k] = st.ask_qty[s]
                k += 1
                left -= 1
            p += 1
    return k


@numba.njit(**NJIT_HOT)
def imbalance_nb(st, n_levels):
    """Order-book imbalance over the top ``n_levels`` non-empty levels of each side.

    ``(V_bid - V_ask) / (V_bid + V_ask)`` where ``V`` is the resting quantity on those levels; in [-1, 1];
    +1 = only bids, 0 when the book is empty.
    """
    mask = st.hdr[H_WINDOW] - 1
    vb = 0
    va = 0
    p = st.hdr[H_BEST_BID]
    if p != NO_PRICE:
        lo = st.hdr[H_LO]
        k = 0
        left = st.hdr[H_N_BID_LV]
        while k < n_levels and left > 0 and p >= lo:
            s = p & mask
            if st.bid_cnt[s] > 0:
                vb += st.bid_qty[s]
                k += 1
                left -= 1
            p -= 1
    p = st.hdr[H_BEST_ASK]
    if p != NO_PRICE:
        hi = st.hdr[H_LO] + st.hdr[H_WINDOW]
        k = 0
        left = st.hdr[H_N_ASK_LV]
        while k < n_levels and left > 0 and p < hi:
            s = p & mask
            if st.ask_cnt[s] > 0:
                va += st.ask_qty[s]
                k += 1
                left -= 1
            p += 1
    tot = vb + va
    if tot == 0:
        return 0.0
    return (vb - va) / tot


@numba.njit(**NJIT_HOT)
def queue_position_nb(st, order_id):
    """(lots ahead, orders ahead) of a resting order in its level's FIFO; (-1, -1) if not resting."""
    slot = hm_find_nb(st, order_id)
    if slot == NO_ORDER:
        return -1, -1
    ahead = 0
    rank = 0
    o = st.o_prev[slot]
    while o != NO_ORDER:
        ahead += st.o_qty[o]
        rank += 1
        o = st.o_prev[o]
    return ahead, rank


@numba.njit(**NJIT_HOT)
def level_qty_nb(st, side, price):
    """Total resting lots at ``price`` on ``side`` (0 outside the window)."""
    if not _fits_nb(st, price):
        return 0
    s = price & (st.hdr[H_WINDOW] - 1)
    if side == BUY:
        return st.bid_qty[s]
    return st.ask_qty[s]


@numba.njit(**NJIT_HOT)
def owner_orders_nb(st, owner, out_ids):
    """Write the ids of ``owner``'s resting orders into ``out_ids``; returns how many (may exceed the array)."""
    k = 0
    for slot in range(st.o_id.shape[0]):
        if st.o_id[slot] >= 0 and st.o_owner[slot] == owner:
            if k < out_ids.shape[0]:
                out_ids[k] = st.o_id[slot]
            k += 1
    return k


# ---------------------------------------------------------------------------------------------------------------
# invariant checker


@numba.njit(**NJIT)
def _check_queue_nb(st, seen, price, side, head, tail, cnt, tot):
    """Walk one level's FIFO, marking its orders in ``seen``. Returns (breach code or 0, orders on the level)."""
    cap = st.o_id.shape[0]
    o = head
    k = 0
    q = 0
    prev = NO_ORDER
    while o != NO_ORDER:
        if o < 0 or o >= cap or seen[o]:
            return 6, k
        seen[o] = True
        if st.o_prev[o] != prev:
            return 4, k
        if st.o_price[o] != price or st.o_side[o] != side or st.o_id[o] < 0:
            return 5, k
        if st.o_qty[o] <= 0:
            return 8, k
        q += st.o_qty[o]
        k += 1
        prev = o
        o = st.o_next[o]
        if k > cap:
            return 4, k
    if prev != tail:
        return 4, k
    if k != cnt:
        return 3, k
    if q != tot:
        return 2, k
    return 0, k


@numba.njit(**NJIT)
def _check_levels_nb(st, seen):
    """Every level of the window against its queue, and the header's counters and best prices against the levels.
    Returns (breach code or 0, resting orders seen)."""
    hdr = st.hdr
    w = hdr[H_WINDOW]
    mask = w - 1
    lo = hdr[H_LO]
    n_seen = 0
    nb_lv = 0
    na_lv = 0
    best_b = NO_PRICE
    best_a = NO_PRICE
    for p in range(lo, lo + w):
        s = p & mask
        for side in (BUY, SELL):
            if side == BUY:
                code, k = _check_queue_nb(
                    st, seen, p, side, st.bid_head[s], st.bid_tail[s], st.bid_cnt[s], st.bid_qty[s]
                )
            else:
                code, k = _check_queue_nb(
                    st, seen, p, side, st.ask_head[s], st.ask_tail[s], st.ask_cnt[s], st.ask_qty[s]
                )
            if code != 0:
                return code, n_seen
            n_seen += k
            if k > 0:
                if side == BUY:
                    nb_lv += 1
                    best_b = p
                else:
                    na_lv += 1
                    if best_a == NO_PRICE:
                        best_a = p
    if n_seen != hdr[H_N_LIVE]:
        return 6, n_seen
    if nb_lv != hdr[H_N_BID_LV] or na_lv != hdr[H_N_ASK_LV]:
        return 9, n_seen
    if best_b != hdr[H_BEST_BID] or best_a != hdr[H_BEST_ASK]:
        return 7, n_seen
    if best_b != NO_PRICE and best_a != NO_PRICE and best_b >= best_a:
        return 1, n_seen
    return 0, n_seen


@numba.njit(**NJIT)
def _check_ids_nb(st, seen, n_seen):
    """Every live order findable by id; the free list holds exactly the other slots. Returns 0 or 6."""
    cap = st.o_id.shape[0]
    n_hash = 0
    for i in range(st.hm_keys.shape[0]):
        if st.hm_keys[i] != HASH_EMPTY:
            n_hash += 1
            slot = st.hm_vals[i]
            if slot < 0 or slot >= cap or not seen[slot] or st.o_id[slot] != st.hm_keys[i]:
                return 6
    if n_hash != n_seen:
        return 6
    f = st.hdr[H_FREE]
    n_free = 0
    while f != NO_ORDER:
        if f < 0 or f >= cap or seen[f]:
            return 6
        seen[f] = True
        n_free += 1
        f = st.o_next[f]
        if n_free > cap:
            return 6
    if n_free + n_seen != cap:
        return 6
    return 0


@numba.njit(**NJIT)
def check_nb(st):
    """Verify every structural invariant. Returns 0 when the book is sound, else a code naming the first breach.

    1 crossed book; 2 level qty != sum of its orders; 3 level count != list length; 4 broken prev/next links;
    5 order on the wrong level/side or outside the window; 6 orphaned or duplicated order (live count, hash
    table or free list disagree); 7 best bid/ask not the extreme non-empty level; 8 non-positive resting qty;
    9 non-empty-level counters wrong.
    """
    seen = np.zeros(st.o_id.shape[0], np.bool_)
    code, n_seen = _check_levels_nb(st, seen)
    if code != 0:
        return code
    return _check_ids_nb(st, seen, n_seen)


CHECK_MESSAGES = {
    0: "ok",
    1: "book is crossed",
    2: "a level's total differs from the sum of its orders",
    3: "a level's order count differs from its queue length",
    4: "broken FIFO links",
    5: "an order sits on the wrong level, side or outside the window",
    6: "orphaned or duplicated order (live count, id table or free list disagree)",
    7: "best bid/ask is not the extreme non-empty level",
    8: "a resting order has non-positive quantity",
    9: "non-empty level counters are wrong",
}
