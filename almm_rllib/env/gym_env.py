"""The single-agent Gymnasium environment ``almm/MarketMaking-v0`` (RLlib: ``almm_mm``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from almm_rllib.core.agent_schema import ACT_DIM, OBS_DIM, OBS_HIGH, OBS_LOW

from .config import EnvConfig
from .core import MarketMakingCore, episode_seed


class MarketMakingGymEnv(gym.Env):
    """One market maker in the simulated market. Spaces, reward and episode: see ``almm_rllib.env.core``.

    ``config``: an EnvConfig, or a mapping of EnvConfig fields (RLlib passes its ``env_config`` here);
    ``n_agents`` must be 1. ``info`` carries the per-agent step record (``core.INFO_KEYS``).
    """

    metadata = {"render_modes": []}

    def __init__(self, config: EnvConfig | dict | None = None, **kwargs):
        if config is None:
            config = {}
        if isinstance(config, dict):
            config = EnvConfig.from_dict({**dict(config), **kwargs}, source="env_config")
        elif kwargs:
            config = config.merged(kwargs)
        if config.n_agents != 1:
            raise ValueError(f"MarketMakingGymEnv is single-agent; got n_agents={config.n_agents}")
        self.core = MarketMakingCore(config)
        self.config = config
        self.observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Box(self.core.act_low, self.core.act_high, (ACT_DIM,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self.core.reset(episode_seed(self, seed))
        return obs[0], infos[0]

    def step(self, action):
        obs, rew, done, info = self.core.step_one(action)
        return obs, rew, False, done, info

    def set_task(self, phase: str) -> None:
        """Curriculum hook (applies from the next reset)."""
        self.core.set_task(phase)

    def get_task(self) -> str | None:
        return self.core.get_task()
