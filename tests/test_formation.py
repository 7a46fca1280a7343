"""Price formation: Hawkes arrivals, the impact propagator, informed flow, metaorders, presets.

Compiled kernels against the slow references in ``tests/reference/formation_ref.py`` on random inputs; the
market's own properties (common random numbers, per-regime volatility, determinism) on the default preset.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from almm_rllib.core import market_nb as mk
from almm_rllib.core.config import ConfigError
from almm_rllib.core.hawkes_nb import hawkes2_times_nb, hawkes_times_nb
from almm_rllib.core.market import MarketSimulator
from almm_rllib.core.market_config import DEFAULT_PRESET, PRESETS, MarketConfig
from almm_rllib.core.price_nb import propagator_path_nb

try:  # tests/ is a package in this repo; fall back to the rootdir-on-sys.path layout if it is not.
    from .reference import formation_ref as ref
except ImportError:  # pragma: no cover - depends on the layout of tests/
    from reference import formation_ref as ref


# --------------------------------------------------------------------------------------------------------------
# kernels against references


@pytest.mark.parametrize("seed", range(5))
def test_hawkes_excess_matches_the_sum_over_arrivals(seed):
    rng = np.random.default_rng(seed)
    mu, n, beta = rng.uniform(0.1, 2.0), rng.uniform(0.0, 0.9), rng.uniform(0.2, 5.0)
    excess0 = rng.uniform(0.0, 3.0)
    times = np.zeros(5000)
    before = np.zeros(5000)
    k, exc_end = hawkes_times_nb(mu, n * beta, beta, 100.0, excess0, rng.random(40_000), times, before)
    assert 5 < k < len(times)
    want = ref.hawkes_excess_before_ref(list(times[:k]), excess0, n * beta, beta)
    np.testing.assert_allclose(before[:k], want, rtol=1e-9, atol=1e-12)
    lam_end = ref.hawkes_intensity_ref(100.0, list(times[:k]), 0.0, n * beta, beta)
    assert exc_end == pytest.approx(lam_end + excess0 * math.exp(-beta * 100.0), rel=1e-9)


def test_hawkes_arrivals_pass_the_time_rescaling_test():
    """Time-rescaling theorem: the compensator's increments between arrivals are i.i.d. Exp(1) exactly when
    the arrivals follow the intensity; and the mean rate is mu / (1 - n)."""
    rng = np.random.default_rng(7)
    mu, n, beta, horizon = 0.5, 0.6, 1.5, 20_000.0
    cap = 60_000
    times = np.zeros(cap)
    before = np.zeros(cap)
    k, _ = hawkes_times_nb(mu, n * beta, beta, horizon, 0.0, rng.random(4 * cap), times, before)
    t = times[:k]
    assert k < cap
    assert abs(k / horizon - mu / (1 - n)) < 4 * math.sqrt(k) / horizon / (1 - n)
    # compensator between consecutive arrivals, in O(1) each from the kernel's own excess just before them
    after = before[:k] + n * beta
    gaps = np.diff(t)
    comp = mu * gaps + after[:-1] / beta * (1 - np.exp(-beta * gaps))
    check = [
        ref.hawkes_compensator_ref(t[j], t[j + 1], list(t[: j + 1]), 0.0, mu, n * beta, beta)
        for j in (0, 1, 2, 10)
    ]
    np.testing.assert_allclose(comp[[0, 1, 2, 10]], check, rtol=1e-9)
    assert stats.kstest(comp, "expon").pvalue > 0.01
    counts = np.bincount((t // 10).astype(int))
    assert counts.var() / counts.mean() > 1.5  # clustered, unlike Poisson (1)


@pytest.mark.parametrize("seed", range(5))
def test_two_kernel_hawkes_excesses_match_the_sums_over_arrivals(seed):
    """Each kernel's excess just before every arrival, and at the horizon, is its own sum over the past
    arrivals (the reference run once per kernel on the same arrival times)."""
    rng = np.random.default_rng(50 + seed)
    mu = rng.uniform(0.1, 2.0)
    n1, n2 = rng.uniform(0.0, 0.6), rng.uniform(0.05, 0.3)
    b1, b2 = rng.uniform(2.0, 10.0), rng.uniform(0.02, 0.5)
    e0 = rng.uniform(0.0, 2.0, size=2)
    times = np.zeros(5000)
    before = np.zeros((5000, 2))
    k, end1, end2 = hawkes2_times_nb(
        mu, n1 * b1, b1, n2 * b2, b2, 100.0, e0, rng.random(60_000), times, before
    )
    assert 5 < k < len(times)
    t = list(times[:k])
    np.testing.assert_allclose(before[:k, 0], ref.hawkes_excess_before_ref(t, e0[0], n1 * b1, b1), rtol=1e-9)
    np.testing.assert_allclose(before[:k, 1], ref.hawkes_excess_before_ref(t, e0[1], n2 * b2, b2), rtol=1e-9)
    assert end1 == pytest.approx(
        ref.hawkes_intensity_ref(100.0, t, 0.0, n1 * b1, b1) + e0[0] * math.exp(-b1 * 100.0), rel=1e-9
    )
    assert end2 == pytest.approx(
        ref.hawkes_intensity_ref(100.0, t, 0.0, n2 * b2, b2) + e0[1] * math.exp(-b2 * 100.0), rel=1e-9
    )


def test_two_kernel_hawkes_arrivals_pass_the_time_rescaling_test():
    """The two-kernel process's compensator increments between arrivals are i.i.d. Exp(1) (so taking the
    earliest of three first arrivals is exact), its mean rate is mu / (1 - n1 - n2), and its Fano factor keeps
    growing past the fast kernel's time scale, unlike one kernel of the same total branching."""
    rng = np.random.default_rng(8)
    mu, n1, b1, n2, b2, horizon = 0.3, 0.5, 5.0, 0.25, 0.05, 40_000.0
    cap = 200_000
    times = np.zeros(cap)
    before = np.zeros((cap, 2))
    k, _, _ = hawkes2_times_nb(
        mu, n1 * b1, b1, n2 * b2, b2, horizon, np.zeros(2), rng.random(4 * cap), times, before
    )
    t = times[:k]
    assert k < cap
    rate = mu / (1 - n1 - n2)
    assert abs(k / horizon - rate) < 6 * math.sqrt(k) / horizon / (1 - n1 - n2)
    gaps = np.diff(t)
    comp = mu * gaps
    for j, (n, b) in enumerate(((n1, b1), (n2, b2))):
        comp += (before[:-1, j] + n * b)[: k - 1] / b * (1 - np.exp(-b * gaps))
    sums = [
        ref.hawkes_compensator_ref(t[j], t[j + 1], list(t[: j + 1]), 0.0, mu, n1 * b1, b1)
        + ref.hawkes_compensator_ref(t[j], t[j + 1], list(t[: j + 1]), 0.0, 0.0, n2 * b2, b2)
        for j in (0, 1, 2, 10)
    ]
    np.testing.assert_allclose(comp[[0, 1, 2, 10]], sums, rtol=1e-9)
    assert stats.kstest(comp, "expon").pvalue > 0.01

    def fano(w):
        c = np.bincount((t // w).astype(int), minlength=int(horizon // w))[: int(horizon // w)]
        return c.var() / c.mean()

    # the fast kernel alone saturates near 1 / (1 - n1)^2 = 4 within a second; the slow one keeps it growing
    assert fano(1.0) < 6.0 and fano(60.0) > 2.0 * fano(1.0)


def test_one_kernel_market_is_unchanged_by_the_slow_kernel_switch():
    """hawkes_slow_branching = 0 leaves the market drawing exactly as the one-kernel process (its decay is then
    never read); > 0 changes the arrivals."""
    base = MarketConfig().to_dict()
    base["flow"]["hawkes_slow_branching"] = 0.0

    def record(flow):
        m = {**base, "flow": {**base["flow"], **flow}}
        sim = MarketSimulator(MarketConfig.from_dict(m, source="t"), n_agents=0, seed=3)
        return sim.run_background(200, 1.0, record=True)

    a = record({})
    np.testing.assert_array_equal(a, record({"hawkes_slow_decay": 0.37}))
    b = record({"hawkes_branching": 0.6, "hawkes_slow_branching": 0.15, "hawkes_slow_decay": 0.05})
    assert a.shape != b.shape or not np.array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
def test_propagator_matches_the_sum_over_orders(seed):
    rng = np.random.default_rng(100 + seed)
    m = 200
    times = np.sort(rng.uniform(0, 100, m))
    signs = rng.choice([-1.0, 1.0], m)
    lots = rng.integers(0, 6, m).astype(float)
    t_eval = np.sort(rng.uniform(0, 120, 50))
    ticks, expo, refl = rng.uniform(0.1, 3.0), rng.uniform(0.3, 1.0), rng.uniform(0.5, 3.0)
    perm, decay = rng.uniform(0, 1), rng.uniform(0.01, 1.0)
    out = np.zeros(len(t_eval))
    propagator_path_nb(times, signs, lots, t_eval, ticks, expo, refl, perm, decay, out)
    want = [ref.propagator_ref(te, times, signs, lots, ticks, expo, refl, perm, decay) for te in t_eval]
    np.testing.assert_allclose(out, want, rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------------------------------------------
# the market


def _exogenous(**over) -> MarketConfig:
    """The default market with the lean of uninformed market orders off, market orders taking their drawn size
    (not sized by the book: ``walk_beyond_best`` off too) and the sweep rule off, so that every background sign
    and size, hence the efficient price, is independent of the book (and of the agents)."""
    return MarketConfig.preset(
        DEFAULT_PRESET,
        {
            "flow": {"informed_slope": 0.0, "p_walk": 1.0, "p_clear": 0.0, "walk_beyond_best": False},
            "formation": {"walk_gap_ticks": None},
            **over,
        },
    )


def _transient(sim) -> float:
    """The transient impact (ticks) of ``sim`` now: ``F_TRANS`` decayed from its last update to ``F_TIME``."""
    st = sim.state
    return st.f[mk.F_TRANS] * math.exp(-st.p[mk.P_IMP_DECAY] * (st.f[mk.F_TIME] - st.f[mk.F_TRANS_T]))


def test_agent_market_order_moves_the_efficient_price_by_the_propagator():
    cfg = _exogenous(latency={"mean": 0.0}, warmup_seconds=70.0)
    fm = cfg.formation
    quiet = MarketSimulator(cfg, n_agents=1, seed=6)
    buyer = MarketSimulator(cfg, n_agents=1, seed=6)
    ba = buyer.best_ticks()[1]
    buyer.set_quote(0, bid=(ba + 30, 1))  # marketable
    quiet.step(1.0)
    res = buyer.step(1.0)
    bought = res.agent_out[0, mk.O_TAKER_BUY]
    assert bought > 0
    size = fm.impact_ticks * (bought / fm.impact_ref_lots) ** fm.impact_exponent
    d_fair = buyer.state.f[mk.F_FAIR] - quiet.state.f[mk.F_FAIR]
    assert d_fair == pytest.approx(fm.permanent_share * size, rel=1e-6)
    buyer.set_quote(0)
    quiet.step(fm.transient_halflife)
    buyer.step(fm.transient_halflife)
    t = buyer.state.f[mk.F_TIME]
    lam = math.log(2) / fm.transient_halflife
    assert quiet.state.f[mk.F_TIME] == t
    d_trans = _transient(buyer) - _transient(quiet)
    # the order (no latency) executed in the first step, in [0, 1) s after the episode start
    hi = (1 - fm.permanent_share) * size * math.exp(-lam * (t - 1.0))
    lo = (1 - fm.permanent_share) * size * math.exp(-lam * t)
    assert lo * (1 - 1e-9) <= d_trans <= hi * (1 + 1e-9), (lo, d_trans, hi)
    # the permanent part stays (scaled by the latent diffusion's relative moves since, ~1e-4 here)
    d_now = buyer.state.f[mk.F_FAIR] - quiet.state.f[mk.F_FAIR]
    assert d_now == pytest.approx(fm.permanent_share * size, rel=1e-3)


def _eff(sim) -> float:
    """The efficient price (ticks) the background quotes refill around: permanent + agents' temporary +
    transient impact."""
    return sim.state.f[mk.F_FAIR] + sim.state.f[mk.F_TEMP] + _transient(sim)


@pytest.mark.parametrize("gap", [0.0, 3.0, 6.0])
@pytest.mark.parametrize("lots", [1, 25])
def test_a_sweep_moves_the_efficient_price_to_near_its_deepest_execution(gap, lots):
    """``formation.walk_gap_ticks``: after an agent's marketable buy, the efficient price is the square-root
    impact's or ``deepest execution - gap``, whichever is higher (twin simulation without the order)."""
    cfg = MarketConfig.preset(
        DEFAULT_PRESET, {"latency": {"mean": 0.0}, "formation": {"walk_gap_ticks": gap}}
    )
    fm = cfg.formation
    extras = []
    for seed in range(4):
        quiet = MarketSimulator(cfg, n_agents=1, seed=seed)
        buyer = MarketSimulator(cfg, n_agents=1, seed=seed)
        ba = buyer.best_ticks()[1]
        buyer.set_quote(0, bid=(ba + 60, lots))  # marketable, walks the book when large
        n_mkt = buyer.state.i[mk.I_CNT_MARKET]
        quiet.step(1e-3)
        res = buyer.step(1e-3)
        assert buyer.state.i[mk.I_CNT_MARKET] == n_mkt  # no background market order in the step
        mine = res.fills[res.fills["taker_owner"] == 1]  # agent 0 is owner 1
        assert mine["qty"].sum() == res.agent_out[0, mk.O_TAKER_BUY] > 0
        deepest = int(mine["price"].max())
        size = fm.impact_ticks * (mine["qty"].sum() / fm.impact_ref_lots) ** fm.impact_exponent
        eff_after_impact = _eff(quiet) + size
        extra = max(0.0, deepest - gap - eff_after_impact)
        d_fair = buyer.state.f[mk.F_FAIR] - quiet.state.f[mk.F_FAIR]
        assert d_fair == pytest.approx(fm.permanent_share * size + extra, abs=1e-3)
        assert _eff(buyer) >= deepest - gap - 1e-3
        extras.append(extra)
    if lots == 25 and gap == 0.0:
        assert max(extras) > 0  # the rule binds: a 25-lot sweep goes further than the square-root impact


def _owner_walk_ref(levels, taker_side, qty, owner):
    """Slow reference of ``book_nb.owner_walk_nb`` from a plain list of resting orders ``(side, price, lots,
    owner)``: the opposite side's prices from the best outward, ``owner``'s lots at each."""
    from almm_rllib.core.schema import BUY, NO_PRICE, SELL

    opp = SELL if taker_side == BUY else BUY
    by_price: dict[int, int] = {}
    for side, price, lots, who in levels:
        if side == opp and who == owner:
            by_price[price] = by_price.get(price, 0) + lots
    prices = sorted(by_price, reverse=(opp == BUY))
    if not prices:
        return NO_PRICE, 0, NO_PRICE
    filled, deepest = 0, prices[0]
    for p in prices:
        deepest = p
        filled += by_price[p]
        if filled >= qty:
            break
    return prices[0], by_price[prices[0]], deepest


def _random_book(rng, max_orders, depth):
    """A book of up to ``max_orders`` random resting limit orders of owners 0 (twice as likely), 1 and 2,
    bids up to ``depth`` ticks below 1000 and asks up to ``depth`` ticks from 1000 (nothing crosses), and the
    list ``(side, price, lots, owner)`` of them in arrival order."""
    from almm_rllib.core import book_nb as bk
    from almm_rllib.core.schema import BUY, EV_LIMIT, FILL_DTYPE, SELL, STATUS_OK

    st = bk.new_book_state(512, 256, 1000)
    fills = np.zeros(8, FILL_DTYPE)
    orders = []
    for k in range(int(rng.integers(0, max_orders))):
        side = BUY if rng.random() < 0.5 else SELL
        price = int(1000 - rng.integers(1, depth)) if side == BUY else int(1000 + rng.integers(0, depth))
        lots, owner = int(rng.integers(1, 6)), int(rng.choice([0, 0, 1, 2]))
        status, filled, _, _ = bk.apply_event_nb(st, fills, 0, EV_LIMIT, side, price, lots, owner, k + 1, 0.0)
        assert status == STATUS_OK and filled == 0
        orders.append((side, price, lots, owner))
    return st, orders


@pytest.mark.parametrize("seed", range(6))
def test_owner_walk_matches_the_reference_on_random_books(seed):
    from almm_rllib.core import book_nb as bk
    from almm_rllib.core.schema import BUY, SELL

    rng = np.random.default_rng(seed)
    st, orders = _random_book(rng, 120, 40)
    for taker in (BUY, SELL):
        for owner in (0, 1, 2):
            for qty in (0, 1, 3, 10, 40, 10_000):
                got = bk.owner_walk_nb(st, taker, qty, owner)
                assert tuple(int(x) for x in got) == _owner_walk_ref(orders, taker, qty, owner)


def _walk_cost_ref(levels, taker_side, qty, exclude, ref):
    """Slow reference of ``book_nb.walk_cost_nb``: resting orders ``(side, price, lots, owner)`` in arrival
    order (FIFO within a price), every owner's but ``exclude``'s, walked from the best price."""
    from almm_rllib.core.schema import BUY, SELL

    opp = SELL if taker_side == BUY else BUY
    mine = [(p, lots) for side, p, lots, who in levels if side == opp and who != exclude]
    mine.sort(key=lambda x: x[0], reverse=(opp == BUY))  # stable: FIFO within a price
    left, cost, last = qty, 0.0, ref
    for p, lots in mine:
        if left <= 0:
            break
        take = min(left, lots)
        cost += abs(p - ref) * take
        left -= take
        last = p
    return cost + abs(last - ref) * left


@pytest.mark.parametrize("seed", range(4))
def test_walk_cost_matches_the_reference_on_random_books(seed):
    from almm_rllib.core import book_nb as bk
    from almm_rllib.core.schema import BUY, SELL

    rng = np.random.default_rng(50 + seed)
    st, orders = _random_book(rng, 100, 30)
    for taker in (BUY, SELL):
        for exclude in (0, 1, 2):
            for qty in (0, 1, 4, 25, 1000):
                ref_px = 999.5 + rng.normal()
                got = bk.walk_cost_nb(st, taker, qty, exclude, ref_px)
                assert got == pytest.approx(_walk_cost_ref(orders, taker, qty, exclude, ref_px), rel=1e-12)


def test_liquidation_on_the_order_book_market_walks_the_book_without_the_agents_own_quotes():
    """Without an agent impact model the book is the impact model: a short agent buys back from the asks of
    everyone else, even when its own ask is the best one (it cannot close against itself at its own mid)."""
    from almm_rllib.core import book_nb as bk
    from almm_rllib.core.schema import BUY, SELL

    sim = MarketSimulator(MarketConfig(), n_agents=1, seed=2)
    bb, ba = sim.best_ticks()
    st = sim.state
    st.inv[1] = -3  # agent 0 (account 1) short 3 lots
    px, qty = np.zeros(64, np.int64), np.zeros(64, np.int64)
    k = bk.depth_nb(st.book, SELL, 64, px, qty)
    mid = sim.mid_ticks()
    left, want = 3, 0.0
    for j in range(k):
        take = min(left, int(qty[j]))
        want += (px[j] - mid) * take
        left -= take
    assert left == 0 and want > 0
    lot, tick = MarketConfig().lot_size, MarketConfig().tick_size
    assert sim.liquidation_cost(0) == pytest.approx(want * tick * lot, rel=1e-9)
    # the agent's own ask at the touch changes the mid, not the levels it must buy from
    from almm_rllib.core.schema import EV_LIMIT

    others = [(int(p), int(q)) for p, q in zip(px[:k], qty[:k], strict=True)]
    bk.apply_event_nb(st.book, st.fills, 0, EV_LIMIT, SELL, ba - 1, 5, 1, 10**9, sim.time)
    mid2 = sim.mid_ticks()
    assert mid2 < mid
    left, want2 = 3, 0.0
    for p, q in others:
        take = min(left, q)
        want2 += (p - mid2) * take
        left -= take
    assert sim.liquidation_cost(0) == pytest.approx(want2 * tick * lot, rel=1e-9)
    assert sim.liquidation_cost(0) > want * tick * lot  # measured from a lower mid, the same asks cost more
    # with an agent impact model, that model's cost as before
    ac = MarketConfig.preset(DEFAULT_PRESET, {"impact": {"model": "sqrt", "gamma": 0.0, "eta": 0.1}})
    sim2 = MarketSimulator(ac, n_agents=1, seed=2)
    sim2.state.inv[1] = -3
    from almm_rllib.core.impact import liquidation_cost

    assert sim2.liquidation_cost(0) == pytest.approx(
        liquidation_cost(ac.impact, -3 * lot, sim2.mid, max(sim2.sigma, 0.0)), rel=1e-9
    )
    assert bb is not None and BUY != SELL and ba - bb >= 3


def test_a_background_sweep_moves_the_price_as_if_the_agents_quotes_were_not_there():
    """Twin markets, one with an agent's quotes inside the spread on both sides: the same background market
    order (informed, allowed to walk, 12 lots) fills the agent's orders first and so walks less far, yet moves
    the efficient price exactly as in the market without them (its size and its sweep are the background
    book's). Before, an agent quoting one side at the touch absorbed that side's sweeps and the price drifted
    the other way."""
    from almm_rllib.core import book_nb as bk
    from almm_rllib.core.schema import EV_LIMIT

    cfg = MarketConfig()
    shorter, moved = 0, 0
    for seed in range(8):
        twins = [MarketSimulator(cfg, n_agents=1, seed=seed) for _ in range(2)]
        bb, ba = twins[0].best_ticks()
        assert ba - bb >= 3
        ms = twins[0].state
        for j, (side, price) in enumerate(((mk.BUY, bb + 1), (mk.SELL, ba - 1))):
            bk.apply_event_nb(ms.book, ms.fills, 0, EV_LIMIT, side, price, 4, 1, 10**9 + j, twins[0].time)
        deepest, makers, f_before = [], [], []
        for sim in twins:
            st = sim.state
            st.ev["time"][0] = sim.time + 1e-3
            st.bg_draws[0, :] = 0.5
            st.bg_draws[0, mk.U_ANCHOR] = cfg.flow.p_follow + 0.01  # informed: its side ignores the book
            st.bg_draws[0, mk.U_WALK] = 0.0  # may walk
            st.bg_draws[0, mk.U_SIZE] = 12.0
            f_before.append(st.f[mk.F_FAIR])
            _, nfill = mk._bg_market_event_nb(st, 0, 0)
            f = st.fills[:nfill]
            f = f[f["taker_owner"] == 0]  # the market order's own executions (not the requotes')
            deepest.append(f["price"].max() if f["aggressor"][0] == mk.BUY else f["price"].min())
            makers.append(set(f["maker_owner"].tolist()))
        with_quotes, without = twins
        assert f_before[0] == f_before[1]
        assert 1 in makers[0] and 1 not in makers[1]  # the agent's quote was hit first
        assert with_quotes.state.f[mk.F_FAIR] == without.state.f[mk.F_FAIR]
        shorter += deepest[0] != deepest[1]
        size = cfg.formation.impact_ticks * 12**cfg.formation.impact_exponent * cfg.formation.permanent_share
        moved += abs(without.state.f[mk.F_FAIR] - f_before[1]) > size + 1e-9
    assert shorter > 0 and moved > 0  # the agent's lots did shorten the walk, and the sweep rule did bind


def _market_size_ref(drawn, u, p_walk, p_clear, at_best, beyond=False):
    """Slow reference of ``flow_nb.market_size_nb``: lots a background market order takes."""
    lots = max(1, int(math.floor(drawn + 0.5)))
    if u < p_walk and beyond:
        return at_best + lots
    if u < p_walk or at_best < 1:
        return lots
    if u < p_walk + p_clear:
        return at_best
    return min(lots, at_best)


def test_market_order_size_matches_the_reference_rule():
    from almm_rllib.core.flow_nb import market_size_nb
    from almm_rllib.core.schema import BUY, SELL

    rng = np.random.default_rng(5)
    for p_walk, p_clear, beyond in [
        (1.0, 0.0, False),
        (0.0, 0.0, False),
        (0.0, 1.0, False),
        (0.2, 0.5, False),
        (1.0, 0.0, True),
        (0.2, 0.5, True),
    ]:
        flow = {"p_walk": p_walk, "p_clear": p_clear, "walk_beyond_best": beyond}
        cfg = MarketConfig.preset(DEFAULT_PRESET, {"flow": flow})
        sim = MarketSimulator(cfg, n_agents=0, seed=3)
        for k in range(200):
            if k % 20 == 0:
                sim.step(1.0)
            bb, ba = sim.best_ticks()
            d = np.zeros(mk.N_DRAWS)
            d[mk.U_SIZE] = rng.lognormal(0.0, 1.5)
            d[mk.U_WALK] = rng.random()
            for side in (BUY, SELL):
                best = ba if side == BUY else bb
                at_best = 0 if best is None else sim.level_lots(SELL if side == BUY else BUY, best)
                want = _market_size_ref(d[mk.U_SIZE], d[mk.U_WALK], p_walk, p_clear, at_best, beyond)
                assert market_size_nb(sim.state, d, side) == want


def test_market_orders_that_walk_beyond_the_best_always_walk():
    """``walk_beyond_best``: an order of the ``p_walk`` share takes the whole opposite best queue and more, so
    every one that meets a second price level trades at two prices or more (the walk's length is set by the
    book behind the touch)."""
    flow = {"p_walk": 1.0, "p_clear": 0.0, "walk_beyond_best": True}
    sim = MarketSimulator(MarketConfig.preset(DEFAULT_PRESET, {"flow": flow}), n_agents=0, seed=8)
    walked = one_price = 0
    for _ in range(2000):
        sim.step(1.0)
        f = sim.step_fills()
        for oid in np.unique(f["taker_order_id"]):
            prices = f["price"][f["taker_order_id"] == oid]
            walked += prices.min() < prices.max()
            one_price += prices.min() == prices.max()
    # one price only when the order emptied its whole side (no second level to reach)
    assert walked > 200 and one_price < 0.05 * walked, (walked, one_price)


def test_market_orders_sized_to_the_touch_do_not_walk():
    """``p_walk = 0``: no background market order trades beyond the first price it meets (limit orders priced
    from the same side's best, so that every aggressive order is a market order)."""
    cfg = MarketConfig.preset(DEFAULT_PRESET, {"flow": {"p_walk": 0.0, "p_clear": 0.5, "p_anchor_fair": 0.0}})
    sim = MarketSimulator(cfg, n_agents=0, seed=8)
    n_orders = 0
    for _ in range(3000):
        sim.step(1.0)
        f = sim.step_fills()
        for oid in np.unique(f["taker_order_id"]):
            prices = f["price"][f["taker_order_id"] == oid]
            n_orders += 1
            assert prices.min() == prices.max(), prices
    assert n_orders > 300


def test_common_random_numbers_the_efficient_price_ignores_passive_agents():
    cfg = _exogenous()
    a = MarketSimulator(cfg, n_agents=1, seed=21)
    b = MarketSimulator(cfg, n_agents=1, seed=21)

    def passive(sim, below, above):
        """Quotes ``below``/``above`` ticks around the mid that cannot cross the book (a thin book can lose one
        side, and the mid then reads the last two-sided one)."""
        m = round(sim.mid_ticks())
        bb, ba = sim.best_ticks()
        bid = m - below if ba is None else min(m - below, ba - 1)
        ask = m + above if bb is None else max(m + above, bb + 1)
        return bid, ask

    for k in range(300):
        bid, ask = passive(a, 8, 8)
        a.set_quote(0, bid=(bid, 1), ask=(ask, 2))  # passive, different from b
        if k % 7 == 0:
            bid, ask = passive(b, 15 + k % 3, 20)
            b.set_quote(0, bid=(bid, 3), ask=(ask, 1))
        a.step(1.0)
        b.step(1.0)
        assert a.state.f[mk.F_FAIR] == b.state.f[mk.F_FAIR]
        assert a.state.i[mk.I_CNT_MARKET] == b.state.i[mk.I_CNT_MARKET]
        assert a.state.rpos[mk.S_FLOW] == b.state.rpos[mk.S_FLOW]
        assert a.state.rpos[mk.S_PRICE] == b.state.rpos[mk.S_PRICE]


def test_informed_orders_trade_toward_the_coming_move():
    cfg = MarketConfig.preset(
        DEFAULT_PRESET,
        {
            "flow": {"p_informed": 0.9, "p_metaorder": 0.0, "p_follow": 0.0},
            "formation": {"impact_ticks": 0.0, "walk_gap_ticks": None},
        },
    )
    sim = MarketSimulator(cfg, n_agents=0, seed=4)
    rec = sim.run_background(6000, 1.0, record=True)
    lead = int(cfg.formation.info_lead)
    net = rec[:, mk.REC_MKT_BUY] - rec[:, mk.REC_MKT_SELL]
    fair = rec[:, mk.REC_FAIR]
    future = fair[lead:] - fair[:-lead]
    ok = net[: len(future)] != 0
    agree = np.mean(np.sign(net[: len(future)][ok]) == np.sign(future[ok]))
    assert agree > 0.7, agree


def test_informed_orders_are_the_side_rule_branch_that_reads_the_signal():
    """``flow_nb.informed_order_nb`` names the orders the side rule makes informed: ``U_ANCHOR`` in
    ``[p_follow, p_follow + p_informed)`` (the followers' share comes first). A state that tells the branches
    apart: the last order sold and the coming move is up, so an informed order buys and a follower sells (and
    the other way round)."""
    from almm_rllib.core.flow_nb import informed_order_nb, market_side_nb
    from almm_rllib.core.schema import BUY, SELL

    p_fol, p_inf = 0.45, 0.3
    flow = {"p_follow": p_fol, "p_informed": p_inf, "p_metaorder": 0.1}
    sim = MarketSimulator(MarketConfig.preset(DEFAULT_PRESET, {"flow": flow}), n_agents=0, seed=1)
    sim.step(1.0)
    ms = sim.state
    grid = (np.arange(4000) + 0.5) / 4000
    for last, coming, informed_side in ((-1.0, 1.0, BUY), (1.0, -1.0, SELL)):
        flags = np.zeros(grid.size, bool)
        for k, u in enumerate(grid):
            ms.f[mk.F_LAST_SIGN], ms.f[mk.F_INFO_SUM] = last, coming
            d = np.zeros(mk.N_DRAWS)
            d[mk.U_ANCHOR] = u
            flags[k] = informed_order_nb(ms, d)
            side = market_side_nb(ms, d, sim.time)
            if flags[k]:
                assert side == informed_side, u
            if u < p_fol:
                assert side != informed_side and not flags[k], u
        assert np.array_equal(flags, (grid >= p_fol) & (grid < p_fol + p_inf))


def _takeback_sim(informed_takeback, follower_takeback, p_fol=0.45, p_inf=0.3):
    fm = {"informed_takeback": informed_takeback, "follower_takeback": follower_takeback}
    flow = {"p_follow": p_fol, "p_informed": p_inf, "p_metaorder": 0.1}
    sim = MarketSimulator(
        MarketConfig.preset(DEFAULT_PRESET, {"flow": flow, "formation": fm}), n_agents=0, seed=3
    )
    sim.run_background(60, 1.0)
    return sim


@pytest.mark.parametrize(("ti", "tf"), [(0.0, 2 / 3), (1.0, 0.0), (0.5, 0.25), (1.0, 1.0), (0.0, 0.0)])
def test_the_takeback_bands_are_the_stated_shares_of_followers_and_informed_orders(ti, tf):
    """``flow_nb.takeback_order_nb``: an order's permanent impact is taken back when its ``U_ANCHOR`` is in the
    first ``follower_takeback`` of the followers' band ``[0, p_follow)`` or the first ``informed_takeback`` of
    the informed band ``[p_follow, p_follow + p_informed)`` (``informed_order_nb``); never for the metaorder
    children and the leaning orders above."""
    from almm_rllib.core.flow_nb import informed_order_nb, takeback_order_nb

    p_fol, p_inf = 0.45, 0.3
    ms = _takeback_sim(ti, tf, p_fol, p_inf).state
    grid = (np.arange(8000) + 0.5) / 8000
    got = np.zeros(grid.size, bool)
    informed = np.zeros(grid.size, bool)
    for k, u in enumerate(grid):
        d = np.zeros(mk.N_DRAWS)
        d[mk.U_ANCHOR] = u
        got[k] = takeback_order_nb(ms, d)
        informed[k] = informed_order_nb(ms, d)
    want = (grid < tf * p_fol) | (informed & (grid - p_fol < ti * p_inf))
    assert np.array_equal(got, want)
    assert got.mean() == pytest.approx(tf * p_fol + ti * p_inf, abs=2 / grid.size)


def test_the_default_takeback_is_the_followers_and_two_thirds_of_them_was_the_old_rule():
    """The AMZN preset's shares (informed 0, followers 1) take back exactly the followers' band ``U_ANCHOR <
    p_follow``. The preset before it had followers 2/3, which takes back exactly ``U_ANCHOR < p_informed``
    (0.3 < ``p_follow`` = 0.45): the rule the kernel applied, under the name of Kyle's accounting, when that
    preset was fitted (docs/market-calibration.md, "The take-back, made explicit"); 2/3 * 0.45 is 0.3 to the
    last bit, so the old market is reproduced bit for bit by its parameters."""
    from almm_rllib.core.flow_nb import takeback_order_nb

    cfg = MarketConfig.preset(DEFAULT_PRESET)
    fm, fl = cfg.formation, cfg.flow
    assert (fm.informed_takeback, fm.follower_takeback, fl.p_informed, fl.p_follow) == (0.0, 1.0, 0.3, 0.45)
    old = MarketConfig.preset(DEFAULT_PRESET, {"formation": {"follower_takeback": 0.6666666666666666}})
    assert old.formation.follower_takeback * fl.p_follow == fl.p_informed
    rng = np.random.default_rng(0)
    us = np.concatenate([rng.random(20_000), np.nextafter([0.3, 0.45], [0.0, 0.0]), [0.3, 0.45]])
    for c, limit in ((cfg, fl.p_follow), (old, fl.p_informed)):
        ms = MarketSimulator(c, n_agents=0, seed=3).state
        for u in us:
            d = np.zeros(mk.N_DRAWS)
            d[mk.U_ANCHOR] = u
            assert takeback_order_nb(ms, d) == (u < limit), (u, limit)


@pytest.mark.parametrize(("ti", "tf"), [(1.0, 0.0), (0.0, 1.0)])
def test_a_taken_back_impact_leaves_the_efficient_price_at_rate_one_over_info_lead(ti, tf):
    """A background market order's permanent move of the efficient price (square-root part + sweep) goes into
    ``F_INFO_ADV`` exactly when ``takeback_order_nb`` says so, and one step of ``dt`` then takes
    ``dt / info_lead`` of it back out of ``F_FAIR``."""
    from almm_rllib.core.flow_nb import takeback_order_nb
    from almm_rllib.core.price_nb import advance_fair_nb

    sim = _takeback_sim(ti, tf)
    ms = sim.state
    rng = np.random.default_rng(5)
    lead = sim.config.formation.info_lead
    seen = {True: 0, False: 0}
    for u in rng.random(200):
        sim.run_background(1, 1.0)  # a fresh book state around the price for each order
        d = rng.random(mk.N_DRAWS)
        d[mk.U_ANCHOR] = u
        ms.bg_draws[0] = d
        ms.ev["time"][0] = sim.time
        fair0, adv0 = ms.f[mk.F_FAIR], ms.f[mk.F_INFO_ADV]
        back = takeback_order_nb(ms, d)
        mk._bg_market_event_nb(ms, 0, 0)
        moved = ms.f[mk.F_FAIR] - fair0  # of a price near 22,270 ticks: a few 1e-12 of rounding
        assert ms.f[mk.F_INFO_ADV] - adv0 == pytest.approx(moved if back else 0.0, abs=1e-8), u
        seen[bool(back)] += moved != 0.0
    assert seen[True] > 10 and seen[False] > 10, seen
    adv = ms.f[mk.F_INFO_ADV]
    assert adv != 0.0
    advance_fair_nb(ms, 2.0, ms.i[mk.I_REGIME])
    assert ms.f[mk.F_INFO_ADV] == pytest.approx(adv * (1.0 - 2.0 / lead), rel=1e-12)


@pytest.mark.parametrize("regime", ["low", "medium", "high"])
def test_realised_mid_volatility_per_regime_within_10_percent(regime):
    """The regimes keep their meaning: the configured volatility is the mid's total (latent diffusion scaled by
    ``regimes.diffusion_scale`` + every market order's impact + the book's noise). Measured on the default
    preset as ``almm calibrate-market`` measures it (``regime_mid_vol``: the mid's log changes sampled every
    10 s in the pinned regime after a 300-s warm-up), pooled over 40 seeds of 12,000 s (48,000 changes).
    One seed is not enough: the bursts and metaorders cluster the mid's moves, so one 12,000-s run's estimate
    scatters by 7-8% (measured over 20 seeds), which a 10% bound cannot tell from a bias; pooled over 40, the
    standard error is about 1.3%. Measured 2026-11-30: low 1.073, medium 1.056, high 0.953 of the configured
    volatility (16 of these seeds alone put low at 1.107: the margin is thin)."""
    from almm_rllib.evaluation.market_fit import regime_mid_vol

    cfg = MarketConfig.preset(DEFAULT_PRESET)
    market = cfg.to_dict()
    vols = np.array([regime_mid_vol(market, regime, 12_000.0, seed) for seed in range(100, 140)])
    vol = math.sqrt(np.mean(vols**2))
    want = cfg.regimes.volatility[cfg.regimes.index(regime)]
    assert abs(vol / want - 1) < 0.10, (vol, want, vols / want)


def test_diffusion_scale_scales_the_latent_diffusion_only():
    """``diffusion_scale`` multiplies the latent diffusion's volatility and nothing else: with market orders
    that move nothing, the efficient price's volatility is the configured one times the scale, while the
    regime's reported volatility (``sim.sigma``, what the agents observe) stays the configured one."""
    over = {"regimes": {"switching": False, "initial": "medium", "diffusion_scale": [1.0, 0.5, 1.0]}}
    over.update(formation={"impact_ticks": 0.0, "walk_gap_ticks": None}, warmup_seconds=0.0)
    cfg = MarketConfig.preset(DEFAULT_PRESET, over)
    sim = MarketSimulator(cfg, n_agents=0, seed=3)
    n, dt = 8000, 0.5
    rec = sim.run_background(n, dt, record=True)
    lead = int(cfg.formation.info_lead / dt) + 1  # the ring fills up before the diffusion reaches the price
    vol = np.diff(np.log(rec[lead:, mk.REC_FAIR])).std(ddof=1) / math.sqrt(dt)
    want = 0.5 * cfg.regimes.volatility[1]
    assert abs(vol / want - 1) < 4 / math.sqrt(2 * (n - lead)), (vol, want)
    assert sim.sigma == cfg.regimes.volatility[1]


def test_followers_repeat_the_last_market_order_side():
    """With only followers and leaners (no informed, no metaorders, no lean slope: fair coins), a share q of
    market orders repeats the last side: the signs are a Markov chain whose lag-k autocorrelation is q ** k."""
    q = 0.6
    over = {"flow": {"p_follow": q, "p_informed": 0.0, "p_metaorder": 0.0, "informed_slope": 0.0}}
    over["formation"] = {"info_lead": 0.0}
    cfg = MarketConfig.preset(DEFAULT_PRESET, over)
    from almm_rllib.results.microstructure import simulator_day

    signs = simulator_day(cfg, seconds=8000, seed=5, burn_in_seconds=0.0).orders.sign
    assert signs.size > 1500
    acf = [np.corrcoef(signs[:-k], signs[k:])[0, 1] for k in (1, 2)]
    # standard error ~ sqrt((1 + q^2) / (1 - q^2) / n) ~ 0.03
    assert abs(acf[0] - q) < 0.1 and abs(acf[1] - q * q) < 0.1, acf


def test_default_market_is_deterministic_and_pickles():
    import pickle

    a = MarketSimulator(MarketConfig(), n_agents=1, seed=9)
    b = MarketSimulator(MarketConfig(), n_agents=1, seed=9)
    for sim in (a, b):
        for _ in range(50):
            m = round(sim.mid_ticks())
            sim.set_quote(0, bid=(m - 3, 1), ask=(m + 3, 1))
            sim.step(1.0)
    c = pickle.loads(pickle.dumps(a))
    for sim in (a, b, c):
        sim.step(1.0)
    for x, y in ((a, b), (a, c)):
        for u, v in zip((*x.state.book, *x.state[1:]), (*y.state.book, *y.state[1:]), strict=True):
            assert np.ascontiguousarray(u).tobytes() == np.ascontiguousarray(v).tobytes()


# --------------------------------------------------------------------------------------------------------------
# presets and validation


def test_presets_by_name_with_overrides_and_a_clear_error():
    assert MarketConfig() == MarketConfig.from_dict({"preset": DEFAULT_PRESET})
    g = MarketConfig.from_dict({"preset": "generic_large_tick", "flow": {"limit_rate": 7}})
    assert g.initial_price == 100.0 and g.flow.limit_rate == 7.0 and g.flow.market_rate == 1.5
    assert g.formation.impact_ticks == 0.0 and g.flow.hawkes_branching == 0.0
    assert MarketConfig.from_dict(g.to_dict()) == g
    with pytest.raises(ConfigError) as err:
        MarketConfig.from_dict({"preset": "nasdaq"}, source="exp.yaml")
    msg = str(err.value)
    assert msg.startswith("exp.yaml: preset") and all(name in msg for name in PRESETS)


def test_env_config_takes_a_market_preset():
    from almm_rllib.env.config import EnvConfig

    env = EnvConfig.from_dict({"market": {"preset": "generic_large_tick"}})
    assert env.market.initial_price == 100.0
    with pytest.raises(ConfigError, match="market.preset is not a known market preset"):
        EnvConfig.from_dict({"market": {"preset": "x"}})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"flow": {"p_informed": 1.5}}, "flow.p_informed must be a probability"),
        (
            {"flow": {"p_informed": 0.6, "p_metaorder": 0.5}},
            "flow.p_metaorder plus p_informed and p_follow must be < 1",
        ),
        ({"flow": {"metaorder_tail": 1.0}}, "flow.metaorder_tail must be > 1"),
        ({"flow": {"metaorder_count": 0}}, "flow.metaorder_count must be >= 1"),
        ({"flow": {"hawkes_branching": 1.0}}, "flow.hawkes_branching must be in [0, 1)"),
        ({"flow": {"hawkes_decay": 0.0}}, "flow.hawkes_decay must be > 0"),
        (
            {"flow": {"hawkes_branching": 0.7, "hawkes_slow_branching": 0.3}},
            "flow.hawkes_slow_branching must be >= 0 and, plus hawkes_branching, < 1",
        ),
        (
            {"flow": {"hawkes_slow_branching": 0.1, "hawkes_slow_decay": 0.0}},
            "flow.hawkes_slow_decay must be > 0",
        ),
        ({"flow": {"hawkes_slow_decay": -1.0}}, "flow.hawkes_slow_decay must be finite and >= 0"),
        ({"formation": {"impact_exponent": 1.5}}, "formation.impact_exponent must be in (0, 1]"),
        ({"formation": {"permanent_share": -0.1}}, "formation.permanent_share must be in [0, 1]"),
        ({"formation": {"informed_takeback": 1.5}}, "formation.informed_takeback must be in [0, 1]"),
        ({"formation": {"follower_takeback": -0.2}}, "formation.follower_takeback must be in [0, 1]"),
        ({"formation": {"transient_halflife": 0}}, "formation.transient_halflife must be finite and > 0"),
        ({"formation": {"info_lead": 0.0}}, "formation.info_lead must be > 0 when flow.p_informed > 0"),
        ({"formation": {"impact_ticks": -1}}, "formation.impact_ticks must be finite and >= 0"),
        ({"formation": {"walk_gap_ticks": -2}}, "formation.walk_gap_ticks must be None or finite and >= 0"),
        ({"flow": {"p_walk": 1.5}}, "flow.p_walk must be a probability in [0, 1]"),
        ({"flow": {"p_walk": 0.6, "p_clear": 0.6}}, "flow.p_clear plus p_walk must be <= 1"),
    ],
)
def test_new_keys_are_validated_by_name(data, needle):
    with pytest.raises(ConfigError) as err:
        MarketConfig.from_dict(data, source="m.yaml")
    assert needle in str(err.value), str(err.value)


