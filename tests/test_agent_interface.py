"""The agent interface (``core.agent_schema``) and what reads it: the observation the kernel encodes decodes to
the env's state, phases pin regimes by name and reconfigure the running simulator, the simulator's public
queries, and one Sharpe ratio shared by the env's episode summary and ``results.metrics``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from almm_rllib.core import agent_schema as A
from almm_rllib.core import mm_nb as mm
from almm_rllib.core.config import ConfigError
from almm_rllib.core.market import MarketSimulator, status_text
from almm_rllib.core.market_config import MarketConfig, RegimeConfig
from almm_rllib.core.risk import STD_ZERO_EPS, sharpe_ratio, sortino_ratio
from almm_rllib.core.schema import STATUS_FILL_BUFFER_FULL, STATUS_PENDING_FULL
from almm_rllib.env import EnvConfig, MarketMakingCore, MarketMakingGymEnv
from almm_rllib.evaluation.policies import Policy
from almm_rllib.evaluation.runner import run_episode
from almm_rllib.results.metrics import episode_metrics
from tests.results_fixtures import make_steps

SMALL = {"episode_seconds": 40.0, "market": {"warmup_seconds": 5.0}}
FAST_CHAIN = [[0.0, 0.3, 0.3], [0.3, 0.0, 0.3], [0.3, 0.3, 0.0]]  # regimes last ~2 s: switching is visible


# --------------------------------------------------------------------------------------------------- layout
def test_spaces_and_ids_come_from_the_schema():
    env = MarketMakingGymEnv(
        {**SMALL, "min_offset_ticks": -1.0, "max_offset_ticks": 7.0, "max_size_lots": 3.0}
    )
    low, high = A.action_bounds(-1.0, 7.0, 3.0)
    assert env.action_space.shape == (A.ACT_DIM,) and env.observation_space.shape == (A.OBS_DIM,)
    np.testing.assert_array_equal(env.action_space.low, low)
    np.testing.assert_array_equal(env.action_space.high, high)
    assert high[A.ACT_BID_SIZE] == 3.0 and low[A.ACT_ASK_OFFSET] == -1.0
    assert env.observation_space.low[0] == A.OBS_LOW and env.observation_space.high[0] == A.OBS_HIGH
    assert MarketMakingCore(EnvConfig(n_agents=3)).agent_ids == ["mm_0", "mm_1", "mm_2"] == A.agent_ids(3)
    assert A.RLLIB_ENV in A.RLLIB_ENV_NAMES and A.RLLIB_ENV_MULTI in A.RLLIB_ENV_NAMES


def test_observation_decodes_to_the_env_state():
    """The kernel encodes with the schema's indices and scales; decode_observation undoes them exactly."""
    # 300 s: the inventory feature needs fills, and a random quote on the AMZN preset may wait a minute for one
    env = MarketMakingGymEnv({**SMALL, "episode_seconds": 300.0, "inventory_limit_lots": 7})
    core = env.core
    obs, info = env.reset(seed=3)

    def decode(o):
        return A.decode_observation(
            o,
            mid0=core.mid0 * core.tick,
            inventory_limit_lots=7,
            vol_ref=core.vol_ref,
            pnl_unit=core.config.pnl_unit,
        )

    d = decode(obs)
    assert d.mid == pytest.approx(info["mid"], rel=1e-12) and d.sigma == pytest.approx(core.vol_ref, rel=1e-6)
    assert (d.queue_bid, d.queue_ask, d.inventory_lots, d.n_fills) == (
        A.OBS_QUEUE_NONE,
        A.OBS_QUEUE_NONE,
        0,
        0,
    )
    bb, ba = core.sim.best_ticks()
    assert d.spread_ticks == pytest.approx(ba - bb, rel=1e-6)
    rng = np.random.default_rng(0)
    seen_inv = set()
    for _ in range(300):
        a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        a[A.ACT_BID_OFFSET] = a[A.ACT_ASK_OFFSET] = rng.uniform(-1.0, 2.0)
        obs, _, _, done, info = env.step(a)
        d = decode(obs)
        assert d.inventory_lots * core.lot == info["inventory"]
        seen_inv.add(d.inventory_lots)
        assert d.mid == pytest.approx(info["mid"], rel=1e-7)
        if np.isfinite(info["best_bid"]) and np.isfinite(info["best_ask"]):
            spread = (info["best_ask"] - info["best_bid"]) / core.tick
            assert d.spread_ticks == pytest.approx(min(spread, A.OBS_CLIP * A.OBS_SPREAD_TICKS), rel=1e-6)
        assert d.sigma == pytest.approx(min(info["sigma"], A.OBS_CLIP * core.vol_ref), rel=1e-6)
        dpnl = (
            float(np.clip(info["dpnl"] / core.config.pnl_unit, A.OBS_LOW, A.OBS_HIGH)) * core.config.pnl_unit
        )
        assert d.dpnl == pytest.approx(dpnl, rel=1e-6, abs=1e-9)
        assert d.n_fills == pytest.approx(info["n_fills"])
        if done:
            break
    assert len(seen_inv) > 1  # the inventory feature was exercised
    with pytest.raises(ValueError, match="shape"):
        decode(np.zeros(3))


