"""The RLlib algorithms an experiment may name, all on the new API stack (RLModule + Learner + EnvRunner).

``algorithm: PPO`` (default) or ``algorithm: SAC`` in an experiment YAML. The builder sections of the YAML are
checked against, and applied to, that algorithm's ``AlgorithmConfig`` subclass.

TD3 and DDPG are not on RLlib 2.60's new API stack: the installed wheel has no ``ray/rllib/algorithms/td3`` or
``ddpg`` package at all (``ray.rllib.algorithms`` holds appo, bc, cql, dqn, dreamerv3, impala, iql, marwil, ppo,
sac, tqc), so SAC is the project's off-policy continuous-action algorithm. ``tests/test_search.py`` checks this
against the installed package.
"""

from __future__ import annotations

import importlib

#: algorithm name -> (module, AlgorithmConfig class)
ALGORITHMS = {
    "PPO": ("ray.rllib.algorithms.ppo", "PPOConfig"),
    "SAC": ("ray.rllib.algorithms.sac", "SACConfig"),
}
DEFAULT_ALGORITHM = "PPO"


def algorithm_name(spec: dict) -> str:
    """The algorithm an (already validated) experiment spec names."""
    return str(spec.get("algorithm", DEFAULT_ALGORITHM))


def config_class(name: str):
    """The ``AlgorithmConfig`` subclass of ``name`` (imports ray)."""
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {name!r}")
    module, cls = ALGORITHMS[name]
    return getattr(importlib.import_module(module), cls)


__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "algorithm_name", "config_class"]
