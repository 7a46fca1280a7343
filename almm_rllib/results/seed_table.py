"""The seed's results table: every strategy on the same seeds, and the best agent paired against every baseline.

Columns (metrics.md definitions, mean and 95% bootstrap interval over the episodes): Sharpe (per-episode,
episode horizon), total P&L ($, the last position marked to the mid), the P&L with the last position closed
through the book (``total_pnl_liquidated``: an agent's own quote can move the mid it is marked at, and a large
position cannot be closed at the mid), maximum drawdown in money and in % of the env config's notional capital
(``max_drawdown_pct`` x 100), average |inventory| (shares). The **best agent** is the agent (RL checkpoint)
with the highest mean Sharpe; it is compared seed by seed with every baseline (agent minus baseline: mean
difference, bootstrap interval, Wilcoxon signed-rank p-value), with :func:`stats.paired_comparison`.
Output is markdown, ready for the README.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from almm_rllib.results import schema as S
from almm_rllib.results import stats
from almm_rllib.results.report import fmt_ci, fmt_num, fmt_p

#: (episode column, column title, scale) of the table, in the seed's order.
SEED_COLUMNS = (
    (S.SHARPE, "Sharpe", 1.0),
    (S.TOTAL_PNL, "Total P&L ($)", 1.0),
    (S.TOTAL_PNL_LIQUIDATED, "P&L closed through the book ($)", 1.0),
    (S.MAX_DRAWDOWN, "Max drawdown ($)", 1.0),
    (S.MAX_DRAWDOWN_PCT, "Max drawdown (% of capital)", 100.0),
    (S.AVG_ABS_INVENTORY, "Avg abs inventory (shares)", 1.0),
)
#: Metrics of the paired comparison of the best agent against each baseline.
PAIRED_METRICS = (S.SHARPE, S.TOTAL_PNL, S.TOTAL_PNL_LIQUIDATED, S.MAX_DRAWDOWN, S.AVG_ABS_INVENTORY)
#: Wilcoxon p below which a paired difference counts as significant (the issue's targets).
SIGNIFICANCE = 0.05


@dataclasses.dataclass(frozen=True)
class SeedTable:
    """Raw figures of the table: ``summary`` (:func:`stats.summarize`), ``paired`` (best agent minus each
    baseline, :data:`stats.PAIRED_COLUMNS`), the ``best_agent`` and the number of seeds."""

    strategies: list[str]
    agents: list[str]
    best_agent: str | None
    n_seeds: int
    summary: pd.DataFrame
    paired: pd.DataFrame


def seed_table(
    episodes: pd.DataFrame,
    agents: Sequence[str],
    *,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    random_state: int = stats.DEFAULT_RANDOM_STATE,
) -> SeedTable:
    """Build the table from an episodes table; ``agents`` are the strategies that are RL agents (the others are
    baselines). Every strategy must have run on the same seeds (refused otherwise, naming the strategy)."""
    strategies = list(pd.unique(episodes[S.STRATEGY]))
    unknown = [a for a in agents if a not in strategies]
    if unknown:
        raise ValueError(f"seed table: agents {unknown} are not in the episodes table ({strategies})")
    cols = [c for c, _, _ in SEED_COLUMNS]
    summary = stats.summarize(episodes, cols, n_resamples=n_resamples, random_state=random_state)
    sharpe = summary[summary["metric"] == S.SHARPE].set_index("strategy")["mean"]
    best = max(agents, key=lambda a: sharpe[a]) if agents else None
    pairs = []
    if best is not None:
        for base in (s for s in strategies if s not in agents):
            sub = episodes[episodes[S.STRATEGY].isin([best, base])]
            pairs.append(
                stats.paired_comparison(
                    sub,
                    reference=base,
                    metrics=list(PAIRED_METRICS),
                    n_resamples=n_resamples,
                    random_state=random_state,
                )
            )
    paired = (
        pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=list(stats.PAIRED_COLUMNS))
    )
    return SeedTable(
        strategies=strategies,
        agents=list(agents),
        best_agent=best,
        n_seeds=int(episodes[S.SEED].nunique()),
        summary=summary,
        paired=paired,
    )


def _cell(summary: pd.DataFrame, strategy: str, metric: str, scale: float) -> str:
    row = summary[(summary["strategy"] == strategy) & (summary["metric"] == metric)].iloc[0]
    return fmt_ci(row["mean"] * scale, row["ci_low"] * scale, row["ci_high"] * scale)


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def to_markdown(t: SeedTable, *, names: dict[str, str] | None = None) -> str:
    """The table and the paired comparison as markdown (``names``: display names by strategy label)."""
    names = names or {}
    lines = [
        f"Mean and 95% bootstrap interval over {t.n_seeds} common seeds (one episode per seed and strategy).",
        "",
    ]
    rows = []
    for s in t.strategies:
        label = names.get(s, s) + (" (agent)" if s in t.agents else "")
        rows.append([label, *(_cell(t.summary, s, c, k) for c, _, k in SEED_COLUMNS)])
    lines += _md(["strategy", *(title for _, title, _ in SEED_COLUMNS)], rows)
    if t.best_agent is not None and len(t.paired):
        lines += [
            "",
            f"Best agent by mean Sharpe: **{names.get(t.best_agent, t.best_agent)}**; paired against each "
            "baseline on the same seeds (agent minus baseline: mean difference [95% bootstrap interval], "
            "Wilcoxon signed-rank p):",
            "",
        ]
        titles = {c: title for c, title, _ in SEED_COLUMNS}
        prow = []
        for base in pd.unique(t.paired["reference"]):
            sub = t.paired[t.paired["reference"] == base].set_index("metric")
            cells = []
            for m in PAIRED_METRICS:
                r = sub.loc[m]
                cells.append(f"{fmt_ci(r['mean_diff'], r['ci_low'], r['ci_high'])}, p={fmt_p(r['p_value'])}")
            prow.append([names.get(base, base), *cells])
        lines += _md(["vs baseline", *(f"Δ {titles[m]}" for m in PAIRED_METRICS)], prow)
    return "\n".join(lines) + "\n"


def _paired(t: SeedTable, reference: str, metric: str) -> tuple[float, float]:
    """(mean difference, Wilcoxon p) of the best agent against ``reference`` on ``metric`` (NaN if absent)."""
    q = t.paired[(t.paired["reference"] == reference) & (t.paired["metric"] == metric)]
    if not len(q):
        return float("nan"), float("nan")
    return float(q["mean_diff"].iloc[0]), float(q["p_value"].iloc[0])


def targets(t: SeedTable, *, as_name: str = "avellaneda_stoikov") -> dict[str, object]:
    """The issue's targets for the best agent: Sharpe 20% or more above the best baseline's (relative to its
    size: 1.2 x for a positive Sharpe) with Wilcoxon p < 0.05,
    total P&L above Avellaneda-Stoikov's, average |inventory| below it. Values are the measured figures."""
    mean = t.summary.set_index(["strategy", "metric"])["mean"]
    bases = [s for s in t.strategies if s not in t.agents]
    if t.best_agent is None or not bases:
        return {}
    a = t.best_agent
    best_base = max(bases, key=lambda b: mean[(b, S.SHARPE)])
    out: dict[str, object] = {
        "best_agent": a,
        "best_baseline": best_base,
        "sharpe_ratio_to_best_baseline": float(mean[(a, S.SHARPE)] / mean[(best_base, S.SHARPE)])
        if mean[(best_base, S.SHARPE)] > 0
        else float("nan"),
        "sharpe_p_vs_best_baseline": _paired(t, best_base, S.SHARPE)[1],
        "sharpe_agent": float(mean[(a, S.SHARPE)]),
        "sharpe_best_baseline": float(mean[(best_base, S.SHARPE)]),
    }
    # "beats by 20%": the gain over the best baseline's Sharpe relative to its size, which is the ratio - 1 for
    # a positive Sharpe and still means something when every baseline's is negative (the ratio does not)
    b = out["sharpe_best_baseline"]
    out["sharpe_gain_over_best_baseline"] = (out["sharpe_agent"] - b) / abs(b) if b != 0 else float("nan")
    out["sharpe_target_met"] = bool(
        out["sharpe_gain_over_best_baseline"] >= 0.2 and out["sharpe_p_vs_best_baseline"] < SIGNIFICANCE
    )
    if as_name in bases:
        out["pnl_beats_as"] = bool(mean[(a, S.TOTAL_PNL)] > mean[(as_name, S.TOTAL_PNL)])
        out["pnl_diff_vs_as"], out["pnl_p_vs_as"] = _paired(t, as_name, S.TOTAL_PNL)
        # a higher mean is not a win when it is within noise (an agent that abstains "beats" a losing baseline)
        out["pnl_beats_as_significant"] = bool(out["pnl_beats_as"] and out["pnl_p_vs_as"] < SIGNIFICANCE)
        # the same once every last position is closed through the book: a lead that exists only marked to the
        # mid is the value of a position nobody could sell at that mid
        out["pnl_liquidated_diff_vs_as"], out["pnl_liquidated_p_vs_as"] = _paired(
            t, as_name, S.TOTAL_PNL_LIQUIDATED
        )
        out["pnl_liquidated_beats_as_significant"] = bool(
            out["pnl_liquidated_diff_vs_as"] > 0 and out["pnl_liquidated_p_vs_as"] < SIGNIFICANCE
        )
        out["inventory_below_as"] = bool(
            mean[(a, S.AVG_ABS_INVENTORY)] < mean[(as_name, S.AVG_ABS_INVENTORY)]
        )
    return out