def _requote_price_ref(side, eff, u_dist, dist_min, dist_p, bb, ba):
    """Slow reference of ``flow_nb.requote_price_nb``: a requote's price (ticks)."""
    from almm_rllib.core.schema import BUY

    extra = 0 if dist_p >= 1.0 else int(math.floor(math.log(1.0 - u_dist) / math.log(1.0 - dist_p)))
    d = dist_min + extra
    if side == BUY:
        price = math.floor(eff) - d
        return price if ba is None or price < ba else ba - 1
    price = math.ceil(eff) + d
    return price if bb is None or price > bb else bb + 1


def test_requote_price_matches_the_reference_rule():
    """A requote rests ``requote_distance_min`` plus a geometric number of ticks behind the efficient price,
    never through the opposite best (checked on random efficient prices, also ones beyond the book)."""
    from almm_rllib.core.flow_nb import requote_price_nb
    from almm_rllib.core.schema import BUY, SELL

    rng = np.random.default_rng(9)
    for dist_min, dist_p in [(0, 1.0), (8, 0.5), (3, 0.2)]:
        cfg = MarketConfig.preset(
            DEFAULT_PRESET, {"flow": {"requote_distance_min": dist_min, "requote_distance_p": dist_p}}
        )
        sim = MarketSimulator(cfg, n_agents=0, seed=4)
        for k in range(300):
            if k % 30 == 0:
                sim.step(1.0)
            bb, ba = sim.best_ticks()
            m = sim.mid_ticks()
            sim.state.f[mk.F_FAIR] = m + rng.normal(0.0, 15.0)  # now and then beyond the opposite best
            eff = sim.state.f[mk.F_FAIR] + sim.state.f[mk.F_TEMP] + _transient(sim)
            u = rng.random()
            for side in (BUY, SELL):
                want = _requote_price_ref(side, eff, u, dist_min, dist_p, bb, ba)
                assert requote_price_nb(sim.state, side, u, sim.state.f[mk.F_TIME]) == want


