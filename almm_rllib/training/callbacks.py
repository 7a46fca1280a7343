"""RLlib callbacks: market-making metrics for TensorBoard and the volatility curriculum.

Metrics (logged on the EnvRunners at the end of every episode, mean over the last 100 episodes; Tune writes
them to TensorBoard as ``ray/tune/env_runners/mm/<key>``): the keys of :data:`MM_METRICS`, taken from the
episode summary the env puts in the last step's ``info["episode"]`` (metrics.md definitions).

Curriculum: ``curriculum=[(phase, until_steps), ...]``. The phase in force is the first whose ``until`` exceeds
the number of env steps sampled so far (``num_env_steps_sampled_lifetime``); the last phase is open-ended.
Every EnvRunner (training and evaluation) is switched with the env's ``set_task`` hook when the phase changes
(it applies from each env's next reset), EnvRunners recreated after a crash are switched again in
``on_env_runners_recreated``, and a restored checkpoint re-derives the phase from its restored step counter in
``on_checkpoint_loaded``, so the phase survives checkpoint and restore without state of its own. The result
carries ``curriculum/phase_index`` (TensorBoard) and ``curriculum/phase``.
"""

from __future__ import annotations

import functools
import math

from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from almm_rllib.core.agent_schema import RLLIB_ENV, RLLIB_ENV_MULTI, agent_ids

#: Keys of the env's episode summary logged as training metrics.
MM_METRICS = (
    "pnl",
    "sharpe",
    "max_drawdown",
    "avg_abs_inventory",
    "fill_ratio",
    "spread_captured",
    "adverse_selection",
    "impact_cost",
    "n_fills",
)
#: Episode statistics of ``result["env_runners"]`` carried over iterations in which no episode ended.
EPISODE_STATS = ("episode_return_mean", "episode_return_max", "episode_return_min", "episode_len_mean")
PHASE_INDEX_KEY = "curriculum/phase_index"
PHASE_KEY = "curriculum/phase"


def _set_phase(env_runner, phase: str):
    """Runs on an EnvRunner: switch every sub-env to ``phase``; returns the phases now set."""
    env = getattr(env_runner, "env", None)
    if env is None:  # the local runner has no env when num_env_runners > 0
        return None
    env.unwrapped.call("set_task", phase)
    return tuple(env.unwrapped.call("get_task"))


def _get_phase(env_runner):
    env = getattr(env_runner, "env", None)
    if env is None:
        return None
    return tuple(env.unwrapped.call("get_task"))


