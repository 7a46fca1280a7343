"""Market realism report: statistics on hand-checkable records, real-data resampling, the report files, the CLI.

The statistics are computed from a record array alone (``market_nb.REC_*`` columns), so most tests feed
:func:`market_stats` a synthetic record whose autocorrelation, kurtosis, spread, depth, order-flow response or
regime path is known by construction. The report itself runs on a short simulation (a few thousand steps).
"""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from almm_rllib.cli import main as cli_main
from almm_rllib.core import market_nb as mk
from almm_rllib.core.config import ConfigError
from almm_rllib.core.market_config import MarketConfig, RegimeConfig
from almm_rllib.core.risk import var_cvar
from almm_rllib.data.lobster import read_lobster
from almm_rllib.results import market_report as mr
from almm_rllib.results.market_report import estimators

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"


def make_rec(mid, *, spread=1.0, buy=None, sell=None, regime=None, depth=None, fair=None) -> np.ndarray:
    """A record array with the given mid path (ticks); bid/ask at mid -+ spread/2."""
    mid = np.asarray(mid, np.float64)
    n = mid.size
    rec = np.zeros((n, mk.REC_SIZE))
    rec[:, mk.REC_TIME] = np.arange(1, n + 1)
    rec[:, mk.REC_MID] = mid
    sp = np.broadcast_to(np.asarray(spread, np.float64), (n,))
    rec[:, mk.REC_BID] = mid - sp / 2
    rec[:, mk.REC_ASK] = mid + sp / 2
    rec[:, mk.REC_FAIR] = mid if fair is None else fair
    rec[:, mk.REC_REGIME] = 0 if regime is None else regime
    rec[:, mk.REC_MKT_BUY] = 0 if buy is None else buy
    rec[:, mk.REC_MKT_SELL] = 0 if sell is None else sell
    rec[:, mk.REC_DEPTH : mk.REC_DEPTH + 2 * mk.REC_DEPTH_N] = 10.0 if depth is None else depth
    return rec


def mid_from_returns(r, p0: float = 10_000.0) -> np.ndarray:
    """A mid path (ticks) whose log returns are exactly ``r``."""
    return p0 * np.exp(np.r_[0.0, np.cumsum(r)])


def ar1(phi: float, n: int, seed: int, scale: float = 1e-4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n) * scale
    r = np.empty(n)
    r[0] = e[0]
    for t in range(1, n):
        r[t] = phi * r[t - 1] + e[t]
    return r


# ------------------------------------------------------------------------------------------------------------
# statistics on synthetic records


def test_acf_of_alternating_series_is_hand_computed():
    x = np.array([1.0, -1.0] * 10)  # mean 0; lag-1 products are all -1: -19/20; lag-2 all +1: 18/20
    acf = estimators.acf(x, 3)
    assert acf[0] == pytest.approx(-19 / 20)
    assert acf[1] == pytest.approx(18 / 20)
    assert acf[2] == pytest.approx(-17 / 20)


def test_return_autocorrelation_and_variance_ratio_of_an_ar1():
    phi = -0.4
    r = ar1(phi, 40_000, seed=1)
    st = mr.market_stats(make_rec(mid_from_returns(r)), dt=1.0)
    acf = st["returns"]["step"]["acf"]
    assert len(acf) == 20
    assert acf[0] == pytest.approx(phi, abs=0.02)
    assert acf[1] == pytest.approx(phi**2, abs=0.02)
    assert abs(acf[9]) < 0.03
    # variance ratio of 10-step sums: 1 + 2 sum_k (1 - k/10) phi^k
    vr_theory = 1 + 2 * sum((1 - k / 10) * phi**k for k in range(1, 10))
    sig = st["signature"]
    assert sig["horizon_s"][0] == 1.0
    assert sig["variance_ratio"][0] == pytest.approx(1.0)
    vr10 = sig["variance_ratio"][sig["horizon_s"].index(10.0)]
    assert vr10 == pytest.approx(vr_theory, abs=0.08)
    # the coarse (10-step) returns of an AR(1) are nearly uncorrelated
    assert abs(st["returns"]["coarse"]["acf"][0]) < 0.06
    assert st["returns"]["coarse"]["steps"] == 10
    assert st["returns"]["coarse"]["horizon_s"] == 10.0
    # std of the innovations / sqrt(1 - phi^2) is the return vol
    assert st["returns"]["step"]["vol"] == pytest.approx(1e-4 / math.sqrt(1 - phi**2), rel=0.02)


