"""Calibrated baseline defaults: the intensity fit, the probe on a market whose truth is known, the shipped
defaults and how the evaluation runner and the baseline RLModules use them."""

from __future__ import annotations

import dataclasses
import json
import math
from unittest import mock

import numpy as np
import pytest

from almm_rllib.baselines import STRATEGIES, default_params, lob_defaults, make_strategy, market_fingerprint
from almm_rllib.baselines.avellaneda_stoikov import PAPER_A, PAPER_DT, PAPER_GAMMA, PAPER_K, PAPER_SIGMA
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.env import EnvConfig
from almm_rllib.evaluation.calibration import (
    CALIBRATED,
    MIN_SEED,
    calibrate,
    estimate_fill_intensity,
    fit_intensity,
    render_defaults,
    score,
)
from almm_rllib.evaluation.policies import load_policy
from almm_rllib.evaluation.runner import evaluate, run_episode

LOB = EnvConfig()
STYLIZED = EnvConfig.from_dict({"market": {"model": "stylized"}})


# ------------------------------------------------------------------------------------------------------------
# The fit.


def test_fit_recovers_an_exact_exponential():
    d = np.arange(11.0)
    exposure = np.linspace(900.0, 1500.0, 11)
    fills = exposure * 0.8 * np.exp(-0.45 * d)  # expected counts: the MLE is the truth
    a, k, se_a, se_k = fit_intensity(d, fills, exposure)
    assert a == pytest.approx(0.8, rel=1e-9)
    assert k == pytest.approx(0.45, rel=1e-9)
    assert 0 < se_a < 0.1 and 0 < se_k < 0.05


def test_fit_errors_are_calibrated_on_poisson_counts():
    """On Poisson counts the estimates are unbiased and the reported standard errors are the real spread:
    z-scores over 400 replications have mean ~0 and standard deviation ~1 (bands: 4 Monte Carlo s.e.)."""
    rng = np.random.default_rng(5)
    d = np.arange(11.0)
    exposure = np.full(11, 2000.0)
    a0, k0 = 0.8, 0.5
    z_a, z_k = [], []
    for _ in range(400):
        fills = rng.poisson(exposure * a0 * np.exp(-k0 * d))
        a, k, se_a, se_k = fit_intensity(d, fills, exposure)
        z_a.append((a - a0) / se_a)
        z_k.append((k - k0) / se_k)
    for z in (np.asarray(z_a), np.asarray(z_k)):
        assert abs(z.mean()) < 4 / math.sqrt(len(z))
        assert 0.85 < z.std(ddof=1) < 1.15  # sd of a sample sd ~ 1/sqrt(2n) = 0.035


def test_fit_refuses_too_little_data():
    with pytest.raises(ValueError, match="two distances"):
        fit_intensity([0.0, 1.0], [5, 0], [10.0, 10.0])
    with pytest.raises(ValueError, match="equal length"):
        fit_intensity([0.0, 1.0], [5], [10.0, 10.0])


# ------------------------------------------------------------------------------------------------------------
# The probe.


