"""Reports of an evaluation run: terminal tables and a self-contained HTML page.

* :func:`report_tables` computes the figures once (summaries, cross-episode Sharpe, paired comparison).
* :func:`format_report` renders them as plain-text tables, in the form of the project's expected-performance
  table: rows are strategies; Sharpe | Total P&L | Max Drawdown | Avg |Inventory| come first, as
  ``mean [95% CI low, high]``; then every other metric (rows = metrics, columns = strategies); then the
  paired comparison of each strategy with the reference (difference, CI, Wilcoxon p).
* :func:`write_html_report` writes ``report.html`` into the run folder (atomically): the same tables plus P&L
  paths, drawdown curves, the inventory distribution, spread captured vs adverse selection and a per-regime
  breakdown, as inline base64 PNG images (matplotlib's Agg canvas, no pyplot state, no network).

Statistics rules (NaN handling, bootstrap, Wilcoxon) are those of :mod:`almm_rllib.results.stats`.
"""

from __future__ import annotations

import dataclasses
import html
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from almm_rllib.results import schema as S
from almm_rllib.results import stats
from almm_rllib.results.figures import PALETTE, new_figure, png
from almm_rllib.results.html import frame_table, img
from almm_rllib.results.io import REPORT_FILE, RunData, read_run, write_text
from almm_rllib.results.metrics import drawdown_path

#: The expected-performance table's four headline metrics, in order, with their column titles.
HEADLINE = {
    S.SHARPE: "Sharpe",
    S.TOTAL_PNL: "Total P&L",
    S.MAX_DRAWDOWN: "Max Drawdown",
    S.AVG_ABS_INVENTORY: "Avg |Inventory|",
}
HEADLINE_TITLES = tuple(HEADLINE.values())
#: Metrics of the report by default: every per-episode metric but ``n_steps`` (a setting, not a result).
REPORT_METRICS = tuple(m for m in S.EPISODE_METRICS if m != S.N_STEPS)
CROSS_SHARPE = "cross_episode_sharpe"


# ------------------------------------------------------------------------------------------------------------
# Number formatting.


def fmt_num(x) -> str:
    """A number for a table: 4 significant digits, thousands separators above 1000, ``n/a`` for NaN."""
    if x is None:
        return "n/a"
    x = float(x)
    if np.isnan(x):
        return "n/a"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1e9 or a < 1e-4:
        return f"{x:.3e}"
    if a >= 1000:
        return f"{x:,.0f}"
    return np.format_float_positional(x, precision=4, unique=False, fractional=False, trim="-")


def fmt_p(p) -> str:
    """A p-value: 4 decimals, scientific below 1e-4."""
    p = float(p)
    if np.isnan(p):
        return "n/a"
    return f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"


def fmt_ci(mean, lo, hi) -> str:
    """``mean [lo, hi]``, or just ``mean`` when the interval is undefined."""
    if np.isnan(float(lo)) or np.isnan(float(hi)):
        return fmt_num(mean)
    return f"{fmt_num(mean)} [{fmt_num(lo)}, {fmt_num(hi)}]"


# ------------------------------------------------------------------------------------------------------------
# Tables.


@dataclasses.dataclass(frozen=True)
class ReportTables:
    """The figures of a report, raw and formatted.

    Attributes:
        strategies: strategies in report order (the reference first when present).
        reference: the reference strategy of the paired comparison.
        confidence_level: of every interval.
        n_seeds: number of distinct seeds.
        summary: :func:`stats.summarize` output (long).
        sharpe: :func:`stats.cross_episode_sharpe` output.
        paired: :func:`stats.paired_comparison` output, or ``None`` (see ``paired_note``).
        paired_note: why there is no paired comparison (``None`` when there is one).
        headline: formatted, index = strategies, columns = :data:`HEADLINE_TITLES` + ``N``.
        details: formatted, index = metrics, columns = strategies.
        paired_table: formatted, one row per (strategy, metric), or ``None``.
    """

    strategies: list[str]
    reference: str
    confidence_level: float
    n_seeds: int
    summary: pd.DataFrame
    sharpe: pd.DataFrame
    paired: pd.DataFrame | None
    paired_note: str | None
    headline: pd.DataFrame
    details: pd.DataFrame
    paired_table: pd.DataFrame | None


