"""The market simulator: statistics against the models, conservation, invariants, latency, impact, seeding."""

from __future__ import annotations

import hashlib
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

from almm_rllib.core import book_nb as bk
from almm_rllib.core import market_nb as mk
from almm_rllib.core.config import ConfigError
from almm_rllib.core.impact import ImpactConfig
from almm_rllib.core.market import MarketError, MarketSimulator
from almm_rllib.core.market_config import (
    FeeConfig,
    FlowConfig,
    LatencyConfig,
    MarketConfig,
    RegimeConfig,
    StylizedConfig,
)


def pinned(name: str, **kw) -> MarketConfig:
    return MarketConfig(regimes=RegimeConfig(switching=False, initial=name), **kw)


def generic(**over) -> MarketConfig:
    """The generic large-tick preset: Poisson flow and a fair price that no market order moves, so the
    statistics below can be checked against the models exactly."""
    return MarketConfig.preset("generic_large_tick", over)


def state_digest(sim: MarketSimulator) -> str:
    h = hashlib.sha256()
    for arr in (*sim.state.book, *sim.state[1:]):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------------------
# statistics against the models


def test_arrival_counts_inside_poisson_bounds():
    cfg = generic(regimes={"switching": False, "initial": "medium"}, warmup_seconds=0.0)  # Poisson flow
    sim = MarketSimulator(cfg, n_agents=0, seed=3)
    T = 4000.0
    sim.run_background(int(T), 1.0)
    i = sim.state.i
    r = cfg.regimes.index("medium")
    lam_limit = cfg.flow.limit_rate * cfg.regimes.limit_rate_mult[r] * T
    lam_market = 2 * cfg.flow.market_rate * cfg.regimes.market_rate_mult[r] * T
    for got, lam in (
        (i[mk.I_CNT_LIMIT_BUY], lam_limit),
        (i[mk.I_CNT_LIMIT_SELL], lam_limit),
        (i[mk.I_CNT_MARKET], lam_market),
    ):
        assert abs(got - lam) <= 4 * math.sqrt(lam), (got, lam)
    assert i[mk.I_CNT_CANCEL] > 0.5 * lam_limit  # the book does not grow without bound


@pytest.mark.parametrize("regime", ["low", "medium", "high"])
def test_realised_fair_volatility_per_regime(regime):
    # the latent diffusion alone (no market-order impact): exact; the default market's mid is checked in
    # test_formation.py::test_realised_mid_volatility_per_regime_within_10_percent
    cfg = generic(regimes={"switching": False, "initial": regime}, warmup_seconds=0.0)
    sim = MarketSimulator(cfg, n_agents=0, seed=11)
    n, dt = 20_000, 0.5
    rec = sim.run_background(n, dt, record=True)
    r = np.diff(np.log(rec[:, mk.REC_FAIR]))
    vol = r.std(ddof=1) / math.sqrt(dt)
    want = cfg.regimes.volatility[cfg.regimes.index(regime)]
    # relative standard error of a sample std of n normal draws is 1/sqrt(2n): 4 of them
    assert abs(vol / want - 1) < 4 / math.sqrt(2 * n), (vol, want)
    assert np.all(rec[:, mk.REC_REGIME] == cfg.regimes.index(regime))


def test_regime_occupancy_matches_stationary_distribution():
    cfg = MarketConfig(warmup_seconds=0.0)
    sim = MarketSimulator(cfg, n_agents=0, seed=5)
    n_batches, per = 20, 20_000
    rec = sim.run_background(n_batches * per, 1.0, record=True)
    pi = cfg.regimes.stationary()
    occ = np.stack(
        [
            np.bincount(rec[b * per : (b + 1) * per, mk.REC_REGIME].astype(int), minlength=3) / per
            for b in range(20)
        ]
    )
    mean = occ.mean(axis=0)
    se = occ.std(axis=0, ddof=1) / math.sqrt(n_batches)  # batch means: the chain's autocorrelation is inside
    assert np.all(np.abs(mean - pi) < 4 * se + 0.01), (mean, pi, se)
    # the stationary distribution really solves pi Q = 0
    np.testing.assert_allclose(pi @ cfg.regimes.generator(), 0.0, atol=1e-12)


