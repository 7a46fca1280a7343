"""Microstructure statistics (issue 15, item 2): hand-built event streams with answers worked out by hand, a
slow per-event reference on random streams, the real AMZN day, and a short simulator run."""

from __future__ import annotations

import copy
import math
import pathlib

import numpy as np
import pytest

from almm_rllib.data.lobster import read_lobster
from almm_rllib.results import microstructure as ms
from almm_rllib.results.market_report import lobster_stats
from tests.test_lobster import _write_pair

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
TICK = 0.01


def quotes(rows, *, end=None, tick=TICK) -> ms.QuoteSeries:
    """rows: (time, bid, ask[, bid_size, ask_size])."""
    a = np.array([r if len(r) == 5 else (*r, 100.0, 100.0) for r in rows], np.float64)
    return ms.QuoteSeries(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], tick_size=tick, end=end)


def day(q, orders) -> ms.MarketDay:
    return ms.MarketDay("hand-built", q, orders)


def one_fill_orders(times, signs, prices, sizes=None) -> ms.MarketOrders:
    n = len(times)
    sizes = np.ones(n) if sizes is None else np.asarray(sizes, float)
    return ms.group_executions(times, signs, prices, sizes, order_id=np.arange(n), tick_size=TICK)


# ------------------------------------------------------------------------------------------------------------
# hand-built streams


def _impact_stream(n=12, a=0.02, b=0.03):
    """Order k at t = 100 k, sign alternating +1, -1. Book before it: bid 100.00 / ask 100.02 (mid 100.01,
    half-spread 0.01). At the order's own time stamp the mid moves by sign x a (the row at t, after the order);
    at t + 20 by a further sign x b; at t + 50 it goes back to 100.01."""
    rows, times, signs, prices = [], [], [], []
    for k in range(n):
        t = 100.0 * k + 50.0
        s = 1 if k % 2 == 0 else -1
        rows.append((t - 50.0, 100.00, 100.02))
        rows.append((t, 100.00 + s * a, 100.02 + s * a))
        rows.append((t + 20.0, 100.00 + s * (a + b), 100.02 + s * (a + b)))
        times.append(t)
        signs.append(s)
        prices.append(100.02 if s > 0 else 100.00)
    rows.append((100.0 * n, 100.00, 100.02))
    return day(quotes(rows, end=100.0 * n + 1000.0), one_fill_orders(times, signs, prices))


def test_response_known_by_construction():
    a, b = 0.02, 0.03
    st = ms.response_function(_impact_stream(a=a, b=b), taus=(1.0, 5.0, 10.0, 20.0, 30.0, 49.0, 50.0, 60.0))
    # tau < 20: only the jump at the order's time; 20 <= tau < 50: both (a row at exactly t + tau counts);
    # tau >= 50: back to the mid just before the order
    for tau, want in ((1, a), (5, a), (10, a), (20, a + b), (30, a + b), (49, a + b), (50, 0.0), (60, 0.0)):
        r = st[f"{tau:g}"]
        assert r["n"] == 12
        assert r["money"] == pytest.approx(want, abs=1e-12)
        assert r["hs"] == pytest.approx(want / 0.01, abs=1e-9)
        assert r["money_se"] == pytest.approx(0.0, abs=1e-12)  # the same value in every batch


def test_response_uses_the_mid_just_before_the_order():
    """A quote row at the order's own time stamp is after it; the as-of join at t + tau includes a row at
    exactly t + tau; one-sided rows carry the last two-sided mid."""
    q = quotes(
        [(0.0, 99.99, 100.01), (10.0, 100.09, 100.11), (11.0, np.nan, 100.31), (12.0, 100.19, 100.21)],
        end=100.0,
    )
    d = day(q, one_fill_orders([10.0] * 1, [1], [100.11]))
    m0, hs, _ = ms._before(d)
    assert m0[0] == pytest.approx(100.0) and hs[0] == pytest.approx(0.01)
    mid = q.mid()
    assert ms._mid_at(q, mid, np.array([11.0, 11.5, 12.0, 100.0, 100.5]))[:4] == pytest.approx(
        [100.10, 100.10, 100.20, 100.20]
    )
    assert np.isnan(ms._mid_at(q, mid, np.array([100.5]))[0])  # past the end: left out, not clipped