# --------------------------------------------------------------------------------------------------- phases
def _episode_regimes_and_vol(env, seed):
    _, info = env.reset(seed=seed)
    names, mids = [info["regime_name"]], [info["mid"]]
    done = False
    while not done:
        *_, done, info = env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))
        names.append(info["regime_name"])
        mids.append(info["mid"])
    return set(names), float(np.std(np.diff(np.log(mids))))


def test_phase_change_reconfigures_the_running_simulator():
    market = {"warmup_seconds": 5.0, "regimes": {"transition_rates": FAST_CHAIN}}
    env = MarketMakingGymEnv({"episode_seconds": 120.0, "phase": "low_volatility", "market": market})
    sim = env.core.sim
    low_names, low_vol = _episode_regimes_and_vol(env, seed=5)
    assert low_names == {"low"}
    env.set_task("high_volatility")
    high_names, high_vol = _episode_regimes_and_vol(env, seed=5)
    assert env.core.sim is sim  # reconfigured, not rebuilt
    assert high_names == {"high"} and sim.config.regimes.switching is False
    assert sim.sigma == sim.config.regimes.volatility[sim.config.regimes.index("high")]
    assert high_vol > 2.0 * low_vol  # the pinned regime's volatility drives the mid (4x the fair vol)
    env.set_task("regime_switching")
    switch_names, _ = _episode_regimes_and_vol(env, seed=5)
    assert env.core.sim is sim and len(switch_names) >= 2


def test_stylized_phase_scales_sigma_and_the_reference_vol():
    env = MarketMakingGymEnv(
        {"market": {"model": "stylized", "lot_size": 1}, "dt": 0.05, "episode_seconds": 1.0}
    )
    sim = env.core.sim
    base = env.config.market.stylized.sigma
    env.set_task("high_volatility")
    obs, _ = env.reset(seed=0)
    assert env.core.sim is sim and sim.config.stylized.sigma == pytest.approx(2.0 * base)
    assert env.core.vol_ref == pytest.approx(2.0 * base / env.config.market.initial_price)
    assert obs[A.OBS_VOLATILITY] == 1.0  # the reference vol follows the phase


def test_phases_pin_regimes_by_name_not_position():
    reordered = RegimeConfig(
        names=("high", "low", "medium"),
        volatility=(3.2e-4, 0.8e-4, 1.6e-4),
        limit_rate_mult=(1.4, 0.8, 1.0),
        market_rate_mult=(1.8, 0.7, 1.0),
        cancel_rate_mult=(2.0, 0.6, 1.0),
    )
    cfg = EnvConfig(
        episode_seconds=10.0,
        phase="low_volatility",
        market=MarketConfig(warmup_seconds=2.0, regimes=reordered),
    )
    env = MarketMakingGymEnv(cfg)
    _, info = env.reset(seed=0)
    assert info["regime_name"] == "low" and info["regime"] == 1
    assert A.phase_market(cfg.market, "high_volatility").regimes.initial == "high"
    two = RegimeConfig(
        names=("calm", "high"),
        volatility=(1e-4, 3e-4),
        transition_rates=((0.0, 0.01), (0.01, 0.0)),
        limit_rate_mult=(1.0, 1.0),
        market_rate_mult=(1.0, 1.0),
        cancel_rate_mult=(1.0, 1.0),
    )
    with pytest.raises(ConfigError, match="pins the regime named 'low'.*regimes: \\('calm', 'high'\\)"):
        EnvConfig(phase="low_volatility", market=MarketConfig(regimes=two))
    env2 = MarketMakingGymEnv(
        EnvConfig(episode_seconds=5.0, market=MarketConfig(warmup_seconds=1.0, regimes=two))
    )
    env2.set_task("high_volatility")  # this market has a regime called high
    with pytest.raises(ConfigError, match="'medium'"):
        env2.set_task("medium_volatility")
    assert env2.get_task() == "high_volatility"