def report_tables(
    episodes: pd.DataFrame,
    *,
    reference: str = stats.DEFAULT_REFERENCE,
    metrics: Sequence[str] | None = None,
    confidence_level: float = stats.DEFAULT_CONFIDENCE,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    random_state: int = stats.DEFAULT_RANDOM_STATE,
) -> ReportTables:
    """Compute every figure of the report from an episodes table.

    When the reference strategy is missing, or the strategies were not run on the same seeds, the report
    still has its summary tables and ``paired_note`` says why the paired comparison was refused.
    """
    if metrics is None:
        metrics = [m for m in REPORT_METRICS if m in episodes.columns]
    for m in HEADLINE:
        if m not in episodes.columns:
            raise ValueError(f"episodes: missing headline metric column {m!r}")
    kw = {"confidence_level": confidence_level, "n_resamples": n_resamples, "random_state": random_state}
    seen = list(pd.unique(episodes[S.STRATEGY]))
    strategies = ([reference] if reference in seen else []) + [s for s in seen if s != reference]
    summary = stats.summarize(episodes, metrics, **kw)
    sharpe = stats.cross_episode_sharpe(episodes, **kw)
    paired, note = None, None
    if len(strategies) < 2:
        note = "only one strategy: nothing to compare"
    else:
        try:
            paired = stats.paired_comparison(episodes, reference, metrics, **kw)
        except stats.PairingError as e:
            note = f"paired comparison refused: {e}"
    headline, details = _summary_frames(episodes, summary, sharpe, strategies, metrics)
    paired_table = None
    if paired is not None:
        paired_table = _paired_frame(paired, strategies, metrics, reference, confidence_level)
    n_seeds = int(episodes[S.SEED].nunique()) if S.SEED in episodes.columns else 0
    return ReportTables(
        strategies=strategies,
        reference=reference,
        confidence_level=confidence_level,
        n_seeds=n_seeds,
        summary=summary,
        sharpe=sharpe,
        paired=paired,
        paired_note=note,
        headline=headline,
        details=details,
        paired_table=paired_table,
    )