def _trading_orders(fills) -> tuple[int, int]:
    """(buy, sell) background market orders that traded in one step's fills."""
    from almm_rllib.core.schema import BACKGROUND_OWNER, BUY

    bg = fills[fills["taker_owner"] == BACKGROUND_OWNER]
    ids, first = np.unique(bg["taker_order_id"], return_index=True)
    buys = int((bg["aggressor"][first] == BUY).sum())
    return buys, len(ids) - buys


@pytest.mark.parametrize("p_requote,p_refill", [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
def test_every_trading_market_order_brings_its_requotes(p_requote, p_refill):
    """A market order that traded brings one new limit order on its own side (``p_requote`` = 1) and one on the
    side it took from (``p_refill`` = 1). Counted against a twin whose requotes never come (a tiny
    ``p_requote``: the same draws, so the same background limit arrivals). Limit orders are priced from their
    own side's best (``p_anchor_fair`` = 0), so that none is marketable and every background taker is a
    market order."""

    def sim(requote, refill):
        flow = {"p_requote": requote, "p_refill": refill, "p_anchor_fair": 0.0}
        return MarketSimulator(MarketConfig.preset(DEFAULT_PRESET, {"flow": flow}), n_agents=0, seed=12)

    a, b = sim(p_requote, p_refill), sim(1e-12, 0.0)
    n_trading = 0
    for _ in range(1500):
        ca, cb = a.background_counts(), b.background_counts()
        a.step(1.0)
        b.step(1.0)
        buys, sells = _trading_orders(a.step_fills())
        n_trading += buys + sells
        new_bids = (a.background_counts()["limit_buy"] - ca["limit_buy"]) - (
            b.background_counts()["limit_buy"] - cb["limit_buy"]
        )
        new_asks = (a.background_counts()["limit_sell"] - ca["limit_sell"]) - (
            b.background_counts()["limit_sell"] - cb["limit_sell"]
        )
        assert new_bids == p_requote * buys + p_refill * sells
        assert new_asks == p_requote * sells + p_refill * buys
        assert a.state.rpos[mk.S_FLOW] == b.state.rpos[mk.S_FLOW]  # the same draws
    assert n_trading > 200


def test_requotes_make_the_mid_follow_a_trade_within_a_second():
    """What the requotes are for: on the default market the mid's response to a market order after 1 s, in
    half-spreads, is larger with them than without (the book re-centres on the price the trade revealed)."""
    from almm_rllib.results import microstructure as ms

    def response(p_requote, p_refill):
        cfg = MarketConfig.preset(DEFAULT_PRESET, {"flow": {"p_requote": p_requote, "p_refill": p_refill}})
        r = ms.microstructure_stats(ms.simulator_day(cfg, seconds=4000, seed=3))["response"]["1"]
        return r["hs"], r["hs_se"]

    (on, on_se), (off, off_se) = response(1.0, 0.7), response(0.0, 0.0)
    assert on - off > 3.0 * math.hypot(on_se, off_se), (on, on_se, off, off_se)


# ------------------------------------------------------------------------------------------------------------
# stale-quote cancellation (flow.cancel_stale_rate, flow.cancel_stale_margin)


def _still_resting(sim, side, price):
    return sim.level_lots(side, price) > 0


@pytest.mark.parametrize("margin", [3.0, 0.5])
def test_stale_quote_hazard_is_rate_times_staleness(margin):
    """A still market (no arrivals, no base cancellation, no diffusion, pinned regime) around its initial depth:
    each seeded quote whose staleness ``s`` (ticks inside ``margin`` of the fair price, or through it) is
    positive survives ``t`` seconds with probability ``exp(-rate * s * t)``, exactly as a hazard of
    ``rate * s`` gives; the others are never pulled. Survival shares over 400 seeds against that law."""
    from almm_rllib.core.schema import BUY, SELL

    rate, t_end = 0.5, 2.0
    over = {
        "warmup_seconds": 0.0,
        "jumps": {"rate": 0.0},
        "flow": {
            "limit_rate": 0.0,
            "market_rate": 0.0,
            "cancel_rate": 0.0,
            "cancel_stale_rate": rate,
            "cancel_stale_margin": margin,
        },
        "regimes": {"switching": False, "initial": "medium", "volatility": [1e-12, 1e-12, 1e-12]},
    }
    cfg = MarketConfig.preset(DEFAULT_PRESET, over)
    sim = MarketSimulator(cfg, n_agents=0, seed=0)
    tick = cfg.tick_size
    p0 = sim.fair_price / tick
    n_lv = cfg.initial_depth_levels
    quotes = [(BUY, math.floor(p0) - k) for k in range(n_lv)] + [
        (SELL, math.floor(p0) + 1 + k) for k in range(n_lv)
    ]
    stale = {q: (q[1] - (p0 - margin)) if q[0] == BUY else (p0 + margin - q[1]) for q in quotes}
    assert any(s > 0 for s in stale.values()) and any(s <= 0 for s in stale.values())
    n_seeds = 400
    alive = {q: 0 for q in quotes}
    for seed in range(n_seeds):
        sim.reset(seed)
        assert all(_still_resting(sim, *q) for q in quotes)
        for _ in range(int(t_end / 0.25)):
            sim.step(0.25)
        assert abs(sim.fair_price / tick - p0) < 1e-3  # nothing moved the fair price
        for q in quotes:
            alive[q] += _still_resting(sim, *q)
    for q, s in stale.items():
        share = alive[q] / n_seeds
        if s <= 0:
            assert share == 1.0, (q, s, share)
        else:
            want = math.exp(-rate * s * t_end)
            se = math.sqrt(want * (1 - want) / n_seeds)
            assert abs(share - want) < 4 * se + 1e-9, (q, s, share, want)


def test_stale_quote_cancellation_off_ignores_the_margin_and_on_widens_the_spread():
    """``cancel_stale_rate`` 0 makes the margin irrelevant (bit for bit, so a preset without the mechanism is the
    market it was); on the default preset (rate 0.3, margin -6), pulling quotes the fair price has run past
    removes most one-tick spreads (without it the other side re-centres up to a stale quote) and widens the
    mean spread."""
    base = MarketConfig.preset(DEFAULT_PRESET)
    assert base.flow.cancel_stale_rate > 0.0

    def run(over, n=3000):
        cfg = MarketConfig.preset(DEFAULT_PRESET, {"flow": over}) if over else base
        sim = MarketSimulator(cfg, n_agents=0, seed=5)
        rec = sim.run_background(n, 1.0, record=True)
        sp = []
        for _ in range(n):
            sim.step(1.0)
            bb, ba = sim.best_ticks()
            if bb is not None and ba is not None:
                sp.append(ba - bb)
        return rec, np.asarray(sp)

    rec0, sp0 = run({"cancel_stale_rate": 0.0, "cancel_stale_margin": 0.0})
    rec1, sp1 = run({"cancel_stale_rate": 0.0, "cancel_stale_margin": 4.0})
    np.testing.assert_array_equal(rec0, rec1)
    np.testing.assert_array_equal(sp0, sp1)
    _, sp2 = run(None)
    assert np.mean(sp2 <= 1) < 0.5 * np.mean(sp0 <= 1), (np.mean(sp0 <= 1), np.mean(sp2 <= 1))
    assert sp2.mean() > sp0.mean() + 1.0, (sp0.mean(), sp2.mean())


def test_stale_quote_config_is_validated():
    with pytest.raises(ConfigError, match="cancel_stale_rate"):
        MarketConfig.preset(DEFAULT_PRESET, {"flow": {"cancel_stale_rate": -0.1}})
    with pytest.raises(ConfigError, match="cancel_stale_margin"):
        MarketConfig.preset(DEFAULT_PRESET, {"flow": {"cancel_stale_margin": float("nan")}})
