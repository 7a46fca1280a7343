"""``almm calibrate-market`` (evaluation/market_fit.py) and the presets as data files (core/presets/*.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from almm_rllib.cli import main as cli_main
from almm_rllib.core.config import ConfigError
from almm_rllib.core.market_config import (
    DEFAULT_PRESET,
    PRESET_DIR,
    PRESETS,
    MarketConfig,
    load_presets,
    read_preset_file,
)
from almm_rllib.evaluation import market_fit as mf

LOBSTER = Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
WINDOW = 900.0


def test_presets_are_the_package_files_and_the_default_is_the_class_defaults():
    files = sorted(p.stem for p in PRESET_DIR.glob("*.json"))
    assert files == sorted(PRESETS) and {"amzn_2012_06_21", "generic_large_tick"} <= set(files)
    # the shipped default preset and the class defaults are one market
    assert MarketConfig() == MarketConfig.preset(DEFAULT_PRESET)
    fit = read_preset_file(PRESET_DIR / f"{DEFAULT_PRESET}.json")["fit"]
    for key in ("command", "data", "seed", "direct", "moments", "diffusion_scale"):
        assert key in fit, key
    assert fit["moments"]["objective_value"] <= fit["moments"]["start_objective"]


def test_generic_large_tick_is_the_old_market():
    g = MarketConfig.preset("generic_large_tick")
    assert g.initial_price == 100.0 and g.flow.limit_rate == 10.0 and g.formation.impact_ticks == 0.0
    assert g.regimes.diffusion_scale == () and g.flow.p_informed == 0.0 and g.flow.hawkes_branching == 0.0


def test_a_wrong_preset_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        MarketConfig.preset("nasdaq_2020")
    assert all(n in str(err.value) for n in PRESETS)


def test_a_bad_preset_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json"):
        load_presets(tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"market": {"flow": {"p_informed": 2}}}))
    with pytest.raises(ConfigError, match=r"broken.json: flow.p_informed must be a probability"):
        load_presets(tmp_path)


@pytest.mark.parametrize("scale", [(1.0, 1.2, 1.0), (0.5, 0.0, 1.0), (1.0,)])
def test_diffusion_scale_is_validated(scale):
    with pytest.raises(ConfigError, match="diffusion_scale"):
        MarketConfig.from_dict({"regimes": {"diffusion_scale": list(scale)}})


def _independent_direct(folder: Path, window: float) -> dict:
    """The direct estimates recomputed from the CSV files with pandas alone (no project reader)."""
    import pandas as pd

    msg = sorted(folder.glob("AMZN_*_message_*.csv"))[0]
    m = pd.read_csv(msg, header=0, names=["time", "type", "id", "size", "price", "dir"])
    ob = pd.read_csv(str(msg).replace("_message_", "_orderbook_"), header=0, names=[0, 1, 2, 3])
    keep = (m["time"] <= m["time"].iloc[0] + window).to_numpy()
    m, ob = m[keep], ob[keep]
    mid = (ob[0] + ob[2]).to_numpy() / 2 / 1e4
    ex = m[m["type"] == 4]
    orders = ex.groupby(["time", "dir"], sort=False)["size"].sum()
    seconds = m["time"].iloc[-1] - m["time"].iloc[0]
    cfg = MarketConfig()
    pi = cfg.regimes.stationary()
    return {
        "initial_price": round(float(np.mean(mid)), 2),
        "market_rate": len(orders) / seconds / 2 / float(pi @ np.asarray(cfg.regimes.market_rate_mult)),
        "mu": float(np.log(orders.to_numpy() / 100).mean()),
        "sigma": float(np.log(orders.to_numpy() / 100).std(ddof=1)),
        "limit_per_s": float((m["type"] == 1).sum() / seconds / 2),
    }


def test_calibrate_market_on_a_small_window_writes_a_preset_that_loads(tmp_path, capsys):
    out = tmp_path / "presets"
    rc = cli_main(
        [
            "calibrate-market",
            "--lobster",
            str(LOBSTER),
            "--ticker",
            "AMZN",
            "--name",
            "amzn_test",
            "--window",
            str(WINDOW),
            "--seconds",
            "300",
            "--budget",
            "2",
            "--vol-seconds",
            "300",
            "--base",
            DEFAULT_PRESET,
            "--fit-seeds",
            "2",
            "--vol-seeds",
            "2",
            "--set",
            "flow.walk_beyond_best=true",
            "--out",
            str(out),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    path = out / "amzn_test.json"
    assert sorted(p.name for p in out.iterdir()) == ["amzn_test.json"]  # no temp file left behind
    doc = read_preset_file(path)
    cfg = MarketConfig.from_dict(doc["market"])
    want = _independent_direct(LOBSTER, WINDOW)
    assert cfg.initial_price == want["initial_price"]
    assert cfg.tick_size == 0.01
    assert math.isclose(cfg.flow.market_rate, want["market_rate"], rel_tol=1e-3)
    assert math.isclose(cfg.flow.market_size_mu, want["mu"], abs_tol=1e-3)
    assert math.isclose(cfg.flow.market_size_sigma, want["sigma"], abs_tol=1e-3)
    direct = doc["fit"]["direct"]["measured"]
    assert math.isclose(direct["limit_orders_per_s_per_side"], want["limit_per_s"], rel_tol=1e-9)
    fit = doc["fit"]
    assert fit["seed"] == 7 and fit["window_s"] == WINDOW
    assert (
        fit["command"].startswith("almm calibrate-market --lobster ")
        and "--window 900 --seconds" not in fit["command"]
    )
    assert "--ticker AMZN --name amzn_test --seed 7 --seconds 300 --budget 2 --rounds 2" in fit["command"]
    # a value set on the starting preset is kept (not a fitted key), recorded and in the command line
    assert cfg.flow.walk_beyond_best is True and fit["start_overrides"] == ["flow.walk_beyond_best=true"]
    assert fit["command"].endswith(
        "--fit-seeds 2 --vol-seeds 2 --set flow.walk_beyond_best=true --out " + str(out)
    )
    assert fit["diffusion_scale"]["seeds"] == 2
    assert fit["fit_seeds"] == 2 and "averaged over 2 seeds" in fit["moments"]["objective"]
    assert fit["moments"]["evaluations"] <= 2 and math.isfinite(fit["moments"]["objective_value"])
    assert len(cfg.regimes.diffusion_scale) == cfg.n_regimes
    assert all(0 < s <= 1 for s in cfg.regimes.diffusion_scale)
    assert fit["data"]["message_file"].endswith("AMZN_2012-06-21_34200000_57600000_message_1.csv")


def test_the_moments_objective_over_seeds_is_the_mean_of_the_one_seed_objectives():
    """``--fit-seeds N``: the moments stage scores a market by the mean over seeds ``seed .. seed + N - 1`` of
    the objective and of the failing rows (one simulated day carries that day's noise)."""
    from almm_rllib.data.lobster import read_lobster
    from almm_rllib.results.microstructure import lobster_day, microstructure_stats

    real = microstructure_stats(lobster_day(read_lobster(*mf.find_lobster_pair(LOBSTER, "AMZN"))))
    market = MarketConfig().to_dict()
    one = [mf.market_objective(real, market, 600.0, s) for s in (3, 4, 5)]
    obj, fails = mf.market_objective(real, market, 600.0, 3, n_seeds=3)
    assert obj == pytest.approx(np.mean([o for o, _ in one]), rel=1e-12)
    assert fails == pytest.approx(np.mean([f for _, f in one]), rel=1e-12)
    assert len({o for o, _ in one}) == 3  # the seeds are different days
    assert mf.market_objective(real, market, 600.0, 4) == one[1]


def test_stage_3_pools_seeds_and_keeps_a_scale_already_within_tolerance():
    """``--vol-seeds N``: each regime's volatility is the root mean square over N seeds of the one-seed
    figures; a regime within ``VOL_KEEP`` of its configured volatility keeps its scale, one outside gets a new
    one (here the default market with its configured volatilities moved by +-30%)."""
    market = MarketConfig().to_dict()
    one = [mf.regime_mid_vol(market, "medium", 1200.0, s) for s in (3, 4)]
    assert mf.pooled_mid_vol(market, "medium", 1200.0, 3, 2) == pytest.approx(
        math.sqrt(np.mean(np.square(one)))
    )
    vols = [mf.pooled_mid_vol(market, r, 1200.0, 3, 2) for r in market["regimes"]["names"]]
    near = mf.with_values(market, {"regimes.volatility": [v * 1.02 for v in vols]})
    scales, checks = mf.fit_diffusion_scale(near, seconds=1200.0, seed=3, n_seeds=2, log=lambda _: None)
    assert scales == list(market["regimes"]["diffusion_scale"]) and all(c["kept"] for c in checks)
    far = mf.with_values(market, {"regimes.volatility": [vols[0] * 0.7, vols[1] * 1.3, vols[2] * 1.3]})
    scales, checks = mf.fit_diffusion_scale(far, seconds=1200.0, seed=3, n_seeds=2, log=lambda _: None)
    assert not any(c.get("kept") for c in checks)
    assert scales[0] < market["regimes"]["diffusion_scale"][0]  # less volatile wanted: less diffusion
    assert all(0 < x <= 1 for x in scales)


def _refused(capsys, tmp_path, *args) -> str:
    out = tmp_path / "out"
    rc = cli_main(
        ["calibrate-market", "--name", "x", "--out", str(out), "--budget", "1", "--rounds", "1", *args]
    )
    assert rc == 2
    assert not out.exists() or not any(out.iterdir())  # nothing written
    return capsys.readouterr().err


def test_missing_folder_unknown_ticker_and_corrupt_file_are_clear_errors(tmp_path, capsys):
    err = _refused(capsys, tmp_path, "--lobster", str(tmp_path / "nope"), "--ticker", "AMZN")
    assert "almm calibrate-market: --lobster" in err and "not a folder" in err
    day = tmp_path / "day"
    day.mkdir()
    err = _refused(capsys, tmp_path, "--lobster", str(day), "--ticker", "AMZN")
    assert "--ticker AMZN: no LOBSTER message file" in err
    for src in sorted(LOBSTER.glob("AMZN_*")):  # the first 200 rows of the pair, one of them garbled
        (day / src.name).write_text("\n".join(src.read_text().splitlines()[:200]) + "\n")
    err = _refused(capsys, tmp_path, "--lobster", str(day), "--ticker", "MSFT")
    assert "--ticker MSFT" in err and "AMZN" in err  # lists the tickers there
    msg = sorted(day.glob("AMZN_*_message_*.csv"))[0]
    lines = msg.read_text().splitlines()
    lines[10] = lines[10].split(",", 1)[0] + ",1,oops,100,2230000,1"
    msg.write_text("\n".join(lines) + "\n")
    err = _refused(capsys, tmp_path, "--lobster", str(day), "--ticker", "AMZN")
    assert "almm calibrate-market: --lobster:" in err and msg.name in err and "line 11" in err
    err = _refused(
        capsys, tmp_path, "--lobster", str(LOBSTER), "--ticker", "AMZN", "--set", "flow.p_wlak=0.1"
    )
    assert "flow.p_wlak" in err and "calibrate-market --set" in err
    err = _refused(capsys, tmp_path, "--lobster", str(LOBSTER), "--ticker", "AMZN", "--set", "flow.p_walk=2")
    assert "flow.p_walk must be a probability in [0, 1]" in err
    err = _refused(capsys, tmp_path, "--lobster", str(day), "--ticker", "AMZN", "--base", "nope")
    assert "--base 'nope' is not a known market preset" in err and "generic_large_tick" in err
    with pytest.raises(SystemExit) as exit_:  # refused by the parser, before anything runs
        cli_main(
            [
                "calibrate-market",
                "--lobster",
                str(LOBSTER),
                "--ticker",
                "AMZN",
                "--name",
                "x",
                "--fit-seeds",
                "0",
            ]
        )
    assert exit_.value.code == 2
    assert "argument --fit-seeds: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_write_preset_replaces_atomically(tmp_path):
    p = mf.write_preset(tmp_path, "a", {"market": {}})
    p2 = mf.write_preset(tmp_path, "a", {"market": {"initial_price": 300.0}})
    assert p == p2 and json.loads(p.read_text())["market"]["initial_price"] == 300.0
    assert [x.name for x in tmp_path.iterdir()] == ["a.json"]


def test_the_headroom_row_fails_when_impact_alone_is_too_volatile():
    """``market_fit.objective``'s headroom row: with the diffusion almost off, the mid's volatility must stay
    below ``HEADROOM_SHARE`` of the day's, else no ``diffusion_scale`` can reach the configured one."""
    from almm_rllib.evaluation import market_fit as mf

    k = f"{mf.VOL_SAMPLING_S:g}"
    real = {"signature": {k: {"rv_rel_per_s": 1e-8}}}  # the day's volatility: 1e-4 per sqrt-second

    def impact_only(vol):
        return {"signature": {k: {"rv_rel_per_s": vol**2}}}

    assert mf._headroom_row(real, impact_only(0.5e-4)).verdict == "pass"
    assert mf._headroom_row(real, impact_only(0.79e-4)).verdict == "pass"
    assert mf._headroom_row(real, impact_only(0.81e-4)).verdict == "fail"
    scaled = mf._impact_only(MarketConfig().to_dict())
    assert (
        MarketConfig.from_dict(scaled).regimes.diffusion_scale
        == (mf.HEADROOM_SCALE,) * MarketConfig().n_regimes
    )
