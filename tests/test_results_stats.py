"""Across-episode statistics: summaries, bootstrap intervals, cross-episode Sharpe, paired comparisons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from almm_rllib.results import schema as S
from almm_rllib.results import stats
from tests.results_fixtures import make_episodes


def episodes_from(values: dict[str, list[float]], metric: str = S.TOTAL_PNL, seeds=None) -> pd.DataFrame:
    rows = []
    for strategy, vals in values.items():
        for i, v in enumerate(vals):
            rows.append({S.STRATEGY: strategy, S.SEED: (seeds or range(len(vals)))[i], metric: v})
    return pd.DataFrame(rows)


def row(df, **eq):
    mask = np.ones(len(df), bool)
    for k, v in eq.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() == 1
    return df[mask].iloc[0]


# ----------------------------------------------------------------------------------------------------------
# Summaries.


def test_summary_mean_std_ci():
    ep = episodes_from({"a": [1.0, 2.0, 3.0, 4.0]})
    r = row(stats.summarize(ep, [S.TOTAL_PNL]), strategy="a", metric=S.TOTAL_PNL)
    assert r["n"] == 4 and r["n_missing"] == 0
    assert r["mean"] == 2.5
    assert r["std"] == pytest.approx(math.sqrt(5.0 / 3.0))  # ddof = 1
    assert 1.0 <= r["ci_low"] < 2.5 < r["ci_high"] <= 4.0
    assert r["ci_method"] == "BCa"


def test_summary_is_reproducible_and_seeded():
    ep = make_episodes({"a": 0.0, "b": 1.0}, seeds=range(12))
    a = stats.summarize(ep, [S.SHARPE, S.TOTAL_PNL], random_state=3)
    b = stats.summarize(ep, [S.TOTAL_PNL], random_state=3)
    pd.testing.assert_frame_equal(
        a[a.metric == S.TOTAL_PNL].reset_index(drop=True), b.reset_index(drop=True)
    )  # an interval does not depend on the other metrics computed
    c = stats.summarize(ep, [S.TOTAL_PNL], random_state=4)
    assert not np.allclose(b["ci_low"], c["ci_low"])


def test_summary_constant_nan_and_single_values():
    ep = episodes_from({"const": [2.0, 2.0, 2.0], "gaps": [1.0, np.nan, 3.0], "one": [5.0, np.nan, np.inf]})
    s = stats.summarize(ep, [S.TOTAL_PNL])
    const = row(s, strategy="const")
    assert (const["ci_low"], const["ci_high"], const["std"], const["ci_method"]) == (
        2.0,
        2.0,
        0.0,
        "constant",
    )
    gaps = row(s, strategy="gaps")
    assert (gaps["n"], gaps["n_missing"], gaps["mean"]) == (2, 1, 2.0)
    assert gaps["ci_low"] >= 1.0 and gaps["ci_high"] <= 3.0
    one = row(s, strategy="one")
    assert (one["n"], one["n_missing"], one["mean"]) == (1, 2, 5.0)
    assert math.isnan(one["std"]) and math.isnan(one["ci_low"]) and one["ci_method"] == "none"


def test_summary_all_nan_metric():
    ep = episodes_from({"a": [np.nan, np.nan]})
    r = row(stats.summarize(ep, [S.TOTAL_PNL]), strategy="a")
    assert r["n"] == 0 and math.isnan(r["mean"]) and math.isnan(r["ci_high"])


def test_bootstrap_ci_falls_back_when_bca_is_degenerate():
    def median(x, axis=-1):
        return np.median(x, axis=axis)

    # the jackknife medians of [5, 1, 1, 1, 1] are all 1: BCa's acceleration is 0/0
    lo, hi, used = stats.bootstrap_ci([5.0, 1.0, 1.0, 1.0, 1.0], median)
    assert used == "percentile"
    assert np.isfinite(lo) and np.isfinite(hi) and 1.0 <= lo <= hi <= 5.0


def test_percentile_method_is_available():
    lo, hi, used = stats.bootstrap_ci(np.arange(10.0), method="percentile")
    assert used == "percentile" and lo < 4.5 < hi


def test_cross_episode_sharpe():
    ep = episodes_from(
        {"a": [1.0, 2.0, 3.0, 4.0], "flat": [3.0, 3.0, 3.0, 3.0], "one": [1.0, np.nan, np.nan, np.nan]}
    )
    out = stats.cross_episode_sharpe(ep).set_index("strategy")
    assert out.loc["a", "cross_episode_sharpe"] == pytest.approx(2.5 / math.sqrt(5.0 / 3.0))
    assert out.loc["a", "ci_low"] < out.loc["a", "cross_episode_sharpe"] < out.loc["a", "ci_high"]
    assert out.loc["flat", "cross_episode_sharpe"] == 0.0
    assert math.isnan(out.loc["one", "cross_episode_sharpe"])
    assert list(out["n"]) == [4, 4, 1]


# ----------------------------------------------------------------------------------------------------------
# Paired comparison.


def test_clearly_better_strategy_has_small_p():
    ep = make_episodes({"avellaneda_stoikov": 0.0, "rl": 2.0, "same": 0.0}, seeds=range(20), noise=0.5)
    p = stats.paired_comparison(ep)
    assert set(p["strategy"]) == {"rl", "same"}
    assert (p["reference"] == "avellaneda_stoikov").all()
    rl = row(p, strategy="rl", metric=S.TOTAL_PNL)
    assert rl["n_pairs"] == 20
    assert rl["mean_diff"] == pytest.approx(2.0, abs=0.5)
    assert rl["ci_low"] > 0 and rl["ci_high"] > rl["ci_low"]
    assert rl["p_value"] < 1e-3
    same = row(p, strategy="same", metric=S.TOTAL_PNL)
    assert same["ci_low"] < 0 < same["ci_high"]
    assert same["p_value"] > 0.05


def test_paired_difference_is_seed_by_seed():
    # huge seed-to-seed spread, constant +1 difference: only pairing can see it
    ep = episodes_from(
        {"avellaneda_stoikov": [0.0, 100.0, -50.0, 7.0, 1e3, 3.0], "b": [1.0, 101.0, -49.0, 8.0, 1001.0, 4.0]}
    )
    r = row(stats.paired_comparison(ep, metrics=[S.TOTAL_PNL]), strategy="b")
    assert r["mean_diff"] == pytest.approx(1.0)
    assert (r["ci_low"], r["ci_high"], r["ci_method"]) == pytest.approx((1.0, 1.0, "constant"))
    # 6 positive, tied differences: scipy's normal approximation, p well below 0.05
    assert r["p_value"] < 0.05


def test_wilcoxon_exact_p_value():
    d = np.arange(1.0, 11.0)  # 10 distinct positive differences: exact two-sided p = 2 / 2**10
    stat, p = stats.wilcoxon_p(d)
    assert p == pytest.approx(2.0 / 1024.0)
    assert stat == 0.0


def test_all_zero_differences_give_p_one():
    ep = episodes_from({"avellaneda_stoikov": [1.0, 2.0, 3.0], "twin": [1.0, 2.0, 3.0]})
    r = row(stats.paired_comparison(ep, metrics=[S.TOTAL_PNL]), strategy="twin")
    assert (r["mean_diff"], r["p_value"], r["wilcoxon_stat"]) == (0.0, 1.0, 0.0)
    assert stats.wilcoxon_p([0.0, 0.0]) == (0.0, 1.0)
    assert all(math.isnan(v) for v in stats.wilcoxon_p([np.nan]))


def test_nan_pairs_are_dropped():
    ep = episodes_from({"avellaneda_stoikov": [1.0, np.nan, 3.0, 4.0], "b": [2.0, 5.0, np.nan, 6.0]})
    r = row(stats.paired_comparison(ep, metrics=[S.TOTAL_PNL]), strategy="b")
    assert r["n_pairs"] == 2
    assert r["mean_diff"] == pytest.approx(1.5)


def test_different_seeds_are_refused():
    ep = pd.concat(
        [
            episodes_from({"avellaneda_stoikov": [1.0, 2.0, 3.0]}, seeds=[0, 1, 2]),
            episodes_from({"b": [1.0, 2.0, 3.0]}, seeds=[0, 1, 5]),
        ]
    )
    with pytest.raises(
        stats.PairingError, match=r"not run on the same \['seed'\].*'b' lacks \[2\] and has extra \[5\]"
    ):
        stats.paired_comparison(ep, metrics=[S.TOTAL_PNL])
    r = row(stats.paired_comparison(ep, metrics=[S.TOTAL_PNL], require_same_seeds=False), strategy="b")
    assert r["n_pairs"] == 2


def test_unknown_reference_and_duplicates_are_refused():
    ep = episodes_from({"a": [1.0, 2.0], "b": [1.0, 2.0]})
    with pytest.raises(stats.PairingError, match="reference strategy 'avellaneda_stoikov' is not in"):
        stats.paired_comparison(ep)
    dup = pd.concat([ep, ep.iloc[[0]]])
    with pytest.raises(stats.PairingError, match="strategy 'a' has several episodes for {'seed': 0}"):
        stats.paired_comparison(dup, reference="b", metrics=[S.TOTAL_PNL])


def test_pair_on_seed_and_agent():
    ep = episodes_from({"ref": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 3.0, 4.0, 5.0]}, seeds=[0, 0, 1, 1])
    ep[S.AGENT_ID] = ["x", "y"] * 4
    with pytest.raises(stats.PairingError, match="several episodes"):
        stats.paired_comparison(ep, reference="ref", metrics=[S.TOTAL_PNL])
    r = row(
        stats.paired_comparison(ep, reference="ref", metrics=[S.TOTAL_PNL], pair_on=(S.SEED, S.AGENT_ID)),
        strategy="b",
    )
    assert (r["n_pairs"], r["mean_diff"]) == (4, 1.0)


def test_default_metrics_are_every_episode_metric():
    ep = make_episodes({"avellaneda_stoikov": 0.0, "b": 1.0}, seeds=range(5))
    p = stats.paired_comparison(ep, n_resamples=999)
    assert list(p["metric"]) == list(S.EPISODE_METRICS)
    s = stats.summarize(ep, n_resamples=999)
    assert len(s) == 2 * len(S.EPISODE_METRICS)
    assert list(s.columns) == list(stats.SUMMARY_COLUMNS)