def test_markout_by_depth_known_by_construction():
    """Buy orders walking the ask 100.02, 100.03, ... while the mid (100.01) stays until t + 5, then rises by
    0.04. The maker sold at 100.02 + d ticks: markout_1 = -(100.01 - price) = 0.01 (1 + d); markout_10 = that
    - 0.04. Depth 3 and 5 both land in the 3+ bucket, weighted by quantity."""
    n = 10
    ex_t, ex_s, ex_p, ex_q, rows = [], [], [], [], []
    for k in range(n):
        t = 100.0 * k + 10.0
        rows += [(t - 10.0, 100.00, 100.02), (t + 5.0, 100.04, 100.06)]
        for d, q in ((0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (5, 6.0)):
            ex_t.append(t)
            ex_s.append(1)
            ex_p.append(100.02 + d * TICK)
            ex_q.append(q)
    q = quotes(rows, end=100.0 * n + 100.0)
    orders = ms.group_executions(ex_t, ex_s, ex_p, ex_q, tick_size=TICK)
    assert len(orders) == n  # each walk is one order
    assert orders.depth_ticks().tolist() == [5] * n
    mo = ms.markouts(day(q, orders), horizons=(1.0, 10.0))
    for bucket, d_eff in (("0", 0.0), ("1", 1.0), ("2", 2.0), ("3+", (3 * 4.0 + 5 * 6.0) / 10.0)):
        assert mo[bucket]["n"] == (2 * n if bucket == "3+" else n)
        m1 = 0.01 * (1 + d_eff)
        assert mo[bucket]["1"]["money"] == pytest.approx(m1, abs=1e-12)
        assert mo[bucket]["10"]["money"] == pytest.approx(m1 - 0.04, abs=1e-12)
        assert mo[bucket]["10"]["hs"] == pytest.approx((m1 - 0.04) / 0.01, abs=1e-9)
    # all depths: quantity-weighted over the five fills of each order
    d_all = (0 * 1 + 1 * 2 + 2 * 3 + 3 * 4 + 5 * 6) / 16.0
    assert mo["all"]["1"]["money"] == pytest.approx(0.01 * (1 + d_all), abs=1e-12)
    assert mo["all"]["shares"] == pytest.approx(16.0 * n)


def test_markout_sign_for_a_bought_passive_order():
    """A sell market order fills a resting buy at 100.00 (mid 100.01): the maker bought, markout = mid - price:
    +0.01 at 1 s; the mid then falls to 99.95, so -0.05 at 10 s."""
    n = 10
    rows, t_, s_, p_ = [], [], [], []
    for k in range(n):
        t = 100.0 * k + 10.0
        rows += [(t - 10.0, 100.00, 100.02), (t + 2.0, 99.94, 99.96)]
        t_.append(t)
        s_.append(-1)
        p_.append(100.00)
    mo = ms.markouts(day(quotes(rows, end=2000.0), one_fill_orders(t_, s_, p_)), horizons=(1.0, 10.0))
    assert mo["0"]["1"]["money"] == pytest.approx(100.01 - 100.00, abs=1e-12)
    assert mo["0"]["10"]["money"] == pytest.approx(99.95 - 100.00, abs=1e-12)


def test_group_executions_by_time_and_side_and_by_id():
    t = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0]
    s = [1, 1, -1, -1, -1, -1, 1]
    p = [10.00, 10.02, 9.99, 9.97, 9.99, 9.99, 10.01]
    q = [5, 3, 1, 1, 2, 2, 7]
    g = ms.group_executions(t, s, p, q, tick_size=TICK)
    assert len(g) == 4
    assert g.time.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert g.sign.tolist() == [1, -1, -1, 1]
    assert g.size.tolist() == [8, 2, 4, 7]
    assert g.first_price.tolist() == [10.00, 9.99, 9.99, 10.01]
    assert g.deepest_price.tolist() == [10.02, 9.97, 9.99, 10.01]
    assert g.depth_ticks().tolist() == [2, 2, 0, 0]
    assert g.fill_depth_ticks().tolist() == [0, 2, 0, 2, 0, 0, 0]
    # by taker id: two orders interleaved in time keep their own fills
    g2 = ms.group_executions(
        [1.0, 1.0, 2.0, 2.0],
        [1, 1, -1, -1],
        [10.0, 10.01, 9.99, 9.98],
        [1, 1, 1, 1],
        order_id=[7, 7, 3, 3],
        tick_size=TICK,
    )
    assert g2.sign.tolist() == [1, -1] and g2.depth_ticks().tolist() == [1, 1]
    with pytest.raises(ms.MicrostructureError, match="both sides"):
        ms.group_executions([1.0, 1.0], [1, -1], [10.0, 10.0], [1, 1], order_id=[4, 4], tick_size=TICK)