def _summary_frames(
    episodes: pd.DataFrame, summary: pd.DataFrame, sharpe: pd.DataFrame, strategies: list[str], metrics
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The formatted headline table (strategies x headline metrics + N) and details (metrics x strategies)."""
    by = summary.set_index(["strategy", "metric"])

    def cell(strategy, metric):
        r = by.loc[(strategy, metric)]
        return fmt_ci(r["mean"], r["ci_low"], r["ci_high"])

    headline = pd.DataFrame(
        {title: [cell(s, m) for s in strategies] for m, title in HEADLINE.items()}, index=strategies
    )
    headline["N"] = [str(int((episodes[S.STRATEGY] == s).sum())) for s in strategies]
    headline.index.name = "Strategy"

    sh = sharpe.set_index("strategy")
    others = [m for m in metrics if m not in HEADLINE]
    detail_rows = {
        CROSS_SHARPE: [
            fmt_ci(sh.loc[s, CROSS_SHARPE], sh.loc[s, "ci_low"], sh.loc[s, "ci_high"]) for s in strategies
        ]
    }
    for m in others:
        detail_rows[m] = [cell(s, m) for s in strategies]
    details = pd.DataFrame.from_dict(detail_rows, orient="index", columns=strategies)
    details.index.name = "Metric"
    return headline, details


def _paired_frame(
    paired: pd.DataFrame, strategies: list[str], metrics, reference: str, confidence_level: float
) -> pd.DataFrame:
    """The formatted paired comparison, one row per (strategy, metric) in report order."""
    order = {s: i for i, s in enumerate(strategies)}
    morder = {m: i for i, m in enumerate(metrics)}
    p = paired.sort_values(
        ["strategy", "metric"], key=lambda c: c.map(order if c.name == "strategy" else morder)
    )
    return pd.DataFrame(
        {
            "Strategy": p["strategy"].to_numpy(),
            "Metric": p["metric"].to_numpy(),
            f"Difference vs {reference}": [fmt_num(x) for x in p["mean_diff"]],
            f"{confidence_level:.0%} CI": [
                "n/a" if np.isnan(lo) else f"[{fmt_num(lo)}, {fmt_num(hi)}]"
                for lo, hi in zip(p["ci_low"], p["ci_high"])
            ],
            "Wilcoxon p": [fmt_p(x) for x in p["p_value"]],
            "Pairs": [str(int(x)) for x in p["n_pairs"]],
        }
    )


def text_table(df: pd.DataFrame, *, index: bool = True) -> str:
    """A plain-text table: `` | ``-separated columns, header rule, first column left-aligned, others right."""
    header = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    body = [
        ([str(i)] if index else []) + [str(v) for v in row]
        for i, row in zip(df.index, df.itertuples(index=False, name=None))
    ]
    widths = [max(len(r[j]) for r in [header, *body]) for j in range(len(header))]

    def line(cells):
        return " | ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in body)])


def format_report(episodes: pd.DataFrame | ReportTables, **kwargs) -> str:
    """The terminal report of an episodes table (or of precomputed :class:`ReportTables`).

    Keyword arguments go to :func:`report_tables` (``reference``, ``confidence_level``, ...).
    """
    t = episodes if isinstance(episodes, ReportTables) else report_tables(episodes, **kwargs)
    level = t.confidence_level
    parts = [
        f"{len(t.strategies)} strategies x {t.n_seeds} seeds; cells are mean [{level:.0%} bootstrap CI]",
        "",
        "Expected performance",
        text_table(t.headline),
        "",
        "Other metrics",
        text_table(t.details),
        "",
        f"Paired comparison vs {t.reference} (strategy minus reference, same seeds)",
    ]
    parts.append(
        text_table(t.paired_table, index=False) if t.paired_table is not None else t.paired_note or ""
    )
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------------------------
# Plots.


def _colors(strategies: Sequence[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(strategies)}


def _episode_matrix(steps: pd.DataFrame, strategy: str, value, max_points: int):
    """(time axis, matrix episodes x steps) of ``value(episode steps) -> array`` for one strategy."""
    sub = steps[steps[S.STRATEGY] == strategy]
    series = []
    for _, g in sub.groupby([S.RUN_ID, S.SEED, S.AGENT_ID], sort=True):
        g = g.sort_values(S.STEP, kind="mergesort")
        series.append((g[S.STEP].to_numpy(), g[S.TIME].to_numpy(np.float64), value(g)))
    if not series:
        return None, None
    steps_axis = np.unique(np.concatenate([s for s, _, _ in series]))
    mat = np.full((len(series), steps_axis.size), np.nan)
    times = np.full(steps_axis.size, np.nan)
    for i, (st, tm, v) in enumerate(series):
        pos = np.searchsorted(steps_axis, st)
        mat[i, pos] = v
        times[pos] = np.where(np.isnan(times[pos]), tm, times[pos])
    if steps_axis.size > max_points:
        keep = np.unique(np.linspace(0, steps_axis.size - 1, max_points).round().astype(int))
        mat, times = mat[:, keep], times[keep]
    return times, mat


def _band_plot(ax, steps, strategies, colors, value, max_points, ylabel):
    for s in strategies:
        t, mat = _episode_matrix(steps, s, value, max_points)
        if mat is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # columns where no episode has that step
            med = np.nanmedian(mat, axis=0)
            lo, hi = np.nanquantile(mat, [0.1, 0.9], axis=0)
        ax.plot(t, med, color=colors[s], lw=1.6, label=f"{s} (median, n={mat.shape[0]})")
        ax.fill_between(t, lo, hi, color=colors[s], alpha=0.18, lw=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def _plot_pnl(steps, strategies, colors, max_points) -> str:
    fig = new_figure()
    ax = fig.add_subplot()
    _band_plot(
        ax, steps, strategies, colors, lambda g: g[S.PNL].to_numpy(np.float64), max_points, "P&L (money)"
    )
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_title("P&L paths: median over seeds, band = 10th-90th percentile")
    return png(fig)


def _plot_drawdown(steps, strategies, colors, max_points) -> str:
    fig = new_figure()
    ax = fig.add_subplot()
    _band_plot(
        ax, steps, strategies, colors, lambda g: drawdown_path(g[S.PNL])[1:], max_points, "drawdown (money)"
    )
    ax.invert_yaxis()
    ax.set_title("Drawdown below the running P&L peak: median over seeds, band = 10th-90th pct")
    return png(fig)


def _inventory_bins(q: np.ndarray):
    """One bin per inventory level when inventory moves in a few lot multiples, else 60 equal bins."""
    uniq = np.unique(q)
    if uniq.size == 0:
        return 10
    if uniq.size == 1:
        return np.array([uniq[0] - 0.5, uniq[0] + 0.5])
    step = float(np.min(np.diff(uniq)))
    if uniq.size <= 60 and (uniq[-1] - uniq[0]) / step <= 200:
        return np.arange(uniq[0] - step / 2, uniq[-1] + step, step)
    return np.linspace(uniq[0], uniq[-1], 61)


def _plot_inventory(steps, strategies, colors) -> str:
    fig = new_figure()
    ax = fig.add_subplot()
    q = steps[S.INVENTORY].to_numpy(np.float64)
    bins = _inventory_bins(q[np.isfinite(q)])
    for s in strategies:
        v = steps.loc[steps[S.STRATEGY] == s, S.INVENTORY].to_numpy(np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.6, color=colors[s], label=s)
    ax.set_xlabel("inventory (shares)")
    ax.set_ylabel("share of steps (density)")
    ax.set_title("Inventory distribution over all steps and seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png(fig)


def _plot_edge(episodes, strategies, colors) -> str:
    fig = new_figure(6.5, 5.0)
    ax = fig.add_subplot()
    xs, ys = [], []
    for s in strategies:
        sub = episodes[episodes[S.STRATEGY] == s]
        x = sub[S.ADVERSE_SELECTION].to_numpy(np.float64)
        y = sub[S.SPREAD_CAPTURED].to_numpy(np.float64)
        ax.scatter(x, y, s=22, alpha=0.75, color=colors[s], label=s, edgecolors="none")
        xs.append(x)
        ys.append(y)
    allv = np.concatenate(xs + ys) if xs else np.array([])
    allv = allv[np.isfinite(allv)]
    if allv.size:
        lo, hi = float(allv.min()), float(allv.max())
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", lw=0.8, ls="--", label="break-even")
    ax.set_xlabel("adverse selection (money/share, + = picked off)")
    ax.set_ylabel("spread captured (money/share)")
    ax.set_title(
        "Spread captured vs adverse selection, one point per episode\n(above the line: net edge > 0)"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png(fig)


def regime_breakdown(
    steps: pd.DataFrame,
    strategies: Sequence[str] | None = None,
    *,
    confidence_level: float = stats.DEFAULT_CONFIDENCE,
    n_resamples: int = 2000,
    random_state: int = stats.DEFAULT_RANDOM_STATE,
) -> pd.DataFrame:
    """Mean P&L per step in each regime, per strategy.

    Each episode's mean ``dpnl`` over its steps in the regime is one observation; the table gives the mean of
    those over episodes, its bootstrap CI, and the number of episodes and steps.
    """
    if strategies is None:
        strategies = list(pd.unique(steps[S.STRATEGY]))
    per_ep = (
        steps.groupby([S.STRATEGY, S.REGIME, S.RUN_ID, S.SEED, S.AGENT_ID], sort=True)[S.DPNL]
        .agg(["mean", "size"])
        .reset_index()
    )
    rows = []
    for s in strategies:
        for r, g in per_ep[per_ep[S.STRATEGY] == s].groupby(S.REGIME, sort=True):
            v = g["mean"].to_numpy(np.float64)
            lo, hi, _ = stats.bootstrap_ci(
                v, confidence_level=confidence_level, n_resamples=n_resamples, random_state=random_state
            )
            rows.append((s, int(r), len(g), int(g["size"].sum()), float(np.nanmean(v)), lo, hi))
    cols = ["strategy", "regime", "n_episodes", "n_steps", "mean_dpnl", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=cols)


def _plot_regimes(table: pd.DataFrame, strategies, colors) -> str:
    fig = new_figure()
    ax = fig.add_subplot()
    regimes = sorted(table["regime"].unique()) if len(table) else []
    width = 0.8 / max(1, len(strategies))
    for i, s in enumerate(strategies):
        sub = table[table["strategy"] == s].set_index("regime")
        x = np.arange(len(regimes)) + (i - (len(strategies) - 1) / 2) * width
        y = np.array([sub["mean_dpnl"].get(r, np.nan) for r in regimes], dtype=np.float64)
        lo = np.array([sub["ci_low"].get(r, np.nan) for r in regimes], dtype=np.float64)
        hi = np.array([sub["ci_high"].get(r, np.nan) for r in regimes], dtype=np.float64)
        err = np.vstack([np.where(np.isnan(lo), 0, y - lo), np.where(np.isnan(hi), 0, hi - y)])
        ax.bar(x, y, width=width, color=colors[s], label=s, yerr=err, capsize=3, error_kw={"lw": 0.8})
    ax.set_xticks(np.arange(len(regimes)), [f"regime {r}" for r in regimes])
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_ylabel("mean P&L per step (money)")
    ax.set_title("P&L per step by market regime (error bars: bootstrap CI over episodes)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return png(fig)


# ------------------------------------------------------------------------------------------------------------
# HTML.

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.note { background: #fff6e0; border-left: 4px solid #f0ad4e; padding: 0.5em 1em; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }
"""


def _page_head(run: RunData, episodes: pd.DataFrame) -> list[str]:
    """Doctype, title, style sheet and the line naming the run folder, its creation and size."""
    run_ids = sorted(pd.unique(episodes[S.RUN_ID])) if len(episodes) else []
    title = f"almm_rllib evaluation report: {', '.join(map(str, run_ids)) or run.path.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    v = run.version
    meta = [
        f"folder {run.path}",
        f"created {v.get('created_at', '?')}",
        f"almm_rllib {v.get('almm_rllib', '?')}",
        f"{len(episodes)} episodes",
    ]
    parts.append(f'<p class="meta">{html.escape(" · ".join(meta))}</p>')
    return parts


def _path_sections(steps, episodes, t: ReportTables, colors, max_points: int) -> list[str]:
    """P&L paths, drawdown curves, the inventory distribution and spread captured vs adverse selection."""
    return [
        "<h2>P&amp;L paths</h2>",
        img(
            _plot_pnl(steps, t.strategies, colors, max_points),
            "P&L paths",
            "Mark-to-mid P&L over the episode.",
        ),
        "<h2>Drawdown</h2>",
        img(
            _plot_drawdown(steps, t.strategies, colors, max_points),
            "Drawdown curves",
            "Distance below the running peak of P&L (0 = at a new high); the trough depth is max_drawdown.",
        ),
        "<h2>Inventory</h2>",
        img(
            _plot_inventory(steps, t.strategies, colors),
            "Inventory distribution",
            "How much inventory each strategy carries; narrower around 0 = tighter inventory control.",
        ),
        "<h2>Spread captured vs adverse selection</h2>",
        img(
            _plot_edge(episodes, t.strategies, colors),
            "Spread captured vs adverse selection",
            "Each point is one episode; spread captured above the dashed line means the quotes earned more "
            "than the mid moved against the fills within the horizon H.",
        ),
    ]


def _regime_section(steps, t: ReportTables, colors, confidence_level: float, random_state: int) -> list[str]:
    """Mean P&L per step in each market regime: bar chart and table."""
    regimes = regime_breakdown(
        steps, t.strategies, confidence_level=confidence_level, random_state=random_state
    )
    reg_fmt = pd.DataFrame(
        {
            "Strategy": regimes["strategy"],
            "Regime": regimes["regime"].astype(str),
            "Mean P&L per step": [
                fmt_ci(m, lo, hi) for m, lo, hi in regimes[["mean_dpnl", "ci_low", "ci_high"]].to_numpy()
            ],
            "Episodes": regimes["n_episodes"].astype(str),
            "Steps": regimes["n_steps"].astype(str),
        }
    )
    return [
        "<h2>By market regime</h2>",
        img(_plot_regimes(regimes, t.strategies, colors), "P&L per step by regime", "Mean dpnl per step."),
        frame_table(reg_fmt, index=False),
    ]


def _paired_section(t: ReportTables) -> list[str]:
    """The paired comparison with the reference, or the note saying why there is none."""
    parts = [f"<h2>Paired comparison vs {html.escape(t.reference)}</h2>"]
    if t.paired_table is not None:
        parts.append(
            "<p>Strategy minus reference on the same seeds: mean difference, its bootstrap CI, and the"
            " two-sided Wilcoxon signed-rank p-value.</p>"
        )
        parts.append(frame_table(t.paired_table, index=False))
    else:
        parts.append(f'<p class="note">{html.escape(t.paired_note or "")}</p>')
    return parts


def _market_note_section(run: RunData) -> list[str]:
    """The market's stated assumptions (``config.json``'s ``market_note``, e.g. a replayed day's: no reaction
    to the agent, the queue model, what they mean for the P&L), shown before any figure."""
    note = (run.config or {}).get("market_note")
    if not note:
        return []
    return ["<h2>Market assumptions</h2>", f'<p class="note">{html.escape(str(note))}</p>']


def _config_section(run: RunData) -> list[str]:
    """The resolved config and version files, folded."""
    return [
        "<h2>Configuration</h2>",
        "<details><summary>resolved config.json</summary><pre>"
        + html.escape(json.dumps(run.config, indent=2, sort_keys=True))
        + "</pre></details>",
        "<details><summary>version.json</summary><pre>"
        + html.escape(json.dumps(run.version, indent=2, sort_keys=True))
        + "</pre></details>",
    ]


def render_html(
    run: RunData,
    *,
    reference: str = stats.DEFAULT_REFERENCE,
    max_points: int = 1000,
    confidence_level: float = stats.DEFAULT_CONFIDENCE,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    random_state: int = stats.DEFAULT_RANDOM_STATE,
) -> str:
    """The HTML page of a run (see :func:`write_html_report`), as a string."""
    steps, episodes = run.steps, run.episodes
    if steps is None or episodes is None:
        raise ValueError("render_html needs the steps and episodes tables of the run")
    if not isinstance(steps, pd.DataFrame):
        steps = steps.to_pandas()
    if not isinstance(episodes, pd.DataFrame):
        episodes = episodes.to_pandas()
    parts = _page_head(run, episodes) + _market_note_section(run)
    if len(episodes) == 0:
        parts.append('<p class="note">The episodes table is empty: nothing to report.</p>')
        parts.append("</body></html>")
        return "\n".join(parts)

    t = report_tables(
        episodes,
        reference=reference,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        random_state=random_state,
    )
    colors = _colors(t.strategies)
    ci = f"{confidence_level:.0%}"
    parts.append(
        f'<p class="meta">{len(t.strategies)} strategies x {t.n_seeds} seeds. Cells are the mean over'
        f" episodes and its {ci} bootstrap confidence interval [low, high].</p>"
    )
    parts += ["<h2>Expected performance</h2>", frame_table(t.headline)]
    parts += _path_sections(steps, episodes, t, colors, max_points)
    parts += _regime_section(steps, t, colors, confidence_level, random_state)
    parts += ["<h2>Other metrics</h2>", frame_table(t.details)]
    parts += _paired_section(t)
    parts += _config_section(run)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(
    run_dir,
    *,
    path=None,
    run: RunData | None = None,
    reference: str = stats.DEFAULT_REFERENCE,
    max_points: int = 1000,
    confidence_level: float = stats.DEFAULT_CONFIDENCE,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    random_state: int = stats.DEFAULT_RANDOM_STATE,
) -> Path:
    """Write a self-contained HTML report of a run folder (``<run_dir>/report.html`` by default).

    The page holds the market's stated assumptions (``config.json``'s ``market_note``, if any), the
    expected-performance table, P&L paths, drawdown curves, the inventory distribution,
    spread captured vs adverse selection, a per-regime breakdown, every other metric, the paired comparison
    with the reference, and the resolved config. Plots are inline PNGs; the page loads nothing from elsewhere.
    The file is written under a temporary name and renamed when complete.

    Args:
        run_dir: the run folder (read with :func:`read_run` unless ``run`` is given).
        path: where to write (default ``<run_dir>/report.html``).
        run: an already-read :class:`RunData`.
        max_points: time points per plotted path (longer episodes are subsampled for the plots only).

    Returns:
        The path of the written file.
    """
    run_dir = Path(run_dir)
    if run is None:
        run = read_run(run_dir, tables=(S.STEPS, S.EPISODES))
    text = render_html(
        run,
        reference=reference,
        max_points=max_points,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        random_state=random_state,
    )
    return write_text(text, Path(path) if path is not None else run_dir / REPORT_FILE)
