"""Per-episode metrics against hand-computed values (docs/metrics.md), FIFO round trips, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from almm_rllib.results import schema as S
from almm_rllib.results.metrics import (
    drawdown_path,
    episode_metrics,
    episodes_table,
    fifo_round_trips,
)
from tests.results_fixtures import make_fills, make_steps, simulate_run

CAP = 1000.0


def metrics(steps, fills=None, **kw):
    kw.setdefault("capital", CAP)
    kw.setdefault("horizon_s", 1.0)
    return episode_metrics(steps, fills, **kw)


# ----------------------------------------------------------------------------------------------------------
# A fully hand-computed episode.


@pytest.fixture
def hand():
    steps = make_steps(
        [2.0, 1.0, 4.0, 3.0],
        inventory=[10.0, -20.0, 0.0, 5.0],
        mid=[100.0, 100.1, 100.05, 99.9],
        sigma=0.01,
        posted_bid=[2.0, 2.0, 0.0, 2.0],
        posted_ask=[2.0, 0.0, 2.0, 2.0],
        filled_bid=[1.0, 0.0, 0.0, 2.0],
        filled_ask=[0.0, 0.0, 1.0, 0.0],
    )
    fills = make_fills(
        [
            (0, 0.5, 1, 99.9, 10.0, 100.0),
            (1, 1.5, -1, 100.2, 30.0, 100.1),
            (2, 2.5, 1, 100.3, 20.0, 100.05),
            (3, 3.5, 1, 99.8, 5.0, 99.9),
        ]
    )
    return steps, fills


def test_hand_pnl_metrics(hand):
    steps, fills = hand
    m = metrics(steps, fills, liquidation_cost=0.25)
    # x = dpnl = [2, -1, 3, -1]; mean 0.75; sample variance 12.75 / 3 = 4.25
    assert m[S.N_STEPS] == 4
    assert m[S.TOTAL_PNL] == 3.0
    assert m[S.TOTAL_PNL_LIQUIDATED] == 2.75
    assert m[S.SHARPE] == pytest.approx(0.75 / math.sqrt(4.25) * 2.0, rel=1e-12)
    # downside: mean(min(x,0)^2) = (1 + 1) / 4 = 0.5
    assert m[S.SORTINO] == pytest.approx(0.75 / math.sqrt(0.5) * 2.0, rel=1e-12)
    # path [0, 2, 1, 4, 3]: drawdowns [0, 0, 1, 0, 1]; first trough at t=2 with peak 2
    assert m[S.MAX_DRAWDOWN] == 1.0
    assert m[S.MAX_DRAWDOWN_PCT] == pytest.approx(1.0 / (CAP + 2.0), rel=1e-12)
    assert m[S.CALMAR] == 3.0
    # sorted x = [-1, -1, 2, 3]; quantile 0.05 at position 0.15 -> -1
    assert m[S.VAR_95] == pytest.approx(1.0)
    assert m[S.CVAR_95] == pytest.approx(1.0)


def test_hand_inventory_metrics(hand):
    steps, fills = hand
    m = metrics(steps, fills)
    # |q| mid 1.645 sigma sqrt(1): 10*100*0.01645, 20*100.1*0.01645, 0, 5*99.9*0.01645
    expected = (16.45 + 32.93290 + 0.0 + 8.216775) / 4.0
    assert m[S.INVENTORY_VAR_95] == pytest.approx(expected, rel=1e-9)
    assert m[S.AVG_ABS_INVENTORY] == 8.75
    assert m[S.INVENTORY_STD] == pytest.approx(math.sqrt(518.75 / 4.0), rel=1e-12)  # ddof = 0
    assert m[S.MAX_ABS_INVENTORY] == 20.0
    assert m[S.FINAL_INVENTORY] == 5.0
    assert m[S.FILL_RATIO] == pytest.approx(4.0 / 12.0)  # filled 1+2+1 of posted 6+6


def test_hand_fill_metrics(hand):
    steps, fills = hand
    m = metrics(steps, fills)
    assert m[S.N_FILLS] == 4
    assert m[S.VOLUME] == 65.0
    # long 10 @99.9 closed @100.2 -> +3; short 20 @100.2 closed @100.3 -> -2; long 5 stays open
    assert m[S.N_ROUND_TRIPS] == 2
    assert m[S.WIN_RATE] == 0.5
    assert m[S.PROFIT_FACTOR] == pytest.approx(1.5)
    # side*(mid_at_fill - price)*qty: +1.0, +3.0, -5.0, +0.5 -> -0.5 over 65 shares
    assert m[S.SPREAD_CAPTURED] == pytest.approx(-0.5 / 65.0, rel=1e-9)
    # H = 1 s: mid(t + 1), the mid of the last step ending at or before t + 1 (steps end at 1, 2, 3, 4):
    # 100.0 (1.5), 100.1 (2.5), 100.05 (3.5), 99.9 (4.5: past the end) = each fill's mid_at_fill -> 0
    assert m[S.ADVERSE_SELECTION] == pytest.approx(0.0, abs=1e-12)
    # H = 2 s: mid(t + 2) = 100.1 (2.5), 100.05 (3.5), 99.9 (4.5), 99.9 (5.5)
    # side*(mid_at_fill - mid(t + H))*qty: -1.0, -1.5, +3.0, 0.0 -> 0.5 over 65 shares
    m = metrics(steps, fills, horizon_s=2.0)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(0.5 / 65.0, rel=1e-9)


def test_metric_keys_are_the_episode_schema():
    m = metrics(make_steps([1.0, 2.0]))
    assert tuple(m) == S.EPISODE_METRICS


def test_adverse_selection_horizon_zero_is_zero_when_mid_at_fill_is_mid_t_fill(hand):
    steps, fills = hand
    # mid_at_fill as the runner writes it, mid(t_fill): the mid before the episode (any number: no step has
    # ended at 0.5 s), then the mids of the steps ending at 1, 2 and 3 s
    fills = fills.assign(**{S.MID_AT_FILL: [99.95, 100.0, 100.1, 100.05]})
    m = metrics(steps, fills, horizon_s=0.0)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(0.0, abs=1e-12)
    # H = 0.5 s lands exactly on the step ends 1, 2, 3, 4 s: mid(t + H) = 100.0, 100.1, 100.05, 99.9
    # side*(mid(t) - mid(t + H))*qty: (99.95-100.0)*10 = -0.5, -(100.0-100.1)*30 = +3.0,
    # (100.1-100.05)*20 = +1.0, (100.05-99.9)*5 = +0.75 -> 4.25 over 65 shares
    m = metrics(steps, fills, horizon_s=0.5)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(4.25 / 65.0, rel=1e-9)


def test_adverse_selection_float_time_boundary():
    steps = make_steps([0.0, 0.0, 0.0], mid=[101.0, 105.0, 110.0], time=[1.0, 2.0, 3.0])
    # 0.1 + 0.2 = 0.30000000000000004, + 0.7 lands a hair after 1.0: must still use the step ending at 1.0
    fills = make_fills([(0, 0.1 + 0.2, 1, 99.0, 1.0, 100.0)])
    m = metrics(steps, fills, horizon_s=0.7)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(100.0 - 101.0)
    # fill time + H equal to a step's end: that step (the last one ending at or before t + H), not the next
    m = metrics(steps, make_fills([(0, 1.0, 1, 99.0, 1.0, 100.0)]), horizon_s=1.0)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(100.0 - 105.0)


def test_adverse_selection_past_episode_end_uses_last_mid():
    steps = make_steps([0.0, 0.0], mid=[101.0, 97.0], time=[1.0, 2.0])
    fills = make_fills([(1, 1.5, -1, 100.5, 2.0, 100.0)])
    m = metrics(steps, fills, horizon_s=60.0)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(-1.0 * (100.0 - 97.0))


# ----------------------------------------------------------------------------------------------------------
# Edge cases.


@pytest.mark.parametrize("fills", [None, "empty"])
def test_no_fills(fills):
    steps = make_steps([0.5, 1.0, 0.0])
    if fills == "empty":
        fills = make_fills([])
    m = metrics(steps, fills)
    assert m[S.N_FILLS] == 0
    assert m[S.VOLUME] == 0.0
    assert m[S.N_ROUND_TRIPS] == 0
    for k in (S.WIN_RATE, S.PROFIT_FACTOR, S.SPREAD_CAPTURED, S.ADVERSE_SELECTION):
        assert math.isnan(m[k]), k
    assert m[S.TOTAL_PNL] == 0.0
    assert m[S.MAX_DRAWDOWN] == 1.0


def test_no_losses():
    m = metrics(make_steps([1.0, 3.0, 4.0]))
    assert math.isnan(m[S.SORTINO])
    assert m[S.MAX_DRAWDOWN] == 0.0
    assert m[S.MAX_DRAWDOWN_PCT] == 0.0
    assert math.isnan(m[S.CALMAR])
    assert m[S.SHARPE] > 0


def test_flat_pnl():
    m = metrics(make_steps(np.zeros(5)))
    assert m[S.SHARPE] == 0.0
    assert math.isnan(m[S.SORTINO])
    assert m[S.TOTAL_PNL] == 0.0
    assert m[S.MAX_DRAWDOWN] == 0.0
    assert math.isnan(m[S.CALMAR])
    assert m[S.VAR_95] == 0.0
    assert m[S.CVAR_95] == 0.0


def test_constant_increments_with_rounding_noise_count_as_zero_std():
    pnl = np.cumsum(np.full(10, 0.1))  # diffs are 0.1 up to rounding, std ~1e-17
    assert np.std(np.diff(pnl, prepend=0.0), ddof=1) > 0  # the noise is really there
    m = metrics(make_steps(pnl))
    assert m[S.SHARPE] == 0.0


def test_single_step_gain():
    m = metrics(make_steps([5.0], inventory=[3.0]))
    assert m[S.N_STEPS] == 1
    assert math.isnan(m[S.SHARPE])
    assert math.isnan(m[S.SORTINO])
    assert m[S.MAX_DRAWDOWN] == 0.0
    assert m[S.INVENTORY_STD] == 0.0
    assert m[S.AVG_ABS_INVENTORY] == 3.0
    assert math.isnan(m[S.INVENTORY_VAR_95])  # one step: h cannot be inferred
    m = metrics(make_steps([5.0], inventory=[3.0]), step_dt=4.0)
    assert m[S.INVENTORY_VAR_95] == pytest.approx(3.0 * 100.0 * 1.645 * 0.01 * 2.0)


def test_single_step_loss():
    m = metrics(make_steps([-2.0]))
    assert m[S.SORTINO] == pytest.approx(-1.0)
    assert m[S.MAX_DRAWDOWN] == 2.0
    assert m[S.MAX_DRAWDOWN_PCT] == pytest.approx(2.0 / CAP)
    assert m[S.CALMAR] == pytest.approx(-1.0)
    assert m[S.VAR_95] == 2.0
    assert m[S.CVAR_95] == 2.0


def test_drawdown_includes_initial_zero():
    m = metrics(make_steps([-3.0, -1.0]))
    assert m[S.MAX_DRAWDOWN] == 3.0
    np.testing.assert_array_equal(drawdown_path([-3.0, -1.0]), [0.0, 3.0, 1.0])


def test_max_drawdown_pct_uses_the_peak_before_the_trough():
    # path [0, 10, 4, 20, 15]: largest drawdown 6 (peak 10), a later one of 5 has peak 20
    m = metrics(make_steps([10.0, 4.0, 20.0, 15.0]), capital=100.0)
    assert m[S.MAX_DRAWDOWN] == 6.0
    assert m[S.MAX_DRAWDOWN_PCT] == pytest.approx(6.0 / 110.0)


def test_var_cvar_interpolates():
    # x = [-3, -1, 0, 2, 5] in some order; 0.05-quantile at position 0.2 -> -3 + 0.2 * 2 = -2.6
    x = np.array([2.0, -3.0, 5.0, -1.0, 0.0])
    m = metrics(make_steps(np.cumsum(x)))
    assert m[S.VAR_95] == pytest.approx(2.6)
    assert m[S.CVAR_95] == pytest.approx(3.0)


def test_inventory_var_skips_warmup_sigma_and_infers_step():
    steps = make_steps([0.0] * 3, inventory=[1.0, 2.0, 4.0], sigma=[np.nan, 0.02, 0.01], time=[0.5, 1.0, 1.5])
    m = metrics(steps)
    h = 0.5
    expected = np.mean([2.0 * 100 * 1.645 * 0.02 * math.sqrt(h), 4.0 * 100 * 1.645 * 0.01 * math.sqrt(h)])
    assert m[S.INVENTORY_VAR_95] == pytest.approx(expected)


def test_steps_order_does_not_matter(hand):
    steps, fills = hand
    a = metrics(steps, fills)
    b = metrics(steps.iloc[::-1], fills.iloc[::-1])
    assert a == pytest.approx(b, nan_ok=True)


def test_fill_ratio_nan_when_nothing_posted():
    m = metrics(make_steps([0.0, 0.0], posted_bid=0.0, posted_ask=0.0))
    assert math.isnan(m[S.FILL_RATIO])


# ----------------------------------------------------------------------------------------------------------
# Refusals.


def test_inconsistent_dpnl_is_refused():
    steps = make_steps([1.0, 2.0, 3.0])
    steps.loc[1, S.DPNL] = 5.0
    with pytest.raises(ValueError, match="dpnl disagrees .* step 1"):
        metrics(steps)


def test_duplicate_step_is_refused():
    steps = make_steps([1.0, 2.0])
    steps[S.STEP] = np.int32(0)
    with pytest.raises(ValueError, match="step 0 appears more than once"):
        metrics(steps)


def test_several_episodes_are_refused():
    steps = pd.concat([make_steps([1.0], seed=1), make_steps([1.0], seed=2)])
    with pytest.raises(ValueError, match="holds 2 episodes"):
        metrics(steps)


def test_fills_of_another_episode_are_refused(hand):
    steps, fills = hand
    with pytest.raises(ValueError, match="another episode"):
        metrics(steps, fills.assign(seed=np.int64(9)))


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"capital": 0.0}, "capital"),
        ({"horizon_s": -1.0}, "horizon_s"),
        ({"liquidation_cost": -1.0}, "liquidation_cost"),
        ({"step_dt": 0.0}, "step_dt"),
    ],
)
def test_bad_parameters_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        metrics(make_steps([1.0, 2.0]), **kw)


def test_empty_and_nonfinite_steps_are_refused():
    with pytest.raises(ValueError, match="no steps"):
        metrics(make_steps([]))
    steps = make_steps([1.0, np.nan])
    steps[S.DPNL] = [1.0, np.nan]
    with pytest.raises(ValueError, match="pnl is not finite at step 1"):
        metrics(steps)


def test_missing_column_is_refused():
    with pytest.raises(ValueError, match="missing columns.*sigma"):
        metrics(make_steps([1.0]).drop(columns=[S.SIGMA]))


# ----------------------------------------------------------------------------------------------------------
# FIFO round trips.


def _fills(rows):
    return make_fills([(i, float(i), s, p, q, p) for i, (s, p, q) in enumerate(rows)])


def test_fifo_hand_log_with_partial_splits():
    fills = _fills([(1, 100.0, 10.0), (1, 101.0, 5.0), (-1, 102.0, 12.0), (-1, 99.0, 8.0), (1, 98.0, 5.0)])
    rt = fifo_round_trips(fills)
    # sell 12 closes 10 @100 (+20) and 2 of the 5 @101 (+2); sell 8 closes the other 3 @101 (-6) and opens
    # a short of 5 @99; buy 5 @98 closes it (+5)
    assert rt["qty"].tolist() == [10.0, 2.0, 3.0, 5.0]
    assert rt["direction"].tolist() == [1, 1, 1, -1]
    assert rt["open_price"].tolist() == [100.0, 101.0, 101.0, 99.0]
    assert rt["close_price"].tolist() == [102.0, 102.0, 99.0, 98.0]
    np.testing.assert_allclose(rt["pnl"], [20.0, 2.0, -6.0, 5.0])
    assert rt["open_step"].tolist() == [0, 1, 1, 3]
    assert rt["close_step"].tolist() == [2, 2, 3, 4]
    m = metrics(make_steps(np.zeros(5)), fills)
    assert m[S.WIN_RATE] == 0.75
    assert m[S.PROFIT_FACTOR] == pytest.approx(27.0 / 6.0)


def test_fifo_sorts_by_time():
    fills = _fills([(1, 100.0, 1.0), (-1, 105.0, 1.0), (-1, 103.0, 1.0)])
    shuffled = fills.iloc[[2, 0, 1]]
    rt = fifo_round_trips(shuffled)
    assert rt["pnl"].tolist() == [
        5.0
    ]  # buy @100 (t=0) closed by the sell @105 (t=1); the t=2 sell stays open
    assert rt["close_time"].tolist() == [1.0]


def test_fifo_rounding_residue_is_not_a_lot():
    fills = _fills([(1, 10.0, 0.1), (1, 11.0, 0.2), (-1, 12.0, 0.3), (1, 20.0, 1.0), (-1, 21.0, 1.0)])
    rt = fifo_round_trips(fills)
    assert len(rt) == 3
    assert rt["open_price"].tolist() == [10.0, 11.0, 20.0]
    np.testing.assert_allclose(rt["pnl"], [0.2, 0.2, 1.0])


def test_zero_pnl_round_trip_counts_but_does_not_win():
    fills = _fills([(1, 100.0, 1.0), (-1, 100.0, 1.0), (1, 100.0, 1.0), (-1, 101.0, 1.0)])
    m = metrics(make_steps(np.zeros(4)), fills)
    assert m[S.N_ROUND_TRIPS] == 2
    assert m[S.WIN_RATE] == 0.5
    assert math.isnan(m[S.PROFIT_FACTOR])  # no losing round trip


def test_fifo_empty_and_open_only():
    assert len(fifo_round_trips(None)) == 0
    assert list(fifo_round_trips(make_fills([])).columns) == [
        "direction",
        "qty",
        "open_time",
        "open_step",
        "open_price",
        "close_time",
        "close_step",
        "close_price",
        "pnl",
    ]
    assert len(fifo_round_trips(_fills([(1, 100.0, 1.0), (1, 101.0, 2.0)]))) == 0


# ----------------------------------------------------------------------------------------------------------
# Many episodes.


def test_episodes_table_matches_episode_metrics_and_schema():
    steps, fills = simulate_run(seeds=(0, 1), n_steps=60)
    ep = episodes_table(steps, fills, capital=1e4, horizon_s=1.0)
    assert list(ep.columns) == list(S.EPISODES_COLUMNS)
    assert len(ep) == 3 * 2
    S.conform(ep, S.EPISODES_SCHEMA, strict=False)
    for _, row in ep.iterrows():
        key = (steps[S.STRATEGY] == row[S.STRATEGY]) & (steps[S.SEED] == row[S.SEED])
        fkey = (fills[S.STRATEGY] == row[S.STRATEGY]) & (fills[S.SEED] == row[S.SEED])
        one = episode_metrics(steps[key], fills[fkey], capital=1e4, horizon_s=1.0)
        assert {k: row[k] for k in S.EPISODE_METRICS} == pytest.approx(one, nan_ok=True)
        assert row[S.N_FILLS] == steps.loc[key, S.N_FILLS].sum()
        assert row[S.TOTAL_PNL] == steps.loc[key, S.PNL].iloc[-1]


def test_episodes_table_liquidation_callable_and_orphan_fills():
    steps, fills = simulate_run(seeds=(0,), n_steps=30)

    def cost(g):
        return abs(g[S.INVENTORY].iloc[-1]) * 0.01

    ep = episodes_table(steps, fills, capital=1e4, horizon_s=1.0, liquidation_cost=cost)
    np.testing.assert_allclose(
        ep[S.TOTAL_PNL] - ep[S.TOTAL_PNL_LIQUIDATED], ep[S.FINAL_INVENTORY].abs() * 0.01
    )
    with pytest.raises(ValueError, match="fills for episodes without steps"):
        episodes_table(steps, fills.assign(seed=np.int64(99)), capital=1e4, horizon_s=1.0)
    no_fills = episodes_table(steps, None, capital=1e4, horizon_s=1.0)
    assert (no_fills[S.N_FILLS] == 0).all()


def test_episodes_table_names_the_failing_episode():
    steps = pd.concat([make_steps([1.0, 2.0], seed=1), make_steps([1.0, 2.0], seed=2)], ignore_index=True)
    steps.loc[3, S.DPNL] = 9.0
    with pytest.raises(ValueError, match="'seed': 2"):
        episodes_table(steps, None, capital=CAP, horizon_s=1.0)