def test_lobster_adapter_finds_a_walk(tmp_path):
    """A LOBSTER pair in which a sell market order walks the bid from 10.00 to 9.98 (three executions, one time
    stamp, resting side +1), then a buy takes the ask: two orders, depths 2 and 0; the hidden execution is left
    out and counted."""
    msgs = [
        "34200.0,1,1,100,100000,1",
        "34200.5,5,0,10,100100,-1",
        "34201.0,4,11,50,100000,1",
        "34201.0,4,12,50,99900,1",
        "34201.0,4,13,20,99800,1",
        "34202.0,4,21,30,100200,-1",
        "34203.0,1,2,100,100100,-1",
    ]
    book = [
        "100200,100,100000,150",
        "100200,100,100000,150",
        "100200,100,99900,50",
        "100200,100,99800,80",
        "100200,100,99800,60",
        "100300,70,99800,60",
        "100100,100,99800,60",
    ]
    data = read_lobster(*_write_pair(tmp_path, "TINY", 1, msgs, book))
    d = ms.lobster_day(data)
    assert d.info["hidden_executions_left_out"] == 1
    o = d.orders
    assert len(o) == 2
    assert o.sign.tolist() == [-1, 1]
    assert o.size.tolist() == [120, 30]
    assert o.depth_ticks().tolist() == [2, 0]
    assert o.fill_depth_ticks().tolist() == [0, 1, 2, 0]
    assert d.quotes.bid[2] == pytest.approx(9.99) and d.quotes.ask_size[5] == 70
    w = ms.walk(d)
    assert (w["0"], w["1"], w["2"], w["3+"], w["beyond_first"]) == (0.5, 0.0, 0.5, 0.0, 0.5)