def test_stylized_fill_frequency_matches_intensity():
    cfg = MarketConfig(model="stylized", tick_size=0.01, lot_size=1, initial_price=100.0)
    sim = MarketSimulator(cfg, n_agents=1, seed=2)
    A, k, dt = cfg.stylized.A, cfg.stylized.k, 0.005
    expected = np.zeros(2)
    var = np.zeros(2)
    fills = np.zeros(2)
    for _ in range(20_000):
        m = sim.mid_ticks()
        bid, ask = math.floor(m - 60), math.ceil(m + 40)
        sim.set_quote(0, bid=(bid, 1), ask=(ask, 1))
        for s, px in enumerate((bid, ask)):
            delta = abs(m - px) * cfg.tick_size
            p = min(1.0, A * math.exp(-k * delta) * dt)
            expected[s] += p
            var[s] += p * (1 - p)
        out = sim.step(dt).agent_out[0]
        fills += out[[mk.O_FILLED_BID, mk.O_FILLED_ASK]]
    assert np.all(np.abs(fills - expected) < 4 * np.sqrt(var)), (fills, expected)
    assert fills[1] > fills[0]  # the closer quote fills more often
    assert sim.totals() == (pytest.approx(0.0, abs=1e-6), 0)


def test_stylized_mid_walk_steps():
    cfg = MarketConfig(model="stylized", lot_size=1)
    sim = MarketSimulator(cfg, n_agents=1, seed=9)
    mids = [sim.mid_ticks()]
    for _ in range(2000):
        sim.step(0.005)
        mids.append(sim.mid_ticks())
    d = np.diff(mids) * cfg.tick_size
    step = cfg.stylized.sigma * math.sqrt(0.005)
    np.testing.assert_allclose(np.abs(d), step, rtol=1e-9)
    assert abs((d > 0).mean() - 0.5) < 4 * 0.5 / math.sqrt(2000)


# --------------------------------------------------------------------------------------------------------------
# conservation, invariants, seeding


def _random_quotes(sim, rng, n_agents, aggressive=0.2):
    for a in range(n_agents):
        m = round(sim.mid_ticks())
        if rng.random() < aggressive:  # cross the spread
            sim.set_quote(a, bid=(m + 3, int(rng.integers(1, 4))), ask=(m + 8, 1))
        else:
            sim.set_quote(
                a,
                bid=(m - int(rng.integers(1, 5)), int(rng.integers(0, 4))),
                ask=(m + int(rng.integers(1, 5)), int(rng.integers(0, 4))),
            )


def test_cash_and_shares_conserved_and_book_sound_every_step():
    cfg = MarketConfig(
        fees=FeeConfig(maker_bps=-0.2, taker_bps=0.3),
        impact=ImpactConfig(model="almgren_chriss", gamma=1e-6, eta=1e-5, epsilon=0.001),
        latency=LatencyConfig(model="uniform", low=0.0, high=0.8),
        warmup_seconds=10.0,
    )
    sim = MarketSimulator(cfg, n_agents=3, seed=21)
    rng = np.random.default_rng(0)
    traded = 0
    lot, tick = cfg.lot_size, cfg.tick_size
    for _ in range(400):
        _random_quotes(sim, rng, 3)
        cash0 = [sim.cash(a) for a in range(3)]
        inv0 = [sim.inventory(a) for a in range(3)]
        res = sim.step(0.5)
        traded += len(res.fills)
        # each agent's cash and inventory follow from its own fills, fees and impact cost
        for a in range(3):
            owner = a + 1
            d_cash, d_inv = 0.0, 0
            for f in res.fills:
                buyer = f["taker_owner"] if f["aggressor"] == 1 else f["maker_owner"]
                seller = f["maker_owner"] if f["aggressor"] == 1 else f["taker_owner"]
                notional = f["price"] * tick * f["qty"] * lot
                d_cash += notional * (int(owner == seller) - int(owner == buyer))
                d_inv += int(f["qty"]) * lot * (int(owner == buyer) - int(owner == seller))
            out = res.agent_out[a]
            assert sim.inventory(a) - inv0[a] == d_inv
            assert sim.cash(a) - cash0[a] == pytest.approx(
                d_cash - out[mk.O_FEES] - out[mk.O_IMPACT], abs=1e-6
            )
        cash, shares = sim.totals()
        assert shares == 0
        assert abs(cash) < 1e-6 * max(1.0, float(np.abs(sim.state.cash).sum()))
        assert bk.check_nb(sim.state.book) == 0
    assert traded > 300  # the AMZN-like default market trades far less than the old generic one (>500)
    assert any(sim.inventory(a) != 0 for a in range(3))
    assert sim.state.fees.sum() != 0 and sim.state.impact[1:4].sum() > 0