def targets_markdown(t: SeedTable) -> str:
    tg = targets(t)
    if not tg:
        return ""
    gain = tg["sharpe_gain_over_best_baseline"]
    lines = [
        f"Targets (best agent {tg['best_agent']}): Sharpe {fmt_num(tg['sharpe_agent'])} against "
        f"{fmt_num(tg['sharpe_best_baseline'])} for the best baseline ({tg['best_baseline']}), "
        + (f"{gain:+.0%} of its size" if gain == gain else "no relative gain (its Sharpe is 0)")
        + f", p={fmt_p(tg['sharpe_p_vs_best_baseline'])}: "
        f"{'met' if tg['sharpe_target_met'] else 'not met'} (needs +20% or more and p < {SIGNIFICANCE:g})"
    ]
    if "pnl_beats_as" in tg:
        sig = "significant" if tg["pnl_p_vs_as"] < SIGNIFICANCE else "not significant"
        lines.append(
            f"; total P&L above Avellaneda-Stoikov: {'yes' if tg['pnl_beats_as'] else 'no'} "
            f"(difference {fmt_num(tg['pnl_diff_vs_as'])}, p={fmt_p(tg['pnl_p_vs_as'])}, {sig})"
        )
        lines.append(
            f"; avg |inventory| below Avellaneda-Stoikov: {'yes' if tg['inventory_below_as'] else 'no'}"
        )
        liq = tg["pnl_liquidated_p_vs_as"]
        lines.append(
            f". With every last position closed through the book, P&L against Avellaneda-Stoikov: difference "
            f"{fmt_num(tg['pnl_liquidated_diff_vs_as'])}, p={fmt_p(liq)} "
            f"({'significant' if liq < SIGNIFICANCE else 'not significant'})"
        )
        if tg["pnl_beats_as_significant"] and not tg["pnl_liquidated_beats_as_significant"]:
            lines.append(
                ": the P&L lead holds only marked to the mid, so the agent's Sharpe and total P&L value a "
                "position it could not close at that price"
            )
    return "".join(lines) + ".\n"


__all__ = [
    "PAIRED_METRICS",
    "SEED_COLUMNS",
    "SIGNIFICANCE",
    "SeedTable",
    "seed_table",
    "targets",
    "targets_markdown",
    "to_markdown",
]
