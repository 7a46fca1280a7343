"""The market-making env on the replayed AMZN day: config validation, seeded episode windows, determinism,
no look-ahead through the env, Gymnasium conformance."""

from __future__ import annotations

import json
import pathlib
import shutil

import gymnasium as gym
import numpy as np
import pytest

from almm_rllib.core.config import ConfigError
from almm_rllib.data.lobster import LobsterFormatError
from almm_rllib.env import MarketMakingGymEnv
from almm_rllib.env.replay import ReplayMarketMakingCore
from almm_rllib.evaluation.replay import resolve_env_config
from almm_rllib.results import schema as S

DATA = pathlib.Path("/work/shared/data/lobster")
AMZN_WINDOW = [36000.0, 55000.0]


def replay_cfg(**market):
    m = {"model": "replay", "data": str(DATA), "ticker": "AMZN", "window": AMZN_WINDOW, "episode_seconds": 60}
    m.update(market)
    return {"market": m, "info_level": "full"}


@pytest.fixture(scope="module")
def amzn_cfg():
    return resolve_env_config(replay_cfg())


def run(env, seed, n, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    obs, info = env.reset(seed=seed)
    out = [obs]
    rews = []
    for _ in range(n):
        a = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        a[:2] = np.clip(a[:2], -1, 3)  # quote near the touch so that fills happen
        obs, r, term, trunc, info = env.step(a)
        out.append(obs)
        rews.append(r)
        if trunc:
            break
    return np.array(out), np.array(rews), info


def test_config_selects_the_replay_market_and_moves_episode_seconds(amzn_cfg):
    assert amzn_cfg.market.model == "replay" and amzn_cfg.episode_seconds == 60
    assert amzn_cfg.market.stream and pathlib.Path(amzn_cfg.market.stream).is_file()
    env = MarketMakingGymEnv(amzn_cfg)
    assert isinstance(env.core, ReplayMarketMakingCore) and env.core.config.n_steps == 60


def test_bad_configs_name_the_key_or_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(LobsterFormatError, match=r"no LOBSTER message file for ticker 'MSFT' .*AAPL, AMZN"):
        resolve_env_config(replay_cfg(ticker="MSFT"))
    with pytest.raises(ConfigError, match="market.bogus"):
        resolve_env_config(replay_cfg(bogus=1))
    with pytest.raises(ConfigError, match="market.window"):
        resolve_env_config(replay_cfg(window=[50000, 40000]))
    # a window outside the file: named with the file
    with pytest.raises(ConfigError, match=r"market.window.*AAPL_2012-06-21.*message"):
        resolve_env_config(replay_cfg(ticker="AAPL", window=[30000, 40000]))
    good = resolve_env_config(replay_cfg(ticker="AAPL", window=None, episode_seconds=10))
    bad = good.replace(market=good.market.replace(window=(30000.0, 40000.0)))
    with pytest.raises(ConfigError, match=r"market.window.*AAPL_2012-06-21.*message"):
        MarketMakingGymEnv(bad)
    # the env alone cannot read the files: it asks for the resolver
    with pytest.raises(ConfigError, match="resolve_env_config"):
        MarketMakingGymEnv(replay_cfg())
    # a corrupt message file: file and line named, nothing cached
    d = tmp_path / "data"
    d.mkdir()
    for f in DATA.glob("AAPL_*.csv"):
        shutil.copy(f, d / f.name)
    m = next(d.glob("AAPL_*message*.csv"))
    lines = m.read_text().splitlines()
    lines[7] = lines[7].replace(",", ";", 1)
    m.write_text("\n".join(lines) + "\n")
    cached = set((tmp_path / "cache").rglob("*"))
    with pytest.raises(LobsterFormatError, match=rf"{m.name}: line 8"):
        resolve_env_config(replay_cfg(data=str(d), ticker="AAPL", window=None))
    assert set((tmp_path / "cache").rglob("*")) == cached
    # a truncated orderbook file: mismatched pair
    shutil.copy(DATA / m.name, m)
    o = next(d.glob("AAPL_*orderbook*.csv"))
    o.write_text("\n".join(o.read_text().splitlines()[:-3]) + "\n")
    with pytest.raises(LobsterFormatError, match="truncated"):
        resolve_env_config(replay_cfg(data=str(d), ticker="AAPL", window=None))
    assert set((tmp_path / "cache").rglob("*")) == cached


def test_same_seed_same_episode_windows(amzn_cfg):
    core = MarketMakingGymEnv(amzn_cfg).core
    w = [core.episode_window(s) for s in range(20)]
    assert w == [core.episode_window(s) for s in range(20)]
    assert len({a for a, _ in w}) == 20
    for a, b in w:
        assert AMZN_WINDOW[0] <= a and b <= AMZN_WINDOW[1] and b - a == pytest.approx(60.0)
    env = MarketMakingGymEnv(amzn_cfg)
    _, info = env.reset(seed=7)
    assert info["episode_start"] == core.episode_window(7)[0]


def test_same_seed_same_episode_bit_for_bit(amzn_cfg):
    a = run(MarketMakingGymEnv(amzn_cfg), 11, 60)
    b = run(MarketMakingGymEnv(amzn_cfg), 11, 60)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[2]["episode"] == b[2]["episode"]
    c = run(MarketMakingGymEnv(amzn_cfg), 12, 60)
    assert not np.array_equal(a[0], c[0])


def test_agent_trades_and_metrics_are_consistent(amzn_cfg):
    env = MarketMakingGymEnv(amzn_cfg)
    fills = 0
    for seed in range(3):
        env.reset(seed=seed)
        cash_moves = 0.0
        for _ in range(60):
            _, _, _, trunc, info = env.step(np.array([0.0, 0.0, 1.0, 1.0], np.float32))
            fills += info["n_fills"]
            for _t, side, price, qty, maker, _oid in info["fills"]:
                cash_moves += -side * price * qty
                assert maker in (0.0, 1.0) and qty > 0
        # the fill log accounts for every cash move
        assert info["cash"] == pytest.approx(cash_moves)
        # P&L = cash + inventory * mid, no fees or impact on the replay
        assert info["pnl"] == pytest.approx(info["cash"] + info["inventory"] * info["mid"])
        assert info["impact_cost"] == 0.0
    assert fills > 0


def test_fill_times_are_on_the_episode_clock_and_env_figures_equal_results_metrics(amzn_cfg):
    """Fill times are seconds since the episode start like the step times (the replay runs on the day's
    clock), so mid(t_fill) and mid(t_fill + H) of adverse_selection find their steps; the env's running
    figures equal results.metrics on the runner's logs."""
    from almm_rllib.evaluation.policies import Policy
    from almm_rllib.evaluation.runner import run_episode

    class Touch(Policy):
        label = "touch"

        def act(self, obs, view):
            return np.array([0.0, 0.0, 1.0, 1.0], np.float32)

    cfg = amzn_cfg.replace(adverse_horizon_s=2.5)
    log = run_episode(Touch(), cfg, seed=1)
    assert len(log.fills) > 0
    step_time = log.steps.set_index(S.STEP)[S.TIME].loc[log.fills[S.STEP]].to_numpy()
    t = log.fills[S.TIME].to_numpy()
    assert np.all(t <= step_time + 1e-9) and np.all(t > step_time - cfg.dt - 1e-9)
    want = log.metrics(cfg)
    env = MarketMakingGymEnv(cfg)
    obs, _ = env.reset(seed=1)
    done = False
    while not done:
        obs, _, _, done, info = env.step(Touch().act(obs, None))
    got = info["episode"]
    for key in ("spread_captured", "adverse_selection", "volume"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key


def test_messages_after_t_change_nothing_the_agent_saw_before_t(amzn_cfg, tmp_path):
    env = MarketMakingGymEnv(amzn_cfg)
    start, _ = env.core.episode_window(5)
    t_cut = start + 30.0
    # rewrite the day after t_cut: drop every later operation (the book then freezes)
    with np.load(amzn_cfg.market.stream) as z:
        ops, msg_time, meta = z["ops"], z["msg_time"], json.loads(str(z["meta"]))
    keep = ops["time"] <= t_cut
    path = tmp_path / "cut.npz"
    np.savez(path, ops=ops[keep], msg_time=msg_time, meta=np.array(json.dumps(meta)))
    cut = amzn_cfg.replace(market=amzn_cfg.market.replace(stream=str(path)))
    full = run(MarketMakingGymEnv(amzn_cfg), 5, 60)
    part = run(MarketMakingGymEnv(cut), 5, 60)
    # step k's observation is taken at start + k (dt = 1 s): identical through the cut, different after it
    assert np.array_equal(full[0][:31], part[0][:31])
    assert np.array_equal(full[1][:30], part[1][:30])
    assert not np.array_equal(full[0][31:], part[0][31:])


def test_gymnasium_checker_passes(amzn_cfg):
    from gymnasium.utils.env_checker import check_env

    check_env(MarketMakingGymEnv(amzn_cfg), skip_render_check=True)
    assert isinstance(MarketMakingGymEnv(amzn_cfg).observation_space, gym.spaces.Box)


def test_zero_size_agent_sees_the_files_book_at_every_step(amzn_cfg):
    from almm_rllib.data.lobster.read import read_lobster
    from almm_rllib.data.lobster.stream import find_lobster_pair

    data = read_lobster(*find_lobster_pair(DATA, "AMZN"))
    t = data.messages["time"].to_numpy()
    bid = data.orderbook["bid_price_1"].to_numpy()
    ask = data.orderbook["ask_price_1"].to_numpy()
    env = MarketMakingGymEnv(amzn_cfg)
    _, info = env.reset(seed=21)
    start = info["episode_start"]
    for k in range(1, 61):
        _, _, _, _, info = env.step(np.array([1.0, 1.0, 0.0, 0.0], np.float32))
        row = np.searchsorted(t, start + k, side="right") - 1  # the book after the last message by then
        assert info["best_bid"] == pytest.approx(bid[row] * 0.01)
        assert info["best_ask"] == pytest.approx(ask[row] * 0.01)
        assert info["n_fills"] == 0 and info["inventory"] == 0.0 and info["pnl"] == 0.0