def test_same_seed_same_run_bit_for_bit():
    def run(seed):
        sim = MarketSimulator(MarketConfig(warmup_seconds=5.0), n_agents=2, seed=seed)
        rng = np.random.default_rng(1)
        for _ in range(200):
            _random_quotes(sim, rng, 2)
            sim.step(0.5)
        return state_digest(sim)

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_same_seed_same_run_across_processes():
    code = (
        "import numpy as np, hashlib\n"
        "from almm_rllib.core.market import MarketSimulator\n"
        "from almm_rllib.core.market_config import MarketConfig\n"
        "sim = MarketSimulator(MarketConfig(warmup_seconds=5.0), n_agents=1, seed=77)\n"
        "for k in range(300):\n"
        "    m = round(sim.mid_ticks())\n"
        "    sim.set_quote(0, bid=(m - 1 - k % 3, 2), ask=(m + 1 + k % 2, 2))\n"
        "    sim.step(0.5)\n"
        "h = hashlib.sha256()\n"
        "for a in (*sim.state.book, *sim.state[1:]): h.update(np.ascontiguousarray(a).tobytes())\n"
        "print(h.hexdigest())\n"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in "ab"
    }
    assert len(outs) == 1 and len(outs.pop().strip()) == 64


def test_common_random_numbers_background_identical_across_strategies():
    """Two very different agents on one seed: the exogenous draws (arrivals, fair price) are the same. On the
    generic market, where no market order moves the price; on the default market the fair price differs by
    the agents' own impact only (test_formation.py)."""
    cfg = generic(warmup_seconds=5.0)
    a = MarketSimulator(cfg, n_agents=1, seed=8)
    b = MarketSimulator(cfg, n_agents=1, seed=8)
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = round(a.mid_ticks())
        a.set_quote(0, bid=(m - 20, 1), ask=(m + 20, 1))  # passive, rarely filled
        _random_quotes(b, rng, 1, aggressive=0.3)  # trades all the time
        a.step(0.5)
        b.step(0.5)
        assert a.state.f[mk.F_FAIR] == b.state.f[mk.F_FAIR]  # no impact configured: same fair path
        assert a.regime == b.regime
        for c in (mk.I_CNT_LIMIT_BUY, mk.I_CNT_LIMIT_SELL, mk.I_CNT_MARKET):
            assert a.state.i[c] == b.state.i[c]
        assert a.state.rpos[mk.S_FLOW] == b.state.rpos[mk.S_FLOW]
        assert a.state.rpos[mk.S_PRICE] == b.state.rpos[mk.S_PRICE]
    assert a.inventory(0) != b.inventory(0) or a.cash(0) != b.cash(0)


def test_simulator_pickles_mid_run():
    sim = MarketSimulator(MarketConfig(warmup_seconds=5.0), n_agents=1, seed=12)
    for _ in range(50):
        m = round(sim.mid_ticks())
        sim.set_quote(0, bid=(m - 1, 1), ask=(m + 1, 1))
        sim.step(0.5)
    twin = pickle.loads(pickle.dumps(sim))
    for s in (sim, twin):
        for _ in range(50):
            m = round(s.mid_ticks())
            s.set_quote(0, bid=(m - 2, 1), ask=(m + 1, 2))
            s.step(0.5)
    assert state_digest(sim) == state_digest(twin)


# --------------------------------------------------------------------------------------------------------------
# latency and impact


def test_constant_latency_arrival_time():
    cfg = MarketConfig(latency=LatencyConfig(model="constant", mean=1.25), warmup_seconds=5.0)
    sim = MarketSimulator(cfg, n_agents=1, seed=1)
    m = round(sim.mid_ticks())
    sim.set_quote(0, bid=(m - 6, 1))
    sim.step(1.0)
    assert sim.resting(0, 0)[0] == 0  # still in flight at t = 1.0
    sim.step(1.0)
    lots, ahead, rank = sim.resting(0, 0)
    assert lots == 1 and rank >= 0
    oid = int(sim.state.quotes[0, 0, mk.Q_ID])
    slot = int(bk.hm_find_nb(sim.state.book, oid))
    assert sim.state.book.o_time[slot] == pytest.approx(1.25, abs=1e-12)


def test_uniform_latency_bounds_and_unchanged_quote_keeps_priority():
    cfg = MarketConfig(latency=LatencyConfig(model="uniform", low=0.1, high=0.3), warmup_seconds=5.0)
    sim = MarketSimulator(cfg, n_agents=1, seed=4)
    m = round(sim.mid_ticks())
    sim.set_quote(0, bid=(m - 8, 2))
    t_sent = sim.time
    sim.step(1.0)
    oid = int(sim.state.quotes[0, 0, mk.Q_ID])
    slot = int(bk.hm_find_nb(sim.state.book, oid))
    assert 0.1 <= sim.state.book.o_time[slot] - t_sent <= 0.3
    for _ in range(5):  # the same quote again: same order, same arrival time
        sim.set_quote(0, bid=(m - 8, 2))
        sim.step(1.0)
        if sim.resting(0, 0)[0] == 0:
            break
        assert int(sim.state.quotes[0, 0, mk.Q_ID]) == oid
    sim.set_quote(0, bid=(m - 9, 2))  # changed: new order id
    assert int(sim.state.quotes[0, 0, mk.Q_ID]) != oid


