"""The compiled order book against a slow reference, its invariants, and hand-written edge cases."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from almm_rllib import LimitOrderBook, Order
from almm_rllib.core import book_nb as nb
from almm_rllib.core.book import BookError
from almm_rllib.core.schema import (
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_LIMIT_POST_ONLY,
    EV_MARKET,
    EV_REDUCE,
    EV_REPLACE,
    EVENT_DTYPE,
    FILL_DTYPE,
    NO_PRICE,
    RESULT_DTYPE,
    SELL,
    STATUS_FILL_BUFFER_FULL,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
    STATUS_OUT_OF_WINDOW,
    STATUS_PARTIAL,
    STATUS_POST_ONLY_REJECT,
    STATUS_UNKNOWN_ORDER,
)
from almm_rllib.core.streams import random_event_stream

from .reference.book_ref import RefBook
from .reference.invariants import check_book_state
from .reference.trace_nb import trace_nb

FILL_FIELDS = (
    "time",
    "price",
    "qty",
    "maker_order_id",
    "taker_order_id",
    "maker_owner",
    "taker_owner",
    "aggressor",
)


def test_jit_is_on():
    # pickling and speed are only meaningful with the JIT on
    assert not numba.config.DISABLE_JIT
    assert isinstance(nb.apply_event_nb, numba.core.registry.CPUDispatcher)


# --------------------------------------------------------------------------------------------------------------
# differential machinery


def _apply_both(st, ref, fills, e):
    """Apply one event to the compiled book and the reference; compare everything observable."""
    status, filled, rested, nfill = nb.apply_event_nb(
        st, fills, 0, e["type"], e["side"], e["price"], e["qty"], e["owner"], e["order_id"], e["time"]
    )
    total_before = ref.total_qty()
    cancelled = 0
    if e["type"] in (EV_CANCEL, EV_REPLACE, EV_REDUCE) and e["order_id"] in ref.orders:
        cancelled = ref.orders[e["order_id"]][2]
        if e["type"] == EV_REDUCE:
            cancelled = min(cancelled, e["qty"])
    r_status, r_filled, r_rested, r_fills = ref.apply(
        int(e["type"]),
        int(e["side"]),
        int(e["price"]),
        int(e["qty"]),
        int(e["owner"]),
        int(e["order_id"]),
        float(e["time"]),
    )
    assert (status, filled, rested) == (r_status, r_filled, r_rested), e
    got = [tuple(f[k].item() for k in FILL_FIELDS) for f in fills[:nfill]]
    assert got == r_fills, e
    # every fill conserves quantity: what the taker got is what the makers lost
    assert sum(f[2] for f in r_fills) == filled
    if status < STATUS_ORDER_TABLE_FULL and e["type"] != EV_REPLACE:
        assert ref.total_qty() == total_before + rested - filled - cancelled
    return status


def _compare_state(st, ref, order_ids=()):
    bb, ba = nb.best_bid_nb(st), nb.best_ask_nb(st)
    assert bb == (ref.best(BUY) if ref.best(BUY) is not None else NO_PRICE)
    assert ba == (ref.best(SELL) if ref.best(SELL) is not None else NO_PRICE)
    m = nb.mid_ticks_nb(st)
    assert (np.isnan(m) and ref.mid2() is None) or m * 2 == ref.mid2()
    p = np.zeros(5, np.int64)
    q = np.zeros(5, np.int64)
    for side in (BUY, SELL):
        k = nb.depth_nb(st, side, 5, p, q)
        assert list(zip(p[:k].tolist(), q[:k].tolist(), strict=True)) == ref.depth(side, 5)
    assert nb.imbalance_nb(st, 3) == pytest.approx(ref.imbalance(3), abs=1e-12)
    for oid in order_ids:
        assert tuple(nb.queue_position_nb(st, oid)) == ref.queue_position(oid)


_event = hs.tuples(
    hs.sampled_from(
        [EV_LIMIT, EV_LIMIT, EV_LIMIT, EV_LIMIT_POST_ONLY, EV_MARKET, EV_CANCEL, EV_REDUCE, EV_REPLACE]
    ),
    hs.sampled_from([BUY, SELL]),
    hs.integers(-12, 12),  # price offset from 100
    hs.integers(1, 6),
    hs.integers(0, 3),
    hs.integers(1, 25),  # order id: small range so cancels/replaces hit live orders and duplicates happen
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.lists(_event, min_size=1, max_size=60), hs.sampled_from([16, 32, 4096]), hs.integers(4, 40))
def test_differential_hypothesis(events, window, capacity):
    """Random streams, small windows (re-centring and refusals) and small tables: identical after every event."""
    st = nb.new_book_state(capacity, window, 100)
    ref = RefBook(window=window, capacity=capacity)
    fills = np.zeros(64, FILL_DTYPE)
    for t, (etype, side, dp, qty, owner, oid) in enumerate(events):
        e = np.zeros(1, EVENT_DTYPE)[0]
        e["type"], e["side"], e["price"], e["qty"] = etype, side, 100 + dp, qty
        e["owner"], e["order_id"], e["time"] = owner, oid, float(t)
        if etype == EV_MARKET:
            e["price"] = NO_PRICE
        if etype == EV_REPLACE and t % 2:
            e["qty"] = 0  # keep size
        _apply_both(st, ref, fills, e)
        check_book_state(st)
        assert nb.check_nb(st) == 0
        ref.check()
        _compare_state(st, ref, order_ids=range(1, 26))


def test_differential_seeded_stream_with_drift():
    """20k events with a drifting price and a small window: every event compared with the reference, the
    compiled invariant checker after each event, the independent Python checker (which walks the whole
    5,000-slot order table and free list, ~15 ms an event) after every 20th and at the end."""
    ev = random_event_stream(20_000, seed=7, centre=500, drift_every=50)
    st = nb.new_book_state(5_000, 64, 500)
    ref = RefBook(window=64, capacity=5_000)
    fills = np.zeros(4096, FILL_DTYPE)
    n_out = 0
    for i, e in enumerate(ev):
        n_out += _apply_both(st, ref, fills, e) == STATUS_OUT_OF_WINDOW
        assert nb.check_nb(st) == 0, (i, e)
        if i % 20 == 0:
            check_book_state(st)
        _compare_state(st, ref, order_ids=(int(e["order_id"]),))
    check_book_state(st)
    assert st.hdr[nb.H_N_RECENTRE] > 0  # the window moved with the price
    assert nb.check_nb(st) == 0


def _ref_trace(ref, events, depth_n):
    n = len(events)
    best = np.zeros((n, 2), np.int64)
    depth = np.zeros((n, 2, depth_n, 2), np.int64)
    qpos = np.zeros((n, 2), np.int64)
    res = np.zeros((n, 3), np.int64)
    fills = []
    for i, e in enumerate(events.tolist()):
        t, et, sd, pr, q, ow, oid = e
        s, f, r, fl = ref.apply(et, sd, pr, q, ow, oid, t)
        res[i] = (s, f, r)
        fills.extend(fl)
        bb, ba = ref.best(BUY), ref.best(SELL)
        best[i] = (NO_PRICE if bb is None else bb, NO_PRICE if ba is None else ba)
        for si, side in enumerate((BUY, SELL)):
            for j, (p, qq) in enumerate(ref.depth(side, depth_n)):
                depth[i, si, j] = (p, qq)
        qpos[i] = ref.queue_position(oid)
    return best, depth, qpos, res, fills


def _mixed_stream(n, seed, **stream_kw):
    """``random_event_stream`` (limits, markets, cancels) with every other event type mixed in, seeded: a tenth
    of the limits become post-only, a quarter of the cancels reduces (1 + geometric lots) and a quarter
    replaces (a price near the latest limit's, half of them keeping their size)."""
    ev = random_event_stream(n, seed, **stream_kw)
    rng = np.random.default_rng(seed + 1_000_003)
    u = rng.random(n)
    lim = ev["type"] == EV_LIMIT
    ev["type"][lim & (u < 0.1)] = EV_LIMIT_POST_ONLY
    can = ev["type"] == EV_CANCEL
    red = can & (u < 0.25)
    rep = can & (u >= 0.25) & (u < 0.5)
    ev["type"][red] = EV_REDUCE
    ev["qty"][red] = rng.geometric(0.3, n)[red]
    last_limit = np.maximum.accumulate(np.where(ev["price"] != NO_PRICE, np.arange(n), 0))
    ev["type"][rep] = EV_REPLACE
    ev["price"][rep] = ev["price"][last_limit][rep] + rng.integers(-3, 4, n)[rep]
    ev["qty"][rep] = np.where(rng.random(n) < 0.5, 0, rng.geometric(0.3, n))[rep]
    return ev


def _differential(ev, capacity, window, centre, check_every=1, depth_n=3, chunk=50_000):
    """Stream ``ev`` through the compiled book and the reference: fills, statuses, best prices, depth and the
    event's queue position equal after every event; ``check_nb`` after every ``check_every`` events. An event
    the compiled book refuses as fatal (order table full) must be refused by the reference too, and both books
    go on with the next event. Returns (book state, reference, statuses, n fills, n refused as table full)."""
    st = nb.new_book_state(capacity, window, centre)
    ref = RefBook(window=window, capacity=capacity)
    statuses = np.zeros(len(ev), np.int64)
    n_fills_total = n_full = 0
    for c0 in range(0, len(ev), chunk):
        e_all = ev[c0 : c0 + chunk]
        m = len(e_all)
        fills = np.zeros(2 * m, FILL_DTYPE)
        results = np.zeros(m, RESULT_DTYPE)
        best = np.zeros((m, 2), np.int64)
        depth = np.zeros((m, 2, depth_n, 2), np.int64)
        qpos = np.zeros((m, 2), np.int64)
        pos = 0
        while pos < m:
            e = e_all[pos:]
            n_done, nfill, status, bad, code = trace_nb(
                st, e, fills, results[pos:], best[pos:], depth[pos:], qpos[pos:], check_every
            )
            assert (bad, code) == (-1, 0), (c0 + pos + bad, e[bad], nb.CHECK_MESSAGES.get(code))
            assert status in (STATUS_OK, STATUS_ORDER_TABLE_FULL), (status, e[n_done])
            r_best, r_depth, r_qpos, r_res, r_fills = _ref_trace(ref, e[:n_done], depth_n)
            at = f"events {c0 + pos}..{c0 + pos + n_done}"
            np.testing.assert_array_equal(best[pos : pos + n_done], r_best, err_msg=at)
            np.testing.assert_array_equal(depth[pos : pos + n_done], r_depth, err_msg=at)
            np.testing.assert_array_equal(qpos[pos : pos + n_done], r_qpos, err_msg=at)
            got_res = results[pos : pos + n_done]
            np.testing.assert_array_equal(
                np.stack([got_res[k] for k in ("status", "filled", "rested")], 1), r_res, err_msg=at
            )
            got = fills[:nfill]
            assert nfill == len(r_fills), at
            for j, k in enumerate(FILL_FIELDS):
                np.testing.assert_array_equal(
                    got[k], np.array([f[j] for f in r_fills], dtype=got[k].dtype), err_msg=at
                )
            statuses[c0 + pos : c0 + pos + n_done] = r_res[:, 0]
            n_fills_total += nfill
            pos += n_done
            if status == STATUS_ORDER_TABLE_FULL:
                x = e[n_done]
                r = ref.apply(
                    *(int(x[k]) for k in ("type", "side", "price", "qty", "owner", "order_id")), 0.0
                )
                assert r == (STATUS_ORDER_TABLE_FULL, 0, 0, []), (c0 + pos, x, r)
                assert st.hdr[nb.H_N_LIVE] == capacity == len(ref.orders)
                statuses[c0 + pos] = status
                n_full += 1
                pos += 1
    assert nb.check_nb(st) == 0
    check_book_state(st)
    ref.check()
    return st, ref, statuses, n_fills_total, n_full


_STREAMS = {
    # name: (events, seed, random_event_stream options, order-table capacity, tick window, window centre)
    # a deep book: orders far from the touch, tens of levels a side, thousands resting, ids wrapping the id table
    "deep": (60_000, 2024, {"dist_p": 0.08}, 1 << 13, 1024, 10_000),
    # a drifting price in a small window: re-centring, refusals, prices wrapping around the ring of levels
    "drift": (50_000, 7, {"centre": 500, "drift_every": 10}, 4_096, 64, 500),
    # a small order table that fills up: refused orders, the free list emptied and refilled
    "full": (50_000, 11, {"max_pool": 2_000}, 600, 256, 10_000),
}


@pytest.mark.parametrize("name", list(_STREAMS))
def test_differential_streams(name):
    """Seeded streams of every event type: fills, statuses, best prices, depth and queue positions after every
    event equal the reference's, and the compiled invariant checker passes after every event. Each stream is
    sized to reach the corner it is named for (asserted below, so that a change of the stream generator cannot
    quietly make the test easier)."""
    n, seed, kw, capacity, window, centre = _STREAMS[name]
    ev = _mixed_stream(n, seed, **kw)
    assert set(np.unique(ev["type"]).tolist()) == {
        EV_LIMIT,
        EV_LIMIT_POST_ONLY,
        EV_MARKET,
        EV_CANCEL,
        EV_REDUCE,
        EV_REPLACE,
    }
    st, ref, statuses, n_fills, n_full = _differential(ev, capacity, window, centre, check_every=1)
    counts = np.bincount(statuses, minlength=STATUS_ORDER_TABLE_FULL + 1)
    assert n_fills > n // 10  # the stream really trades
    for s in (STATUS_OK, STATUS_POST_ONLY_REJECT, STATUS_UNKNOWN_ORDER):
        assert counts[s] > 0, (name, s, counts)
    ring_turns = np.unique(ev["price"][ev["price"] != NO_PRICE] // window)
    if name == "deep":
        assert st.hdr[nb.H_N_LIVE] > 2_000 and min(st.hdr[nb.H_N_BID_LV], st.hdr[nb.H_N_ASK_LV]) > 30
        assert ev["order_id"].max() > 2 * st.hm_keys.shape[0]  # ids wrap around the id hash table
    if name == "drift":
        assert st.hdr[nb.H_N_RECENTRE] > 0 and counts[STATUS_OUT_OF_WINDOW] > 100
        assert len(ring_turns) >= 2 and counts[STATUS_PARTIAL] > 0  # prices wrap around the ring of levels
    if name == "full":
        assert n_full > 100 and counts[STATUS_OK] > n // 2 and counts[STATUS_PARTIAL] > 0
        assert len(ring_turns) >= 2


@pytest.mark.slow
def test_differential_long_stream():
    """The seeded long stream, 50k events by default (1e6 with ALMM_LONG_TESTS=1): everything observable after
    every event equals the reference's; the compiled invariant checker (a walk of the whole 200,000-slot table)
    after every 10th event."""
    n = 1_000_000 if os.environ.get("ALMM_LONG_TESTS") == "1" else 50_000
    ev = random_event_stream(n, seed=2024)  # limits, markets and cancels around a fixed price
    st, ref, statuses, n_fills, n_full = _differential(
        ev, 200_000, 4096, 10_000, check_every=10, chunk=100_000
    )
    assert n_full == 0 and n_fills > n // 10  # the stream really trades
    counts = np.bincount(statuses)
    assert counts[STATUS_OK] > 0 and counts[STATUS_UNKNOWN_ORDER] > 0
    assert st.hdr[nb.H_N_LIVE] > 500


# --------------------------------------------------------------------------------------------------------------
# scenarios through the facade


@pytest.fixture
def book():
    return LimitOrderBook(tick_size=0.01, lot_size=10, initial_price=100.0, capacity=64, window=64)


def test_empty_book(book):
    assert book.get_best_bid() is None and book.get_best_ask() is None
    assert book.get_midprice() is None and book.get_spread() is None
    assert book.get_order_book_imbalance() == 0.0
    assert book.get_depth(3) == {"bids": [], "asks": []}
    assert book.submit_order(Order("buy", 10, None)) == []
    assert book.last_status.startswith("market order partly filled") and book.last_filled == 0
    assert book.cancel_order(12345) is False
    assert book.get_queue_position(1) is None
    book.check()


def test_limit_cross_fills_at_resting_prices_and_rests_remainder(book):
    book.submit_order(Order("sell", 20, 100.01, owner=1, order_id=1))
    book.submit_order(Order("sell", 30, 100.02, owner=2, order_id=2))
    fills = book.submit_order(Order("buy", 70, 100.02, owner=3, order_id=3))
    assert [(f.price, f.quantity, f.maker_order_id, f.maker_owner) for f in fills] == [
        (100.01, 20, 1, 1),
        (100.02, 30, 2, 2),
    ]
    assert all(f.taker_owner == 3 and f.aggressor == "buy" for f in fills)
    assert book.last_filled == 50 and book.last_rested == 20
    assert book.get_best_bid() == 100.02 and book.get_best_ask() is None
    assert book.get_midprice() is None  # never two-sided yet
    book.submit_order(Order("sell", 10, 100.05))
    book.submit_order(Order("buy", 20, None))
    assert book.get_best_ask() is None
    assert book.get_midprice() == pytest.approx(100.035)  # the last two-sided mid
    book.check()


def test_post_only_refused_when_crossing(book):
    book.submit_order(Order("sell", 10, 100.01, order_id=1))
    assert book.submit_order(Order("buy", 10, 100.01, post_only=True, order_id=2)) == []
    assert book.last_status == "post-only order would cross"
    assert book.get_order(2) is None and book.get_order(1)["quantity"] == 10
    assert book.submit_order(Order("buy", 10, 100.00, post_only=True, order_id=3)) == []
    assert book.get_order(3)["price"] == 100.00


def test_market_order_larger_than_book_reports_partial(book):
    book.submit_order(Order("buy", 10, 99.99))
    book.submit_order(Order("buy", 20, 99.98))
    fills = book.submit_order(Order("sell", 100, None, owner=7))
    assert sum(f.quantity for f in fills) == 30
    assert [f.price for f in fills] == [99.99, 99.98]
    assert book.last_filled == 30 and book.last_status == "market order partly filled: book ran dry"
    assert book.get_best_bid() is None and book.n_orders == 0
    book.check()


def test_cancel_partly_filled_order(book):
    book.submit_order(Order("sell", 50, 100.05, order_id=9))
    book.submit_order(Order("buy", 20, None))
    assert book.get_order(9)["quantity"] == 30
    assert book.cancel_order(9) is True
    assert book.cancel_order(9) is False
    assert book.get_best_ask() is None and book.n_orders == 0
    book.check()


def test_fifo_reduce_keeps_priority_replace_loses_it(book):
    for oid in (1, 2, 3):
        book.submit_order(Order("buy", 20, 99.95, order_id=oid, owner=oid))
    assert book.get_queue_position(3) == (40, 2)
    assert book.reduce_order(1, 10) is True  # keeps its place at the front
    assert book.get_queue_position(1) == (0, 0)
    assert book.get_queue_position(3) == (30, 2)
    book.replace_order(1, 99.95)  # same price, but loses priority
    assert book.get_queue_position(1) == (40, 2)
    fills = book.submit_order(Order("sell", 30, None))
    assert [(f.maker_order_id, f.quantity) for f in fills] == [(2, 20), (3, 10)]
    book.replace_order(3, 99.97, 30)  # new price and size
    assert book.get_order(3) == {
        "order_id": 3,
        "side": "buy",
        "price": 99.97,
        "quantity": 30,
        "owner": 3,
        "time": book.get_order(3)["time"],
    }
    assert book.reduce_order(3, 30) is True and book.get_order(3) is None  # reduce to zero cancels
    book.check()


def test_replace_that_crosses_fills(book):
    book.submit_order(Order("sell", 10, 100.03, order_id=1))
    book.submit_order(Order("buy", 30, 100.00, order_id=2, owner=5))
    fills = book.replace_order(2, 100.03)
    assert [(f.maker_order_id, f.taker_order_id, f.taker_owner, f.quantity) for f in fills] == [(1, 2, 5, 10)]
    assert book.get_order(2)["quantity"] == 20 and book.get_best_bid() == 100.03
    with pytest.raises(BookError, match="not resting"):
        book.replace_order(77, 100.0)


def test_window_recentres_and_refuses_what_cannot_fit(book):
    # window of 64 ticks around 100.00
    book.submit_order(Order("buy", 10, 99.90, order_id=1))
    book.submit_order(Order("sell", 10, 100.20, order_id=2))  # outside [99.68, 100.32)? inside: fine
    n0 = int(book.state.hdr[nb.H_N_RECENTRE])
    book.submit_order(Order("sell", 10, 100.40, order_id=3))  # outside: window re-centres
    assert int(book.state.hdr[nb.H_N_RECENTRE]) == n0 + 1
    book.check()
    assert book.get_depth(5)["asks"] == [(100.20, 10), (100.40, 10)]
    with pytest.raises(BookError, match="window"):
        book.submit_order(Order("sell", 10, 100.60, order_id=4))  # 99.90..100.60 spans 71 ticks > 64
    assert book.get_order(4) is None
    book.cancel_order(1)
    book.submit_order(Order("sell", 10, 100.60, order_id=4))  # now 100.20..100.60 fits
    book.check()
    # the price keeps drifting: the window follows
    for i in range(200):
        book.cancel_order(1000 + i - 1)
        book.submit_order(Order("buy", 10, round(100.0 + i * 0.05, 2), order_id=1000 + i))
        if i > 10:
            book.cancel_order(2)
            book.cancel_order(3)
            book.cancel_order(4)
    book.check()
    assert book.get_best_bid() == pytest.approx(109.95)


def test_order_table_full_leaves_book_unchanged():
    b = LimitOrderBook(capacity=3, window=64)
    for i in range(3):
        b.submit_order(Order("buy", 1, 99.0 + i * 0.01, order_id=i))
    before = pickle.dumps(b.state)
    with pytest.raises(BookError, match="order table full"):
        b.submit_order(Order("buy", 1, 98.0, order_id=10))
    assert pickle.dumps(b.state) == before
    # an order that fills completely needs no slot
    b.submit_order(Order("sell", 1, 99.0, order_id=11))
    assert b.n_orders == 2
    b.check()


def test_fill_buffer_full_leaves_book_unchanged():
    b = LimitOrderBook(capacity=100, window=64, fill_capacity=4)
    for i in range(10):
        b.submit_order(Order("sell", 1, 100.0, order_id=i))
    before = pickle.dumps(b.state)
    with pytest.raises(BookError, match="fill buffer full"):
        b.submit_order(Order("buy", 5, None, order_id=50))
    assert pickle.dumps(b.state) == before
    assert len(b.submit_order(Order("buy", 4, None, order_id=51))) == 4
    b.check()


def test_batch_kernel_stops_before_fatal_event():
    st = nb.new_book_state(2, 64, 100)
    ev = np.zeros(4, EVENT_DTYPE)
    ev["type"] = EV_LIMIT
    ev["side"] = BUY
    ev["price"] = [99, 98, 97, 96]
    ev["qty"] = 1
    ev["order_id"] = [1, 2, 3, 4]
    fills = np.zeros(8, FILL_DTYPE)
    res = np.zeros(4, RESULT_DTYPE)
    n_done, nfill, status = nb.process_events_nb(st, ev, fills, 0, res)
    assert (n_done, nfill, status) == (2, 0, STATUS_ORDER_TABLE_FULL)
    assert nb.check_nb(st) == 0 and st.hdr[nb.H_N_LIVE] == 2
    b = LimitOrderBook(capacity=2, window=64, initial_price=1.0)
    with pytest.raises(BookError, match="event 2 could not be applied"):
        b.process_events(ev)
    st2 = nb.new_book_state(100, 64, 100)
    ev2 = ev.copy()
    ev2["type"] = [EV_LIMIT, EV_LIMIT, EV_MARKET, EV_MARKET]
    ev2["side"] = [SELL, SELL, BUY, BUY]
    ev2["price"] = [101, 101, NO_PRICE, NO_PRICE]
    n_done, nfill, status = nb.process_events_nb(st2, ev2, np.zeros(1, FILL_DTYPE), 0, res)
    assert (n_done, nfill, status) == (3, 1, STATUS_FILL_BUFFER_FULL)
    assert nb.check_nb(st2) == 0


def test_post_only_status_in_batch():
    st = nb.new_book_state(10, 64, 100)
    fills = np.zeros(8, FILL_DTYPE)
    nb.apply_event_nb(st, fills, 0, EV_LIMIT, SELL, 101, 5, 1, 1, 0.0)
    out = nb.apply_event_nb(st, fills, 0, EV_LIMIT_POST_ONLY, BUY, 101, 5, 2, 2, 0.0)
    assert out[0] == STATUS_POST_ONLY_REJECT and st.hdr[nb.H_N_LIVE] == 1


def test_queries(book):
    book.submit_order(Order("buy", 30, 99.98, owner=1, order_id=1))
    book.submit_order(Order("buy", 10, 99.98, owner=2, order_id=2))
    book.submit_order(Order("buy", 20, 99.95, owner=1, order_id=3))
    book.submit_order(Order("sell", 40, 100.03, owner=2, order_id=4))
    assert book.get_spread() == pytest.approx(0.05)
    assert book.get_midprice() == pytest.approx(100.005)
    assert book.get_depth(1) == {"bids": [(99.98, 40)], "asks": [(100.03, 40)]}
    # imbalance = (Vb - Va) / (Vb + Va) over the top N levels
    assert book.get_order_book_imbalance(1) == pytest.approx(0.0)
    assert book.get_order_book_imbalance(2) == pytest.approx((60 - 40) / 100)
    assert book.get_queue_position(2) == (30, 1)
    assert sorted(book.get_owner_orders(1)) == [1, 3]
    assert book.get_owner_orders(9) == []


@pytest.mark.parametrize(
    ("order", "match"),
    [
        (Order("buy", 0, 100.0), "quantity"),
        (Order("buy", -10, 100.0), "quantity"),
        (Order("buy", 15, 100.0), "lot_size=10"),
        (Order("buy", 10, float("nan")), "price"),
        (Order("buy", 10, float("inf")), "price"),
        (Order("buy", 10, 100.005), "tick grid"),
        (Order("up", 10, 100.0), "side"),
        (Order("buy", 10, 100.0, order_id=-3), "order_id"),
        (Order("buy", 10, None, post_only=True), "post_only"),
    ],
)
def test_facade_validation(book, order, match):
    with pytest.raises(BookError, match=match):
        book.submit_order(order)
    assert book.n_orders == 0


def test_facade_rejects_duplicate_id_and_bad_config(book):
    book.submit_order(Order("buy", 10, 99.0, order_id=5))
    with pytest.raises(BookError, match="already resting"):
        book.submit_order(Order("buy", 10, 99.0, order_id=5))
    with pytest.raises(BookError, match="tick_size"):
        LimitOrderBook(tick_size=0)
    with pytest.raises(BookError, match="window"):
        LimitOrderBook(window=100)
    with pytest.raises(BookError, match="lot_size"):
        LimitOrderBook(lot_size=0)


def test_pickle_round_trip_live_book():
    b = LimitOrderBook(window=64)
    b.process_events(random_event_stream(5_000, seed=3, centre=10_000, drift_every=0))
    b2 = pickle.loads(pickle.dumps(b))
    b2.check()
    ev = random_event_stream(2_000, seed=4, centre=10_000, drift_every=0)
    ev["order_id"][ev["type"] != EV_CANCEL] += 10_000_000
    f1, r1 = b.process_events(ev)
    f2, r2 = b2.process_events(ev)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(r1, r2)
    assert b.get_depth(10) == b2.get_depth(10)


def _stream_digest_script():
    return (
        "import hashlib, numpy as np\n"
        "from almm_rllib import LimitOrderBook\n"
        "from almm_rllib.core.streams import random_event_stream\n"
        "b = LimitOrderBook(capacity=200_000)\n"
        "f, r = b.process_events(random_event_stream(50_000, seed=11))\n"
        "print(hashlib.sha256(f.tobytes() + r.tobytes() + b.state.hdr.tobytes()).hexdigest())\n"
    )


def test_same_stream_same_result_across_processes():
    outs = [
        subprocess.run(
            [sys.executable, "-c", _stream_digest_script()], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outs[0] == outs[1] and len(outs[0]) == 64


def test_streams_are_seeded():
    a, b, c = random_event_stream(1000, 1), random_event_stream(1000, 1), random_event_stream(1000, 2)
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    kinds = np.bincount(random_event_stream(100_000, 5)["type"], minlength=5)
    assert abs(kinds[EV_LIMIT] / 1e5 - 0.5) < 0.01 and abs(kinds[EV_MARKET] / 1e5 - 0.1) < 0.01


def test_reduce_and_replace_take_message_times(book):
    book.submit_order(Order("buy", 30, 99.99, order_id=1, time=100.0))
    book.reduce_order(1, 10, time=100.5)
    assert book.get_order(1)["time"] == 100.0  # a reduce keeps the order's place and its arrival time
    book.replace_order(1, 99.98, time=101.25)
    assert book.get_order(1)["time"] == 101.25  # a replace is a new arrival
    book.submit_order(Order("buy", 10, 99.97, order_id=2))
    assert book.get_order(2)["time"] > 101.25  # the clock continues from the latest message time
