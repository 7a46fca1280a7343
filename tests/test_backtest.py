"""``almm backtest``: two baselines on the real AMZN day end to end (the same Parquet tables and report as
``almm evaluate``), and clear errors for bad data."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import pytest

from almm_rllib.cli import main

DATA = "/work/shared/data/lobster"


def test_two_baselines_on_the_amzn_day_end_to_end(tmp_path, capsys):
    args = ["backtest", "avellaneda_stoikov", "static_spread", "--data", DATA, "--ticker", "AMZN"]
    args += ["--window", "36000", "50000", "--episode-seconds", "120", "--seeds", "0-1", "--workers", "1"]
    args += ["--out", str(tmp_path), "--run-name", "bt", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "no market impact" in out and "HTML report" in out
    run = tmp_path / "bt"
    for f in ("steps.parquet", "fills.parquet", "episodes.parquet", "config.json", "report.html"):
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert "no market impact" in cfg["market_note"]
    ep = pd.read_parquet(run / "episodes.parquet")
    assert sorted(ep["strategy"].unique()) == ["avellaneda_stoikov", "static_spread"]
    assert sorted(ep["seed"].unique()) == [0, 1]
    steps = pd.read_parquet(run / "steps.parquet")
    assert len(steps) == 2 * 2 * 120
    # the mid is AMZN's on 2012-06-21 (about $220), and the P&L is marked to it
    assert steps["mid"].between(200, 240).all()
    s = steps[(steps["strategy"] == "static_spread") & (steps["seed"] == 0)]
    assert s["pnl"].to_numpy() == pytest.approx((s["cash"] + s["inventory"] * s["mid"]).to_numpy())
    fills = pd.read_parquet(run / "fills.parquet")
    assert len(fills) > 0
    # the same seed is the same episode window for both strategies: identical mids step by step
    a = steps[(steps["strategy"] == "avellaneda_stoikov") & (steps["seed"] == 1)]["mid"].to_numpy()
    b = steps[(steps["strategy"] == "static_spread") & (steps["seed"] == 1)]["mid"].to_numpy()
    assert (a == b).all()


def test_unknown_ticker_and_bad_window_fail_clearly_and_write_nothing(tmp_path, capsys):
    base = [
        "backtest",
        "static_spread",
        "--data",
        DATA,
        "--seeds",
        "1",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main([*base, "--ticker", "MSFT"]) == 2
    assert "no LOBSTER message file for ticker 'MSFT'" in capsys.readouterr().err
    assert main([*base, "--ticker", "AMZN", "--window", "20000", "30000"]) == 2
    err = capsys.readouterr().err
    assert "market.window" in err and "AMZN_2012-06-21" in err
    assert not any(pathlib.Path(tmp_path).iterdir())


def test_sim_to_real_table_means_and_rank_agreement():
    from scipy.stats import spearmanr

    from almm_rllib.evaluation.sim_to_real import format_sim_to_real, sim_to_real_table

    rows = []
    for market, pnl in (("sim", [1.0, 2.0, 3.0, 4.0]), ("replay", [10.0, 30.0, 20.0, 40.0])):
        for s, p in zip("abcd", pnl, strict=True):
            for seed, noise in ((0, -0.5), (1, 0.5)):
                rows.append(
                    {"market": market, "strategy": s, "seed": seed, "total_pnl": p + noise, "n_fills": 3}
                )
    df = pd.DataFrame(rows)
    sim, real = (
        df[df.market == "sim"],
        df[df.market == "replay"].iloc[1:],
    )  # strategy a misses seed 0 on replay
    table, agree = sim_to_real_table(sim, real, metrics=("total_pnl", "n_fills"))
    assert table.loc["b", ("total_pnl", "sim")] == 2.0 and table.loc["a", ("total_pnl", "replay")] == 10.5
    want = spearmanr([1, 2, 3, 4], [10.5, 30, 20, 40]).statistic
    assert agree.loc["total_pnl", "spearman"] == pytest.approx(want) and agree.loc["total_pnl", "n"] == 4
    assert np.isnan(agree.loc["n_fills", "spearman"])  # constant: no ranking to compare
    text = format_sim_to_real(table, agree)
    assert "| b | 2 | 30 | 3 | 3 |" in text and "| total_pnl | 0.800 |" in text
    with pytest.raises(ValueError, match="missing"):
        sim_to_real_table(sim, real, metrics=("sharpe",))