def test_permanent_impact_moves_fair_price_and_temporary_decays():
    imp = ImpactConfig(
        model="almgren_chriss", gamma=2e-5, eta=1e-4, epsilon=0.0, decay_rate=math.log(2) / 4.0
    )
    # the agents' impact model alone: on the generic market no market order moves the price by itself
    cfg = generic(impact=imp.to_dict(), warmup_seconds=10.0, latency={"mean": 0.0})
    quiet = MarketSimulator(cfg, n_agents=1, seed=6)
    buyer = MarketSimulator(cfg, n_agents=1, seed=6)
    ba = buyer.best_ticks()[1]
    buyer.set_quote(0, bid=(ba + 5, 3))  # marketable: crosses the ask
    quiet.step(1.0)
    res = buyer.step(1.0)
    bought = res.agent_out[0, mk.O_TAKER_BUY]
    assert bought > 0
    v = bought * cfg.lot_size
    perm_ticks = imp.gamma * v / cfg.tick_size
    assert buyer.state.f[mk.F_FAIR] - quiet.state.f[mk.F_FAIR] == pytest.approx(perm_ticks, rel=1e-9)
    temp0 = buyer.state.f[mk.F_TEMP]
    assert temp0 == pytest.approx(imp.eta * v / 1.0 / cfg.tick_size, rel=1e-9)
    cost = res.agent_out[0, mk.O_IMPACT]
    assert cost == pytest.approx(imp.eta * v * v / 1.0, rel=1e-9)
    buyer.set_quote(0)  # stop quoting
    for _ in range(4):
        buyer.step(1.0)
    assert buyer.state.f[mk.F_TEMP] == pytest.approx(temp0 / 2, rel=1e-9)  # half-life 4 s
    assert buyer.totals()[1] == 0 and abs(buyer.totals()[0]) < 1e-6


# --------------------------------------------------------------------------------------------------------------
# configuration


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"flow": {"limit_rate": -1.0}}, "flow.limit_rate must be finite and >= 0"),
        ({"tick_size": 0.0}, "tick_size must be > 0"),
        ({"model": "orderbook"}, "model must be one of 'lob', 'stylized'"),
        (
            {"regimes": {"transition_rates": [[0, 1, 0], [1, 0, 0], [0, 0, 5]]}},
            "transition_rates[2] is not a generator",
        ),
        (
            {"regimes": {"transition_rates": [[0, -1, 0], [1, 0, 0], [0, 1, 0]]}},
            "transition_rates[0][1] must be >= 0",
        ),
        ({"regimes": {"volatility": [1e-4, 2e-4]}}, "regimes.volatility must have one entry per regime"),
        ({"regimes": {"switching": False}}, "regimes.initial must name the pinned regime"),
        ({"latency": {"model": "gamma"}}, "latency.model must be one of"),
        ({"flow": {"limit_rates": 3}}, "flow.limit_rates is not a known key"),
        ({"impact": {"model": "linear"}}, "impact.model must be one of"),
        ({"book_window": 1000}, "book_window must be a power of two"),
        ({"stylized": {"k": 0}}, "stylized.k must be > 0"),
    ],
)
def test_config_errors_name_the_field(data, needle):
    with pytest.raises(ConfigError) as err:
        MarketConfig.from_dict(data, source="my.yaml")
    assert needle in str(err.value) and str(err.value).startswith("my.yaml: ")


def test_config_round_trip_and_direct_construction():
    cfg = MarketConfig.from_dict({"flow": {"limit_rate": 4}, "regimes": {"initial": "high"}})
    assert cfg.flow.limit_rate == 4.0 and isinstance(cfg.flow.limit_rate, float)
    assert MarketConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="FlowConfig.cancel_rate"):
        FlowConfig(cancel_rate=-0.1)
    with pytest.raises(ConfigError, match="StylizedConfig.A"):
        StylizedConfig(A=-1.0)


def test_buffer_limits_give_a_clear_error():
    cfg = MarketConfig(max_events_per_step=16, warmup_seconds=0.0)
    sim = MarketSimulator(cfg, n_agents=0, seed=0)
    with pytest.raises(MarketError, match="max_events_per_step"):
        sim.run_background(5, 10.0)
    with pytest.raises(ValueError, match="dt"):
        sim.step(float("nan"))
