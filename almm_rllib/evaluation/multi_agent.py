"""Evaluation of a multi-agent checkpoint: several market makers in one book, each driven by its RLModule.

A checkpoint of ``experiments/ppo_multi_agent.yaml`` holds one RLModule per policy under
``learner_group/learner/rl_module/``: the learners (``learner`` when shared, else one per agent: ``mm_0``,
``mm_1``) and the non-trainable baseline modules (``baseline_mm_2``: Avellaneda-Stoikov computed from the
observation, :mod:`almm_rllib.training.baseline_module`). Every agent is driven by the module it was trained
with, deterministically (:class:`~almm_rllib.evaluation.policies.CheckpointPolicy`: the Gaussian's mean, the
checkpoint's observation filter and action mapping), on the env's multi-agent engine
(:class:`~almm_rllib.env.core.MarketMakingCore`) and on common seeds.

Agent -> module: the module named after the agent if there is one, else ``baseline_<agent>``, else the one
learning module when exactly one exists (shared policy); ``modules={"mm_0": "learner", ...}`` overrides it.

Reported: per agent, the mean of every episode figure (P&L, Sharpe, drawdown, |inventory|, fills, volume) and
the split of the book's flow and P&L between the makers (each agent's share of the fills, of the volume and of
the summed P&L, over all seeds); and, seed by seed, each learner against each baseline agent it shared the book
with (learner minus baseline: mean difference, bootstrap interval, Wilcoxon p; :func:`stats.paired_comparison`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from almm_rllib.core.agent_schema import agent_ids
from almm_rllib.env.config import EnvConfig
from almm_rllib.evaluation.policies import RL_MODULE_DIR, CheckpointError, CheckpointPolicy, _rlmodule_dirs
from almm_rllib.results import schema as S
from almm_rllib.results import stats
from almm_rllib.results.report import fmt_ci, fmt_num, fmt_p

BASELINE_PREFIX = "baseline_"
#: Episode-summary keys -> episodes-table metric names.
SUMMARY_TO_METRIC = {
    "pnl": S.TOTAL_PNL,
    "sharpe": S.SHARPE,
    "max_drawdown": S.MAX_DRAWDOWN,
    "avg_abs_inventory": S.AVG_ABS_INVENTORY,
    "n_fills": S.N_FILLS,
    "volume": S.VOLUME,
    "spread_captured": S.SPREAD_CAPTURED,
    "adverse_selection": S.ADVERSE_SELECTION,
}
PAIRED_METRICS = (S.SHARPE, S.TOTAL_PNL, S.MAX_DRAWDOWN, S.AVG_ABS_INVENTORY)


def module_map(
    checkpoint: str | os.PathLike[str], agents: Sequence[str], modules: dict | None = None
) -> dict:
    """``{agent: module_id}`` for a multi-agent checkpoint (see the module docstring)."""
    rl_dir = Path(checkpoint).joinpath(*RL_MODULE_DIR)
    found = _rlmodule_dirs(rl_dir)
    if not found:
        raise CheckpointError(rl_dir, "holds no RLModule (is this an RLlib checkpoint?)")
    learning = [m for m in found if not m.startswith(BASELINE_PREFIX)]
    out = {}
    for a in agents:
        if modules and a in modules:
            mid = str(modules[a])
        elif a in found:
            mid = a
        elif BASELINE_PREFIX + a in found:
            mid = BASELINE_PREFIX + a
        elif len(learning) == 1:
            mid = learning[0]
        else:
            raise CheckpointError(rl_dir, f"no module for agent {a!r} among {found}; pass it (agent=module)")
        if mid not in found:
            raise CheckpointError(
                rl_dir, f"module {mid!r} (for agent {a!r}) is not in the checkpoint ({found})"
            )
        out[a] = mid
    return out


def run_multi(
    checkpoint: str | os.PathLike[str],
    env_config: EnvConfig,
    seeds: Sequence[int],
    *,
    modules: dict | None = None,
) -> pd.DataFrame:
    """Play every seed with every agent driven by its module; one row per (seed, agent)."""
    from almm_rllib.env.core import MarketMakingCore

    cfg = env_config.replace(info_level="episode")
    agents = agent_ids(cfg.n_agents)
    mapping = module_map(checkpoint, agents, modules)
    loaded: dict[str, CheckpointPolicy] = {}
    policies = []
    for a in agents:
        mid = mapping[a]
        if mid not in loaded:
            loaded[mid] = CheckpointPolicy(checkpoint, module_id=mid, agent_id=a, label=mid)
        policies.append(loaded[mid])
    core = MarketMakingCore(cfg)

    lo, hi = core.act_low, core.act_high
    for pol in loaded.values():
        if pol.obs_shape != (core.obs.shape[1],):
            raise CheckpointError(
                pol.path, f"module expects observations {pol.obs_shape}, the env gives {core.obs.shape[1:]}"
            )
        pol.action_low, pol.action_high = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
    rows = []
    for seed in seeds:
        obs, _ = core.reset(int(seed))
        done = False
        while not done:
            actions = np.stack([p.act(obs[i]) for i, p in enumerate(policies)])
            obs, _r, done, infos = core.step(actions)
        for i, a in enumerate(agents):
            summary = infos[i]["episode"]
            row = {S.SEED: int(seed), S.AGENT_ID: a, "module": mapping[a], S.STRATEGY: f"{a} ({mapping[a]})"}
            row.update({m: float(summary.get(k, np.nan)) for k, m in SUMMARY_TO_METRIC.items()})
            row["learner"] = not mapping[a].startswith(BASELINE_PREFIX)
            rows.append(row)
    return pd.DataFrame(rows)


def split_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per agent: means of the figures, and shares of the fills, the volume and the summed P&L."""
    g = df.groupby(S.STRATEGY, sort=False)
    out = g[[S.TOTAL_PNL, S.SHARPE, S.MAX_DRAWDOWN, S.AVG_ABS_INVENTORY, S.N_FILLS, S.VOLUME]].mean()
    for col, share in ((S.N_FILLS, "fills_share"), (S.VOLUME, "volume_share"), (S.TOTAL_PNL, "pnl_share")):
        tot = df[col].sum()
        out[share] = g[col].sum() / tot if tot != 0 else np.nan
    out["learner"] = g["learner"].first()
    return out


