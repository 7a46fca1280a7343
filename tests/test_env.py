"""The market-making environments: conformance, determinism, multi-agent priority, reward and limits."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from almm_rllib.core import market_nb as mk
from almm_rllib.core.config import ConfigError
from almm_rllib.core.impact import ImpactConfig
from almm_rllib.core.market import MarketSimulator
from almm_rllib.core.market_config import LatencyConfig, MarketConfig
from almm_rllib.env import ENV_ID, INFO_KEYS, PHASES, EnvConfig, MarketMakingGymEnv

SMALL = {"episode_seconds": 60.0, "market": {"warmup_seconds": 5.0}}


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _episode(env, seed, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    done = False
    while not done:
        a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        obs, r, term, trunc, info = env.step(a)
        trace += [obs, np.array([r, info["pnl"], info["inventory"], info["cash"], info["n_fills"]])]
        done = term or trunc
    return _digest(*trace)


def test_gymnasium_check_env_and_registration():
    env = gym.make(ENV_ID, config=SMALL)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert obs.shape == (9,) and obs.dtype == np.float32
    assert env.action_space.shape == (4,)
    env.close()


def test_rllib_env_checks_and_registry():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments
    from ray.tune.registry import ENV_CREATOR, _global_registry

    from almm_rllib.env.rllib_env import MarketMakingEnv, register_rllib_envs

    register_rllib_envs()  # idempotent; Tune's registry is emptied by every ray.shutdown() in the process
    env = MarketMakingEnv({**SMALL, "n_agents": 2})
    check_multiagent_environments(env)
    obs, infos = env.reset(seed=1)
    assert set(obs) == {"mm_0", "mm_1"} == set(infos)
    acts = {a: env.action_spaces[a].sample() for a in env.agents}
    obs, rew, term, trunc, infos = env.step(acts)
    assert "__all__" in term and "__all__" in trunc and term["__all__"] is False
    assert set(rew) == {"mm_0", "mm_1"} and all(isinstance(r, float) for r in rew.values())
    for name in ("almm_mm", "almm_mm_multi"):
        assert _global_registry.contains(ENV_CREATOR, name)
    single = _global_registry.get(ENV_CREATOR, "almm_mm")(SMALL)
    assert isinstance(single, MarketMakingGymEnv)
    multi = _global_registry.get(ENV_CREATOR, "almm_mm_multi")({**SMALL, "n_agents": 3})
    assert multi.possible_agents == ["mm_0", "mm_1", "mm_2"]


def test_multi_agent_episode_truncates_at_end_of_time():
    from almm_rllib.env.rllib_env import MarketMakingEnv

    env = MarketMakingEnv({**SMALL, "n_agents": 2, "dt": 2.0})
    env.reset(seed=0)
    steps = 0
    while True:
        obs, rew, term, trunc, infos = env.step(
            {a: env.action_spaces[a].sample() for a in env.possible_agents}
        )
        steps += 1
        if trunc["__all__"]:
            break
        assert not any(trunc[a] for a in env.possible_agents)
    assert steps == 30 and env.agents == []
    with pytest.raises(ValueError, match="no action for agent 'mm_1'"):
        env.reset(seed=0)
        env.step({"mm_0": env.action_spaces["mm_0"].sample()})


def test_episode_identical_across_processes_and_pickles_with_jit_on():
    code = (
        "import numpy as np, hashlib\n"
        "from almm_rllib.env import MarketMakingGymEnv\n"
        "from tests.test_env import SMALL, _episode\n"
        "print(_episode(MarketMakingGymEnv(SMALL), seed=42))\n"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
        ).stdout
        for _ in "ab"
    }
    assert len(outs) == 1
    digest = outs.pop().strip()
    assert digest == _episode(MarketMakingGymEnv(SMALL), seed=42)
    assert digest != _episode(MarketMakingGymEnv(SMALL), seed=43)
    # pickle a live env mid-episode; both copies continue identically
    import numba

    assert not numba.config.DISABLE_JIT
    env = MarketMakingGymEnv(SMALL)
    env.reset(seed=5)
    rng = np.random.default_rng(1)
    for _ in range(10):
        env.step(env.action_space.sample())
    twin = pickle.loads(pickle.dumps(env))
    acts = rng.uniform(env.action_space.low, env.action_space.high, size=(20, 4)).astype(np.float32)
    a = [env.step(x)[:2] for x in acts]
    b = [twin.step(x)[:2] for x in acts]
    for (o1, r1), (o2, r2) in zip(a, b, strict=True):
        assert np.array_equal(o1, o2) and r1 == r2


def test_reward_components_add_up_and_pnl_is_mark_to_mid():
    cfg = EnvConfig.from_dict(
        {
            **SMALL,
            "lambda_inventory": 3e-6,
            "lambda_volatility": 5e3,
            "lambda_impact": 2.0,
            "lambda_risk": 0.03,
            "reward_scale": 0.1,
            "market": {"warmup_seconds": 5.0, "impact": {"model": "sqrt", "gamma": 1e-6}},
        }
    )
    env = MarketMakingGymEnv(cfg)
    env.reset(seed=9)
    rng = np.random.default_rng(2)
    total_dpnl = 0.0
    seen_impact = False
    seen_risk = False
    for _ in range(60):
        a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        a[0] = -2.0 if rng.random() < 0.2 else a[0]  # sometimes cross: impact
        _, r, _, trunc, info = env.step(a)
        assert set(INFO_KEYS) <= set(info)
        parts = (
            info["dpnl"]
            - info["penalty_inventory"]
            - info["penalty_volatility"]
            - info["penalty_impact"]
            - info["penalty_risk"]
        )
        assert r == pytest.approx(parts * 0.1, rel=1e-12, abs=1e-12)
        assert info["penalty_inventory"] == pytest.approx(3e-6 * info["inventory"] ** 2)
        assert info["penalty_volatility"] == pytest.approx(5e3 * info["sigma"] ** 2)
        assert info["penalty_impact"] == pytest.approx(2.0 * info["impact_cost"])
        assert info["penalty_risk"] == pytest.approx(0.03 * info["dpnl"] ** 2)
        seen_risk = seen_risk or info["penalty_risk"] > 0
        assert info["pnl"] == pytest.approx(info["cash"] + info["inventory"] * info["mid"], abs=1e-6)
        total_dpnl += info["dpnl"]
        seen_impact |= info["impact_cost"] > 0
        if trunc:
            break
    assert total_dpnl == pytest.approx(info["pnl"], abs=1e-6)
    assert seen_impact and seen_risk


def test_terminal_liquidation_charges_the_impact_model():
    base = {**SMALL, "episode_seconds": 20.0, "market": {"warmup_seconds": 5.0, "impact": {"model": "sqrt"}}}
    rng = np.random.default_rng(0)
    acts = np.tile(np.array([-2.0, 20.0, 5.0, 0.0], np.float32), (20, 1))  # keep buying
    infos = {}
    for mode in ("mark_to_mid", "liquidate"):
        env = MarketMakingGymEnv({**base, "terminal_inventory": mode})
        env.reset(seed=1)
        for a in acts:
            _, r, _, trunc, info = env.step(a)
        assert trunc
        infos[mode] = (r, info)
    (r_m, i_m), (r_l, i_l) = infos["mark_to_mid"], infos["liquidate"]
    assert i_m["inventory"] > 0 and i_m["inventory"] == i_l["inventory"]
    assert i_l["liquidation_cost"] > 0 and i_m["liquidation_cost"] == 0
    assert i_l["pnl"] == pytest.approx(i_m["pnl"] - i_l["liquidation_cost"])
    assert r_l == pytest.approx(r_m - i_l["liquidation_cost"])
    del rng


@pytest.mark.parametrize("latency", [0.0, 0.005, 0.4])
def test_inventory_limit_never_breached(latency):
    env = MarketMakingGymEnv(
        {
            **SMALL,
            "episode_seconds": 400.0,
            "inventory_limit_lots": 4,
            "market": {
                "warmup_seconds": 5.0,
                "latency": {"model": "uniform", "low": 0.0, "high": max(latency, 1e-9)},
            },
        }
    )
    env.reset(seed=4)
    rng = np.random.default_rng(7)
    limit = 4 * env.core.market_config.lot_size
    peak = 0.0
    for _ in range(400):
        a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        a[rng.integers(0, 2)] = -2.0  # aggressive on one side half the time
        _, _, _, trunc, info = env.step(a)
        assert abs(info["inventory"]) <= limit, info["inventory"]
        peak = max(peak, abs(info["inventory"]))
        if trunc:
            break
    assert peak == limit  # the limit binds: the test exercised it


def test_unchanged_quotes_keep_queue_priority():
    env = MarketMakingGymEnv({**SMALL, "market": {"warmup_seconds": 5.0}})
    env.reset(seed=11)
    core = env.core
    target = round(core.sim.mid_ticks()) - 4  # a bid 4 ticks below the mid, held at a fixed price
    ids, aheads = [], []
    for _ in range(15):
        mid = core.sim.mid_ticks()
        off = mid - target
        if not (env.action_space.low[0] <= off <= env.action_space.high[0]):
            break
        env.step(np.array([off, 20.0, 1.0, 0.0], np.float32))
        lots, ahead, rank = core.sim.resting(0, 0)
        if lots == 0:
            break
        ids.append(int(core.sim.state.quotes[0, 0, mk.Q_ID]))
        aheads.append(ahead)
    assert len(ids) >= 3 and len(set(ids)) == 1  # one order throughout
    assert all(b <= a for a, b in zip(aheads, aheads[1:], strict=False))  # only moves forward
    # a changed size is a new order at the back of the queue
    env.step(np.array([core.sim.mid_ticks() - target, 20.0, 2.0, 0.0], np.float32))
    assert int(core.sim.state.quotes[0, 0, mk.Q_ID]) != ids[0]


def test_two_agents_price_time_priority():
    """Agent 0 joins a price level before agent 1; a sell that sweeps the level fills agent 0 first."""
    cfg = MarketConfig(warmup_seconds=10.0, latency=LatencyConfig(mean=0.0))
    sim = MarketSimulator(cfg, n_agents=3, seed=13)
    bb, _ = sim.best_ticks()
    price = bb - 3
    sim.set_quote(0, bid=(price, 2))
    sim.step(0.2)
    sim.set_quote(1, bid=(price, 2))
    sim.step(0.2)
    l0, ahead0, _ = sim.resting(0, 0)
    l1, ahead1, _ = sim.resting(1, 0)
    assert l0 == 2 and l1 == 2 and ahead1 >= ahead0 + 2  # agent 0's lots are ahead of agent 1's
    top, _ = sim.best_ticks()
    through = sum(sim.level_lots(1, p) for p in range(price, top + 1))  # every bid lot down to our level
    sim.set_quote(2, ask=(price, through))  # agent 2 sells through the whole level (no latency: first event)
    res = sim.step(0.2)
    makers = [int(f["maker_owner"]) for f in res.fills if f["price"] == price and f["taker_owner"] == 3]
    assert 1 in makers and 2 in makers
    assert makers.index(1) < makers.index(2)
    assert res.agent_out[0, mk.O_FILLED_BID] == 2 and res.agent_out[1, mk.O_FILLED_BID] == 2


def test_actions_clipped_and_non_finite_refused():
    env = MarketMakingGymEnv(SMALL)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1e6, -1e6, 99.0, -5.0], np.float32))
    mid_ticks = env.core.feat[0, 22]  # the mid the quotes were priced from
    cap = env.config.max_offset_ticks  # follows the market preset: 4 x the AMZN day's typical spread
    assert cap == pytest.approx(4 * env.config.market.typical_spread_ticks)
    assert info["bid_price"] == pytest.approx(
        np.floor(mid_ticks - cap + 1e-9) * 0.01
    )  # clipped to max offset
    assert np.isnan(info["ask_price"])  # size -5 clipped to 0: no ask
    for bad, name in ((np.nan, "bid_offset"), (np.inf, "ask_size")):
        a = np.array([1.0, 1.0, 1.0, 1.0], np.float32)
        a[0 if name == "bid_offset" else 3] = bad
        with pytest.raises(ValueError, match=f"agent mm_0: {name}"):
            env.step(a)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, np.float32))


def test_curriculum_hooks_apply_from_next_reset():
    env = MarketMakingGymEnv(SMALL)
    env.reset(seed=0)
    assert env.get_task() is None
    env.set_task("high_volatility")
    assert env.get_task() == "high_volatility"
    assert env.core.market_config.regimes.switching is True  # not yet: applies at reset
    _, info = env.reset(seed=0)
    assert info["phase"] == "high_volatility" and info["regime_name"] == "high"
    for _ in range(20):
        *_, info = env.step(env.action_space.sample())
        assert info["regime_name"] == "high"
    env.set_task("regime_switching")
    env.reset(seed=0)
    assert env.core.market_config.regimes.switching is True
    with pytest.raises(ValueError, match="unknown curriculum phase"):
        env.set_task("extreme_volatility")
    assert set(PHASES) == {"low_volatility", "medium_volatility", "high_volatility", "regime_switching"}


def test_stylized_market_env_runs():
    env = MarketMakingGymEnv(
        {"market": {"model": "stylized", "lot_size": 1}, "dt": 0.005, "episode_seconds": 1.0}
    )
    obs, _ = env.reset(seed=0)
    n = 0
    fills = 0
    done = False
    while not done:
        _, _, _, done, info = env.step(np.array([60.0, 60.0, 1.0, 1.0], np.float32))
        n += 1
        fills += info["n_fills"]
    assert n == 200 and fills > 20


def test_env_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="env_config: dt must be > 0"):
        MarketMakingGymEnv({"dt": 0})
    with pytest.raises(ConfigError, match="env_config: market.flow.limit_rate must be finite"):
        MarketMakingGymEnv({"market": {"flow": {"limit_rate": -3}}})
    with pytest.raises(ConfigError, match="env_config: lambda_inventry is not a known key"):
        MarketMakingGymEnv({"lambda_inventry": 1.0})
    with pytest.raises(ValueError, match="single-agent"):
        MarketMakingGymEnv({"n_agents": 2})
    assert EnvConfig(market=MarketConfig(impact=ImpactConfig(model="sqrt"))).market.impact.model == "sqrt"


def test_episode_summary_matches_metrics_from_the_step_log():
    """The env's running episode figures (training metrics) equal results.metrics on the step/fill logs."""
    from almm_rllib.evaluation.policies import Policy
    from almm_rllib.evaluation.runner import run_episode

    class Skewed(Policy):
        label = "skewed"

        def act(self, obs, view):
            inv = float(obs[2])  # lean against inventory: fills on both sides, round trips
            return np.array([1.0 + 3.0 * max(inv, 0.0), 1.0 + 3.0 * max(-inv, 0.0), 2.0, 2.0], np.float32)

    cfg = EnvConfig.from_dict({**SMALL, "episode_seconds": 200.0, "adverse_horizon_s": 5.0})
    log = run_episode(Skewed(), cfg, seed=21)
    want = log.metrics(cfg)
    env = MarketMakingGymEnv(cfg)
    obs, _ = env.reset(seed=21)
    done = False
    while not done:
        obs, _, _, done, info = env.step(Skewed().act(obs, None))
    got = info["episode"]
    assert got["n_fills"] == len(log.fills) > 10
    for key in (
        "sharpe",
        "sortino",
        "max_drawdown",
        "avg_abs_inventory",
        "fill_ratio",
        "spread_captured",
        "adverse_selection",
        "volume",
    ):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
    assert got["pnl"] == pytest.approx(want["total_pnl"], abs=1e-6)
