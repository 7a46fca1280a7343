"""Across-episode statistics (``docs/metrics.md``, *Across episodes*): summaries and paired comparisons.

Every strategy of one evaluation runs on the same seeds (common random numbers), so strategies are compared
seed by seed: :func:`paired_comparison` refuses tables whose strategies were not run on the same seeds.

Rules, stated once:

* Values that are not finite (a metric that is NaN for some seeds, e.g. ``sortino`` without losing steps)
  are left out, per metric; ``n`` says how many values were used and ``n_missing`` how many were not.
* ``std`` is the sample standard deviation (ddof = 1), NaN for fewer than two values.
* Confidence intervals are 95% (``confidence_level``) bootstrap intervals of the mean from
  :func:`scipy.stats.bootstrap`, BCa by default, seeded (``random_state``) so that a report is reproducible.
  A fresh generator seeded with ``random_state`` is used for every interval, so an interval does not depend on
  which other metrics were computed. Fewer than two values: NaN interval (``ci_method = "none"``); all
  values equal: the interval is that value (``"constant"``); when BCa cannot be computed (a degenerate
  jackknife) the percentile interval is used (``"percentile"``).
* ``cross_episode_sharpe = mean(total_pnl) / std(total_pnl, ddof=1)``; 0 when that std is 0 (the rule of the
  episode Sharpe ratio), NaN with fewer than two episodes.
* Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`, two-sided, ``zero_method="wilcox"``: pairs with a
  zero difference are dropped, ``method="auto"``). When every difference is zero, there is no evidence of a
  difference and ``p = 1.0``; with no pairs at all, ``p`` is NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.stats

from almm_rllib.results import schema as S

DEFAULT_REFERENCE = "avellaneda_stoikov"
DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 9999
DEFAULT_METHOD = "BCa"
DEFAULT_RANDOM_STATE = 0

SUMMARY_COLUMNS = ("strategy", "metric", "n", "n_missing", "mean", "std", "ci_low", "ci_high", "ci_method")
SHARPE_COLUMNS = ("strategy", "n", "cross_episode_sharpe", "ci_low", "ci_high", "ci_method")
PAIRED_COLUMNS = (
    "strategy",
    "reference",
    "metric",
    "n_pairs",
    "mean_diff",
    "ci_low",
    "ci_high",
    "ci_method",
    "wilcoxon_stat",
    "p_value",
)


class PairingError(ValueError):
    """Strategies cannot be compared seed by seed (different seeds, duplicated seeds, no reference)."""


# ------------------------------------------------------------------------------------------------------------
# Building blocks.


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _sharpe(x, axis=-1):
    m = np.mean(x, axis=axis)
    sd = np.std(x, ddof=1, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, m / np.where(sd > 0, sd, 1.0), 0.0)


def bootstrap_ci(
    values,
    statistic: Callable = _mean,
    *,
    confidence_level: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: str = DEFAULT_METHOD,
    random_state: int = DEFAULT_RANDOM_STATE,
) -> tuple[float, float, str]:
    """Bootstrap confidence interval of ``statistic`` (default: the mean) of the finite ``values``.

    ``statistic(x, axis)`` must be vectorised. Returns ``(low, high, method used)``; see the module docstring
    for the fewer-than-two, constant and degenerate-BCa rules.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan"), "none"
    if np.all(v == v[0]):
        s = float(statistic(v[None, :], axis=-1)[0])
        return s, s, "constant"

    def run(m: str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate-BCa warnings: handled by the fallback below
            res = scipy.stats.bootstrap(
                (v,),
                statistic,
                vectorized=True,
                n_resamples=n_resamples,
                confidence_level=confidence_level,
                method=m,
                rng=np.random.default_rng(random_state),
            )
        return float(res.confidence_interval.low), float(res.confidence_interval.high)

    lo, hi = run(method)
    used = method
    if not (np.isfinite(lo) and np.isfinite(hi)) and method.lower() != "percentile":
        lo, hi = run("percentile")
        used = "percentile"
    return lo, hi, used


def wilcoxon_p(diffs) -> tuple[float, float]:
    """``(statistic, p-value)`` of the two-sided Wilcoxon signed-rank test of the finite ``diffs``.

    All differences zero: ``(0.0, 1.0)``. No differences: ``(NaN, NaN)``.
    """
    d = np.asarray(diffs, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    if np.all(d == 0):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / ties notes from scipy
        res = scipy.stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided", method="auto")
    return float(res.statistic), float(res.pvalue)


def _check_episodes(episodes: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    if not isinstance(episodes, pd.DataFrame):
        raise TypeError(f"episodes must be a pandas DataFrame, got {type(episodes).__name__}")
    if S.STRATEGY not in episodes.columns:
        raise ValueError("episodes: missing column 'strategy'")
    if metrics is None:
        metrics = [m for m in S.EPISODE_METRICS if m in episodes.columns]
    missing = [m for m in metrics if m not in episodes.columns]
    if missing:
        raise ValueError(f"episodes: missing metric columns {missing}")
    return list(metrics)


def _strategies(episodes: pd.DataFrame) -> list[str]:
    return list(pd.unique(episodes[S.STRATEGY]))


# ------------------------------------------------------------------------------------------------------------
# Summaries.


def summarize(
    episodes: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    confidence_level: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: str = DEFAULT_METHOD,
    random_state: int = DEFAULT_RANDOM_STATE,
) -> pd.DataFrame:
    """Mean, std (ddof=1) and bootstrap CI of each per-episode metric, per strategy.

    Args:
        episodes: an episodes table (one row per strategy x seed x agent).
        metrics: which metric columns (default: every metric of the episodes schema that is present).

    Returns:
        Long DataFrame, one row per (strategy, metric), columns :data:`SUMMARY_COLUMNS`; strategies in order
        of first appearance, metrics in the given order.
    """
    metrics = _check_episodes(episodes, metrics)
    rows = []
    for strategy in _strategies(episodes):
        sub = episodes[episodes[S.STRATEGY] == strategy]
        for m in metrics:
            v = sub[m].to_numpy(np.float64)
            fin = v[np.isfinite(v)]
            lo, hi, used = bootstrap_ci(
                fin,
                confidence_level=confidence_level,
                n_resamples=n_resamples,
                method=method,
                random_state=random_state,
            )
            rows.append(
                (
                    strategy,
                    m,
                    int(fin.size),
                    int(v.size - fin.size),
                    float(fin.mean()) if fin.size else float("nan"),
                    float(fin.std(ddof=1)) if fin.size > 1 else float("nan"),
                    lo,
                    hi,
                    used,
                )
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def cross_episode_sharpe(
    episodes: pd.DataFrame,
    *,
    confidence_level: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: str = DEFAULT_METHOD,
    random_state: int = DEFAULT_RANDOM_STATE,
) -> pd.DataFrame:
    """``mean(total_pnl) / std(total_pnl, ddof=1)`` per strategy, with a bootstrap CI of that ratio.

    Returns a DataFrame with columns :data:`SHARPE_COLUMNS`, one row per strategy.
    """
    _check_episodes(episodes, [S.TOTAL_PNL])
    rows = []
    for strategy in _strategies(episodes):
        v = episodes.loc[episodes[S.STRATEGY] == strategy, S.TOTAL_PNL].to_numpy(np.float64)
        v = v[np.isfinite(v)]
        est = float(_sharpe(v[None, :], axis=-1)[0]) if v.size > 1 else float("nan")
        lo, hi, used = bootstrap_ci(
            v,
            _sharpe,
            confidence_level=confidence_level,
            n_resamples=n_resamples,
            method=method,
            random_state=random_state,
        )
        rows.append((strategy, int(v.size), est, lo, hi, used))
    return pd.DataFrame(rows, columns=list(SHARPE_COLUMNS))


# ------------------------------------------------------------------------------------------------------------
# Paired comparison.


def _pair_tables(
    episodes: pd.DataFrame, strategies: list[str], pair_on: list[str]
) -> dict[str, pd.DataFrame]:
    """Each strategy's episodes indexed by the pair key; refuses a strategy with two rows for one key."""
    tables: dict[str, pd.DataFrame] = {}
    for strategy in strategies:
        sub = episodes[episodes[S.STRATEGY] == strategy]
        dup = sub[sub.duplicated(pair_on, keep=False)]
        if len(dup):
            key = dup[pair_on].iloc[0].to_dict()
            raise PairingError(
                f"strategy {strategy!r} has several episodes for {key}; pairing on {pair_on} needs one "
                "(filter to one agent, or pair on ('seed', 'agent_id'))"
            )
        tables[strategy] = sub.set_index(pair_on)
    return tables


def _check_same_keys(
    tables: dict[str, pd.DataFrame], reference: str, pair_on: list[str], require_same_seeds: bool
) -> None:
    """Refuse (when ``require_same_seeds``) a strategy whose pair keys differ from the reference's."""
    strategies = list(tables)
    ref = tables[reference]
    problems = []
    for strategy in strategies:
        if strategy == reference:
            continue
        own, base = set(tables[strategy].index), set(ref.index)
        if own != base:
            problems.append(
                f"{strategy!r} lacks {sorted(base - own)[:10]} and has extra {sorted(own - base)[:10]}"
            )
    if problems and require_same_seeds:
        raise PairingError(
            f"strategies were not run on the same {pair_on} as the reference {reference!r}: "
            + "; ".join(problems)
        )


def paired_comparison(
    episodes: pd.DataFrame,
    reference: str = DEFAULT_REFERENCE,
    metrics: Sequence[str] | None = None,
    *,
    pair_on: Sequence[str] = (S.SEED,),
    require_same_seeds: bool = True,
    confidence_level: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: str = DEFAULT_METHOD,
    random_state: int = DEFAULT_RANDOM_STATE,
) -> pd.DataFrame:
    """Each strategy minus the reference, seed by seed: mean difference, bootstrap CI, Wilcoxon p-value.

    Args:
        episodes: an episodes table.
        reference: the strategy every other one is compared with.
        metrics: which metric columns (default: every metric of the episodes schema that is present).
        pair_on: the columns that identify a pair. ``("seed",)`` needs one row per strategy and seed; pass
            ``("seed", "agent_id")`` when several agents of each strategy share an episode and their ids
            correspond across strategies.
        require_same_seeds: refuse (the default) when a strategy was not run on exactly the reference's seeds;
            when False, compare on the seeds they have in common.

    Returns:
        DataFrame with columns :data:`PAIRED_COLUMNS`, one row per (strategy other than the reference,
        metric); ``mean_diff`` is strategy minus reference.

    Raises:
        PairingError: unknown reference, a strategy with several rows for one pair key, different seeds.
    """
    metrics = _check_episodes(episodes, metrics)
    pair_on = list(pair_on)
    missing = [c for c in pair_on if c not in episodes.columns]
    if missing:
        raise ValueError(f"episodes: missing pairing columns {missing}")
    strategies = _strategies(episodes)
    if reference not in strategies:
        raise PairingError(f"reference strategy {reference!r} is not in the episodes table ({strategies})")

    tables = _pair_tables(episodes, strategies, pair_on)
    _check_same_keys(tables, reference, pair_on, require_same_seeds)

    ref = tables[reference]
    rows = []
    for strategy in strategies:
        if strategy == reference:
            continue
        common = tables[strategy].index.intersection(ref.index).sort_values()
        for m in metrics:
            d = tables[strategy].loc[common, m].to_numpy(np.float64) - ref.loc[common, m].to_numpy(np.float64)
            d = d[np.isfinite(d)]
            lo, hi, used = bootstrap_ci(
                d,
                confidence_level=confidence_level,
                n_resamples=n_resamples,
                method=method,
                random_state=random_state,
            )
            stat, p = wilcoxon_p(d)
            mean_diff = float(d.mean()) if d.size else float("nan")
            rows.append((strategy, reference, m, int(d.size), mean_diff, lo, hi, used, stat, p))
    return pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))