def test_probe_recovers_the_stylized_markets_truth():
    """The stylized market fills a quote at distance delta (money) with probability A exp(-k delta) dt per
    step (A = 140/s, k = 1.5/money) and moves the mid by +-sigma sqrt(dt) (sigma = 2). With dt = 0.005 the
    probability stays below 0.7 (no cap at 1) and the probe's fills/exposure is the rate exactly in
    expectation. Bias: the env rounds a quote's price outward to the tick, which adds a distance uniform on
    [0, 1) tick (the mid moves by 14.14 ticks a step, so its fractional tick is equidistributed): ``A`` is seen
    times (1 - exp(-k tick)) / (k tick) = 0.9925 and ``k`` is unchanged. Tolerance: 4 standard errors of the
    Poisson fit, which overstate the error of these per-step Bernoulli counts (variance p(1-p) < p)."""
    cfg = STYLIZED.replace(dt=PAPER_DT, episode_seconds=1.0)
    fit = estimate_fill_intensity(cfg, seconds=30.0, seed=MIN_SEED + 7, distances=range(0, 301, 50))
    tick = 0.01
    k_tick_true = PAPER_K * tick
    a_seen = PAPER_A * (1 - math.exp(-k_tick_true)) / k_tick_true
    assert fit.tick_size == tick and len(fit.seeds) == 30 and fit.seconds == 30.0
    assert fit.se_k_tick < 0.05 * k_tick_true and fit.se_A < 0.05 * a_seen  # the test has power
    assert abs(fit.A - a_seen) < 4 * fit.se_A
    assert abs(fit.k_tick - k_tick_true) < 4 * fit.se_k_tick
    assert fit.k_money == pytest.approx(fit.k_tick / tick)
    assert abs(fit.k_money - PAPER_K) < 4 * fit.se_k_tick / tick
    a, k = fit  # unpacks as (A, k per tick)
    assert (a, k) == (fit.A, fit.k_tick)
    # every step moves the mid by exactly sigma sqrt(dt)
    assert fit.sigma == pytest.approx(PAPER_SIGMA, rel=1e-6)
    assert fit.sigma_rel == pytest.approx(PAPER_SIGMA / STYLIZED.market.initial_price, rel=0.05)


def test_probe_on_the_order_book_market_sees_a_decaying_intensity():
    fit = estimate_fill_intensity(LOB.replace(episode_seconds=100.0), seconds=1200.0, seed=MIN_SEED)
    rates = np.asarray(fit.rates)
    assert len(rates) == 11 and np.all(rates > 0)
    assert rates[0] > rates[1] > rates[2] > rates[5] > rates[10]
    assert 0 < fit.k_tick < 3 and 0 < fit.A < 1 / LOB.dt  # at most one fill per side per step
    assert 0.002 < fit.sigma < 0.1  # money/sqrt(s): the regimes' 0.8e-4..3.2e-4 of $100, with noise
    assert sum(fit.exposure) <= 2 * 11 * fit.seconds + 1e-6  # two sides, every offset, at most dt a step


def test_calibration_refuses_evaluation_seeds():
    with pytest.raises(ValueError, match="evaluation"):
        estimate_fill_intensity(LOB, seconds=10.0, seed=3)
    with pytest.raises(ValueError, match="evaluation"):
        calibrate(LOB, seeds=[0, 1])


def test_grid_scale_follows_the_action_box():
    from almm_rllib.evaluation import calibration as cal

    assert cal.grid_scale({"market": {"preset": "generic_large_tick"}}) == 1.0  # its box is 20 ticks
    amzn = EnvConfig()
    assert amzn.max_offset_ticks > 20 and cal.grid_scale(amzn) == pytest.approx(amzn.max_offset_ticks / 20)
    fit = mock.Mock(k_money=19.6, A=0.15)
    deepest = max(p["half_spread_ticks"] for p in cal.candidates(fit, amzn)["static_spread"])
    assert deepest == pytest.approx(amzn.max_offset_ticks, rel=0.01)


