"""Independent invariant checker for the compiled book, written in Python/numpy from the raw arrays.

It does not call ``check_nb``: both exist so that a bug in one cannot hide a bug in the book.
"""

from __future__ import annotations

import numpy as np

from almm_rllib.core import book_nb as nb
from almm_rllib.core.schema import BUY, NO_ORDER, NO_PRICE, SELL


def check_book_state(st) -> None:
    hdr = st.hdr
    w = int(hdr[nb.H_WINDOW])
    lo = int(hdr[nb.H_LO])
    live = np.flatnonzero(st.o_id >= 0)
    assert len(live) == hdr[nb.H_N_LIVE], "live order count disagrees with the table"
    assert np.all(st.o_qty[live] > 0), "resting order with non-positive quantity"
    prices = st.o_price[live]
    assert np.all((prices >= lo) & (prices < lo + w)), "resting order outside the tick window"
    # ids unique and findable through the hash table
    ids = st.o_id[live]
    assert len(np.unique(ids)) == len(ids), "duplicated order id"
    keys = st.hm_keys[st.hm_keys >= 0]
    assert sorted(keys.tolist()) == sorted(ids.tolist()), "id table does not match the live orders"
    for k, slot in zip(st.hm_keys, st.hm_vals, strict=True):
        if k >= 0:
            assert st.o_id[slot] == k, "id table points at the wrong slot"
    # per side: level totals and counts equal the sums of their orders; walking the FIFOs reaches every order once
    seen = np.zeros(st.o_id.shape[0], bool)
    best = {}
    for side, head, tail, lqty, lcnt, nlv in (
        (BUY, st.bid_head, st.bid_tail, st.bid_qty, st.bid_cnt, nb.H_N_BID_LV),
        (SELL, st.ask_head, st.ask_tail, st.ask_qty, st.ask_cnt, nb.H_N_ASK_LV),
    ):
        mine = live[st.o_side[live] == side]
        slots = st.o_price[mine] & (w - 1)
        want_qty = np.bincount(slots, weights=st.o_qty[mine], minlength=w).astype(np.int64)
        want_cnt = np.bincount(slots, minlength=w)
        assert np.array_equal(want_qty, lqty), (
            f"side {side}: a level's total differs from the sum of its orders"
        )
        assert np.array_equal(want_cnt, lcnt), f"side {side}: a level's count differs from its orders"
        assert int(np.count_nonzero(lcnt)) == hdr[nlv], f"side {side}: non-empty level counter wrong"
        for s in np.flatnonzero(lcnt):
            o, prev, n = head[s], NO_ORDER, 0
            while o != NO_ORDER:
                assert not seen[o], "order reached twice"
                seen[o] = True
                assert st.o_prev[o] == prev, "broken back link"
                assert st.o_side[o] == side and (st.o_price[o] & (w - 1)) == s, "order on the wrong level"
                prev, o, n = o, st.o_next[o], n + 1
            assert prev == tail[s] and n == lcnt[s], "FIFO tail or length wrong"
        assert np.all(head[lcnt == 0] == NO_ORDER), "empty level with a head"
        best[side] = (
            (prices[st.o_side[live] == side].max() if side == BUY else prices[st.o_side[live] == side].min())
            if len(mine)
            else NO_PRICE
        )
    assert seen.sum() == len(live), "orphaned order (in the table, on no level)"
    assert hdr[nb.H_BEST_BID] == best[BUY], "best bid is not the highest bid"
    assert hdr[nb.H_BEST_ASK] == best[SELL], "best ask is not the lowest ask"
    if best[BUY] != NO_PRICE and best[SELL] != NO_PRICE:
        assert best[BUY] < best[SELL], "book is crossed"
    # free list holds exactly the other slots
    f, n_free = int(hdr[nb.H_FREE]), 0
    while f != NO_ORDER:
        assert not seen[f] and st.o_id[f] < 0, "free list holds a live or repeated slot"
        seen[f] = True
        f, n_free = int(st.o_next[f]), n_free + 1
    assert n_free + len(live) == st.o_id.shape[0], "slots lost from the free list"
