"""Evaluation: run baselines and RL checkpoints on the same seeds, log steps and fills, write run folders.

* :mod:`~almm_rllib.evaluation.runner`: :func:`run_episode`, :func:`evaluate` (parallel, common random numbers).
* :mod:`~almm_rllib.evaluation.policies`: policy specs (``name:key=value``, checkpoint folders) and the policies.
* :mod:`~almm_rllib.evaluation.views`: the :class:`~almm_rllib.baselines.MarketView` a baseline sees.
* :mod:`~almm_rllib.evaluation.live`: :class:`LiveEpisode`, one episode advanced step by step (the dashboard).
* :mod:`~almm_rllib.evaluation.simulate`: one strategy on one market; the Avellaneda-Stoikov paper's table.
* :mod:`~almm_rllib.evaluation.calibration`: the calibration harness that measures the order-book market and
  writes the baselines' shipped defaults (``python -m almm_rllib.evaluation.calibration --out ...``).
* :mod:`~almm_rllib.evaluation.commands`: the ``almm evaluate`` and ``almm simulate`` subcommands.

Rank 3 (README, "Layout"): imports core, env, data, baselines and results only. Nothing here imports ray or torch
at module level (a checkpoint's loader imports them when it runs).
Attributes are imported on first use, so ``almm --help`` stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EpisodeLog": "runner",
    "evaluate": "runner",
    "run_episode": "runner",
    "parse_seeds": "runner",
    "CheckpointError": "policies",
    "CheckpointPolicy": "policies",
    "BaselinePolicy": "policies",
    "PolicySpec": "policies",
    "load_policy": "policies",
    "parse_policy_spec": "policies",
    "ObservationDecoder": "views",
    "view_from_env": "views",
    "simulate": "simulate",
    "paper_table": "simulate",
    "LiveEpisode": "live",
}


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'almm_rllib.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"almm_rllib.evaluation.{mod}"), name)


__all__ = sorted(_EXPORTS)
