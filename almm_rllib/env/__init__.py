"""The market-making environments.

* ``MarketMakingGymEnv``: single-agent Gymnasium env, registered as ``almm/MarketMaking-v0``.
* ``MarketMakingEnv``: RLlib ``MultiAgentEnv`` (imported lazily: it needs ray). Importing
  ``almm_rllib.env.rllib_env`` registers ``almm_mm`` and ``almm_mm_multi`` with RLlib.
"""

from __future__ import annotations

import gymnasium

from .config import PHASES, EnvConfig, phase_market
from .core import ACT_DIM, AGENT_FILL_COLUMNS, INFO_KEYS, OBS_DIM, MarketMakingCore
from .gym_env import MarketMakingGymEnv

ENV_ID = "almm/MarketMaking-v0"
if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID, entry_point="almm_rllib.env.gym_env:MarketMakingGymEnv", disable_env_checker=False
    )


def __getattr__(name: str):
    if name == "MarketMakingEnv":
        from .rllib_env import MarketMakingEnv

        return MarketMakingEnv
    raise AttributeError(f"module 'almm_rllib.env' has no attribute {name!r}")


__all__ = [
    "ACT_DIM",
    "AGENT_FILL_COLUMNS",
    "ENV_ID",
    "INFO_KEYS",
    "OBS_DIM",
    "PHASES",
    "EnvConfig",
    "MarketMakingCore",
    "MarketMakingEnv",
    "MarketMakingGymEnv",
    "phase_market",
]
