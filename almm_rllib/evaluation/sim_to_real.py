"""Sim-to-real: every strategy on the calibrated simulator and on the replayed day, same metrics, side by side.

    almm sim-to-real --data /work/shared/data/lobster --ticker AMZN --window 36000 55000 --episode-seconds 300 \\
        --seeds 0-9 [POLICY ...]

Runs :func:`~almm_rllib.evaluation.runner.evaluate` twice on the same policies and seeds (the simulator's env
config: ``--env-config``/``--set``, the default calibrated market unless told otherwise; the replay: the same
env config with ``market: {model: replay, ...}``), then tabulates each strategy's mean per metric on both
markets and, per metric, the Spearman rank correlation of the strategies' means across the two markets
(``scipy.stats.spearmanr``; 1 = the simulator ranks the strategies as the real day does). Baselines run with
the same (simulator-calibrated) parameters on both. Writes ``sim_to_real.csv`` and ``sim_to_real.md`` into
the replay run's folder.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: Metrics of the table (episode-level, metrics.md), in order.
SIM_TO_REAL_METRICS = ("total_pnl", "sharpe", "max_drawdown", "avg_abs_inventory", "fill_ratio", "n_fills")
MARKETS = ("sim", "replay")


def sim_to_real_table(
    sim: pd.DataFrame, replay: pd.DataFrame, metrics: Sequence[str] = SIM_TO_REAL_METRICS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, agreement) from the two runs' episode tables.

    ``table``: one row per strategy (those in both runs), columns ``(metric, market)`` holding the mean over
    episodes. ``agreement``: one row per metric: ``spearman`` (rank correlation of the strategies' means on the
    two markets), its ``p_value`` and ``n`` strategies; NaN with fewer than 3 strategies or a constant column.
    """
    from scipy.stats import spearmanr

    missing = [m for m in metrics if m not in sim.columns or m not in replay.columns]
    if missing:
        raise ValueError(f"sim_to_real_table: metrics missing from the episode tables: {missing}")
    a = sim.groupby("strategy")[list(metrics)].mean()
    b = replay.groupby("strategy")[list(metrics)].mean()
    common = [s for s in a.index if s in b.index]
    if not common:
        raise ValueError("sim_to_real_table: no strategy ran on both markets")
    cols = pd.MultiIndex.from_product([list(metrics), list(MARKETS)], names=["metric", "market"])
    table = pd.DataFrame(index=pd.Index(common, name="strategy"), columns=cols, dtype=float)
    rows = []
    for m in metrics:
        x, y = a.loc[common, m].to_numpy(float), b.loc[common, m].to_numpy(float)
        table[(m, "sim")] = x
        table[(m, "replay")] = y
        ok = np.isfinite(x) & np.isfinite(y)
        rho = p = np.nan
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
            r = spearmanr(x[ok], y[ok])
            rho, p = float(r.statistic), float(r.pvalue)
        rows.append({"metric": m, "spearman": rho, "p_value": p, "n": int(ok.sum())})
    return table, pd.DataFrame(rows).set_index("metric")


def format_sim_to_real(table: pd.DataFrame, agreement: pd.DataFrame, *, note: str | None = None) -> str:
    """Markdown: the side-by-side means, then the rank agreement per metric, then ``note`` (the replay's
    assumptions) when given."""
    metrics = list(dict.fromkeys(table.columns.get_level_values(0)))
    head = "| strategy | " + " | ".join(f"{m} sim | {m} replay" for m in metrics) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(metrics))]
    for s, row in table.iterrows():
        lines.append(f"| {s} | " + " | ".join(f"{row[(m, k)]:.4g}" for m in metrics for k in MARKETS) + " |")
    lines += ["", "| metric | Spearman rho (sim vs replay ranks) | p | strategies |", "|---|---|---|---|"]
    for m, r in agreement.iterrows():
        lines.append(f"| {m} | {r['spearman']:.3f} | {r['p_value']:.3g} | {int(r['n'])} |")
    if note:
        lines += ["", f"Replay assumptions: {note}"]
    return "\n".join(lines) + "\n"


def _cmd_sim_to_real(args: argparse.Namespace) -> int:
    """Every strategy on the calibrated simulator and on a replayed LOBSTER day: a side-by-side table."""
    from almm_rllib.evaluation.backtest import replay_sets
    from almm_rllib.evaluation.commands import _seeds_from_args, env_config_from_args, policies_from_args
    from almm_rllib.evaluation.runner import evaluate, market_note
    from almm_rllib.results.io import write_text

    sets = list(args.set)
    if args.episode_seconds is not None:
        sets.append(f"episode_seconds={args.episode_seconds}")
    sim_cfg = env_config_from_args(args.env_config, sets, None)
    real_cfg = env_config_from_args(args.env_config, [*replay_sets(args), *sets], None)
    seeds = _seeds_from_args(args)
    policies = policies_from_args(args)
    note = market_note(real_cfg)
    runs = {}
    for name, cfg in (("sim", sim_cfg), ("replay", real_cfg)):
        runs[name] = evaluate(
            policies,
            cfg,
            seeds,
            out_dir=args.out,
            run_name=f"{args.run_name}-{name}" if args.run_name else None,
            workers=args.workers,
            progress=not args.no_progress,
            overwrite=args.overwrite,
        )
    eps = {k: pd.read_parquet(Path(v) / "episodes.parquet") for k, v in runs.items()}
    table, agreement = sim_to_real_table(eps["sim"], eps["replay"])
    text = format_sim_to_real(table, agreement, note=note)
    out = Path(runs["replay"])
    flat = table.copy()
    flat.columns = [f"{m}_{k}" for m, k in table.columns]
    write_text(flat.to_csv(), out / "sim_to_real.csv")
    write_text(text, out / "sim_to_real.md")
    print(text)
    print(f"sim run: {runs['sim']}\nreplay run: {runs['replay']}\ntable: {out / 'sim_to_real.md'}")
    return 0


def add_sim_to_real_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm sim-to-real`` on the ``almm`` parser's subparsers."""
    from almm_rllib.evaluation.backtest import add_replay_arguments
    from almm_rllib.evaluation.commands import _add_common

    p = sub.add_parser("sim-to-real", help=_cmd_sim_to_real.__doc__, description=_cmd_sim_to_real.__doc__)
    add_replay_arguments(p)
    _add_common(p)
    p.set_defaults(func=_cmd_sim_to_real)
    return p
