"""Fill markouts, rolling Sharpe and portfolios (results.analysis), against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almm_rllib.results import analysis as A
from almm_rllib.results import episode_metrics, episodes_table
from almm_rllib.results import schema as S
from tests.results_fixtures import make_fills, make_steps, simulate_run


def test_markouts_by_hand_and_consistent_with_spread_and_adverse_selection():
    mid = [100.0, 100.02, 100.05, 99.98, 100.10]
    steps = make_steps([0.0, 1.0, 2.0, 1.0, 3.0], mid=mid, time=[1.0, 2.0, 3.0, 4.0, 5.0])
    # (step, time, side, price, qty, mid_at_fill)
    fills = make_fills([(1, 1.5, 1, 99.99, 100.0, 100.0), (3, 3.2, -1, 100.03, 200.0, 100.05)])
    out = A.fill_markouts(steps, fills, horizons=(1.0, 10.0))
    # first fill at 1.5 s: the mid in force at 2.5 s is the step ending at 2.0 -> 100.02; +1 * (100.02 - 99.99)
    assert out["markout_1s"].iloc[0] == pytest.approx(0.03)
    # second fill at 3.2 s, sold: the mid in force at 4.2 s is the step ending at 4.0 -> 99.98;
    # -1 * (99.98 - 100.03)
    assert out["markout_1s"].iloc[1] == pytest.approx(0.05)
    # past the end: the last mid
    assert out["markout_10s"].iloc[0] == pytest.approx(100.10 - 99.99)
    assert out["spread_captured"].tolist() == pytest.approx([0.01, -0.02])  # sold below the mid
    m = episode_metrics(steps, fills, capital=1e5, horizon_s=10.0)
    vw = np.average(out["markout_10s"], weights=fills[S.QTY])
    assert vw == pytest.approx(m[S.SPREAD_CAPTURED] - m[S.ADVERSE_SELECTION])


def test_markouts_match_each_fill_to_its_own_episode():
    steps, fills = simulate_run(seeds=(0, 1), n_steps=60)
    out = A.fill_markouts(steps, fills, horizons=(5.0,))
    assert len(out) == len(fills) and out["markout_5s"].notna().all()
    one = (fills[S.STRATEGY] == "wide") & (fills[S.SEED] == 1)
    st1 = steps[(steps[S.STRATEGY] == "wide") & (steps[S.SEED] == 1)]
    alone = A.fill_markouts(st1, fills[one], horizons=(5.0,))
    np.testing.assert_array_equal(out.loc[one, "markout_5s"].to_numpy(), alone["markout_5s"].to_numpy())


def test_rolling_sharpe():
    x = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 1.0])
    r = A.rolling_sharpe(x, 3)
    assert np.isnan(r[:2]).all()
    assert r[2] == pytest.approx(2.0 / 1.0 * np.sqrt(3))
    assert r[5] == 0.0  # a flat window: the project's Sharpe of a flat path
    with pytest.raises(ValueError, match="window"):
        A.rolling_sharpe(x, 1)


def test_portfolio_weights_and_diversification():
    rng = np.random.default_rng(0)
    m = pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.normal(0, 2, 500)})
    assert A.portfolio_weights(m, "equal").tolist() == [0.5, 0.5]
    w = A.portfolio_weights(m, "inverse_volatility")
    sd = m.std(ddof=1)
    assert w["a"] / w["b"] == pytest.approx(sd["b"] / sd["a"]) and w.sum() == pytest.approx(1.0)
    assert A.portfolio_weights(m, "custom", {"a": 3, "b": 1}).tolist() == [0.75, 0.25]
    with pytest.raises(ValueError, match="sum to 0"):
        A.portfolio_weights(m, "custom", {"a": 0})
    with pytest.raises(ValueError, match="not in the portfolio"):
        A.portfolio_weights(m, "custom", {"zzz": 1})
    with pytest.raises(ValueError, match="weighting"):
        A.portfolio_weights(m, "nope")
    # independent members: ratio > 1; one member alone, or identical members: exactly 1
    assert A.diversification_ratio(m, A.portfolio_weights(m)) > 1.2
    same = pd.DataFrame({"a": m["a"], "b": m["a"]})
    assert A.diversification_ratio(same, A.portfolio_weights(same)) == pytest.approx(1.0)


def test_portfolio_steps_and_summary():
    steps, _ = simulate_run(seeds=(0, 1, 2), n_steps=80)
    w = pd.Series({"avellaneda_stoikov": 0.25, "wide": 0.75})
    port = A.portfolio_steps(steps, w)
    assert list(port.columns) == list(steps.columns) and (port[S.STRATEGY] == "portfolio").all()
    a = steps[steps[S.STRATEGY] == "avellaneda_stoikov"].set_index([S.SEED, S.STEP])
    b = steps[steps[S.STRATEGY] == "wide"].set_index([S.SEED, S.STEP])
    p = port.set_index([S.SEED, S.STEP])
    np.testing.assert_allclose(p[S.PNL], 0.25 * a[S.PNL] + 0.75 * b[S.PNL])
    np.testing.assert_allclose(p[S.INVENTORY], 0.25 * a[S.INVENTORY] + 0.75 * b[S.INVENTORY])
    eps, table = A.portfolio_summary(steps, w, capital=1e5, horizon_s=1.0)
    # the portfolio's figures are episodes_table's on its own step log
    ref = episodes_table(port, None, capital=1e5, horizon_s=1.0)
    assert table.set_index("strategy").loc["portfolio", S.SHARPE] == pytest.approx(ref[S.SHARPE].mean())
    t = table.set_index("strategy")
    assert t.loc["portfolio", S.TOTAL_PNL] == pytest.approx(
        0.25 * t.loc["avellaneda_stoikov", S.TOTAL_PNL] + 0.75 * t.loc["wide", S.TOTAL_PNL]
    )
    assert set(eps[S.STRATEGY]) == {"avellaneda_stoikov", "wide", "portfolio"}
    mat = A.step_pnl_matrix(steps, ["avellaneda_stoikov", "wide"])
    assert mat.shape == (3 * 80, 2)
    with pytest.raises(ValueError, match="not in the run"):
        A.step_pnl_matrix(steps, ["ghost"])