def test_calibrate_end_to_end_on_a_small_grid(monkeypatch):
    """The whole pipeline on a tiny budget: parameters in the strategies' units from the fit, the best
    admissible candidate of each grid, and a defaults module that ruff-style Python can load back."""
    from almm_rllib.evaluation import calibration as cal

    monkeypatch.setattr(cal, "GAMMA_GRID", (1e-5, 0.5))
    monkeypatch.setattr(cal, "STATIC_HALF_SPREADS", (2.0, 20.0))
    monkeypatch.setattr(cal, "STATIC_SIZES", (1,))
    cfg = LOB.replace(episode_seconds=60.0)
    rec = cal.calibration_record(
        cfg,
        seeds=[cal.DEFAULT_SEED + i for i in range(2)],
        probe_seconds=120.0,
        strategies=("glft", "symmetric", "static_spread"),
    )
    fit = rec["fit"]
    glft = rec["params"]["gueant_lehalle_fernandez_tapia"]
    assert glft["k"] == pytest.approx(fit["k_per_money"]) and glft["A"] == pytest.approx(fit["A_per_s"])
    lot = cfg.market.lot_size
    assert glft["gamma"] in (pytest.approx(1e-5 * lot), pytest.approx(0.5 * lot))  # per order of one lot
    u = cal.grid_scale(cfg)  # the rule-based grids span the env's action box
    assert u == pytest.approx(cfg.max_offset_ticks / 20.0)
    assert rec["params"]["static_spread"]["half_spread_ticks"] in (
        pytest.approx(2.0 * u, rel=1e-3),
        pytest.approx(20.0 * u, rel=1e-3),
    )
    rows = rec["grid"]["static_spread"]["rows"]
    assert len(rows) == 2 and rec["seeds"] == f"{cal.DEFAULT_SEED}-{cal.DEFAULT_SEED + 1}"
    ns: dict = {}
    exec(compile(render_defaults(rec), "<defaults>", "exec"), ns)
    assert ns["PARAMS"] == rec["params"] and ns["MARKET_FINGERPRINT"] == market_fingerprint(cfg.market)


# ------------------------------------------------------------------------------------------------------------
# The shipped defaults.


def test_shipped_defaults_belong_to_the_default_market():
    """If this fails, the default order-book market changed: re-run
    ``python -m almm_rllib.evaluation.calibration --out almm_rllib/baselines/lob_defaults.py``."""
    assert (
        lob_defaults.MARKET_FINGERPRINT
        == market_fingerprint(LOB.market)
        == market_fingerprint(MarketConfig())
    )
    assert set(lob_defaults.PARAMS) == set(CALIBRATED)
    seeds = lob_defaults.CALIBRATION["seeds"]
    assert int(seeds.split("-")[0]) >= MIN_SEED
    for name, params in lob_defaults.PARAMS.items():
        make_strategy(name, **params)  # valid parameters, in the strategies' own names
    fit = lob_defaults.FIT
    assert fit["k_per_money"] == pytest.approx(fit["k_per_tick"] / 0.01, rel=1e-5)
    for name in ("avellaneda_stoikov", "symmetric", "gueant_lehalle_fernandez_tapia"):
        assert lob_defaults.PARAMS[name]["k"] == pytest.approx(fit["k_per_money"])
    assert lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"]["A"] == pytest.approx(fit["A_per_s"])


def test_default_params_for_the_default_lob_market_only():
    for name in CALIBRATED:
        assert default_params(name, LOB.market) == lob_defaults.PARAMS[name]
        assert default_params(name, MarketConfig()) == lob_defaults.PARAMS[name]
        assert default_params(name, STYLIZED.market) == {}
    assert default_params("glft", LOB.market) == lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"]
    assert default_params("random", LOB.market) == {}
    # any curriculum phase and any env setting: the market is the same
    assert (
        default_params("symmetric", LOB.replace(phase="high_volatility", dt=0.5).market)
        == lob_defaults.PARAMS["symmetric"]
    )
    # buffer sizes do not change the market; its dynamics do
    assert default_params("symmetric", MarketConfig(book_capacity=32_768)) == lob_defaults.PARAMS["symmetric"]
    assert default_params("symmetric", MarketConfig.from_dict({"flow": {"limit_rate": 12.0}})) == {}
    # a copy: callers may change it
    p = default_params("symmetric", LOB.market)
    p["gamma"] = -1
    assert default_params("symmetric", LOB.market) == lob_defaults.PARAMS["symmetric"]
    with pytest.raises(ValueError, match="unknown strategy"):
        default_params("nope", LOB.market)
    # the lookup takes a market, and says so when handed the env's config
    with pytest.raises(TypeError, match="env_config.market"):
        default_params("symmetric", LOB)
    with pytest.raises(TypeError, match="MarketConfig"):
        market_fingerprint(None)


# ------------------------------------------------------------------------------------------------------------
# The calibrated strategies on the default market.