class MarketMakingCallbacks(RLlibCallback):
    """Market-making metrics and the curriculum (see the module docstring)."""

    def __init__(self, curriculum: list[tuple[str, float]] | None = None, torch_threads: dict | None = None):
        super().__init__()
        self.curriculum = [(str(p), float(u)) for p, u in (curriculum or [])]
        self.phase_index: int | None = None
        self.torch_threads = dict(torch_threads or {})
        self._episode_stats: dict[str, float] = {}
        self._mm_stats: dict[tuple[str, ...], float] = {}

    # ------------------------------------------------------------------------------------- torch threads
    def on_environment_created(self, *, env_runner, **kwargs) -> None:
        _set_torch_threads(self.torch_threads.get("env_runner"))

    # ------------------------------------------------------------------------------------- metrics (runners)
    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        infos = episode.get_infos(-1)
        if (
            isinstance(infos, dict)
            and "episode" not in infos
            and infos
            and isinstance(next(iter(infos.values())), dict)
        ):
            per_agent = infos  # multi-agent: {agent_id: info}
        else:
            per_agent = {None: infos}
        for aid, info in per_agent.items():
            summary = (info or {}).get("episode")
            if not summary:
                continue
            for k in MM_METRICS:
                v = summary.get(k)
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                key = ("mm", k) if aid is None else ("mm", str(aid), k)
                metrics_logger.log_value(key, float(v), reduce="mean", window=100)

    # ------------------------------------------------------------------------------------- curriculum (algo)
    def phase_for(self, steps: float) -> int:
        for i, (_, until) in enumerate(self.curriculum):
            if steps < until:
                return i
        return len(self.curriculum) - 1

    def _apply(self, algorithm, index: int) -> None:
        phase = self.curriculum[index][0]
        fn = functools.partial(_set_phase, phase=phase)
        algorithm.env_runner_group.foreach_env_runner(fn, local_env_runner=True)
        if getattr(algorithm, "eval_env_runner_group", None) is not None:
            algorithm.eval_env_runner_group.foreach_env_runner(fn, local_env_runner=True)
        self.phase_index = index

    @staticmethod
    def _steps(algorithm) -> float:
        try:
            return float(algorithm.metrics.peek(NUM_ENV_STEPS_SAMPLED_LIFETIME, default=0) or 0)
        except (KeyError, ValueError, TypeError):
            return 0.0

    def on_algorithm_init(self, *, algorithm, **kwargs) -> None:
        _set_torch_threads(self.torch_threads.get("learner"))  # the local learner lives in this process
        if self.curriculum:
            self._apply(algorithm, self.phase_for(self._steps(algorithm)))

    def on_checkpoint_loaded(self, *, algorithm, **kwargs) -> None:
        if self.curriculum:
            self._apply(algorithm, self.phase_for(self._steps(algorithm)))

    def on_env_runners_recreated(
        self, *, algorithm, env_runner_group, env_runner_indices, is_evaluation, **kwargs
    ):
        if not self.curriculum:
            return
        index = self.phase_for(self._steps(algorithm)) if self.phase_index is None else self.phase_index
        phase = self.curriculum[index][0]
        env_runner_group.foreach_env_runner(
            functools.partial(_set_phase, phase=phase),
            remote_worker_ids=list(env_runner_indices),
            local_env_runner=False,
        )

    def on_train_result(self, *, algorithm, result: dict, **kwargs) -> None:
        self._carry_episode_stats(result, expected_mm_keys(getattr(algorithm, "config", None)))
        if not self.curriculum:
            return
        steps = float(result.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, self._steps(algorithm)) or 0)
        index = self.phase_for(steps)
        if index != self.phase_index:
            self._apply(algorithm, index)
        result[PHASE_INDEX_KEY] = index
        result[PHASE_KEY] = self.curriculum[index][0]

    def _carry_episode_stats(self, result: dict, mm_keys: tuple[tuple[str, ...], ...] = ()) -> None:
        """RLlib 2.60 reports NaN episode returns for an iteration in which no episode ended, which happens
        whenever a batch gives each env fewer steps than an episode (many envs per runner; every sub-env's
        300-step episodes end together). No new episode leaves the last-episodes window as it was, so the
        previous values are kept: checkpoint ranking, TensorBoard and progress lines see no holes.

        The market-making metrics (``env_runners/mm/...``) are not reported at all in such an iteration; they
        are carried the same way, and ``mm_keys`` (paths under ``mm``, :func:`expected_mm_keys`) are set to
        NaN until their first episode ends: a Tune scheduler (PBT, ASHA) refuses a result without its metric,
        which stopped a PBT search whose trial drew 600-s episodes on a batch of 500 steps per env."""
        runners = result.get("env_runners")
        if not isinstance(runners, dict):
            return
        for key in EPISODE_STATS:
            v = runners.get(key)
            if isinstance(v, int | float) and not math.isnan(v):
                self._episode_stats[key] = v
            elif key in self._episode_stats:
                runners[key] = self._episode_stats[key]
        mm = runners.get("mm")
        mm = mm if isinstance(mm, dict) else {}
        for path, v in _leaves(mm):
            if isinstance(v, int | float) and not math.isnan(v):
                self._mm_stats[path] = float(v)
        for path in (*mm_keys, *self._mm_stats):
            node = mm
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                v = node.get(path[-1])
                if not isinstance(v, int | float) or math.isnan(v):
                    node[path[-1]] = self._mm_stats.get(path, math.nan)
        if mm:
            runners["mm"] = mm


def _leaves(d: dict, prefix: tuple[str, ...] = ()):
    """``(path, value)`` of every non-dict value of a nested dict."""
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, (*prefix, str(k)))
        else:
            yield (*prefix, str(k)), v


def expected_mm_keys(config) -> tuple[tuple[str, ...], ...]:
    """Paths under ``env_runners/mm`` that the env's episodes will report (:meth:`on_episode_end`):
    ``(metric,)`` for the single-agent env, ``(agent id, metric)`` per agent for the multi-agent one (its
    ``n_agents``); none for an algorithm config that names neither."""
    env = getattr(config, "env", None)
    if env == RLLIB_ENV:
        return tuple((k,) for k in MM_METRICS)
    if env == RLLIB_ENV_MULTI:
        n = (getattr(config, "env_config", None) or {}).get("n_agents", 1)
        return tuple((aid, k) for aid in agent_ids(int(n)) for k in MM_METRICS)
    return ()


def _set_torch_threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(int(n))


def make_callbacks(curriculum: list[tuple[str, float]] | None = None, torch_threads: dict | None = None):
    """A callable RLlib can use as ``callbacks_class`` (it instantiates it on every runner)."""
    return functools.partial(
        MarketMakingCallbacks, curriculum=list(curriculum or []), torch_threads=dict(torch_threads or {})
    )


__all__ = [
    "MM_METRICS",
    "PHASE_INDEX_KEY",
    "PHASE_KEY",
    "MarketMakingCallbacks",
    "_get_phase",
    "expected_mm_keys",
    "make_callbacks",
]