def test_sign_acf_of_known_sequences():
    n = 1000
    alt = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    # textbook estimator, mean 0: lag-k sum of products (n - k)(-1)^k over n
    got = ms._acf(alt, (1, 2, 5, 100))
    assert got == pytest.approx([-(n - 1) / n, (n - 2) / n, -(n - 5) / n, (n - 100) / n])
    blocks = np.repeat(np.where(np.arange(n // 4) % 2 == 0, 1.0, -1.0), 4)  # ++++----++++...
    assert ms._acf(blocks, (1, 2, 4))[0] == pytest.approx((3 / 4 - 1 / 4) * (n - 1) / n, abs=0.01)
    assert ms._acf(blocks, (1, 2, 4))[2] == pytest.approx(-(n - 4) / n)


def test_signature_and_return_acf_of_a_bouncing_mid():
    """A mid that alternates 100.00 / 100.01 every second: RV(1 s) = 1e-4 money^2/s, RV(2 s) = 0; the 1-s
    changes alternate, lag-1 autocorrelation ~ -1."""
    n = 600
    rows = [(float(k), 99.995 + TICK * (k % 2), 100.005 + TICK * (k % 2)) for k in range(n + 1)]
    d = day(quotes(rows), one_fill_orders([0.5 + k for k in range(20)], [1] * 20, [100.005] * 20))
    sig = ms.signature(d, sampling=(1.0, 2.0, 60.0))
    assert sig["rv"]["1"]["rv_money2_per_s"] == pytest.approx(1e-4)
    assert sig["rv"]["2"]["rv_money2_per_s"] == pytest.approx(0.0, abs=1e-20)
    assert sig["rv"]["1"]["n"] == n
    assert sig["return_acf"][0] == pytest.approx(-(n - 1) / n, abs=1e-9)
    assert sig["return_acf"][1] == pytest.approx((n - 2) / n, abs=1e-9)


def test_spread_depth_and_arrival_dispersion():
    # spread 1 tick for 3 s, 3 ticks for 1 s, then 1 tick for 4 s: time-weighted mean (7 x 1 + 3) / 8
    q = quotes(
        [(0.0, 100.00, 100.01, 100, 300), (3.0, 99.99, 100.02, 100, 300), (4.0, 100.00, 100.01, 100, 300)],
        end=8.0,
    )
    d = day(q, one_fill_orders([0.5, 1.5, 2.5], [1, -1, 1], [100.01, 100.00, 100.01], [50, 150, 100]))
    sp = ms.spread_stats(d)
    assert sp["mean_ticks"] == pytest.approx(10 / 8)
    assert sp["p50"] == pytest.approx(1.0) and sp["p95"] == pytest.approx(3.0)
    assert sp["frac_1_tick"] == pytest.approx(7 / 8)
    td = ms.touch_depth(d)
    assert (td["depth_shares"], td["mo_size_shares"], td["ratio"]) == pytest.approx((200.0, 100.0, 2.0))
    # evenly spaced orders: no dispersion at all; a Poisson stream: CV and Fano near 1
    t_even = np.arange(0.5, 1000.0, 1.0)
    q2 = quotes([(0.0, 100.0, 100.01), (1000.0, 100.0, 100.01)])
    even = ms.arrivals(day(q2, one_fill_orders(t_even, [1] * t_even.size, [100.01] * t_even.size)))
    assert even["cv"] == pytest.approx(0.0, abs=1e-9)
    assert even["fano"]["10"] == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(3)
    t_p = np.cumsum(rng.exponential(0.5, 40_000))
    t_p = t_p[t_p < 19_000]
    q3 = quotes([(0.0, 100.0, 100.01), (19_000.0, 100.0, 100.01)])
    poi = ms.arrivals(day(q3, one_fill_orders(t_p, [1] * t_p.size, [100.01] * t_p.size)))
    assert poi["cv"] == pytest.approx(1.0, abs=0.03)
    assert poi["fano"]["1"] == pytest.approx(1.0, abs=0.05)
    assert poi["fano"]["60"] == pytest.approx(1.0, abs=0.25)


def _random_day(seed: int, n_rows=3000, n_orders=400) -> ms.MarketDay:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2000, n_rows))
    t[10:20] = t[10]  # shared time stamps
    mid = 100 + TICK * np.cumsum(rng.integers(-1, 2, n_rows)) + TICK / 2
    half = TICK * rng.integers(1, 4, n_rows) / 2
    q = ms.QuoteSeries(
        t, mid - half, mid + half, rng.integers(1, 9, n_rows) * 100.0, np.full(n_rows, 100.0), TICK
    )
    to = np.sort(rng.choice(t, n_orders))  # orders at quote time stamps too (the "before" edge case)
    to[::3] = np.sort(rng.uniform(0, 2100, to[::3].size))
    to = np.sort(to)
    nf = rng.integers(1, 4, n_orders)
    ex_t = np.repeat(to, nf)
    sgn = rng.choice([-1, 1], n_orders)
    ex_s = np.repeat(sgn, nf)
    steps = np.concatenate([np.cumsum(np.r_[0, rng.integers(0, 3, k - 1)]) for k in nf])
    ex_p = 100.0 + ex_s * TICK * steps
    ex_q = rng.integers(1, 500, ex_t.size).astype(float)
    return day(
        q,
        ms.group_executions(
            ex_t, ex_s, ex_p, ex_q, order_id=np.repeat(np.arange(n_orders), nf), tick_size=TICK
        ),
    )


def _slow_mid(q: ms.QuoteSeries, t: float, strict: bool) -> float:
    best = math.nan
    if t > q.end:
        return math.nan
    for i in range(q.time.size):
        if q.time[i] < t or (not strict and q.time[i] == t):
            if math.isfinite(q.bid[i]) and math.isfinite(q.ask[i]):
                best = (q.bid[i] + q.ask[i]) / 2
        else:
            break
    return best


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_statistics_match_a_per_event_loop(seed):
    d = _random_day(seed)
    q, o = d.quotes, d.orders
    resp = ms.response_function(d, taus=(1.0, 30.0, 300.0))
    for tau in (1.0, 30.0, 300.0):
        vals = []
        for k in range(len(o)):
            a, b = _slow_mid(q, o.time[k], True), _slow_mid(q, o.time[k] + tau, False)
            vals.append(o.sign[k] * (b - a))
        vals = np.array(vals)
        assert resp[f"{tau:g}"]["n"] == int(np.isfinite(vals).sum())
        assert resp[f"{tau:g}"]["money"] == pytest.approx(np.nanmean(vals), rel=1e-9, abs=1e-12)
    mk = ms.markouts(d, horizons=(10.0,))
    num = {b: 0.0 for b in ms.DEPTH_BUCKETS}
    den = {b: 0.0 for b in ms.DEPTH_BUCKETS}
    for j in range(o.fill_order.size):
        k = o.fill_order[j]
        depth = round(o.sign[k] * (o.fill_price[j] - o.first_price[k]) / TICK)
        b = ms.DEPTH_BUCKETS[min(depth, 3)]
        m = -o.sign[k] * (_slow_mid(q, o.fill_time[j] + 10.0, False) - o.fill_price[j])
        if math.isfinite(m):
            num[b] += m * o.fill_size[j]
            den[b] += o.fill_size[j]
    for b in ms.DEPTH_BUCKETS:
        if mk[b]["n"] >= ms.MIN_POINTS:
            assert mk[b]["10"]["money"] == pytest.approx(num[b] / den[b], rel=1e-9, abs=1e-12)


def test_bad_input_is_named():
    with pytest.raises(ms.MicrostructureError, match="time goes backwards at row 2"):
        quotes([(0.0, 1.0, 1.01), (2.0, 1.0, 1.01), (1.0, 1.0, 1.01)])
    with pytest.raises(ms.MicrostructureError, match="crossed or locked quotes .* row 1"):
        quotes([(0.0, 1.0, 1.01), (1.0, 1.02, 1.01)])
    with pytest.raises(ms.MicrostructureError, match="fill_order must index"):
        ms.MarketOrders([0.0], [1], [1.0], [1.0], [1.0], [1], [0.0], [1.0], [1.0], tick_size=TICK)
    with pytest.raises(ms.MicrostructureError, match="sign must be"):
        ms.MarketOrders([0.0], [2], [1.0], [1.0], [1.0], [0], [0.0], [1.0], [1.0], tick_size=TICK)
    with pytest.raises(ms.MicrostructureError, match="deepest price is better"):
        ms.MarketOrders([0.0], [1], [1.0], [1.0], [0.99], [0], [0.0], [1.0], [1.0], tick_size=TICK)


# ------------------------------------------------------------------------------------------------------------
# compare


def test_compare_passes_itself_and_fails_a_wrong_sign():
    st = ms.microstructure_stats(_random_day(5, n_rows=20_000, n_orders=3000))
    rows = ms.compare(st, st)
    assert {r.verdict for r in rows} <= {"pass", "n/a"}
    assert sum(r.verdict == "pass" for r in rows) >= 30
    names = [r.name for r in rows]
    assert len(names) == len(set(names))
    import copy

    bad = copy.deepcopy(st)
    bad["response"]["10"]["hs"] = st["response"]["10"]["hs"] * 3 + 1.0
    bad["sign_acf"]["1"] = st["sign_acf"]["1"] + 0.2
    bad["spread"]["mean_ticks"] = st["spread"]["mean_ticks"] * 2
    by = {r.name: r for r in ms.compare(st, bad)}
    assert by["R(10 s) / half-spread"].verdict == "fail"
    assert by["sign ACF lag 1"].verdict == "fail"
    assert by["spread mean (ticks)"].verdict == "fail"
    assert by["sign ACF lag 2"].verdict == "pass"
    # a significant real markout: the opposite sign fails
    real = copy.deepcopy(st)
    real["markout"]["0"]["60"].update(hs=-1.0, hs_se=0.1)
    sim = copy.deepcopy(st)
    sim["markout"]["0"]["60"].update(hs=0.5, hs_se=0.1)
    r = {x.name: x for x in ms.compare(real, sim)}["maker markout 60 s, depth 0 ticks / half-spread"]
    assert r.verdict == "fail" and r.band[1] < 0
    sim["markout"]["0"]["60"].update(hs=-0.6)
    assert {x.name: x for x in ms.compare(real, sim)}[r.name].verdict == "pass"
    assert "pass" in ms.format_rows(ms.compare(real, sim))


# ------------------------------------------------------------------------------------------------------------
# the real AMZN day and the simulator


@pytest.fixture(scope="module")
def amzn():
    paths = sorted(DATA.glob("AMZN_*_message_*.csv")), sorted(DATA.glob("AMZN_*_orderbook_*.csv"))
    data = read_lobster(paths[0][0], paths[1][0])
    return data, ms.microstructure_stats(ms.lobster_day(data))


def test_amzn_day_response_grows_and_the_touch_is_adversely_selected(amzn):
    data, st = amzn
    r = [st["response"][f"{t:g}"]["money"] for t in ms.TAUS]
    # positive, growing to 60 s (R(1) .. R(60) = 0.039, 0.049, 0.054, 0.060, 0.064 dollars per share)
    assert all(x > 0 for x in r)
    assert r[0] < r[1] < r[2] < r[3] < r[4]
    assert st["response"]["1"]["money"] > 5 * st["response"]["1"]["money_se"]
    # the maker's fill at the touch loses over 60 s (-0.029 dollars, about two standard errors)
    m = st["markout"]["0"]["60"]
    assert m["money"] < 0 and m["money"] < -1.5 * m["money_se"]
    assert st["markout"]["0"]["10"]["money"] < 0
    # the same order grouping as data.lobster's statistics (time, resting side)
    ref = lobster_stats(data)["market_orders"]
    assert st["n_market_orders"] == ref["n"]
    assert st["walk"]["beyond_first"] == pytest.approx(ref["frac_multi_level"])
    assert st["touch_depth"]["mo_size_shares"] == pytest.approx(ref["size_shares"]["mean"])
    assert st["spread"]["mean_ticks"] == pytest.approx(
        lobster_stats(data)["spread_ticks"]["time_weighted"]["mean"]
    )
    # signs have memory, arrivals cluster
    assert st["sign_acf"]["1"] > 0.3 and st["arrivals"]["cv"] > 1.5
    # the growth ratio is the one of the two responses over the same orders
    g = st["response_growth"]
    assert g["value"] == pytest.approx(st["response"]["60"]["money"] / st["response"]["1"]["money"], rel=0.05)
    assert 0 < g["se"] < g["value"]
    text = ms.format_stats(st)
    assert "LOBSTER AMZN" in text and "R(60 s) / R(1 s)" in text


def test_short_simulator_run_gives_finite_figures(amzn):
    d = ms.simulator_day(seconds=700.0, dt=0.1, seed=3, burn_in_seconds=50.0)
    o = d.orders
    assert len(o) > 100
    # every fill belongs to one order; order sizes are the sums of their fills
    assert np.bincount(o.fill_order, weights=o.fill_size, minlength=len(o)) == pytest.approx(o.size)
    assert (o.fill_depth_ticks() >= 0).all()
    assert d.quotes.end == pytest.approx(d.quotes.time[0] + 700.0) and d.info["quote_resolution"] == "event"
    st = ms.microstructure_stats(d)
    for tau in ("1", "5", "10", "30", "60"):
        assert math.isfinite(st["response"][tau]["money"]) and math.isfinite(st["response"][tau]["hs"])
    for h in ("1", "10", "60"):
        assert math.isfinite(st["markout"]["0"][h]["money"])
    for k in ("1", "2", "5", "10"):
        assert math.isfinite(st["sign_acf"][k])
    assert all(math.isfinite(x) for x in st["return_acf"])
    assert all(math.isfinite(v["ratio_to_longest"]) for v in st["signature"].values())
    assert math.isfinite(st["spread"]["mean_ticks"]) and st["spread"]["mean_ticks"] >= 1
    assert math.isfinite(st["touch_depth"]["ratio"]) and math.isfinite(st["arrivals"]["cv"])
    rows = ms.compare(amzn[1], st)
    assert len(rows) > 40 and {r.verdict for r in rows} <= {"pass", "fail", "n/a"}
    # same seed, same figures
    again = ms.microstructure_stats(ms.simulator_day(seconds=700.0, dt=0.1, seed=3, burn_in_seconds=50.0))
    assert again["response"]["10"]["money"] == st["response"]["10"]["money"]


def test_a_short_real_day_gives_missing_figures_not_errors(amzn):
    """The AAPL sample covers 49 s: horizons and samplings beyond it are missing (NaN, verdict n/a)."""
    m = sorted(DATA.glob("AAPL_*_message_*.csv"))[0]
    st = ms.microstructure_stats(
        ms.lobster_day(read_lobster(m, m.with_name(m.name.replace("_message_", "_orderbook_"))))
    )
    assert st["n_market_orders"] > 50 and st["seconds"] < 60
    assert math.isfinite(st["response"]["1"]["money"]) and math.isnan(st["response"]["60"]["money"])
    assert st["response"]["60"]["n"] == 0
    assert math.isnan(st["signature"]["60"]["rv_rel_per_s"])
    rows = {r.name: r for r in ms.compare(st, amzn[1])}
    assert rows["R(60 s) / half-spread"].verdict == "n/a"
    assert rows["R(1 s) / half-spread"].verdict in ("pass", "fail")


def test_seed_robustness_counts_each_rows_failures_over_seeds(amzn, capsys):
    """``seed_robustness`` is ``compare`` run once per seed: its per-seed counts and per-row counts equal the
    verdicts of the individual comparisons, and the CLI's ``--seeds`` prints them."""
    _, real = amzn
    seeds, secs = [1, 2], 2_000.0
    res = ms.seed_robustness(real, seeds, seconds=secs)
    days = [ms.microstructure_stats(ms.simulator_day(seconds=secs, seed=s)) for s in seeds]
    direct = [[r.name for r in ms.compare(real, d) if r.verdict == "fail"] for d in days]
    # each row's figure per seed, and the pooled statistics are the days' mean
    for j, d in enumerate(days):
        for r in ms.compare(real, d):
            got = res["row_values"][r.name][j]
            assert got == r.sim or (math.isnan(got) and math.isnan(r.sim)), r.name
    assert res["pooled"]["spread"]["mean_ticks"] == pytest.approx(
        np.mean([d["spread"]["mean_ticks"] for d in days])
    )
    assert res["fails_per_seed"] == [len(f) for f in direct]
    assert res["mean_fails"] == pytest.approx(np.mean([len(f) for f in direct]))
    for name, k in res["row_fails"].items():
        assert k == sum(name in f for f in direct) and k > 0
    assert set(res["row_fails"]) == set(direct[0]) | set(direct[1])
    assert list(res["row_fails"].values()) == sorted(res["row_fails"].values(), reverse=True)
    with pytest.raises(ValueError, match="at least one seed"):
        ms.seed_robustness(real, [], seconds=secs)
    assert ms.main(["--lobster", str(DATA), "--tickers", "AMZN", "--seconds", "2000", "--seeds", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "failing rows per seed (1, 2): " + ", ".join(str(x) for x in res["fails_per_seed"]) in out
    assert "the mean over these 2 days against the real day:" in out


def test_pool_stats_is_the_mean_of_the_days_with_the_standard_error_of_a_mean():
    a = {
        "name": "simulator seed 1",
        "info": {"source": "simulator", "seed": 1},
        "response": {"1": {"hs": 1.0, "hs_se": 0.3, "n": 10}},
        "response_growth": {"value": 2.0, "se": 0.4},
        "return_acf": [0.1, float("nan")],
        "fano": {"1": float("nan")},
        "flag": True,
    }
    b = copy.deepcopy(a)
    b["response"]["1"].update(hs=3.0, hs_se=0.4, n=30)
    b["response_growth"].update(value=4.0, se=0.3)
    b["return_acf"] = [0.3, 0.2]
    b["info"]["seed"] = 2
    p = ms.pool_stats([a, b])
    assert p["response"]["1"]["hs"] == 2.0 and p["response"]["1"]["n"] == 20.0
    assert p["response"]["1"]["hs_se"] == pytest.approx(0.25)  # sqrt(0.09 + 0.16) / 2
    assert p["response_growth"] == {"value": 3.0, "se": pytest.approx(0.25)}
    assert p["return_acf"][0] == pytest.approx(0.2) and p["return_acf"][1] == 0.2  # NaN days left out
    assert math.isnan(p["fano"]["1"]) and p["flag"] is True
    assert p["info"] == {"source": "simulator", "seed": [1, 2], "days": 2}
    assert p["name"] == "simulator, mean of 2 days (seeds 1, 2)"
    one = ms.pool_stats([a])
    assert one["response"] == a["response"] and one["info"]["days"] == 1 and one["name"] == a["name"]
    with pytest.raises(ValueError, match="at least one day"):
        ms.pool_stats([])


def test_real_rank_places_the_real_day_among_the_simulated_days():
    assert ms.real_rank(5.0, [1.0, 2.0, 9.0, 10.0]) == 0.5
    assert ms.real_rank(0.5, [1.0, 2.0]) == 0.0 and ms.real_rank(3.0, [1.0, 2.0]) == 1.0
    assert ms.real_rank(2.0, [1.0, 2.0, 3.0, float("nan")]) == 0.5  # a tie counts half; NaN left out
    assert math.isnan(ms.real_rank(1.0, [float("nan")])) and math.isnan(ms.real_rank(float("nan"), [1.0]))
