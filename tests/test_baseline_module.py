"""Baselines as non-trainable RLModules: same actions as the numpy strategies, untouched by PPO training."""

from __future__ import annotations

import gc
import shutil
import tempfile

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.spaces.space_utils import unsquash_action

from almm_rllib.baselines import make_strategy
from almm_rllib.core.config import ConfigError
from almm_rllib.env import EnvConfig, MarketMakingGymEnv
from almm_rllib.evaluation.views import ObservationDecoder, view_from_env
from almm_rllib.training.baseline_module import DEFAULT_STD, BaselineRLModule, baseline_module_spec

SMALL = {"episode_seconds": 40.0, "market": {"warmup_seconds": 5.0}}
STRATEGIES = [
    "avellaneda_stoikov:gamma=0.001,k=50",
    "glft:gamma=0.1,k=50,A=1",
    "static_spread",
    "volatility_adaptive",
    "symmetric:gamma=0.001,k=50",
]


def _module_env_actions(mod: BaselineRLModule, obs: np.ndarray, space) -> np.ndarray:
    """What the env receives from the module with explore=False: the Gaussian's mean, unsquashed and clipped."""
    with torch.no_grad():
        logits = mod.forward_inference({Columns.OBS: torch.as_tensor(np.atleast_2d(obs))})[
            Columns.ACTION_DIST_INPUTS
        ]
    return unsquash_action(logits[..., :4].numpy(), space)


def _rollout(env, strategy, seed: int, n: int):
    """Observations, the env's own views and the numpy strategy's actions along one episode."""
    obs, info = env.reset(seed=seed)
    strategy.reset(seed)
    rows = []
    for k in range(n):
        view = view_from_env(env.core, info, obs, k)
        action = strategy.act(view)
        rows.append((obs, view, action))
        obs, _, _, trunc, info = env.step(action)
        if trunc:
            break
    return rows


@pytest.mark.parametrize("name", STRATEGIES)
def test_module_acts_like_the_numpy_strategy(name):
    cfg = EnvConfig.from_dict(SMALL)
    spec = baseline_module_spec(name, cfg)
    mod = spec.build()
    assert isinstance(mod, BaselineRLModule)
    params = spec.model_config["params"]
    if name.startswith(("avellaneda_stoikov", "symmetric")):
        assert params["rolling_horizon"] == cfg.episode_seconds / 2  # documented default
    env = MarketMakingGymEnv(cfg)
    space = env.action_space
    strategy = make_strategy(spec.model_config["strategy"], **params)
    decoder = ObservationDecoder.from_env_config(cfg)
    for obs, view, action in _rollout(env, strategy, seed=4, n=40):
        got = _module_env_actions(mod, obs, space)[0]
        # exactly the strategy on the view rebuilt from the observation (up to float32 unsquashing)
        want = np.clip(
            make_strategy(spec.model_config["strategy"], **params).act(decoder.view(obs)),
            space.low,
            space.high,
        )
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * (space.high - space.low).max())
        # and, up to the mid-at-reset approximation, the strategy on the env's true view
        np.testing.assert_allclose(got, np.clip(action, space.low, space.high), rtol=0, atol=5e-3)
        assert view.inventory == decoder.view(obs).inventory


def test_module_std_is_tiny_and_batches_work():
    cfg = EnvConfig.from_dict(SMALL)
    mod = baseline_module_spec("static_spread", cfg).build()
    obs = np.zeros((3, 9), np.float32)
    obs[:, 3] = 1.0
    out = mod.forward_exploration({Columns.OBS: torch.as_tensor(obs)})[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (3, 8)
    np.testing.assert_allclose(out[:, 4:].exp().numpy(), DEFAULT_STD, rtol=1e-5)
    assert not mod.log_std.requires_grad
    assert [p for p in mod.parameters() if p.requires_grad] == []


def test_spec_refuses_bad_input():
    with pytest.raises(ValueError, match="not a baseline"):
        baseline_module_spec("./no/such/checkpoint", EnvConfig.from_dict(SMALL))
    with pytest.raises(ConfigError, match=r"StaticSpreadParams\.nope is not a known key"):
        baseline_module_spec("static_spread:nope=1", EnvConfig.from_dict(SMALL))
    with pytest.raises(ValueError, match="std"):
        baseline_module_spec("static_spread", EnvConfig.from_dict(SMALL), std=0.0).build()


# ------------------------------------------------------------------------------------------------------------
# In a multi-agent PPO run.


@pytest.fixture(scope="module")
def ray_local():
    import ray

    from almm_rllib.env.rllib_env import register_rllib_envs

    owned = not ray.is_initialized()
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    if owned:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
    # the Tune registry lives in the Ray session: register again in case an earlier session registered first
    register_rllib_envs()
    yield ray
    if owned:
        ray.shutdown()
    gc.collect()  # run RLlib's finalizers now, not in the middle of a later test
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.ray
def test_two_agent_ppo_with_a_frozen_baseline(ray_local):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env_cfg = EnvConfig.from_dict({**SMALL, "n_agents": 2, "episode_seconds": 50.0})
    baseline = "avellaneda_stoikov:gamma=0.001,k=50"
    config = (
        PPOConfig()
        .environment("almm_mm_multi", env_config=env_cfg.to_dict())
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
        .multi_agent(
            policies={"mm_0", "mm_1"},
            policy_mapping_fn=lambda agent_id, episode, **kw: agent_id,
            policies_to_train=["mm_0"],
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    "mm_0": RLModuleSpec(model_config={"fcnet_hiddens": [16, 16], "vf_share_layers": False}),
                    "mm_1": baseline_module_spec(baseline, env_cfg),
                }
            )
        )
        .debugging(log_level="ERROR")
    )
    algo = config.build_algo()
    try:
        learner = algo.learner_group._learner
        before = {
            mid: {k: v.clone() for k, v in learner.module[mid].state_dict().items()}
            for mid in ("mm_0", "mm_1")
        }
        result = algo.train()
        learned = result["learners"]
        assert "policy_loss" in learned["mm_0"] and "policy_loss" not in learned.get("mm_1", {})
        assert learned["mm_1"]["num_non_trainable_parameters"] == 4  # the constant log-std, nothing else
        after = {mid: learner.module[mid].state_dict() for mid in ("mm_0", "mm_1")}
        for k, v in before["mm_1"].items():
            assert torch.equal(v, after["mm_1"][k]), f"baseline weight {k} changed"
        assert any(not torch.equal(v, after["mm_0"][k]) for k, v in before["mm_0"].items()), (
            "mm_0 did not learn"
        )
        runner_mod = algo.get_module("mm_1")
        assert torch.equal(runner_mod.log_std, before["mm_1"]["log_std"])

        # the actions RLlib sent for mm_1 (explore=False) are the numpy strategy's on the same observations
        episodes = algo.env_runner.sample(num_episodes=1, explore=False)
        ep = episodes[0]
        obs = np.asarray(ep.get_observations()["mm_1"][:-1])
        acts = np.asarray(ep.get_actions()["mm_1"])
        assert len(acts) == env_cfg.n_steps
        spec = baseline_module_spec(baseline, env_cfg)
        strategy = make_strategy(spec.model_config["strategy"], **spec.model_config["params"])
        decoder = ObservationDecoder(**spec.model_config["decoder"])
        space = spec.action_space
        want = np.stack([np.clip(strategy.act(decoder.view(o)), space.low, space.high) for o in obs])
        np.testing.assert_allclose(unsquash_action(acts, space), want, rtol=0, atol=1e-3)
    finally:
        algo.stop()