def test_unknown_phase_is_refused_with_a_clear_message():
    env = MarketMakingGymEnv(SMALL)
    env.set_task("medium_volatility")
    with pytest.raises(
        ValueError, match="must be one of low_volatility, .* \\(unknown curriculum phase 'extreme'\\)"
    ):
        env.set_task("extreme")
    assert env.get_task() == "medium_volatility"
    with pytest.raises(ConfigError, match="env_config: phase must be one of 'low_volatility'"):
        EnvConfig.from_dict({"phase": "extreme"}, source="env_config")
    with pytest.raises(ConfigError, match="curriculum\\[1\\].phase must be one of low_volatility"):
        A.check_phase("warm_up", key="curriculum[1].phase")
    assert A.PHASES == ("low_volatility", "medium_volatility", "high_volatility", "regime_switching")


# --------------------------------------------------------------------------------------------------- simulator
def test_set_regime_config_changes_only_regimes():
    cfg = MarketConfig(warmup_seconds=2.0)
    sim = MarketSimulator(cfg, n_agents=1, seed=1)
    with pytest.raises(ValueError, match="not tick_size"):
        sim.set_regime_config(cfg.replace(tick_size=0.02))
    fewer = RegimeConfig(
        names=("a", "b"),
        volatility=(1e-4, 2e-4),
        transition_rates=((0.0, 1.0), (1.0, 0.0)),
        limit_rate_mult=(1.0, 1.0),
        market_rate_mult=(1.0, 1.0),
        cancel_rate_mult=(1.0, 1.0),
    )
    with pytest.raises(ValueError, match="number of regimes \\(3 -> 2\\)"):
        sim.set_regime_config(cfg.replace(regimes=fewer))
    pinned = cfg.replace(regimes=cfg.regimes.replace(switching=False, initial="high"))
    sim.set_regime_config(pinned)
    assert sim.regime_name == "high" and sim.sigma == pinned.regimes.volatility[2]  # entered now
    for _ in range(30):
        sim.step(1.0)
        assert sim.regime_name == "high"


def test_simulator_public_queries():
    sim = MarketSimulator(MarketConfig(warmup_seconds=2.0), n_agents=1, seed=4)
    before = sim.background_counts()
    assert set(before) == {"limit_buy", "limit_sell", "market", "cancel"} and before["limit_buy"] > 0
    mid = round(sim.mid_ticks())
    sim.set_quote(0, bid=(mid - 1, 3), ask=(mid + 1, 3))
    total = 0
    for _ in range(20):
        res = sim.step(1.0)
        view = sim.step_fills()
        np.testing.assert_array_equal(view, res.fills)
        assert not view.flags.writeable
        total += len(view)
    assert total > 0
    after = sim.background_counts()
    assert all(after[k] >= before[k] for k in before) and after["market"] > before["market"]
    assert sim.random_low_water > 0
    assert "max_fills_per_step" in status_text(STATUS_FILL_BUFFER_FULL)
    assert "messages in flight" in status_text(STATUS_PENDING_FULL)
    assert status_text(99) == "status 99"


# --------------------------------------------------------------------------------------------------- one Sharpe
def test_sharpe_rules():
    assert math.isnan(sharpe_ratio(1.0, 0.0, 1, 1.0))  # n < 2
    assert sharpe_ratio(0.1, 0.0, 10, 1.0) == 0.0
    eps = np.finfo(np.float64).eps
    assert sharpe_ratio(0.1, STD_ZERO_EPS * eps * 5.0, 10, 5.0) == 0.0  # rounding noise counts as 0
    assert sharpe_ratio(0.5, 2.0, 16, 5.0) == pytest.approx(1.0)
    assert math.isnan(sortino_ratio(1.0, 0.0, 4)) and sortino_ratio(1.0, 2.0, 4) == pytest.approx(1.0)