def learners_vs_baselines(df: pd.DataFrame, **kw) -> pd.DataFrame:
    """Seed by seed, each learner agent minus each baseline agent of the same book."""
    learners = list(pd.unique(df.loc[df["learner"], S.STRATEGY]))
    bases = list(pd.unique(df.loc[~df["learner"], S.STRATEGY]))
    parts = []
    for b in bases:
        for ln in learners:
            sub = df[df[S.STRATEGY].isin([ln, b])]
            parts.append(stats.paired_comparison(sub, reference=b, metrics=list(PAIRED_METRICS), **kw))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(stats.PAIRED_COLUMNS))


def to_markdown(df: pd.DataFrame, paired: pd.DataFrame) -> str:
    n = df[S.SEED].nunique()
    split = split_table(df)
    lines = [
        f"Multi-agent book, {n} common seeds; each agent driven by its module of the checkpoint.",
        "",
        "| agent (module) | P&L ($) | P&L share | fills | fills share | volume (shares) | volume share "
        "| Sharpe | max drawdown ($) | avg abs inventory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in split.iterrows():
        lines.append(
            f"| {name} | {fmt_num(r[S.TOTAL_PNL])} | {fmt_num(100 * r['pnl_share'])}% | {fmt_num(r[S.N_FILLS])} | "
            f"{fmt_num(100 * r['fills_share'])}% | {fmt_num(r[S.VOLUME])} | {fmt_num(100 * r['volume_share'])}% | "
            f"{fmt_num(r[S.SHARPE])} | {fmt_num(r[S.MAX_DRAWDOWN])} | {fmt_num(r[S.AVG_ABS_INVENTORY])} |"
        )
    if len(paired):
        lines += [
            "",
            "Learner minus the baseline it shares the book with, seed by seed (mean [95% interval], Wilcoxon p):",
            "",
            "| learner | baseline | " + " | ".join(f"Δ {m}" for m in PAIRED_METRICS) + " |",
            "|---|---|" + "---|" * len(PAIRED_METRICS),
        ]
        for (ln, b), sub in paired.groupby(["strategy", "reference"], sort=False):
            sub = sub.set_index("metric")
            cells = [
                f"{fmt_ci(sub.loc[m, 'mean_diff'], sub.loc[m, 'ci_low'], sub.loc[m, 'ci_high'])}, "
                f"p={fmt_p(sub.loc[m, 'p_value'])}"
                for m in PAIRED_METRICS
            ]
            lines.append(f"| {ln} | {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def evaluate_multi(
    checkpoint: str | os.PathLike[str],
    env_config: EnvConfig,
    seeds: Sequence[int],
    *,
    out_dir: str | os.PathLike[str],
    modules: dict | None = None,
) -> tuple[Path, str]:
    """Run, write ``<out_dir>/multi_agent_episodes.csv`` and ``multi_agent.md``; returns (out_dir, markdown)."""
    from almm_rllib.results.io import write_text

    df = run_multi(checkpoint, env_config, seeds, modules=modules)
    text = to_markdown(df, learners_vs_baselines(df))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(df.to_csv(index=False), out / "multi_agent_episodes.csv")
    write_text(text, out / "multi_agent.md")
    return out, text


__all__ = [
    "evaluate_multi",
    "learners_vs_baselines",
    "module_map",
    "run_multi",
    "split_table",
    "to_markdown",
]
