"""The compiled replay market (core/replay_nb.py) on hand-built message streams whose outcome is known by hand,
and on the real LOBSTER days (the replay with no agent reproduces the orderbook file at every message)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from almm_rllib.core import book_nb as bk
from almm_rllib.core import replay_nb as rp
from almm_rllib.core.schema import BUY, NO_PRICE, SELL

DATA = pathlib.Path("/work/shared/data/lobster")
SYN = int(rp.SYNTHETIC_ID_BASE)
AGENT = 1


def ops(*rows):
    """Rows (time, kind, side, price, qty, order_id); message index = row index."""
    a = np.zeros(len(rows), rp.OP_DTYPE)
    for i, (t, kind, side, price, qty, oid) in enumerate(rows):
        a[i] = (t, i, kind, side, price, qty, oid)
    return a


def market():
    return bk.new_book_state(1024, 256, 100), rp.new_replay_agents()


def fills(ag):
    n = int(ag.hdr[rp.RH_N_FILLS])
    return ag.fills[:n]


def submit(ag, t, latency, oid, side, price, qty):
    assert rp.agent_submit_nb(ag, t + latency, rp.AG_LIMIT, AGENT, oid, side, price, qty)


# a book with asks at 101 and a bid level at 100 of three known orders (100 + 100 + 100 shares)
BASE = [
    (0.0, rp.RP_ADD, SELL, 101, 500, 1),
    (0.0, rp.RP_ADD, BUY, 100, 100, 2),
    (0.0, rp.RP_ADD, BUY, 100, 100, 3),
    (0.0, rp.RP_ADD, BUY, 100, 100, 4),
]


def test_agent_behind_300_fills_only_after_300_trade():
    o = ops(
        *BASE,
        (2.0, rp.RP_EXEC, BUY, 100, 100, 2),
        (3.0, rp.RP_EXEC, BUY, 100, 100, 3),
        (4.0, rp.RP_EXEC, BUY, 100, 60, 4),  # 260 traded: the agent is still behind 40
        (5.0, rp.RP_EXEC, BUY, 100, 40, 4),  # 300 traded: order 4 gone, the agent is at the front
        (6.0, rp.RP_ADD, BUY, 100, 50, 5),  # behind the agent
        (7.0, rp.RP_EXEC, BUY, 100, 30, 5),  # an order behind it trades: the agent would have been hit first
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 20)
    rp.replay_advance_nb(st, ag, o, 1.0)
    k = rp.find_agent_order_nb(ag, 900)
    assert ag.a_ahead[k] == 300
    for t, ahead in ((2.0, 200), (3.0, 100), (4.0, 40), (5.0, 0)):
        assert rp.replay_advance_nb(st, ag, o, t) == rp.RS_OK
        assert ag.a_ahead[k] == ahead and len(fills(ag)) == 0
    rp.replay_advance_nb(st, ag, o, 6.0)
    assert len(fills(ag)) == 0
    rp.replay_advance_nb(st, ag, o, 7.0)
    f = fills(ag)
    assert len(f) == 1 and f[0]["qty"] == 20 and f[0]["price"] == 100 and f[0]["side"] == BUY
    assert f[0]["maker"] == 1 and f[0]["time"] == 7.0
    assert rp.find_agent_order_nb(ag, 900) == -1
    # the real book went on exactly as the file says (no impact): order 5 keeps 20 shares
    assert bk.level_qty_nb(st, BUY, 100) == 20


def test_cancel_ahead_moves_forward_behind_does_not():
    o = ops(
        *BASE,
        (2.0, rp.RP_ADD, BUY, 100, 70, 5),  # behind the agent
        (3.0, rp.RP_CANCEL, BUY, 100, 70, 5),  # cancel behind: no move
        (4.0, rp.RP_CANCEL, BUY, 100, 30, 3),  # partial cancel ahead: 30 forward
        (5.0, rp.RP_CANCEL, BUY, 100, 100, 2),  # delete ahead: 100 forward
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 2.0)
    k = rp.find_agent_order_nb(ag, 900)
    assert ag.a_ahead[k] == 300
    rp.replay_advance_nb(st, ag, o, 3.0)
    assert ag.a_ahead[k] == 300
    rp.replay_advance_nb(st, ag, o, 4.0)
    assert ag.a_ahead[k] == 270
    rp.replay_advance_nb(st, ag, o, 5.0)
    assert ag.a_ahead[k] == 170 and len(fills(ag)) == 0


def test_replace_loses_its_place():
    o = ops(*BASE, (2.0, rp.RP_ADD, BUY, 100, 80, 5), (3.0, rp.RP_EXEC, BUY, 100, 100, 2))
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 1.0)
    rp.replay_advance_nb(st, ag, o, 2.0)
    k = rp.find_agent_order_nb(ag, 900)
    assert ag.a_ahead[k] == 300
    # replace (cancel + new at the same price): back of the queue, behind order 5 too
    assert rp.agent_submit_nb(ag, 2.5, rp.AG_CANCEL, AGENT, 900, BUY, 100, 0)
    submit(ag, 2.5, 0.0, 901, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 2.5)
    assert rp.find_agent_order_nb(ag, 900) == -1
    k = rp.find_agent_order_nb(ag, 901)
    assert ag.a_ahead[k] == 380
    rp.replay_advance_nb(st, ag, o, 3.0)
    assert ag.a_ahead[k] == 280


def test_latency_delays_the_arrival():
    o = ops(*BASE, (1.5, rp.RP_ADD, BUY, 100, 40, 5), (2.5, rp.RP_EXEC, SELL, 101, 10, 1))
    st, ag = market()
    # sent at 1.0 with 1 s latency: reaches the book at 2.0, after order 5 (1.5) joined the level
    submit(ag, 1.0, 1.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 1.9)
    assert rp.find_agent_order_nb(ag, 900) == -1
    rp.replay_advance_nb(st, ag, o, 2.0)
    k = rp.find_agent_order_nb(ag, 900)
    assert k >= 0 and ag.a_ahead[k] == 340 and ag.a_seq[k] == 5
    # the same order with no latency is ahead of order 5
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 2.0)
    assert ag.a_ahead[rp.find_agent_order_nb(ag, 900)] == 300


def test_arrival_at_a_message_time_comes_after_it():
    o = ops(*BASE, (2.0, rp.RP_ADD, BUY, 100, 40, 5))
    st, ag = market()
    submit(ag, 1.0, 1.0, 900, BUY, 100, 10)  # arrives at 2.0, the time of order 5
    rp.replay_advance_nb(st, ag, o, 2.0)
    assert ag.a_ahead[rp.find_agent_order_nb(ag, 900)] == 340


def test_aggressive_order_takes_real_liquidity_at_real_prices_without_impact():
    o = ops(
        (0.0, rp.RP_ADD, SELL, 101, 30, 1),
        (0.0, rp.RP_ADD, SELL, 102, 50, 2),
        (0.0, rp.RP_ADD, SELL, 104, 50, 3),
        (0.0, rp.RP_ADD, BUY, 99, 50, 4),
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 102, 100)
    rp.replay_advance_nb(st, ag, o, 1.0)
    f = fills(ag)
    assert f["price"].tolist() == [101, 102] and f["qty"].tolist() == [30, 50]
    assert (f["maker"] == 0).all()
    # the 20 left rest at 102 with nothing ahead; the real asks are untouched
    k = rp.find_agent_order_nb(ag, 900)
    assert ag.a_qty[k] == 20 and ag.a_ahead[k] == 0
    assert bk.level_qty_nb(st, SELL, 101) == 30 and bk.level_qty_nb(st, SELL, 102) == 50


def test_taken_liquidity_is_not_taken_twice_until_real_messages_deplete_it():
    """Shadow consumption: real shares an agent took are gone in its world until the real messages use them."""
    o = ops(
        (0.0, rp.RP_ADD, SELL, 101, 100, 1),
        (0.0, rp.RP_ADD, SELL, 101, 200, 2),
        (0.0, rp.RP_ADD, BUY, 99, 50, 3),
        (3.0, rp.RP_EXEC, SELL, 101, 60, 1),  # the front: 60 of the 120 the agent took
        (4.0, rp.RP_ADD, SELL, 101, 40, 4),  # joins behind
        (5.0, rp.RP_CANCEL, SELL, 101, 200, 2),  # level 280 -> 80 (order 1's 40 + order 4's 40)
        (6.0, rp.RP_EXEC, SELL, 101, 40, 1),  # the front: the last 40 the agent took
        (7.0, rp.RP_EXEC, SELL, 101, 30, 4),  # real shares the agents did not take trade
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 101, 120)  # takes 120 of the 300 at 101
    rp.replay_advance_nb(st, ag, o, 1.0)
    assert fills(ag)["qty"].tolist() == [120] and rp.shadow_qty_nb(ag, SELL, 101) == 120
    assert bk.level_qty_nb(st, SELL, 101) == 300  # no impact on the real book
    # a second aggressive order finds only the 180 the agents did not take
    submit(ag, 1.5, 0.0, 901, BUY, 101, 500)
    rp.replay_advance_nb(st, ag, o, 1.5)
    assert fills(ag)["qty"].tolist() == [120, 180] and rp.shadow_qty_nb(ag, SELL, 101) == 300
    # and nothing more: its 320 left rest as a bid at 101
    submit(ag, 1.7, 0.0, 902, BUY, 101, 10)
    rp.replay_advance_nb(st, ag, o, 1.7)
    assert fills(ag)["qty"].tolist() == [120, 180]
    ag.hdr[rp.RH_N_FILLS] = 0
    for oid in (901, 902):
        assert rp.agent_submit_nb(ag, 1.8, rp.AG_CANCEL, AGENT, oid, BUY, 0, 0)
    rp.replay_advance_nb(st, ag, o, 1.8)
    # an agent ask joining 101 has only the real shares nobody took ahead of it: none
    submit(ag, 2.0, 0.0, 903, SELL, 101, 10)
    rp.replay_advance_nb(st, ag, o, 2.0)
    k = rp.find_agent_order_nb(ag, 903)
    assert ag.a_ahead[k] == 0
    assert rp.agent_queue_nb(st, ag, k) == (0.0, 0)
    # the real execution of 60 front shares uses the shadow up, and fills no agent (those shares were taken)
    rp.replay_advance_nb(st, ag, o, 3.0)
    assert rp.shadow_qty_nb(ag, SELL, 101) == 240 and len(fills(ag)) == 0
    rp.replay_advance_nb(st, ag, o, 4.0)  # order 4 rests behind: the agents' shadow is unchanged
    assert rp.shadow_qty_nb(ag, SELL, 101) == 240 and bk.level_qty_nb(st, SELL, 101) == 280
    # cancelling order 2 (40 lots of order 1 before it, all 200 of it inside the 240 taken) uses 200 up
    rp.replay_advance_nb(st, ag, o, 5.0)
    assert bk.level_qty_nb(st, SELL, 101) == 80 and rp.shadow_qty_nb(ag, SELL, 101) == 40
    rp.replay_advance_nb(st, ag, o, 6.0)  # the last 40 taken trade: the shadow is gone
    assert rp.shadow_qty_nb(ag, SELL, 101) == 0 and int(ag.hdr[rp.RH_N_SHADOW]) == 0
    assert ag.a_ahead[k] == 0 and len(fills(ag)) == 0
    # 30 real shares nobody took (order 4, behind the agent's ask) trade: the ask was first, it is filled
    rp.replay_advance_nb(st, ag, o, 7.0)
    f = fills(ag)
    assert f["qty"].tolist() == [10] and f[0]["maker"] == 1 and f[0]["side"] == SELL


def test_shadow_of_a_level_ends_when_the_real_messages_deplete_it():
    o = ops(
        (0.0, rp.RP_ADD, SELL, 101, 100, 1),
        (0.0, rp.RP_ADD, BUY, 99, 50, 2),
        (2.0, rp.RP_EXEC, SELL, 101, 100, 1),  # the 100 the agent took trade in the real book too
        (3.0, rp.RP_ADD, SELL, 101, 70, 3),  # fresh real liquidity
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 101, 100)
    rp.replay_advance_nb(st, ag, o, 1.0)
    assert rp.shadow_qty_nb(ag, SELL, 101) == 100 and int(ag.hdr[rp.RH_N_SHADOW]) == 1
    rp.replay_advance_nb(st, ag, o, 3.0)
    assert rp.shadow_qty_nb(ag, SELL, 101) == 0 and int(ag.hdr[rp.RH_N_SHADOW]) == 0
    submit(ag, 3.5, 0.0, 901, BUY, 101, 100)
    rp.replay_advance_nb(st, ag, o, 3.5)
    assert fills(ag)["qty"].tolist() == [100, 70]  # the new 70 can be taken


def test_real_order_that_filled_the_agent_is_not_taken_again():
    # the agent bids 101 inside the spread; a real ask of 15 arrives there and fills 10 of it before resting
    o = ops(
        (0.0, rp.RP_ADD, SELL, 103, 500, 1),
        (0.0, rp.RP_ADD, BUY, 100, 100, 2),
        (2.0, rp.RP_ADD, SELL, 101, 15, 7),
    )
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 101, 10)
    rp.replay_advance_nb(st, ag, o, 2.0)
    assert rp.shadow_qty_nb(ag, SELL, 101) == 10
    submit(ag, 2.5, 0.0, 901, BUY, 101, 50)
    rp.replay_advance_nb(st, ag, o, 2.5)
    assert fills(ag)["qty"].tolist() == [10, 5]  # only the 5 the agent did not get already


def test_real_order_through_the_agents_price_fills_it():
    # the agent bids 101 inside the real spread; a real ask arrives at 101: it would have hit the agent
    st, ag = market()
    o = ops(
        (0.0, rp.RP_ADD, SELL, 103, 500, 1),
        (0.0, rp.RP_ADD, BUY, 100, 100, 2),
        (3.0, rp.RP_ADD, SELL, 101, 15, 7),
    )
    submit(ag, 1.0, 0.0, 900, BUY, 101, 10)
    rp.replay_advance_nb(st, ag, o, 3.0)
    f = fills(ag)
    assert len(f) == 1 and f[0]["qty"] == 10 and f[0]["price"] == 101 and f[0]["maker"] == 1
    assert bk.level_qty_nb(st, SELL, 101) == 15  # the real order still rests


def test_execution_through_a_better_agent_price_fills_it():
    # the agent bids 101 inside the spread; a real sell trades 100 shares at the 100 bid: the agent first
    st, ag = market()
    o = ops(
        (0.0, rp.RP_ADD, SELL, 103, 500, 1),
        (0.0, rp.RP_ADD, BUY, 100, 100, 2),
        (2.0, rp.RP_EXEC, BUY, 100, 100, 2),
    )
    submit(ag, 1.0, 0.0, 900, BUY, 101, 80)
    rp.replay_advance_nb(st, ag, o, 2.0)
    f = fills(ag)
    assert f["qty"].tolist() == [80] and f["price"].tolist() == [101]


def test_hidden_execution_fills_beyond_the_displayed_quantity_ahead():
    o = ops(*BASE, (2.0, rp.RP_HIDDEN, BUY, 100, 350, -1))
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 80)
    rp.replay_advance_nb(st, ag, o, 2.0)
    f = fills(ag)
    assert f["qty"].tolist() == [50]  # 350 - 300 ahead
    assert bk.level_qty_nb(st, BUY, 100) == 300


def test_probabilistic_queue_on_unknown_volume():
    # a level reset to synthetic volume after the agent arrived: the split is the power model's
    o = ops(
        *BASE,
        (2.0, rp.RP_RESET, BUY, 100, 200, SYN + 1),  # the level shrinks from 300 to 200, place unknown
        (3.0, rp.RP_CANCEL, BUY, 100, 50, SYN + 1),  # unknown place again
    )
    st, ag = market()
    ag.par[rp.RPP_QUEUE_POWER] = 1.0
    submit(ag, 1.0, 0.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o, 2.0)
    k = rp.find_agent_order_nb(ag, 900)
    # front 300, back 0: the decrease of 100 came from the front (p = 0)
    assert ag.a_ahead[k] == pytest.approx(200.0)
    rp.replay_advance_nb(st, ag, o, 3.0)
    # front 200, back 0 again (the level is 200): 50 from the front
    assert ag.a_ahead[k] == pytest.approx(150.0)
    # a re-synchronisation that grows the level reveals volume of unknown age: put ahead of the agent
    o2 = ops(*BASE, (2.0, rp.RP_RESET, BUY, 100, 450, SYN + 1))
    st, ag = market()
    submit(ag, 1.0, 0.0, 900, BUY, 100, 10)
    rp.replay_advance_nb(st, ag, o2, 2.0)
    assert ag.a_ahead[rp.find_agent_order_nb(ag, 900)] == 450
    # with volume behind, power 1 splits in proportion: front 100, back 100, chg 50 -> front 75
    assert rp.prob_front_nb(100.0, 200.0, 50.0, 1.0) == pytest.approx(75.0)
    # higher power: cancels come more from the larger side
    assert rp.prob_front_nb(100.0, 400.0, 50.0, 3.0) > rp.prob_front_nb(100.0, 400.0, 50.0, 1.0)


def test_look_ahead_messages_after_t_change_nothing_before_t():
    base = [
        *BASE,
        (2.0, rp.RP_EXEC, BUY, 100, 100, 2),
        (3.0, rp.RP_ADD, BUY, 100, 10, 5),
        (4.0, rp.RP_EXEC, BUY, 100, 100, 3),
    ]
    later_a = [(6.0, rp.RP_EXEC, BUY, 100, 100, 4), (7.0, rp.RP_EXEC, BUY, 100, 10, 5)]
    later_b = [(5.5, rp.RP_CANCEL, SELL, 101, 500, 1), (6.0, rp.RP_ADD, BUY, 100, 999, 6)]
    seen = []
    for later in (later_a, later_b):
        o = ops(*base, *later)
        st, ag = market()
        submit(ag, 1.0, 0.01, 900, BUY, 100, 10)
        trace = []
        for t in (1.0, 2.0, 3.0, 4.0, 5.0):
            rp.replay_advance_nb(st, ag, o, t)
            k = rp.find_agent_order_nb(ag, 900)
            trace.append(
                (
                    int(st.hdr[bk.H_BEST_BID]),
                    int(st.hdr[bk.H_BEST_ASK]),
                    int(bk.level_qty_nb(st, BUY, 100)),
                    float(ag.a_ahead[k]) if k >= 0 else -1.0,
                    len(fills(ag)),
                )
            )
        seen.append(trace)
        rp.replay_advance_nb(st, ag, o, 10.0)
        seen.append(len(fills(ag)))
    assert seen[0] == seen[2]  # everything observed up to t = 5 is the same
    assert seen[1] != seen[3]  # and the later messages do matter afterwards


def test_bad_stream_names_the_operation():
    o = ops(*BASE, (2.0, rp.RP_CANCEL, BUY, 100, 10, 77))
    st, ag = market()
    assert rp.replay_advance_nb(st, ag, o, 5.0) == rp.RS_BAD_OP
    assert ag.hdr[rp.RH_BAD_OP] == 4


# ------------------------------------------------------------------------------------------------ real days
@pytest.fixture(scope="module")
def amzn_stream():
    from almm_rllib.data.lobster.stream import load_replay_stream

    return load_replay_stream(DATA, "AMZN")


@pytest.mark.parametrize("ticker", ["AMZN", "AAPL"])
def test_zero_size_agent_reproduces_the_real_book_at_every_message(ticker, request):
    from almm_rllib.data.lobster import LobsterReplayer
    from almm_rllib.data.lobster.read import read_lobster
    from almm_rllib.data.lobster.stream import find_lobster_pair, load_replay_stream

    s = request.getfixturevalue("amzn_stream") if ticker == "AMZN" else load_replay_stream(DATA, ticker)
    data = read_lobster(*find_lobster_pair(DATA, ticker))
    st = bk.new_book_state(s.capacity, s.window, s.centre)
    ag = rp.new_replay_agents()
    m = len(data)
    out = [np.zeros(m, np.int64) for _ in range(4)]
    assert rp.replay_book_tops_nb(st, ag, s.ops, *out) == rp.RS_OK
    ap, asz, bp, bsz = data.level_arrays()
    bid = np.where(np.isnan(bp[:, 0]), -1, bp[:, 0]).astype(np.int64)
    ask = np.where(np.isnan(ap[:, 0]), -1, ap[:, 0]).astype(np.int64)
    got_bid = np.where(out[0] == NO_PRICE, -1, out[0])
    got_ask = np.where(out[2] == NO_PRICE, -1, out[2])
    assert np.array_equal(got_bid, bid) and np.array_equal(got_ask, ask)
    assert np.array_equal(out[1], bsz[:, 0]) and np.array_equal(out[3], asz[:, 0])
    assert bk.check_nb(st) == 0
    # and the same as the Python replayer's book at the end, level by level
    r = LobsterReplayer(data, 0)
    r.seed()
    for i in range(1, m):
        r.apply(i)
    bids, asks = r._levels(data.levels)
    pb = np.zeros(data.levels, np.int64)
    qb = np.zeros(data.levels, np.int64)
    k = bk.depth_nb(st, BUY, data.levels, pb, qb)
    assert list(zip(pb[:k].tolist(), qb[:k].tolist(), strict=True)) == bids
    pa = np.zeros(data.levels, np.int64)
    qa = np.zeros(data.levels, np.int64)
    k = bk.depth_nb(st, SELL, data.levels, pa, qa)
    assert list(zip(pa[:k].tolist(), qa[:k].tolist(), strict=True)) == asks


def test_quoting_agent_on_the_real_day_fills_and_leaves_the_book_alone(amzn_stream):
    s = amzn_stream
    st = bk.new_book_state(s.capacity, s.window, s.centre)
    ag = rp.new_replay_agents()
    ref = bk.new_book_state(s.capacity, s.window, s.centre)
    rp.replay_seek_nb(ref, rp.new_replay_agents(), s.ops, s.ops.shape[0])
    t0 = float(s.ops["time"][0])
    oid = 10
    for step in range(1, 2000):
        t = t0 + step * 1.0
        rp.replay_advance_nb(st, ag, s.ops, t)
        bb, ba = st.hdr[bk.H_BEST_BID], st.hdr[bk.H_BEST_ASK]
        # one lot at the touch on each side: orders away from it are cancelled, one new order if none there
        for side, px in ((BUY, bb), (SELL, ba)):
            there = False
            for k in range(ag.a_id.shape[0]):
                if ag.a_id[k] >= 0 and ag.a_side[k] == side:
                    if ag.a_price[k] != px:
                        assert rp.agent_submit_nb(ag, t + 0.005, rp.AG_CANCEL, 1, ag.a_id[k], side, px, 0)
                    else:
                        there = True
            if not there:
                oid += 1
                assert rp.agent_submit_nb(ag, t + 0.005, rp.AG_LIMIT, 1, oid, side, px, 1)
    assert rp.replay_advance_nb(st, ag, s.ops, 1e9) == rp.RS_OK
    assert ag.hdr[rp.RH_N_FILLS] > 0
    # no impact: the real book after the day is the same with and without the agent
    for a in ("hdr", "bid_qty", "ask_qty", "o_qty", "o_id"):
        assert np.array_equal(getattr(st, a), getattr(ref, a)), a