def test_kurtosis_of_a_three_point_distribution():
    # 5% +a, 5% -a, 90% zero: E[x^4] / E[x^2]^2 = 1 / 0.1, so the (biased) excess kurtosis is exactly 7
    n = 20_000
    rng = np.random.default_rng(3)
    r = np.zeros(n)
    idx = rng.permutation(n)
    r[idx[: n // 20]] = 2e-4
    r[idx[n // 20 : n // 10]] = -2e-4
    st = mr.market_stats(make_rec(mid_from_returns(r)), dt=1.0)
    g2 = 7.0
    unbiased = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
    k = st["returns"]["step"]["kurtosis"]
    assert k == pytest.approx(unbiased, rel=1e-6)
    assert k == pytest.approx(sps.kurtosis(r, fisher=True, bias=False), rel=1e-6)
    assert st["returns"]["step"]["skew"] == pytest.approx(0.0, abs=1e-6)
    # a normal sample: excess kurtosis near 0, tail quantiles near the normal's
    z = np.random.default_rng(4).standard_normal(50_000) * 1e-4
    st = mr.market_stats(make_rec(mid_from_returns(z)), dt=1.0)
    rs = st["returns"]["step"]
    assert abs(rs["kurtosis"]) < 0.1
    assert rs["tails"]["quantiles"]["0.01"] == pytest.approx(rs["tails"]["normal"]["0.01"], abs=0.08)
    assert rs["tails"]["normal"]["0.99"] == pytest.approx(2.3263, abs=1e-4)


def test_volatility_clustering_shows_in_abs_and_squared_acf():
    rng = np.random.default_rng(5)
    n = 30_000
    vol = np.repeat(rng.choice([0.5e-4, 3e-4], size=n // 100), 100)  # calm and busy stretches of 100 steps
    r = rng.standard_normal(n) * vol
    st = mr.market_stats(make_rec(mid_from_returns(r)), dt=1.0)
    rs = st["returns"]["step"]
    assert rs["abs_acf"][0] > 0.3
    assert rs["sq_acf"][0] > 0.2
    assert rs["abs_acf"][19] > 0.2
    assert abs(rs["acf"][0]) < 0.03
    iid = mr.market_stats(make_rec(mid_from_returns(rng.standard_normal(n) * 1e-4)), dt=1.0)
    assert abs(iid["returns"]["step"]["abs_acf"][0]) < 0.03


def test_spread_depth_and_activity_figures():
    n = 1000
    spread = np.array([1.0] * 700 + [2.0] * 200 + [4.0] * 100)
    depth = np.tile(np.array([5.0, 6, 7, 8, 9, 4, 5, 6, 7, 8]), (n, 1))
    buy = np.full(n, 2.0)
    sell = np.full(n, 1.0)
    rec = make_rec(np.full(n, 10_000.0), spread=spread, depth=depth, buy=buy, sell=sell)
    rec[::2, mk.REC_N_BG] = 4.0
    rec[:, mk.REC_N_ORDERS] = 50.0
    st = mr.market_stats(rec, dt=0.5, tick_size=0.01)
    sp = st["spread"]
    assert sp["mean"] == pytest.approx(1.5)  # 0.7 * 1 + 0.2 * 2 + 0.1 * 4
    assert sp["median"] == 1.0
    assert sp["frac_one_tick"] == pytest.approx(0.7)
    assert sp["frac_1_to_3"] == pytest.approx(0.9)
    assert sp["pmf"] == {1: pytest.approx(0.7), 2: pytest.approx(0.2), 4: pytest.approx(0.1)}
    assert sp["frac_crossed"] == 0.0
    assert sp["frac_one_sided"] == 0.0
    assert sp["mean_bps"] == pytest.approx(1.5)  # 1.5 ticks on a 10,000-tick price
    assert st["mean_price"] == pytest.approx(100.0)
    assert st["depth"]["bid"] == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert st["depth"]["ask"] == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert st["depth"]["level1_mean"] == 4.5
    assert st["depth"]["shape"][1] == pytest.approx(5.5 / 4.5)
    act = st["activity"]
    assert act["aggressive_lots_per_s"] == pytest.approx(3.0 / 0.5)
    assert act["buy_share"] == pytest.approx(2 / 3)
    assert act["events_per_s"] == pytest.approx(4.0 * 500 / (n * 0.5))  # 500 rows of 4 events in 500 s
    assert act["mean_resting_orders"] == 50.0
    assert st["seconds"] == 500.0
    # a one-sided row and a crossed row are counted
    rec[0, mk.REC_ASK] = np.nan
    rec[1, mk.REC_ASK] = rec[1, mk.REC_BID]
    st = mr.market_stats(rec, dt=0.5)
    assert st["spread"]["frac_one_sided"] == pytest.approx(1 / n)
    assert st["spread"]["frac_crossed"] == pytest.approx(1 / (n - 1))


def test_ofi_same_step_and_next_step():
    rng = np.random.default_rng(7)
    n = 20_000
    f = rng.integers(-5, 6, size=n).astype(float)
    f[0] = 0.0
    mid = 10_000.0 + np.cumsum(0.5 * f)  # the mid moves 0.5 tick per lot of net buying, in the same step
    buy, sell = np.maximum(f, 0), np.maximum(-f, 0)
    st = mr.market_stats(make_rec(mid, buy=buy, sell=sell), dt=1.0)
    o = st["ofi"]["step"]
    assert o["corr"] == pytest.approx(1.0)
    assert o["slope_ticks_per_lot"] == pytest.approx(0.5)
    assert o["intercept_ticks"] == pytest.approx(0.0, abs=1e-9)
    assert abs(o["next_corr"]) < 0.03
    assert o["n"] == n - 1
    oc = st["ofi"]["coarse"]
    assert oc["corr"] == pytest.approx(1.0)
    assert oc["slope_ticks_per_lot"] == pytest.approx(0.5)
    # flow that moves the price one step late: no same-step link, full next-step link
    late = 10_000.0 + np.cumsum(0.5 * np.r_[0.0, f[:-1]])
    st = mr.market_stats(make_rec(late, buy=buy, sell=sell), dt=1.0)
    assert abs(st["ofi"]["step"]["corr"]) < 0.03
    assert st["ofi"]["step"]["next_corr"] == pytest.approx(1.0)
    assert st["ofi"]["step"]["next_slope_ticks_per_lot"] == pytest.approx(0.5)


def test_var_cvar_are_core_risk_of_one_step_log_returns():
    r = np.random.default_rng(8).standard_t(4, size=5000) * 1e-4
    mid = mid_from_returns(r)
    st = mr.market_stats(make_rec(mid), dt=1.0)
    lr = np.diff(np.log(mid))
    for a in (0.95, 0.99):
        vc = var_cvar(lr, a)
        got = st["returns"]["step"]["var_cvar"][f"{a:g}"]
        assert got["var"] == pytest.approx(vc.var)
        assert got["cvar"] == pytest.approx(vc.cvar)
        assert got["var_bps"] == pytest.approx(1e4 * vc.var)
        assert got["cvar"] >= got["var"] > 0


def test_regime_occupancy_holding_times_and_per_regime_vol():
    rc = RegimeConfig()
    reg = np.array([0] * 600 + [1] * 300 + [2] * 100)
    st = mr.regime_stats(make_rec(np.full(reg.size, 1e4), regime=reg), dt=2.0, regimes=rc)
    assert st["occupancy"] == pytest.approx([0.6, 0.3, 0.1])
    assert st["stationary"] == pytest.approx([0.4, 0.4, 0.2])
    assert st["n_switches"] == 2
    assert math.isnan(st["mean_holding_s"][0]) and math.isnan(st["mean_holding_s"][2])  # censored spells
    assert st["mean_holding_s"][1] == 600.0  # 300 rows of 2 s
    assert st["expected_holding_s"] == pytest.approx([192.0, 160.0, 160.0])
    assert st["max_abs_dev"] == pytest.approx(0.2)

    # per-regime volatility of returns that stay in one regime; dt = 0.5 s checks the sqrt(dt) scaling
    rng = np.random.default_rng(9)
    sig = np.array(rc.volatility)
    reg = np.tile(np.array([0] * 300 + [1] * 200 + [2] * 100), 60)
    dt = 0.5
    r = rng.standard_normal(reg.size - 1) * sig[reg[1:]] * math.sqrt(dt)
    rec = make_rec(mid_from_returns(r), regime=reg)
    st = mr.market_stats(rec, dt=dt, regimes=rc)["regimes"]
    assert st["vol_step"] == pytest.approx(list(sig), rel=0.05)
    assert st["vol_coarse"] == pytest.approx(list(sig), rel=0.1)
    assert st["n_switches"] == 3 * 60 - 1
    assert st["mean_holding_s"] == pytest.approx([150.0, 100.0, 50.0])
    # no regime config: no regime section
    assert mr.market_stats(rec, dt=dt)["regimes"] is None


def test_checks_pass_and_fail_on_the_figures():
    bounce = mr.market_stats(make_rec(mid_from_returns(ar1(-0.3, 20_000, seed=11))), dt=1.0)
    trend = mr.market_stats(make_rec(mid_from_returns(ar1(0.6, 20_000, seed=11))), dt=1.0)
    ok = {c["id"]: c["passed"] for c in mr.plausibility_checks(bounce, None, switching=False)}
    bad = {c["id"]: c["passed"] for c in mr.plausibility_checks(trend, None, switching=False)}
    assert ok["bounce"] is True and bad["bounce"] is False
    assert ok["acf_coarse"] is True and bad["acf_coarse"] is False
    assert ok["spread"] is True  # one tick everywhere
    assert ok["clustering"] is None  # nothing to cluster when the regime is pinned
    assert ok["ofi"] is None  # no flow at all: correlation undefined
    good = {"configured_vol": 1e-4, "ratio_step": 1.1, "ratio_coarse": 0.95, "fair_ratio": 1.01}
    lag = {"configured_vol": 1e-4, "ratio_step": 0.4, "ratio_coarse": 0.6, "fair_ratio": 1.0}
    res = {c["id"]: c["passed"] for c in mr.plausibility_checks(bounce, {"a": good, "b": good})}
    assert res["vol_step"] is True and res["vol_coarse"] is True and res["fair_vol"] is True
    res = {c["id"]: c["passed"] for c in mr.plausibility_checks(bounce, {"a": good, "b": lag})}
    assert res["vol_step"] is False and res["vol_coarse"] is False and res["fair_vol"] is True
    moved = {**good, "fair_ratio": 0.7, "fair_is_gbm": False}  # order flow moves the fair price
    res = {c["id"]: c["passed"] for c in mr.plausibility_checks(bounce, {"a": good, "b": moved})}
    assert res["fair_vol"] is None and res["vol_step"] is True
    res = {
        c["id"]: c["passed"]
        for c in mr.plausibility_checks(bounce, {"a": good, "b": {**good, "fair_ratio": 0.7}})
    }
    assert res["fair_vol"] is False


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="REC_SIZE|float\\[n_steps"):
        mr.market_stats(np.zeros((10, 3)), dt=1.0)
    with pytest.raises(ValueError, match="positive mid"):
        mr.market_stats(make_rec(np.full(20, np.nan)), dt=1.0)
    with pytest.raises(ValueError, match="dt"):
        mr.market_stats(make_rec(np.full(20, 1e4)), dt=0.0)
    with pytest.raises(ValueError, match="model='lob'"):
        mr.market_report(MarketConfig(model="stylized"), seconds=100, seed=0, out_dir="unused")


def test_default_run_length_covers_many_regime_spells():
    assert mr.default_seconds(MarketConfig()) == mr.SESSION_SECONDS
    slow = RegimeConfig(
        names=("a", "b"),
        volatility=(1e-4, 2e-4),
        transition_rates=((0, 1 / 1000), (1 / 500, 0)),
        limit_rate_mult=(1, 1),
        market_rate_mult=(1, 1),
        cancel_rate_mult=(1, 1),
    )
    assert mr.default_seconds(MarketConfig(regimes=slow)) == pytest.approx(mr.SWITCHES_PER_RUN * 1000)


# ------------------------------------------------------------------------------------------------------------
# real data on the same grid


def _write_lobster(folder: pathlib.Path) -> pathlib.Path:
    # time, type, id, size, price (x10000), direction (side of the resting order)
    msgs = [
        (100.2, 1, 1, 100, 1000100, -1),  # new ask
        (100.5, 4, 2, 200, 1000000, 1),  # a resting bid executed: an aggressive sell of 2 lots
        (101.5, 4, 3, 50, 1000100, -1),  # a resting ask executed: an aggressive buy of 0.5 lot
        (
            102.0,
            5,
            4,
            100,
            1000050,
            -1,
        ),  # hidden ask executed at the half-penny: buy 1 lot (at the grid time)
        (103.0, 1, 5, 100, 999900, 1),  # new bid
    ]
    book = [
        (1000100, 100, 1000000, 200),
        (1000100, 100, 999900, 300),
        (1000100, 50, 999900, 300),
        (1000100, 50, 999900, 300),
        (1000100, 50, 999900, 400),
    ]
    m = folder / "TEST_2012-06-21_34200000_57600000_message_1.csv"
    o = folder / "TEST_2012-06-21_34200000_57600000_orderbook_1.csv"
    m.write_text("".join(",".join(map(str, r)) + "\n" for r in msgs))
    o.write_text("".join(",".join(map(str, r)) + "\n" for r in book))
    return m


def test_lobster_record_resamples_onto_the_grid(tmp_path):
    m = _write_lobster(tmp_path)
    mpath, opath = mr.find_lobster_pair(tmp_path, ticker="NONE")  # falls back to the first pair
    assert mpath == m and opath.name.endswith("_orderbook_1.csv")
    rec = mr.lobster_record(read_lobster(mpath, opath), dt=1.0)
    assert rec.shape == (3, mk.REC_SIZE)
    np.testing.assert_array_equal(rec[:, mk.REC_TIME], [101.0, 102.0, 103.0])
    np.testing.assert_array_equal(rec[:, mk.REC_BID], [9999.0, 9999.0, 9999.0])
    np.testing.assert_array_equal(rec[:, mk.REC_ASK], [10001.0, 10001.0, 10001.0])
    np.testing.assert_array_equal(rec[:, mk.REC_MID], [10000.0, 10000.0, 10000.0])
    np.testing.assert_array_equal(rec[:, mk.REC_MKT_SELL], [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(rec[:, mk.REC_MKT_BUY], [0.0, 1.5, 0.0])
    np.testing.assert_array_equal(rec[:, mk.REC_N_BG], [2.0, 2.0, 1.0])
    np.testing.assert_array_equal(rec[:, mk.REC_DEPTH], [3.0, 3.0, 4.0])
    np.testing.assert_array_equal(rec[:, mk.REC_DEPTH + mk.REC_DEPTH_N], [1.0, 0.5, 0.5])
    assert np.isnan(rec[:, mk.REC_DEPTH + 1]).all()  # a level-1 file: deeper levels unobserved
    assert np.isnan(rec[:, mk.REC_REGIME]).all() and np.isnan(rec[:, mk.REC_FAIR]).all()
    lone_dir = tmp_path / "lone"
    lone_dir.mkdir()
    lone = lone_dir / "TEST_2012-06-21_34200000_57600000_message_1.csv"
    lone.write_text("100.2,1,1,100,1000100,-1\n")
    with pytest.raises(FileNotFoundError, match="orderbook file paired"):
        mr.find_lobster_pair(lone)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no LOBSTER message file"):
        mr.find_lobster_pair(empty)


# ------------------------------------------------------------------------------------------------------------
# the report


def _run_report(out, **kw):
    args = dict(
        seconds=2000.0,
        dt=1.0,
        seed=5,
        out_dir=out,
        compare_lobster=None,
        pinned_seconds=1000.0,
        burn_in_seconds=60.0,
    )
    args.update(kw)
    return mr.market_report(MarketConfig(), **args)


def _strict_json(path: pathlib.Path) -> dict:
    def bad(c):
        raise AssertionError(f"non-standard JSON constant {c} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=bad)


def test_report_writes_both_files_with_every_key(tmp_path):
    out = tmp_path / "nested" / "report"
    path = _run_report(out)
    assert path == out / mr.REPORT_HTML
    assert sorted(p.name for p in out.iterdir()) == sorted([mr.REPORT_HTML, mr.STATS_FILE])  # no temp files
    st = _strict_json(out / mr.STATS_FILE)
    assert set(mr.STATS_KEYS) <= set(st)
    assert st["lobster"] is None
    assert st["meta"]["seed"] == 5 and st["meta"]["dt"] == 1.0 and st["meta"]["seconds"] == 2000.0
    sim = st["simulated"]
    assert sim["n_steps"] == 2000
    for key in ("spread", "depth", "returns", "signature", "ofi", "activity", "regimes", "mean_price"):
        assert key in sim, key
    for horizon in ("step", "coarse"):
        rs = sim["returns"][horizon]
        for key in ("vol", "vol_per_sqrt_s", "kurtosis", "acf", "abs_acf", "sq_acf", "tails", "var_cvar"):
            assert key in rs, (horizon, key)
        assert len(rs["acf"]) == 20
        assert set(rs["var_cvar"]) == {"0.95", "0.99"}
    assert len(sim["depth"]["bid"]) == len(sim["depth"]["ask"]) == mk.REC_DEPTH_N
    assert sim["regimes"]["names"] == list(MarketConfig().regimes.names)
    assert sum(sim["regimes"]["occupancy"]) == pytest.approx(1.0)
    assert list(st["per_regime"]) == list(MarketConfig().regimes.names)
    for name, pr in st["per_regime"].items():
        for key in (
            "configured_vol",
            "mid_vol_step",
            "mid_vol_coarse",
            "fair_vol_step",
            "ratio_step",
            "ratio_coarse",
            "gap_std_ticks",
            "spread_mean",
            "depth_level1",
            "acf1_step",
        ):
            assert key in pr, (name, key)
        if pr["fair_is_gbm"]:
            assert pr["fair_ratio"] == pytest.approx(1.0, abs=0.1)  # the fair price is the configured GBM
        else:  # order flow moves the fair price: the check stands aside, the mid's volatility checks remain
            assert next(c for c in st["checks"] if c["id"] == "fair_vol")["passed"] is None
    ids = {c["id"] for c in st["checks"]}
    assert ids == {
        "spread",
        "bounce",
        "acf_coarse",
        "clustering",
        "tails",
        "ofi",
        "occupancy",
        "vol_step",
        "vol_coarse",
        "fair_vol",
    }
    assert all(c["passed"] in (True, False, None) for c in st["checks"])
    assert [r["figure"] for r in st["summary"]][:2] == ["mean price", "spread, mean"]
    assert all(r["amzn"] is None for r in st["summary"])
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('src="data:image/png;base64,') == 10
    assert "<script" not in page and 'src="http' not in page
    for word in (
        "Spread",
        "Depth profile",
        "autocorrelation",
        "Volatility clustering",
        "Heavy tails",
        "Order-flow imbalance",
        "Regimes",
        "Value at risk",
        "PASS",
    ):
        assert word in page, word


def test_simulation_is_reproducible_for_a_seed():
    cfg = MarketConfig()
    a = mr.simulate(cfg, seconds=500.0, dt=1.0, seed=5, burn_in_seconds=30.0)
    b = mr.simulate(cfg, seconds=500.0, dt=1.0, seed=5, burn_in_seconds=30.0)
    c = mr.simulate(cfg, seconds=500.0, dt=1.0, seed=6, burn_in_seconds=30.0)
    assert a.shape == (500, mk.REC_SIZE)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:, mk.REC_MID], c[:, mk.REC_MID])
    sa, sb = (json.dumps(mr.jsonable(mr.market_stats(x, dt=1.0)), sort_keys=True) for x in (a, b))
    assert sa == sb


def test_a_failed_render_leaves_no_files(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(mr.page, "render_html", boom)
    with pytest.raises(RuntimeError, match="render failed"):
        _run_report(tmp_path, seconds=300.0, pinned_seconds=300.0)
    assert list(tmp_path.iterdir()) == []


def test_report_puts_amzn_beside_the_simulation(tmp_path):
    if not DATA.is_dir():
        pytest.fail(
            f"LOBSTER sample data not found at {DATA} (shared/data/lobster beside the clone)", pytrace=False
        )
    path = _run_report(tmp_path, seconds=1000.0, pinned_seconds=500.0, compare_lobster=DATA)
    st = _strict_json(path.parent / mr.STATS_FILE)
    lob = st["lobster"]
    assert lob["ticker"] == "AMZN"
    ls = lob["stats"]
    assert 200 < ls["mean_price"] < 240  # AMZN near $220 on 2012-06-21
    assert ls["spread"]["mean"] > 5  # a wide spread in ticks
    assert ls["returns"]["step"]["kurtosis"] > 3
    assert ls["ofi"]["step"]["corr"] > 0.2  # executions move the mid
    assert ls["regimes"] is None
    # the resampled data agree with data.lobster's own clock-grid statistics
    own = lob["lobster_stats"]["returns"]["1s"]
    assert ls["returns"]["step"]["vol"] == pytest.approx(own["vol"], rel=1e-9)
    assert ls["returns"]["step"]["frac_zero"] == pytest.approx(own["frac_zero"], rel=1e-9)
    rows = {r["figure"]: r for r in st["summary"]}
    assert rows["spread, mean"]["amzn"] == pytest.approx(ls["spread"]["mean"])
    page = path.read_text(encoding="utf-8")
    assert "AMZN" in page and "$220" in page
    with pytest.raises(FileNotFoundError, match="no LOBSTER message file"):
        empty = tmp_path / "empty"
        empty.mkdir()
        _run_report(tmp_path / "o", seconds=300.0, pinned_seconds=300.0, compare_lobster=empty)


def test_report_draws_without_pyplot_and_without_upper_layers(tmp_path):
    code = (
        "import sys\n"
        "from almm_rllib.core.market_config import MarketConfig\n"
        "from almm_rllib.results.market_report import market_report\n"
        f"market_report(MarketConfig(), seconds=300.0, seed=1, out_dir={str(tmp_path)!r}, compare_lobster=None,"
        " pinned_seconds=300.0, burn_in_seconds=30.0)\n"
        "print(','.join(m for m in ('matplotlib.pyplot', 'ray', 'torch', 'gymnasium') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""
    assert (tmp_path / mr.REPORT_HTML).is_file()


# ------------------------------------------------------------------------------------------------------------
# command line


def test_cli_tiny_run_exits_zero(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = cli_main(
        ["market-report", "--seconds", "300", "--dt", "1", "--seed", "2", "--out", str(out), "--no-lobster"]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert f"report: {out / mr.REPORT_HTML}" in text
    assert "spread, mean" in text
    assert "[PASS]" in text or "[FAIL]" in text
    assert (out / mr.REPORT_HTML).is_file() and (out / mr.STATS_FILE).is_file()
    st = _strict_json(out / mr.STATS_FILE)
    assert st["meta"]["seconds"] == 300.0 and st["meta"]["seed"] == 2


def test_cli_config_file_overrides_the_market(tmp_path, capsys):
    cfg = tmp_path / "market.yaml"
    cfg.write_text("flow:\n  cancel_rate: 0.5\nregimes:\n  switching: false\n  initial: high\n")
    out = tmp_path / "o"
    assert (
        cli_main(
            ["market-report", "--seconds", "200", "--out", str(out), "--no-lobster", "--config", str(cfg)]
        )
        == 0
    )
    st = _strict_json(out / mr.STATS_FILE)
    assert st["meta"]["config"]["flow"]["cancel_rate"] == 0.5
    assert st["meta"]["switching"] is False
    assert set(st["simulated"]["regimes"]["occupancy"]) <= {0.0, 1.0}
    assert st["simulated"]["regimes"]["occupancy"][2] == 1.0  # pinned to "high"
    checks = {c["id"]: c["passed"] for c in st["checks"]}
    assert checks["clustering"] is None and "occupancy" not in checks
    capsys.readouterr()


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("flow:\n  limit_rat: 3\n", "flow.limit_rat"),
        ("tick_sise: 0.01\n", "tick_sise"),
        ("flow:\n  limit_rate: fast\n", "flow.limit_rate"),
        ("regimes:\n  volatility: [1.0e-4, -1.0e-4, 2.0e-4]\n", "regimes.volatility[1]"),
    ],
)
def test_cli_bad_config_names_the_key_and_the_file(tmp_path, capsys, yaml_text, key):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    out = tmp_path / "o"
    rc = cli_main(
        ["market-report", "--seconds", "100", "--out", str(out), "--no-lobster", "--config", str(cfg)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert key in err and str(cfg) in err
    assert not out.exists()  # nothing was run
    with pytest.raises(ConfigError) as e:
        mr.cli._load_config(str(cfg))
    assert e.value.key == key and e.value.source == str(cfg)


def test_cli_unreadable_config_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert cli_main(["market-report", "--config", str(missing), "--no-lobster"]) == 2
    assert str(missing) in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("flow: [unclosed\n")
    assert cli_main(["market-report", "--config", str(broken), "--no-lobster"]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_large_tick_checks_are_not_applicable_to_a_wide_spread_preset():
    """The spread-of-1-3-ticks and bounce checks describe a large-tick stock: for a preset whose typical spread
    is wider (AMZN's 12.85 ticks) they say "not applicable" and why, whatever the figures; for a large-tick
    preset (or none given) they judge the figures as before."""
    trend = mr.market_stats(make_rec(mid_from_returns(ar1(0.6, 20_000, seed=11))), dt=1.0)
    for ts in (None, 1.0, 3.0):
        res = {
            c["id"]: c for c in mr.plausibility_checks(trend, None, switching=False, typical_spread_ticks=ts)
        }
        assert res["bounce"]["passed"] is False and res["spread"]["passed"] is True
    res = {
        c["id"]: c for c in mr.plausibility_checks(trend, None, switching=False, typical_spread_ticks=12.85)
    }
    for cid in ("spread", "bounce"):
        assert res[cid]["passed"] is None and "12.85 ticks" in res[cid]["why"], res[cid]
    assert res["acf_coarse"]["passed"] is False  # the other checks still judge
