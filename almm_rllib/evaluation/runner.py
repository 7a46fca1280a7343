"""The evaluation runner: every policy on the same seeds, step and fill logs, per-episode metrics, a run folder.

:func:`run_episode` runs one episode of the single-agent env (``MarketMakingGymEnv``) with a baseline or a
checkpoint policy and returns its :class:`EpisodeLog`; :func:`evaluate` runs every policy on every seed
(common random numbers: the background flow, fair price and regimes of a seed are the same whatever the
policy does, see ``almm_rllib.core.market``) across worker processes and writes ``<out_dir>/<run>/`` with
``steps.parquet``, ``fills.parquet``, ``episodes.parquet``, ``config.json`` and ``version.json``.

How the logs are built from the env (choices stated once):

* ``steps``: one row per env step from the step's ``info`` dict (``almm_rllib.env.core.INFO_KEYS``); ``step``
  is the env's own count, 1..n (the state after step k; ``pnl_0 = 0`` is implied, as in ``metrics.md``);
  ``phase`` is the curriculum phase of the episode, ``"eval"`` when none is set; ``agent_id`` is ``mm_0``.
* ``fills``: one row per entry of ``info["fills"]`` (time, side, price, qty, is_maker, order_id), with the
  step's number. ``mid_at_fill`` is ``mid(t_fill)`` of ``metrics.md``, the mid in force at the fill: the mid
  of the last step ending at or before ``t_fill`` (``results.metrics.TIME_TOL``). A fill of step k inside
  ``(t_{k-1}, t_k)`` gets ``mid_{k-1}`` (the mid its quote was priced from); a fill stamped exactly at
  ``t_k`` gets the step's own ``mid_k``. Every fill of the stylized market is stamped at its step's end, so
  it gets ``mid_k`` as the definition is written, although that market draws its fills before it moves the
  mid (its ``spread_captured`` therefore includes the step's mid move).
* liquidation cost: ``core.sim.liquidation_cost(0)`` after the last step (the agent impact model's cost of
  liquidating ``q_n``; without one, on the order-book market, the cost of walking the book's other orders from
  the mid). When the env already liquidates at the end
  (``terminal_inventory="liquidate"``), ``pnl_n`` has paid that cost and the episode's ``liquidation_cost`` is
  0, so ``total_pnl_liquidated`` does not count it twice.
* per-episode metrics: :func:`almm_rllib.results.episode_metrics` (what ``episodes_table`` computes for each
  episode) with the env config's ``capital``, ``adverse_horizon_s`` and ``dt``.

Parallelism: with ``workers > 1`` episodes run in a ``ProcessPoolExecutor``, started with ``fork`` when this
process has not loaded torch or Ray and with ``spawn`` otherwise (forking OpenMP or Ray threads can hang a
child). Each worker process loads each policy once and keeps it for every later chunk;
chunks are a few episodes of one policy, so the pool stays balanced. Results are written in policy then seed
order, whatever order the workers finish in, so a run folder does not depend on ``workers``.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as _dt
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from almm_rllib.core.agent_schema import agent_id
from almm_rllib.env.config import EnvConfig
from almm_rllib.evaluation.policies import (
    CheckpointPolicy,
    Policy,
    PolicySpec,
    baseline_params,
    load_policy,
    parse_policy_spec,
)
from almm_rllib.evaluation.pool import WorkerPool, sigterm_as_interrupt
from almm_rllib.evaluation.replay import resolve_env_config
from almm_rllib.evaluation.views import view_from_env
from almm_rllib.results import RunWriter, episode_metrics
from almm_rllib.results import schema as S
from almm_rllib.results.metrics import TIME_TOL

#: Agent id of the single agent (column ``agent_id``).
AGENT_ID = agent_id(0)
#: ``phase`` column when the episode runs without a curriculum phase.
DEFAULT_PHASE_LABEL = "eval"
#: With ``workers=None``, runs of fewer env steps than this stay in this process.
PARALLEL_MIN_STEPS = 30_000
#: Episodes per chunk at most (a chunk is the unit of work sent to a worker process).
MAX_CHUNK = 10

_STEP_FLOAT_INFO = (
    S.TIME,
    S.MID,
    S.BEST_BID,
    S.BEST_ASK,
    S.BID_PRICE,
    S.ASK_PRICE,
    S.CASH,
    S.INVENTORY,
    S.PNL,
    S.DPNL,
    S.REWARD,
    S.POSTED_BID_QTY,
    S.POSTED_ASK_QTY,
    S.FILLED_BID_QTY,
    S.FILLED_ASK_QTY,
    S.IMPACT_COST,
    S.SIGMA,
)


@dataclasses.dataclass
class EpisodeLog:
    """One episode of one policy: its step and fill rows (pinned ``steps``/``fills`` columns, in schema
    order), the liquidation cost of its final inventory, and the market's cumulative background counts at
    the end (``limit_buy``, ``limit_sell``, ``market``, ``cancel``: arrivals since the reset, warm-up
    included; the first three are exogenous, the same for every policy on a seed)."""

    run_id: str
    strategy: str
    seed: int
    agent_id: str
    steps: pd.DataFrame
    fills: pd.DataFrame
    liquidation_cost: float
    background: dict[str, int] = dataclasses.field(default_factory=dict)
    wall_s: float = 0.0

    def metrics(self, env_config: EnvConfig) -> dict[str, Any]:
        """The episode's row of the ``episodes`` table: its key columns and every metric of
        :func:`almm_rllib.results.episode_metrics` (the env config's capital, adverse-selection horizon and
        step length)."""
        m = episode_metrics(
            self.steps,
            self.fills,
            capital=env_config.capital,
            horizon_s=env_config.adverse_horizon_s,
            liquidation_cost=self.liquidation_cost,
            step_dt=env_config.dt,
        )
        key = {S.RUN_ID: self.run_id, S.STRATEGY: self.strategy, S.SEED: self.seed, S.AGENT_ID: self.agent_id}
        return {**key, **m}


# ------------------------------------------------------------------------------------------------------------
# One episode.

_ENV_CACHE: dict[EnvConfig, Any] = {}
_POLICY_CACHE: dict[tuple[str, str], Policy] = {}


def as_env_config(env_config: EnvConfig | dict | None, phase: str | None = None) -> EnvConfig:
    """An :class:`EnvConfig` from a config, a mapping of its fields or None; ``phase`` (if given) replaces the
    config's curriculum phase, and ``info_level`` is set to ``"full"`` (the step log needs every step's info;
    training configs use ``"episode"``). Single agent only."""
    if env_config is None:
        cfg = EnvConfig()
    elif isinstance(env_config, EnvConfig):
        cfg = env_config
    elif isinstance(env_config, dict):
        cfg = EnvConfig.from_dict(dict(env_config), source="env_config")
    else:
        raise TypeError(f"env_config must be an EnvConfig or a mapping, got {type(env_config).__name__}")
    if phase is not None:
        cfg = cfg.replace(phase=phase)
    if cfg.info_level != "full":
        cfg = cfg.replace(info_level="full")  # the step log is built from every step's info
    if cfg.n_agents != 1:
        raise ValueError(f"the evaluation runner drives one market maker; got n_agents={cfg.n_agents}")
    return resolve_env_config(cfg)  # a replayed day: its files read, checked and prepared once


def market_note(cfg: EnvConfig) -> str | None:
    """What results on ``cfg``'s market assume, in words, or None: for a replayed day, its lack of reaction to
    the agent, its queue model and what they mean for the P&L (``env.replay.replay_assumptions``). Every run
    writes it into ``config.json`` as ``market_note``; the HTML report shows it at the top."""
    from almm_rllib.env.replay import replay_assumptions
    from almm_rllib.env.replay_config import ReplayMarketConfig

    return replay_assumptions(cfg.market) if isinstance(cfg.market, ReplayMarketConfig) else None


def _env_for(cfg: EnvConfig):
    from almm_rllib.env.gym_env import MarketMakingGymEnv

    env = _ENV_CACHE.get(cfg)
    if env is None:
        if len(_ENV_CACHE) >= 4:
            _ENV_CACHE.clear()
        env = _ENV_CACHE[cfg] = MarketMakingGymEnv(cfg)
    return env


def _policy_for(spec: PolicySpec | str | Policy, label: str | None, cfg: EnvConfig | None = None) -> Policy:
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, str):
        spec = parse_policy_spec(spec)
    # a baseline's parameters depend on the env's market (calibrated defaults), a checkpoint's do not
    key = (repr(spec), label or spec.label, cfg.market if spec.kind == "baseline" and cfg else None)
    pol = _POLICY_CACHE.get(key)
    if pol is None:
        pol = _POLICY_CACHE[key] = load_policy(spec, label=label, env_config=cfg)
    return pol


def _fill_frame(rows: list[tuple[int, np.ndarray, np.ndarray]], key: dict[str, Any]) -> pd.DataFrame:
    if rows:
        step = np.concatenate([np.full(len(f), k, np.int32) for k, f, _ in rows])
        mid = np.concatenate([m for _, _, m in rows]).astype(np.float64)
        f = np.concatenate([f for _, f, _ in rows])
    else:
        step = np.zeros(0, np.int32)
        mid = np.zeros(0, np.float64)
        f = np.zeros((0, 6), np.float64)
    n = len(step)
    return pd.DataFrame(
        {
            S.RUN_ID: np.full(n, key[S.RUN_ID], dtype=object),
            S.STRATEGY: np.full(n, key[S.STRATEGY], dtype=object),
            S.SEED: np.full(n, key[S.SEED], np.int64),
            S.AGENT_ID: np.full(n, key[S.AGENT_ID], dtype=object),
            S.STEP: step,
            S.TIME: f[:, 0],
            S.SIDE: f[:, 1].astype(np.int8),
            S.PRICE: f[:, 2],
            S.QTY: f[:, 3],
            S.MID_AT_FILL: mid,
            S.IS_MAKER: f[:, 4] != 0.0,
            S.ORDER_ID: f[:, 5].astype(np.int64),
        },
        columns=list(S.FILLS_COLUMNS),
    )


def run_episode(
    policy_spec: PolicySpec | str | Policy,
    env_config: EnvConfig | dict | None,
    seed: int,
    *,
    strategy_name: str | None = None,
    run_id: str = "run",
) -> EpisodeLog:
    """Run one episode of the single-agent env on ``seed`` with one policy.

    Args:
        policy_spec: a policy spec string (baseline name with optional ``:key=value`` parameters, or a
            checkpoint folder), a parsed :class:`PolicySpec`, or an already loaded :class:`Policy`. A baseline
            starts from the calibrated defaults of the env's market and its parameters override them
            (:func:`almm_rllib.evaluation.policies.baseline_params`).
        env_config: the env config (an :class:`EnvConfig`, a mapping of its fields, or None for the default).
        seed: the episode's seed: the env is reset with it and randomised policies are re-seeded with it.
        strategy_name: the ``strategy`` label in the logs (default: the spec's label).
        run_id: the ``run_id`` column.

    Returns:
        The :class:`EpisodeLog` (see the module docstring for how each column is filled).
    """
    cfg = as_env_config(env_config)
    policy = _policy_for(policy_spec, strategy_name, cfg)
    label = strategy_name or policy.label
    env = _env_for(cfg)
    if isinstance(policy, CheckpointPolicy):
        policy.check_env(env)
    seed = int(seed)
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    phase = info.get("phase") or DEFAULT_PHASE_LABEL
    trace = _play(env, policy, obs, info, cfg.n_steps)
    core = env.core
    liq = 0.0 if cfg.terminal_inventory == "liquidate" else float(core.sim.liquidation_cost(0))
    key = {S.RUN_ID: str(run_id), S.STRATEGY: str(label), S.SEED: seed, S.AGENT_ID: AGENT_ID}
    return EpisodeLog(
        run_id=key[S.RUN_ID],
        strategy=key[S.STRATEGY],
        seed=seed,
        agent_id=AGENT_ID,
        steps=_step_frame(trace, key, phase),
        fills=_fill_frame(trace.fill_rows, key),
        liquidation_cost=liq,
        background=core.sim.background_counts(),
        wall_s=time.perf_counter() - t0,
    )


@dataclasses.dataclass
class _Trace:
    """What :func:`_play` records of one episode: the step log's columns taken from each step's info, and
    the fills with the mid they were priced from."""

    floats: dict[str, np.ndarray]
    regime: np.ndarray
    n_fills: np.ndarray
    step_no: np.ndarray
    fill_rows: list[tuple[int, np.ndarray, np.ndarray]]
    n: int = 0
    """Steps played."""


def _new_trace(n_steps: int) -> _Trace:
    """An empty trace with room for ``n_steps`` steps (shared by :func:`_play` and ``evaluation.live``)."""
    return _Trace(
        floats={c: np.empty(n_steps, np.float64) for c in _STEP_FLOAT_INFO},
        regime=np.empty(n_steps, np.int8),
        n_fills=np.empty(n_steps, np.int32),
        step_no=np.empty(n_steps, np.int32),
        fill_rows=[],
    )


def _record(trace: _Trace, info: dict, prev_mid: float) -> None:
    """Append one step's info to ``trace``. A fill's ``mid_at_fill`` is mid(t_fill) (metrics.md): the previous
    step's mid, or this step's own mid when the fill is stamped at the step's end."""
    k = trace.n
    if k >= trace.regime.shape[0]:  # the env's episode is longer than its config says: refuse, not truncate
        raise RuntimeError(f"the env ran past its configured {trace.regime.shape[0]} steps")
    for c in _STEP_FLOAT_INFO:
        trace.floats[c][k] = info[c]
    trace.regime[k] = info["regime"]
    trace.n_fills[k] = info["n_fills"]
    trace.step_no[k] = info["step"]
    if info["n_fills"]:
        fills = np.asarray(info["fills"], np.float64).reshape(-1, 6)
        at_end = fills[:, 0] >= float(info["time"]) - TIME_TOL
        trace.fill_rows.append((int(info["step"]), fills, np.where(at_end, info["mid"], prev_mid)))
    trace.n = k + 1


def _play(env, policy: Policy, obs: np.ndarray, info: dict, n_steps: int) -> _Trace:
    """Play one episode from the reset's ``obs`` and ``info`` to its end; at most ``n_steps`` steps."""
    trace = _new_trace(n_steps)
    prev_mid = float(info["mid"])
    core = env.core
    done = False
    while not done:
        view = view_from_env(core, info, obs, trace.n) if policy.needs_view else None
        obs, _reward, terminated, truncated, info = env.step(policy.act(obs, view))
        done = terminated or truncated
        _record(trace, info, prev_mid)
        prev_mid = float(info["mid"])
    return trace


def _step_frame(trace: _Trace, key: dict[str, Any], phase: str) -> pd.DataFrame:
    k = trace.n
    return pd.DataFrame(
        {
            S.RUN_ID: np.full(k, key[S.RUN_ID], dtype=object),
            S.STRATEGY: np.full(k, key[S.STRATEGY], dtype=object),
            S.SEED: np.full(k, key[S.SEED], np.int64),
            S.AGENT_ID: np.full(k, key[S.AGENT_ID], dtype=object),
            S.STEP: trace.step_no[:k],
            **{c: v[:k] for c, v in trace.floats.items()},
            S.REGIME: trace.regime[:k],
            S.N_FILLS: trace.n_fills[:k],
            S.PHASE: np.full(k, str(phase), dtype=object),
        },
        columns=list(S.STEPS_COLUMNS),
    )


# ------------------------------------------------------------------------------------------------------------
# Many episodes.


def _run_chunk(
    spec: PolicySpec, label: str, cfg: EnvConfig, seeds: Sequence[int], run_id: str
) -> list[tuple[EpisodeLog, dict[str, Any]]]:
    out = []
    for s in seeds:
        log = run_episode(spec, cfg, s, strategy_name=label, run_id=run_id)
        out.append((log, log.metrics(cfg)))
    return out


def parse_seeds(text: str | int | Sequence[int]) -> list[int]:
    """Seeds from ``N`` (0..N-1), ``a-b`` (a..b inclusive), a comma-separated list, or a sequence of ints."""
    if isinstance(text, int | np.integer) and not isinstance(text, bool):
        n = int(text)
        if n < 1:
            raise ValueError(f"seeds: need at least one episode, got {n}")
        return list(range(n))
    if not isinstance(text, str):
        seeds = [int(s) for s in text]
    elif not re.fullmatch(r"\s*(\d+|\d+\s*-\s*\d+|-?\d+(\s*,\s*-?\d*)*)\s*", text):
        raise ValueError(f"seeds: expected N, a-b or a comma list of integers, got {text!r}")
    else:
        t = text.strip()
        if "," in t:
            seeds = [int(s) for s in t.split(",") if s.strip()]
        elif "-" in t.lstrip("-"):
            a, b = t.split("-", 1)
            lo, hi = int(a), int(b)
            if hi < lo:
                raise ValueError(f"seeds: empty range {t!r}")
            seeds = list(range(lo, hi + 1))
        else:
            return parse_seeds(int(t))
    if not seeds:
        raise ValueError("seeds: the list is empty")
    if any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be >= 0, got {[s for s in seeds if s < 0][:5]}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(
            "seeds: each seed may appear only once (paired comparisons need one episode per seed)"
        )
    return seeds


def resolve_policies(
    policies: Sequence[str | PolicySpec],
    policy_names: Sequence[str] | None = None,
    *,
    module_id: str | None = None,
) -> list[PolicySpec]:
    """Parse policy specs and apply ``policy_names``: one name per policy, or one per checkpoint policy (in
    order; baselines keep their names). Labels must be unique."""
    specs = []
    for p in policies:
        spec = p if isinstance(p, PolicySpec) else parse_policy_spec(p)
        if module_id and spec.kind == "checkpoint":
            spec = dataclasses.replace(spec, module_id=module_id)
        specs.append(spec)
    if not specs:
        raise ValueError("no policies to evaluate")
    names = list(policy_names or [])
    if names:
        ckpts = [i for i, s in enumerate(specs) if s.kind == "checkpoint"]
        if len(names) == len(specs):
            targets = list(range(len(specs)))
        elif len(names) == len(ckpts):
            targets = ckpts
        else:
            raise ValueError(
                f"{len(names)} policy name(s) for {len(specs)} policies ({len(ckpts)} checkpoint(s)): give one "
                "name per policy or one per checkpoint"
            )
        for i, name in zip(targets, names):
            specs[i] = specs[i].with_label(name)
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(
            f"policy labels must be unique; repeated: {dup} (use policy names to tell them apart)"
        )
    return specs


def _chunks(n_seeds: int, n_policies: int, workers: int) -> int:
    """Episodes per chunk: about four chunks per worker in all, at most MAX_CHUNK episodes each."""
    per_policy = max(1, math.ceil(4 * workers / n_policies))
    return max(1, min(MAX_CHUNK, math.ceil(n_seeds / per_policy)))


def default_run_name(prefix: str = "eval") -> str:
    return f"{prefix}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _unique_dir(out_dir: Path, name: str) -> Path:
    path = out_dir / name
    i = 1
    while path.exists():
        path = out_dir / f"{name}-{i}"
        i += 1
    return path


def evaluate(
    policies: Sequence[str | PolicySpec],
    env_config: EnvConfig | dict | None,
    seeds: Sequence[int] | int | str,
    *,
    out_dir: str | os.PathLike[str] = "results",
    run_name: str | None = None,
    workers: int | None = None,
    phase: str | None = None,
    progress: bool = True,
    policy_names: Sequence[str] | None = None,
    module_id: str | None = None,
    overwrite: bool = False,
    extra_config: dict[str, Any] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Run every policy on the same seeds and write the run folder ``<out_dir>/<run_name>/``.

    Args:
        policies: policy specs (baseline names with optional parameters, checkpoint folders).
        env_config: the env config (an :class:`EnvConfig`, a mapping of its fields, or None).
        seeds: the episode seeds, the same for every policy (a list, ``N`` for 0..N-1, or ``"a-b"``).
        out_dir: the parent folder of run folders.
        run_name: the run folder's name and the ``run_id`` column (default ``eval-<date>-<time>``; a number is
            appended when that folder exists). An existing ``run_name`` is refused unless ``overwrite``.
        workers: worker processes, at most one per chunk of episodes; 1 runs everything in this process.
            None: ``os.cpu_count()``, or this process alone for runs under ``PARALLEL_MIN_STEPS`` env steps.
        phase: a curriculum phase to run the market in (replaces the config's).
        progress: show a tqdm progress bar (episodes).
        policy_names: labels for the policies (one per policy, or one per checkpoint).
        module_id: the RLModule to load from checkpoints (default ``default_policy``).
        overwrite: replace the files of an existing run folder.
        extra_config: more entries for ``config.json``.
        on_progress: called as ``on_progress(episodes done, episodes in all)`` after each chunk is written
            (the dashboard's progress bar).

    Returns:
        The run folder.

    Raises:
        ValueError: bad specs, seeds or config; CheckpointError: a checkpoint that cannot be used (naming its
            path); ResultsError: the run folder cannot be written.
    """
    cfg = as_env_config(env_config, phase)
    seed_list = parse_seeds(seeds)
    specs = resolve_policies(policies, policy_names, module_id=module_id)
    out_dir = Path(out_dir)
    run_dir = _unique_dir(out_dir, default_run_name()) if run_name is None else out_dir / run_name
    run_id = run_dir.name
    described = _describe_policies(specs, cfg)  # loads checkpoints: their errors come before any work
    tasks, max_workers = _plan(specs, seed_list, cfg, run_id, workers)
    config = {
        "kind": "evaluate",
        "run_id": run_id,
        "policies": described,
        "seeds": seed_list,
        "n_episodes": len(specs) * len(seed_list),
        "env_config": cfg.to_dict(),
        "phase": cfg.phase,
        "workers": max_workers,
        "conventions": _conventions(cfg),
        **({"market_note": note} if (note := market_note(cfg)) else {}),
        **(extra_config or {}),
    }
    versions = _framework_versions(specs)
    _write_run(
        run_dir,
        config,
        versions,
        tasks,
        max_workers,
        overwrite=overwrite,
        progress=progress,
        on_progress=on_progress,
    )
    return run_dir


def _describe_policies(specs: Sequence[PolicySpec], cfg: EnvConfig) -> list[dict[str, Any]]:
    """``config.json``'s description of each policy. Checkpoints are loaded here (once) and their spaces checked
    against the env's, so that their errors surface before any work; a baseline is described with what it runs with: the market's calibrated defaults
    overridden by the spec's parameters."""
    described = []
    env = None
    for spec in specs:
        if spec.kind == "checkpoint":
            pol = _policy_for(spec, spec.label)
            if env is None:
                env = _env_for(cfg)
            pol.check_env(env)  # spaces that do not fit are refused before any work
            described.append({**spec.describe(), **pol.describe()})
        else:
            described.append({**spec.describe(), "effective_params": baseline_params(spec, cfg)})
    return described


def _plan(
    specs: Sequence[PolicySpec], seed_list: list[int], cfg: EnvConfig, run_id: str, workers: int | None
) -> tuple[list[tuple], int]:
    """The tasks (one policy on a chunk of seeds each, in the order the run is written) and the number of
    worker processes to run them with (1: this process)."""
    n_eps = len(specs) * len(seed_list)
    auto_workers = workers is None
    workers = max(1, int(workers or os.cpu_count() or 1))
    size = _chunks(len(seed_list), len(specs), workers)
    tasks = [
        (spec, spec.label, cfg, seed_list[i : i + size], run_id)
        for spec in specs
        for i in range(0, len(seed_list), size)
    ]
    max_workers = min(workers, len(tasks))
    if auto_workers and n_eps * cfg.n_steps < PARALLEL_MIN_STEPS:
        max_workers = 1  # starting worker processes would take longer than the work
    return tasks, max_workers


def _conventions(cfg: EnvConfig) -> dict[str, str]:
    return {
        "mid_at_fill": "mid(t_fill): mid of the last step ending at or before the fill (metrics.md)",
        "step": "env step count 1..n",
        "liquidation_cost": (
            "0 (the env liquidates at the end)"
            if cfg.terminal_inventory == "liquidate"
            else "core.sim.liquidation_cost(0) after the last step"
        ),
    }


def _framework_versions(specs: Sequence[PolicySpec]) -> dict[str, str]:
    """Ray's and torch's versions when a checkpoint is evaluated (they are imported only then)."""
    if not any(s.kind == "checkpoint" for s in specs):
        return {}
    import ray
    import torch

    return {"ray": ray.__version__, "torch": torch.__version__}


def _write_run(
    run_dir: Path,
    config: dict[str, Any],
    versions: dict[str, str],
    tasks: list[tuple],
    max_workers: int,
    *,
    overwrite: bool,
    progress: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run the tasks and write their steps and fills as they come, in task order, then the episodes table."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    bar = tqdm(
        total=config["n_episodes"], unit="ep", desc=run_dir.name, disable=not progress, dynamic_ncols=True
    )
    try:
        with RunWriter(run_dir, config, overwrite=overwrite, versions=versions) as writer:
            episodes: list[dict[str, Any]] = []

            def consume(results):
                writer.write_steps(pd.concat([log.steps for log, _ in results], ignore_index=True))
                fills = [log.fills for log, _ in results if len(log.fills)]
                if fills:
                    writer.write_fills(pd.concat(fills, ignore_index=True))
                episodes.extend(row for _, row in results)
                bar.update(len(results))
                if on_progress is not None:
                    on_progress(len(episodes), config["n_episodes"])

            _run_tasks(tasks, max_workers, consume)
            writer.write_episodes(pd.DataFrame(episodes, columns=list(S.EPISODES_COLUMNS)))
            writer.config["wall_s"] = round(time.perf_counter() - t0, 3)
    finally:
        bar.close()


def _run_tasks(tasks: list[tuple], max_workers: int, consume) -> None:
    """``consume(_run_chunk(*task))`` for every task, in task order, in this process or in a process pool."""
    if max_workers <= 1:
        for task in tasks:
            consume(_run_chunk(*task))
        return
    # an exception (Ctrl-C, SIGTERM, a failed chunk) ends the workers at once (evaluation/pool.py)
    with sigterm_as_interrupt(), WorkerPool(max_workers) as pool:
        futures = {pool.executor.submit(_run_chunk, *task): i for i, task in enumerate(tasks)}
        pending: dict[int, list] = {}
        next_i = 0
        for fut in cf.as_completed(futures):
            pending[futures[fut]] = fut.result()
            while next_i in pending:
                consume(pending.pop(next_i))
                next_i += 1