def _summary_from_path(core, pnl):
    """The env's summary figures for a synthetic P&L path, accumulated by the kernel's own function."""
    core.acc[:] = 0.0
    prev = 0.0
    for p in pnl:
        mm.accumulate_pnl_nb(core.acc[0], p - prev, p)
        prev = p
    core.feat[0, mm.FT_PNL] = pnl[-1]
    return core.episode_summary(0)


@pytest.mark.parametrize(
    "pnl",
    [
        [3.0],  # n < 2: NaN
        [-2.0],
        [0.0, 0.0, 0.0, 0.0],  # flat: 0, no loss
        list(np.cumsum(np.full(300, 0.1))),  # constant increments with rounding noise: 0
        list(np.cumsum(np.full(50, -0.07))),
        [1.0, -0.5, 2.0, 2.0, -3.0, 0.25],
        list(np.cumsum(np.random.default_rng(7).normal(0.01, 1.0, 500)) * 1e3),
    ],
)
def test_env_summary_and_results_metrics_agree_on_edge_cases(pnl):
    core = MarketMakingCore(EnvConfig(episode_seconds=10.0, market=MarketConfig(warmup_seconds=1.0)))
    got = _summary_from_path(core, np.asarray(pnl, np.float64))
    want = episode_metrics(make_steps(pnl), None, capital=1e5, horizon_s=1.0)
    for key in ("sharpe", "sortino", "max_drawdown"):
        g, w = got[key], want[key]
        assert (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, rel=1e-9, abs=1e-12), (key, g, w)


class _Fixed(Policy):
    label = "fixed"

    def __init__(self, action):
        self.action = np.asarray(action, np.float32)

    def act(self, obs, view):
        return self.action


@pytest.mark.parametrize(
    ("overrides", "action", "expect"),
    [
        ({"episode_seconds": 1.0}, [1.0, 1.0, 2.0, 2.0], "nan"),  # one step
        ({}, [1.0, 1.0, 0.0, 0.0], "zero"),  # never quotes: flat P&L
        (
            {"terminal_inventory": "liquidate", "market": {"impact": {"model": "sqrt"}}},
            [-1.0, 3.0, 2.0, 1.0],
            None,
        ),
    ],
)
def test_env_episode_figures_equal_results_metrics(overrides, action, expect):
    market = {"warmup_seconds": 5.0, **overrides.pop("market", {})}
    cfg = EnvConfig.from_dict({"episode_seconds": 60.0, **overrides, "market": market})
    log = run_episode(_Fixed(action), cfg, seed=11)
    want = log.metrics(cfg)
    env = MarketMakingGymEnv(cfg)
    env.reset(seed=11)
    done = False
    while not done:
        *_, done, info = env.step(np.asarray(action, np.float32))
    got = info["episode"]
    if expect == "nan":
        assert math.isnan(got["sharpe"]) and math.isnan(want["sharpe"])
    elif expect == "zero":
        assert (
            got["sharpe"] == want["sharpe"] == 0.0
            and math.isnan(got["sortino"])
            and math.isnan(want["sortino"])
        )
    else:
        assert info["liquidation_cost"] > 0 and want["n_fills"] > 0
        assert want["total_pnl"] == pytest.approx(got["pnl"], abs=1e-9)
    for key in ("sharpe", "sortino", "max_drawdown", "avg_abs_inventory", "fill_ratio", "volume"):
        g, w = got[key], want[key]
        assert (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, rel=1e-9, abs=1e-9), (key, g, w)


def test_config_fixed_length_tuple_fields_are_coerced_item_by_item():
    """A ``tuple[float, int]`` field takes each item with its own type, names a bad item, refuses a wrong length."""
    import dataclasses

    from almm_rllib.core.config import Config, ConfigError

    @dataclasses.dataclass(frozen=True)
    class Window(Config):
        span: tuple[float, int] = (0.0, 1)

    assert Window.from_dict({"span": [1, 2]}).span == (1.0, 2)
    assert isinstance(Window.from_dict({"span": [1, 2]}).span[0], float)
    with pytest.raises(ConfigError, match=r"span\[1\]"):
        Window.from_dict({"span": [1.0, "x"]})
    with pytest.raises(ConfigError, match="must have 2 items"):
        Window.from_dict({"span": [1.0, 2, 3]})
