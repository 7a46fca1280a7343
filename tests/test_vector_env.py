"""The native vector env: the same episodes as N separate envs bit for bit, Gymnasium's vector API and
checkers, the registrations (``gymnasium.make_vec``, RLlib's ``almm_mm`` creator and EnvRunner), the shipped
experiments' default, and bad input."""

from __future__ import annotations

import math
import pathlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_match import check_environments_match
from gymnasium.utils.passive_env_checker import check_obs
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import DictInfoToList

from almm_rllib.env import ENV_ID, MarketMakingGymEnv, MarketMakingVectorEnv

SHORT = {"episode_seconds": 12.0, "market": {"warmup_seconds": 3.0}}
EXPERIMENTS = pathlib.Path(__file__).resolve().parents[1] / "experiments"


def _same(a, b, where: str = "") -> None:
    """Bit-for-bit equality of nested results (dicts of arrays, object arrays of tuples, NaNs included)."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{where}: {type(b).__name__} is not an array"
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if a.dtype == object:
            for x, y in zip(a.tolist(), b.tolist(), strict=True):
                assert x == y or (x != x and y != y), f"{where}: {x!r} != {y!r}"
        else:
            assert a.tobytes() == b.tobytes(), f"{where}: {a} != {b}"
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def _pair(n: int, cfg: dict):
    vec = MarketMakingVectorEnv(n, cfg)
    ref = SyncVectorEnv([lambda: MarketMakingGymEnv(cfg) for _ in range(n)])
    return vec, ref


def _actions(space, rng: np.random.Generator, n: int) -> np.ndarray:
    # offsets across the whole box (crossing the mid too), sizes 0..max, some out of bounds (clipped)
    lo, hi = space.low[0], space.high[0]
    a = rng.uniform(lo - 1.0, hi + 1.0, size=(n, 4))
    return a.astype(np.float32)


@pytest.mark.parametrize("info_level", ["full", "episode"])
def test_same_episodes_as_separate_envs_bit_for_bit(info_level):
    n = 4
    cfg = {**SHORT, "info_level": info_level}
    vec, ref = _pair(n, cfg)
    _same(vec.reset(seed=11), ref.reset(seed=11), "reset")
    rng = np.random.default_rng(5)
    ends = 0
    for t in range(40):  # 12-step episodes: three autoresets per sub-env, then a phase change
        if t == 26:
            for env in (vec, ref):
                assert env.call("set_task", "high_volatility") == (None,) * n
        a = _actions(vec.single_action_space, rng, n)
        out_v, out_r = vec.step(a), ref.step(a)
        for name, x, y in zip(
            ("obs", "reward", "terminated", "truncated", "info"), out_v, out_r, strict=True
        ):
            _same(x, y, f"step {t} {name}")
        ends += int(out_v[3].sum())
        if info_level == "episode" and out_v[3].any():
            assert set(out_v[4]["episode"]) >= {"pnl", "sharpe", "n_fills"}
    assert ends == 3 * n
    assert vec.call("get_task") == ("high_volatility",) * n
    # a partial reset (Gymnasium's reset_mask) and list seeds behave as SyncVectorEnv's
    mask = np.array([True, False, True, False])
    _same(
        vec.reset(seed=[1, 2, 3, 4], options={"reset_mask": mask}),
        ref.reset(seed=[1, 2, 3, 4], options={"reset_mask": mask}),
        "masked reset",
    )
    for t in range(5):
        a = _actions(vec.single_action_space, rng, n)
        _same(vec.step(a), ref.step(a), f"after masked reset {t}")


def test_gymnasium_vector_api_and_checkers():
    n = 3
    vec = gym.make_vec(ENV_ID, num_envs=n, config=SHORT)  # the vector_entry_point is the default
    assert isinstance(vec, MarketMakingVectorEnv) and vec.num_envs == n
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    single = MarketMakingGymEnv(SHORT)
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    assert vec.observation_space.shape == (n, 9) and vec.action_space.shape == (n, 4)
    obs, info = vec.reset(seed=0)
    check_obs(obs, vec.observation_space, "reset")
    for _ in range(15):
        obs, rew, term, trunc, info = vec.step(vec.action_space.sample())
        check_obs(obs, vec.observation_space, "step")
        assert rew.dtype == np.float64 and rew.shape == (n,)
        assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and not term.any()
        assert isinstance(info, dict)
    # Gymnasium's own equivalence checker against its SyncVectorEnv (it reads the episode-end flags as single
    # booleans, so one sub-env; several are compared bit for bit above)
    vec1, ref1 = _pair(1, {**SHORT, "info_level": "episode"})
    check_environments_match(vec1, ref1, num_steps=30, seed=3, info_comparison="equivalence")
    # Gymnasium's vector wrappers work on it; make_vec with the mode named explicitly too
    wrapped = DictInfoToList(
        gym.wrappers.vector.RecordEpisodeStatistics(  # "episode" is the env's own summary key
            gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", config=SHORT),
            stats_key="stats",
        )
    )
    wrapped.reset(seed=1)
    lengths = []
    for _ in range(13):
        _, _, _, trunc, infos = wrapped.step(wrapped.action_space.sample())
        lengths += [int(i["stats"]["l"]) for i, d in zip(infos, trunc, strict=True) if d]
    assert lengths == [12, 12]
    vec.close()
    assert vec.closed


def test_bad_input_is_refused_with_the_sub_env_named():
    vec = MarketMakingVectorEnv(3, SHORT)
    vec.reset(seed=0)
    a = np.tile(vec.single_action_space.low, (3, 1))
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        vec.step(a[:2])
    a[1, 2] = np.nan
    with pytest.raises(ValueError, match="sub-env 1: bid_size = nan"):
        vec.step(a)
    with pytest.raises(ValueError, match="num_envs must be in"):
        MarketMakingVectorEnv(0, SHORT)
    with pytest.raises(ValueError, match="single-agent"):
        MarketMakingVectorEnv(2, {**SHORT, "n_agents": 2})
    with pytest.raises(ValueError, match="3 seeds"):
        MarketMakingVectorEnv(2, SHORT).reset(seed=[1, 2, 3])


def test_rllib_creator_and_env_runner_use_the_vector_env():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from almm_rllib.env.rllib_env import _make_single, register_rllib_envs
    from almm_rllib.training.callbacks import _set_phase

    register_rllib_envs()  # Tune's registry is emptied by any earlier ray.shutdown() in this process
    env = _make_single({**SHORT, "num_envs": 5})
    assert isinstance(env, MarketMakingVectorEnv) and env.num_envs == 5 and env.seeds == "strided"
    _, info0 = env.reset(seed=7)
    _, info1 = env.reset(seed=8)
    assert list(info0["seed"]) == [35, 36, 37, 38, 39] and list(info1["seed"]) == [40, 41, 42, 43, 44]
    cfg = (
        PPOConfig()
        .environment("almm_mm", env_config={**SHORT, "info_level": "episode"})
        .env_runners(
            num_env_runners=0, num_envs_per_env_runner=4, gym_env_vectorize_mode="vector_entry_point"
        )
        .rl_module(model_config={"fcnet_hiddens": [8], "vf_share_layers": True})
        .debugging(seed=7)
    )
    runner = SingleAgentEnvRunner(config=cfg)
    try:
        assert isinstance(runner.env.unwrapped, MarketMakingVectorEnv)
        assert _set_phase(runner, "low_volatility") == ("low_volatility",) * 4  # the curriculum's hook
        episodes = runner.sample(num_episodes=4)
        assert len(episodes) == 4
        for ep in episodes:
            assert len(ep) == 12 and ep.is_truncated and not ep.is_terminated
            summary = ep.get_infos(-1)["episode"]
            assert math.isfinite(summary["pnl"])
        # sampled episodes are those of separate envs seeded from the runner's seed, strided so that runners
        # seeded seed + w (RLlib's rule) never share a market stream
        assert {ep.get_infos(0)["seed"] for ep in episodes} == {runner._seed * 4 + i for i in range(4)}
    finally:
        runner.stop()


def test_shipped_experiments_use_the_vector_env():
    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import VECTORIZE_MODE, build_config

    seen = 0
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        exp = load_experiment(path)
        cfg = build_config(exp)
        if exp.spec.get("environment", {}).get("env", "almm_mm") == "almm_mm":
            assert cfg.gym_env_vectorize_mode == VECTORIZE_MODE, path.name
            assert gym.VectorizeMode(cfg.gym_env_vectorize_mode) == gym.VectorizeMode.VECTOR_ENTRY_POINT
            seen += 1
    assert seen >= 4


def test_torch_threads_are_validated_and_applied(tmp_path):
    import torch

    from almm_rllib.training.callbacks import MarketMakingCallbacks
    from almm_rllib.training.experiment import ExperimentError, load_experiment
    from almm_rllib.training.train import TORCH_THREADS, torch_threads

    path = EXPERIMENTS / "smoke.yaml"
    assert torch_threads(load_experiment(path)) == TORCH_THREADS
    exp = load_experiment(path, ["torch_threads={learner: 2}"])
    assert torch_threads(exp) == {**TORCH_THREADS, "learner": 2}
    with pytest.raises(ExperimentError, match=r"torch_threads\.learner.*>= 1"):
        load_experiment(path, ["torch_threads={learner: 0}"])
    with pytest.raises(ExperimentError, match=r"torch_threads\.gpu.*not a known key"):
        load_experiment(path, ["torch_threads={gpu: 1}"])
    before = torch.get_num_threads()
    try:
        cb = MarketMakingCallbacks(torch_threads={"learner": 1, "env_runner": 2})
        cb.on_environment_created(env_runner=None)
        assert torch.get_num_threads() == 2
        cb.on_algorithm_init(algorithm=None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_iterations_without_an_episode_end_keep_the_last_episode_stats():
    # 32 envs and 4000-step batches: 125 steps per env per iteration, 300-step episodes ending together, so
    # RLlib reports NaN returns in two iterations of three; the callbacks carry the last values over them
    from almm_rllib.training.callbacks import MarketMakingCallbacks

    cb = MarketMakingCallbacks()
    seen = []
    for ret in (None, 5.0, float("nan"), float("nan"), 7.0, float("nan")):
        result = {
            "env_runners": {} if ret is None else {"episode_return_mean": ret, "episode_len_mean": 300.0}
        }
        cb.on_train_result(algorithm=None, result=result)
        seen.append(result["env_runners"].get("episode_return_mean"))
    assert seen == [None, 5.0, 5.0, 5.0, 7.0, 7.0]


def test_market_making_metrics_are_carried_and_present_before_the_first_episode_ends():
    # a Tune scheduler refuses a result without its metric (PBT raised "Cannot find metric env_runners/mm/sharpe"
    # on a trial whose 600-s episodes outlasted its first batch): the keys are NaN until an episode ends, then
    # carried over iterations in which none ends, each metric on its own
    import types

    from almm_rllib.core.agent_schema import RLLIB_ENV, RLLIB_ENV_MULTI
    from almm_rllib.training.callbacks import MM_METRICS, MarketMakingCallbacks, expected_mm_keys

    algo = types.SimpleNamespace(config=types.SimpleNamespace(env=RLLIB_ENV, env_config={}))
    cb = MarketMakingCallbacks()
    seen = []
    for mm in (None, {"sharpe": 0.5, "pnl": 3.0}, None, {"sharpe": 0.7}, {"sharpe": float("nan")}):
        result = {"env_runners": {} if mm is None else {"mm": dict(mm)}}
        cb.on_train_result(algorithm=algo, result=result)
        got = result["env_runners"]["mm"]
        assert set(got) == set(MM_METRICS)
        seen.append((got["sharpe"], got["pnl"]))
    assert math.isnan(seen[0][0]) and math.isnan(seen[0][1])
    assert seen[1:] == [(0.5, 3.0), (0.5, 3.0), (0.7, 3.0), (0.7, 3.0)]

    multi = types.SimpleNamespace(
        config=types.SimpleNamespace(env=RLLIB_ENV_MULTI, env_config={"n_agents": 2})
    )
    assert expected_mm_keys(multi.config) == tuple((a, k) for a in ("mm_0", "mm_1") for k in MM_METRICS)
    cb = MarketMakingCallbacks()
    result = {"env_runners": {"mm": {"mm_1": {"pnl": 2.0}}}}
    cb.on_train_result(algorithm=multi, result=result)
    got = result["env_runners"]["mm"]
    assert got["mm_1"]["pnl"] == 2.0 and math.isnan(got["mm_0"]["sharpe"]) and set(got) == {"mm_0", "mm_1"}
    assert expected_mm_keys(None) == () and expected_mm_keys(types.SimpleNamespace(env="other")) == ()
