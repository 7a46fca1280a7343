"""Actions of the wrong shape are refused (never broadcast); stepping after the end raises ResetNeeded."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from almm_rllib.env import EnvConfig, MarketMakingGymEnv
from almm_rllib.env.core import MarketMakingCore


@pytest.fixture(scope="module")
def env():
    return MarketMakingGymEnv(EnvConfig(episode_seconds=5.0, dt=1.0))


@pytest.mark.parametrize(
    "action", [1.0, np.float32(2.0), [1.0, 1.0], np.ones((2, 4)), np.ones(5), np.ones((4, 1))]
)
def test_wrong_shaped_single_agent_actions_are_refused(env, action):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \(1, 4\) \(agents x 4\) or \(4,\)"):
        env.step(action)
    env.step(np.ones((1, 4)))  # one row per agent is the core's own shape


def test_multi_agent_actions_need_one_row_per_agent():
    core = MarketMakingCore(EnvConfig(n_agents=2, episode_seconds=5.0))
    core.reset(seed=0)
    for bad in (np.ones(4), np.ones((1, 4)), 3.0):
        with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
            core.step(bad)
    obs, rew, done, infos = core.step(np.tile([2.0, 2.0, 1.0, 1.0], (2, 1)))
    assert obs.shape == (2, 9) and not done


def test_step_after_the_episode_ended_raises_reset_needed(env):
    env.reset(seed=1)
    done, n = False, 0
    while not done:
        _, _, term, trunc, _ = env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))
        done, n = term or trunc, n + 1
    assert n == 5
    with pytest.raises(gymnasium.error.ResetNeeded, match="call reset"):
        env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))
    env.reset(seed=1)
    env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))  # fine again after a reset
    with pytest.raises(gymnasium.error.ResetNeeded):
        MarketMakingGymEnv(EnvConfig(episode_seconds=5.0)).step(np.zeros(4, np.float32))
