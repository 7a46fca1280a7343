"""The RLlib multi-agent environment and the RLlib registrations ``almm_mm`` and ``almm_mm_multi``.

This module imports ray (it subclasses RLlib's MultiAgentEnv); ``almm_rllib.env`` imports it lazily.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.tune.registry import register_env

from almm_rllib.core.agent_schema import ACT_DIM, OBS_DIM, OBS_HIGH, OBS_LOW, RLLIB_ENV, RLLIB_ENV_MULTI

from .config import EnvConfig
from .core import episode_seed
from .gym_env import MarketMakingGymEnv
from .replay import make_core
from .vector_env import MarketMakingVectorEnv


def _config_from_context(config) -> tuple[EnvConfig, int, int]:
    """EnvConfig from an EnvConfig, a mapping or RLlib's EnvContext (whose worker/vector indices seed episodes)."""
    worker = int(getattr(config, "worker_index", 0) or 0)
    vector = int(getattr(config, "vector_index", 0) or 0)
    if config is None:
        return EnvConfig(), worker, vector
    if isinstance(config, EnvConfig):
        return config, worker, vector
    cfg = EnvConfig.from_dict(dict(config), source="env_config")
    if cfg.seed is not None and (worker or vector):
        # every env copy on every runner gets its own stream, reproducibly
        seed = int(np.random.SeedSequence([cfg.seed, worker, vector]).generate_state(1)[0] % (2**31))
        cfg = cfg.replace(seed=seed)
    return cfg, worker, vector


class MarketMakingEnv(MultiAgentEnv):
    """``n_agents`` market makers quoting into one simulated market (RLlib new API stack).

    Agent ids ``mm_0 .. mm_{n-1}``; per-agent spaces, reward, episode end and info keys as documented in
    ``almm_rllib.env.core``. All agents act every step. ``terminateds["__all__"]`` is always present (False:
    the market never ends an episode early); ``truncateds["__all__"]`` turns True at the end of time.
    """

    def __init__(self, config=None):
        super().__init__()
        cfg, self.worker_index, self.vector_index = _config_from_context(config)
        self.core = make_core(cfg)
        self.config = cfg
        self.possible_agents = list(self.core.agent_ids)
        self.agents = list(self.possible_agents)
        obs_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (OBS_DIM,), np.float32)
        act_space = gym.spaces.Box(self.core.act_low, self.core.act_high, (ACT_DIM,), np.float32)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: act_space for a in self.possible_agents}
        self._act = np.zeros((cfg.n_agents, ACT_DIM), np.float64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self.core.reset(episode_seed(self, seed))
        self.agents = list(self.possible_agents)
        return (
            {a: obs[i] for i, a in enumerate(self.possible_agents)},
            {a: infos[i] for i, a in enumerate(self.possible_agents)},
        )

    def step(self, action_dict: dict):
        for i, a in enumerate(self.possible_agents):
            try:
                self._act[i] = action_dict[a]
            except KeyError:
                raise ValueError(f"no action for agent {a!r}: every market maker acts every step") from None
        obs, rew, done, infos = self.core.step(self._act)
        ids = self.possible_agents
        obs_d = {a: obs[i] for i, a in enumerate(ids)}
        rew_d = {a: float(rew[i]) for i, a in enumerate(ids)}
        info_d = {a: infos[i] for i, a in enumerate(ids)}
        term = dict.fromkeys(ids, False)
        term["__all__"] = False
        trunc = dict.fromkeys(ids, done)
        trunc["__all__"] = done
        if done:
            self.agents = []
        return obs_d, rew_d, term, trunc, info_d

    def set_task(self, phase: str) -> None:
        """Curriculum hook (applies from the next reset)."""
        self.core.set_task(phase)

    def get_task(self) -> str | None:
        return self.core.get_task()


def _make_single(ctx):
    """``almm_mm``: one env, or the native vector env when RLlib asks for ``num_envs`` of them (its
    ``gym_env_vectorize_mode="vector_entry_point"`` calls the creator with ``env_config | {"num_envs": n}``)."""
    if isinstance(ctx, dict) and "num_envs" in ctx:
        num_envs = int(ctx["num_envs"])
        cfg, _, _ = _config_from_context({k: v for k, v in ctx.items() if k != "num_envs"})
        return MarketMakingVectorEnv(num_envs, cfg, seeds="strided")  # runners' market streams disjoint
    cfg, _, _ = _config_from_context(ctx)
    return MarketMakingGymEnv(cfg)


def register_rllib_envs() -> None:
    """Register ``almm_mm`` (single agent) and ``almm_mm_multi`` with RLlib/Tune (idempotent)."""
    register_env(RLLIB_ENV, _make_single)
    register_env(RLLIB_ENV_MULTI, MarketMakingEnv)


register_rllib_envs()