def test_calibrated_strategies_stay_inside_the_action_box():
    """With the paper's parameters GLFT and symmetric want ~65-tick half-spreads and are clipped on every
    step; calibrated, every strategy's raw action is inside the env's box on at least 95% of the steps."""
    cfg = LOB
    seeds = [11, 12, 13, 14]
    for name in CALIBRATED:
        s = score(name, default_params(name, cfg.market), cfg, seeds)
        assert s.clipped < 0.05, (name, s.clipped)
    paper = score("glft", {}, cfg, seeds[:1])
    assert paper.clipped > 0.9


def test_glft_and_symmetric_no_longer_run_the_same_episode():
    # 300 s: on the stale-quote market a 120-s episode can hold the same handful of fills for both (their
    # quotes differ, the fills that reach them need not)
    cfg = LOB.replace(episode_seconds=300.0)
    glft = run_episode("glft", cfg, 21)
    sym = run_episode("symmetric", cfg, 21)
    assert not glft.steps["bid_price"].equals(sym.steps["bid_price"])
    assert not np.allclose(glft.steps["pnl"], sym.steps["pnl"])
    # with the paper's parameters (the stylized defaults forced onto this market) they did
    paper = {"gamma": PAPER_GAMMA, "k": PAPER_K}
    a = run_episode(f"glft:gamma={PAPER_GAMMA},k={PAPER_K},A={PAPER_A}", cfg, 21)
    b = run_episode("symmetric:" + ",".join(f"{k}={v}" for k, v in paper.items()), cfg, 21)
    assert a.steps["pnl"].equals(b.steps["pnl"])


# ------------------------------------------------------------------------------------------------------------
# Wiring: runner, config.json, baseline RLModules.


def test_runner_policies_start_from_the_defaults_and_explicit_params_win():
    glft = load_policy("glft", env_config=LOB).strategy.params
    assert dataclasses.asdict(glft) == {
        **dataclasses.asdict(make_strategy("glft").params),
        **lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"],
    }
    over = load_policy("glft:gamma=0.5,Q=3", env_config=LOB).strategy.params
    assert over.gamma == 0.5 and over.Q == 3
    assert over.k == lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"]["k"]
    assert over.A == lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"]["A"]
    # the stylized market keeps the paper's parameters
    for name in STRATEGIES:
        assert load_policy(name, env_config=STYLIZED).strategy.params == make_strategy(name).params
    static = load_policy("static_spread:size=2", env_config=LOB).strategy.params
    assert static.size == 2
    assert static.half_spread_ticks == lob_defaults.PARAMS["static_spread"]["half_spread_ticks"]


def test_evaluate_records_the_parameters_each_baseline_ran_with(tmp_path):
    cfg = LOB.replace(episode_seconds=20.0)
    run = evaluate(
        ["glft", "static_spread:size=2"], cfg, 1, out_dir=tmp_path, run_name="r", workers=1, progress=False
    )
    pols = json.loads((run / "config.json").read_text())["policies"]
    assert pols[0]["effective_params"] == lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"]
    assert pols[0]["params"] == {}
    assert pols[1]["effective_params"] == {**lob_defaults.PARAMS["static_spread"], "size": 2}


def test_baseline_module_spec_uses_the_defaults():
    pytest.importorskip("torch")
    from almm_rllib.training.baseline_module import baseline_module_spec

    cfg = LOB.replace(episode_seconds=60.0, n_agents=2)
    spec = baseline_module_spec("avellaneda_stoikov", cfg)
    want = {**lob_defaults.PARAMS["avellaneda_stoikov"], "rolling_horizon": 30.0}
    assert spec.model_config["params"] == want
    spec = baseline_module_spec("glft:gamma=2", cfg, Q=4)
    assert spec.model_config["params"] == {
        **lob_defaults.PARAMS["gueant_lehalle_fernandez_tapia"],
        "gamma": 2,
        "Q": 4,
    }
    stylized = baseline_module_spec("glft", STYLIZED.replace(n_agents=2))
    assert stylized.model_config["params"] == {}
