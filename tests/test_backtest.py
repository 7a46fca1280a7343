"""``almm backtest``: two baselines on the real AMZN day end to end (the same Parquet tables and report as
``almm evaluate``), and clear errors for bad data."""

from __future__ import annotations

import argparse
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
    # the report states the replay's assumptions: no reaction, the queue model, what they mean for the P&L
    page = (run / "report.html").read_text()
    assert "<h2>Market assumptions</h2>" in page
    assert "the replay does not react to the agent" in page and "no market impact on later messages" in page
    assert "exact FIFO" in page and "power probabilistic queue model with n = 3" in page
    assert "P&amp;L: marked to the real mid" in page and "too small to move anyone" in page
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
    assert "Replay assumptions" not in text
    from almm_rllib.env.replay import ReplayMarketConfig, replay_assumptions

    note = replay_assumptions(ReplayMarketConfig(queue_power=2.0))
    text = format_sim_to_real(table, agree, note=note)
    assert text.rstrip().endswith(note) and "does not react to the agent" in note and "n = 2 " in note
    with pytest.raises(ValueError, match="missing"):
        sim_to_real_table(sim, real, metrics=("sharpe",))


# ------------------------------------------------------------------------------------------------------------
# A trained checkpoint on the replayed day.


@pytest.fixture(scope="module")
def tiny_checkpoint():
    """A tiny PPO checkpoint trained (one iteration) on ``almm_mm`` with the default market: the
    ``amzn_2012_06_21`` preset, whose action box the replay of the AMZN day shares."""
    import gc
    import shutil
    import tempfile

    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    from almm_rllib.env.rllib_env import register_rllib_envs

    owned = not ray.is_initialized()
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    out = pathlib.Path(tempfile.mkdtemp(prefix="almm-bt-ckpt-"))
    if owned:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=ray_tmp, log_to_driver=False)
    register_rllib_envs()
    try:
        algo = (
            PPOConfig()
            .environment("almm_mm", env_config={"episode_seconds": 20.0, "market": {"warmup_seconds": 5.0}})
            .env_runners(num_env_runners=0)
            .training(train_batch_size_per_learner=100, minibatch_size=50, num_epochs=1)
            .rl_module(model_config={"fcnet_hiddens": [8], "vf_share_layers": True})
            .debugging(log_level="ERROR")
            .build_algo()
        )
        try:
            algo.train()
            path = pathlib.Path(algo.save_to_path(str(out / "tiny")))
        finally:
            algo.stop()
        yield path
    finally:
        if owned:
            ray.shutdown()
        gc.collect()
        shutil.rmtree(ray_tmp, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.ray
def test_checkpoint_backtested_on_the_amzn_day_with_a_baseline(tiny_checkpoint, tmp_path, capsys):
    args = ["backtest", "static_spread", "--checkpoint", str(tiny_checkpoint), "--data", DATA]
    args += ["--ticker", "AMZN", "--window", "36000", "36600", "--episode-seconds", "30", "--seeds", "0-1"]
    args += ["--workers", "1", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--run-name", "ck", "--no-report"]) == 0
    run = tmp_path / "ck"
    ep = pd.read_parquet(run / "episodes.parquet")
    assert sorted(ep["strategy"].unique()) == ["ppo:tiny", "static_spread"]
    cfg = json.loads((run / "config.json").read_text())
    ck = next(p for p in cfg["policies"] if p["kind"] == "checkpoint")
    assert ck["action_mapping"] == "normalize" and "does not react to the agent" in cfg["market_note"]
    steps = pd.read_parquet(run / "steps.parquet")
    ppo = steps[steps["strategy"] == "ppo:tiny"]
    assert len(ppo) == 2 * 30 and ppo["mid"].between(200, 240).all()
    # the checkpoint quotes inside the action box: offsets from the real mid within the AMZN preset's box
    quoted = ppo.dropna(subset=["bid_price"])
    assert len(quoted) > 0
    off = (quoted["mid"] - quoted["bid_price"]) / 0.01
    assert off.between(-12.8 - 1, 51.2 + 1).all()
    # same checkpoint, same seeds: the same episodes bit for bit
    assert main([*args, "--run-name", "again", "--no-report"]) == 0
    again = pd.read_parquet(tmp_path / "again" / "steps.parquet")
    again = again[again["strategy"] == "ppo:tiny"]
    np.testing.assert_array_equal(again["pnl"].to_numpy(), ppo["pnl"].to_numpy())
    # a checkpoint only: every baseline runs beside it, as in almm evaluate
    from almm_rllib.evaluation.commands import policies_from_args

    ns = argparse.Namespace(checkpoint=[str(tiny_checkpoint)], policies=[])
    got = policies_from_args(ns)
    from almm_rllib.baselines import STRATEGIES

    assert got[0] == str(tiny_checkpoint) and got[1:] == list(STRATEGIES)
    capsys.readouterr()
    # a replay whose action box is not the training's is refused before anything is written
    bad = [*args, "--run-name", "bad", "--set", "market.typical_spread_ticks=2"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert str(tiny_checkpoint.resolve()) in err and "action box" in err and "typical_spread_ticks" in err
    assert not (tmp_path / "bad").exists()
