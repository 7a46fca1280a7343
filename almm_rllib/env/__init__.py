"""The market-making environments.

* ``MarketMakingGymEnv``: single-agent Gymnasium env, registered as ``almm/MarketMaking-v0``.
* ``MarketMakingVectorEnv``: N of those stepped in one compiled call; the ``vector_entry_point`` of
  ``almm/MarketMaking-v0``, so ``gymnasium.make_vec(ENV_ID, num_envs=N)`` builds it.
* ``MarketMakingEnv``: RLlib ``MultiAgentEnv`` (imported lazily: it needs ray). Importing
  ``almm_rllib.env.rllib_env`` registers ``almm_mm`` and ``almm_mm_multi`` with RLlib.
"""

from __future__ import annotations

import gymnasium

from almm_rllib.core.agent_schema import ACT_DIM, OBS_DIM
from almm_rllib.core.agent_schema import GYM_ENV_ID as ENV_ID
from almm_rllib.core.gym_registration import register

from .config import PHASES, EnvConfig, phase_market
from .core import AGENT_FILL_COLUMNS, INFO_KEYS, MarketMakingCore
from .gym_env import MarketMakingGymEnv
from .vector_env import MarketMakingVectorEnv

register(gymnasium)  # also done by ``import almm_rllib`` (see almm_rllib/core/gym_registration.py)


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
    "MarketMakingVectorEnv",
    "phase_market",
]
