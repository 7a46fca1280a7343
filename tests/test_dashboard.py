"""The dashboard: its data functions, and each mode of the Streamlit page through ``AppTest`` (widgets by key).

The real-browser test is in ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from almm_rllib.core.market_facts import SESSION_SECONDS
from almm_rllib.dashboard import markets as M
from almm_rllib.dashboard import paths as P
from almm_rllib.dashboard import runs as R
from almm_rllib.dashboard.live import LiveSession
from almm_rllib.evaluation import LiveEpisode, evaluate, load_policy
from almm_rllib.results import read_run, report_tables
from almm_rllib.results import schema as S
from almm_rllib.results.market_report.real_data import default_lobster_dir

APP = str(Path(__file__).resolve().parents[1] / "almm_rllib" / "dashboard" / "app.py")
#: The LOBSTER sample day (the replay market's data).
LOBSTER = default_lobster_dir()
STRATS = ["avellaneda_stoikov", "static_spread", "random"]


AMZN = M.DEFAULT_PRESET


#: The market of the fixture's run folder: the busy large-tick one (in 30 s on the AMZN day a wide quote may
#: never fill, and a flat P&L has no correlation to show).
BUSY = "generic_large_tick"


def small_cfg(seconds: float = 30.0, market: str = BUSY):
    return M.env_config(market, None, seconds, *M.defaults(market), 5.0)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    """A results directory with one run folder (three strategies, three seeds, 30-s episodes) and a broken
    checkpoint folder."""
    root = tmp_path_factory.mktemp("dash_results")
    evaluate(STRATS, small_cfg(), 3, out_dir=root, run_name="run-a", workers=1, progress=False)
    bad = root / "tune" / "exp" / "PPO_0" / "checkpoint_000001"
    (bad / "learner_group" / "learner" / "rl_module" / "default_policy").mkdir(parents=True)
    (bad / "learner_group" / "learner" / "rl_module" / "default_policy" / "module_state.pt").write_text(
        "garbage"
    )
    return root


def app(results_dir, monkeypatch, mode: str | None = None) -> AppTest:
    monkeypatch.setenv(P.RESULTS_ENV, str(results_dir))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    if mode:
        at.radio(key="mode").set_value(mode).run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def values(v) -> np.ndarray:
    """A Plotly data array: a list, or plotly's binary encoding ``{"dtype", "bdata"}``."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def plotly_figures(at: AppTest) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# ------------------------------------------------------------------------------------------------------------
# Data functions.


def test_paths_refuse_outside_and_find_runs_and_checkpoints(results_dir, tmp_path):
    root = P.results_root(results_dir)
    assert P.inside(root, "run-a") == root / "run-a"
    for bad in ("../x", "/etc", str(tmp_path)):
        with pytest.raises(P.DashboardError, match="outside the results directory"):
            P.inside(root, bad)
    with pytest.raises(P.DashboardError, match="not found"):
        P.run_folder(root, "nope")
    with pytest.raises(P.DashboardError, match="is not a run folder"):
        P.run_folder(root, "tune")
    assert P.list_runs(root) == ["run-a"]
    assert P.list_checkpoints(root) == ["tune/exp/PPO_0/checkpoint_000001"]
    with pytest.raises(P.DashboardError, match="does not exist"):
        P.results_root(tmp_path / "missing")


def test_market_parameters_map_onto_the_env_config():
    cfg = M.env_config(AMZN, "high_volatility", 120, 150.0, 0.05, 20.0)
    vols = cfg.market.regimes.volatility
    preset = M.MarketConfig.preset(AMZN)
    assert vols[1] == pytest.approx(0.05 / math.sqrt(SESSION_SECONDS))
    ref = preset.regimes.volatility  # the preset's regime ratios are kept
    assert vols[0] / vols[1] == pytest.approx(ref[0] / ref[1]) and vols[2] / vols[1] == pytest.approx(
        ref[2] / ref[1]
    )
    assert cfg.phase == "high_volatility" and cfg.n_steps == 120
    assert cfg.market.initial_price == 150.0 and cfg.market.latency.mean == pytest.approx(0.02)
    assert cfg.market.flow == preset.flow and cfg.market.tick_size == preset.tick_size
    # each preset's defaults (its price level, its medium regime's daily volatility) reproduce it exactly
    for name in ("amzn_2012_06_21", "generic_large_tick"):
        price, vol = M.defaults(name)
        mc = M.MarketConfig.preset(name)
        assert price == mc.initial_price and vol == pytest.approx(
            sorted(mc.regimes.volatility)[1] * math.sqrt(23_400)
        )
        got = small_cfg(60, name).market
        assert got.regimes.volatility == pytest.approx(mc.regimes.volatility) and got.initial_price == price
    assert M.defaults(AMZN)[0] == pytest.approx(222.7) and M.price_range(AMZN) == (50.0, 222.7)
    assert M.price_range("generic_large_tick") == M.PRICE_RANGE
    st = M.env_config(M.STYLIZED, None, 60, 100.0, 2 * M.REFERENCE_DAILY_VOL, 0.0)
    assert st.market.model == "stylized" and st.market.stylized.sigma == pytest.approx(4.0)
    for kw, msg in (
        ({"duration_s": 5}, "episode duration must be between 10 s and 500 s"),
        ({"initial_price": 20}, "initial price must be between 50 \\$ and 222.7 \\$"),
        (
            {"initial_price": 210, "name": "generic_large_tick"},
            "initial price must be between 50 \\$ and 200 \\$",
        ),
        ({"daily_vol": 0.5}, "volatility must be between 0.01 and 0.1"),
        ({"latency_ms": -1}, "latency must be between"),
        ({"name": "moon"}, "unknown market 'moon'"),
        ({"phase": "calm"}, "unknown phase"),
        ({"name": M.REPLAY, "phase": "low_volatility"}, "the replayed day has no curriculum phases"),
    ):
        args = {
            "name": AMZN,
            "phase": None,
            "duration_s": 60,
            "initial_price": 100.0,
            "daily_vol": 0.02,
            "latency_ms": 5.0,
            **kw,
        }
        with pytest.raises(P.DashboardError, match=msg):
            M.env_config(**args)
    with pytest.raises(P.DashboardError, match="seed"):
        M.check_seed(-1)


def test_replay_market_config(monkeypatch, tmp_path):
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(LOBSTER))
    cfg = M.env_config(M.REPLAY, M.NO_PHASE, 120, 0.0, 0.0, 20.0)  # price and volatility do not apply
    m = cfg.market
    assert (
        m.model == "replay"
        and m.data == str(LOBSTER)
        and m.ticker == "AMZN"
        and m.latency == pytest.approx(0.02)
    )
    assert cfg.episode_seconds == 120 and cfg.phase is None
    # the action box is the simulated AMZN day's (the replay carries the day's typical spread)
    sim = M.EnvConfig(market=M.MarketConfig.preset(AMZN))
    assert (cfg.min_offset_ticks, cfg.max_offset_ticks) == (sim.min_offset_ticks, sim.max_offset_ticks)
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(tmp_path))
    assert M.env_config(M.REPLAY, None, 120, 0.0, 0.0, 5.0).market.data == str(tmp_path)


def test_live_session_follows_the_wall_clock_at_its_speed():
    cfg = small_cfg(60)
    s = LiveSession(load_policy("static_spread", env_config=cfg), cfg, 4, speed=5.0)
    assert s.status == "ready" and s.tick(10.0) == 0  # not running: nothing moves
    s.start(100.0)
    assert s.tick(100.5) == 2 and s.carry_s == pytest.approx(0.5)  # 2.5 simulated s: 2 steps, 0.5 carried
    assert s.tick(100.9) == 2  # 0.5 + 2.0 = 2.5 -> 2 steps
    assert s.tick(150.0) == 5  # a long pause counts as MAX_TICK_WALL_S (1 s) of wall time
    assert s.episode.k == 9 and s.time == pytest.approx(9.0)
    s.pause()
    assert s.tick(151.0) == 0 and s.status == "paused"
    assert s.single_step() == 1 and s.episode.k == 10
    s.set_speed(50.0)
    s.start(200.0)
    for t in range(1, 5):
        s.tick(200.0 + t)
    assert s.episode.done and not s.running and s.status == "finished"
    with pytest.raises(P.DashboardError, match="episode is over"):
        s.start(300.0)
    row = dict(s.metrics_row())
    ref = LiveEpisode("static_spread", cfg, 4)
    ref.step(60)
    m = ref.metrics()
    assert row["P&L ($)"] == f"{m[S.TOTAL_PNL]:,.2f}" and row["Fills"] == f"{m[S.N_FILLS]:,d}"
    s.reset()
    assert s.episode.k == 0 and s.status == "ready" and dict(s.metrics_row())["P&L ($)"] == "-"
    with pytest.raises(P.DashboardError, match="speed"):
        s.set_speed(0)


def test_comparison_run_lands_as_a_run_folder(results_dir, tmp_path):
    seen = []
    run_dir = R.run_comparison(
        tmp_path,
        ["avellaneda_stoikov", "glft"],
        2,
        small_cfg(20),
        run_name="cmp",
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert (
        run_dir == tmp_path / "cmp"
        and seen[-1] == (4, 4)
        and [d for d, _ in seen] == sorted(d for d, _ in seen)
    )
    data = read_run(run_dir)
    assert (
        sorted(set(data.episodes[S.STRATEGY])) == ["avellaneda_stoikov", "gueant_lehalle_fernandez_tapia"]
        and len(data.episodes) == 4
    )
    with pytest.raises(P.DashboardError, match="already exists"):
        R.run_comparison(tmp_path, ["glft"], 1, small_cfg(20), run_name="cmp")
    with pytest.raises(P.DashboardError, match="between 1 and"):
        R.run_comparison(tmp_path, ["glft"], 0, small_cfg(20))
    with pytest.raises(P.DashboardError, match="outside the results directory"):
        R.run_comparison(tmp_path, ["../elsewhere/checkpoint_000001"], 1, small_cfg(20))
    with pytest.raises(P.DashboardError, match="checkpoint cannot be used"):
        R.run_comparison(results_dir, ["tune/exp/PPO_0/checkpoint_000001"], 1, small_cfg(20))
    run = R.load_run(results_dir, "run-a")
    tables = R.comparison(run, "static_spread")
    ref = report_tables(run.episodes, reference="static_spread")
    pd.testing.assert_frame_equal(tables.headline, ref.headline)
    pd.testing.assert_frame_equal(tables.paired_table, ref.paired_table)
    bands = R.equity_bands(run.steps)
    a = run.steps[run.steps[S.STRATEGY] == "random"]
    last = bands[(bands[S.STRATEGY] == "random") & (bands[S.STEP] == a[S.STEP].max())]
    assert last["mean"].iloc[0] == pytest.approx(a.loc[a[S.STEP] == a[S.STEP].max(), S.PNL].mean())


def test_strategy_and_portfolio_views(results_dir):
    run = R.load_run(results_dir, "run-a")
    v = R.strategy_view(run, "random", 1, window=10)
    assert v.seeds == [0, 1, 2] and len(v.episode_steps) == 30 and (v.episode_steps[S.SEED] == 1).all()
    assert np.all(v.drawdown >= 0) and np.isnan(v.rolling_sharpe[:9]).all()
    assert len(v.trades) == (run.fills[S.STRATEGY] == "random").sum()
    assert {"markout_1s", "markout_10s", "markout_60s"} <= set(v.trades.columns)
    risk = v.risk.set_index("of")
    assert risk.loc["step P&L, mean of the episodes' own", "VaR 95% ($)"] == pytest.approx(
        v.episodes[S.VAR_95].mean()
    )
    with pytest.raises(P.DashboardError, match="seed 9"):
        R.strategy_view(run, "random", 9)
    with pytest.raises(P.DashboardError, match="rolling window"):
        R.strategy_view(run, "random", 0, window=1)
    # (two strategies that trade: a flat P&L, like the Avellaneda-Stoikov quotes that stay out of this market's
    # touch in 30 s, has no correlation)
    p = R.portfolio_view(run, ["random", "static_spread"], "custom", {"random": 1, "static_spread": 3})
    assert p.weights.tolist() == [0.25, 0.75]
    assert p.correlation.shape == (2, 2) and p.correlation.iloc[0, 0] == pytest.approx(1.0)
    assert list(p.table["strategy"]) == ["random", "static_spread", "portfolio"]
    with pytest.raises(P.DashboardError, match="at least two"):
        R.portfolio_view(run, ["random"])


# ------------------------------------------------------------------------------------------------------------
# The page, mode by mode.


def test_live_mode(results_dir, monkeypatch, tmp_path):
    at = app(results_dir, monkeypatch)
    assert at.radio(key="mode").value == "Live Simulation" and not errors(at)
    assert at.selectbox(key="live_agent").options[-1] == "tune/exp/PPO_0/checkpoint_000001"
    assert metrics(at)["Simulated time (s)"] == "0 / 300" and metrics(at)["Status"] == "ready"
    at.number_input(key="live_duration").set_value(60.0).run()
    at.select_slider(key="live_speed").set_value(50.0).run()
    at.button(key="live_start").click().run()
    assert metrics(at)["Status"] == "running"
    t0 = metrics(at)["Simulated time (s)"]
    time.sleep(0.3)
    at.run()  # AppTest's timers do not fire: a rerun stands for the fragment's next tick
    t1 = metrics(at)["Simulated time (s)"]
    assert int(t1.split(" /")[0]) > int(t0.split(" /")[0]) and t1.endswith("/ 60")
    figs = plotly_figures(at)
    titles = [f["layout"]["title"]["text"] for f in figs]
    assert titles == ["Live market", "Live account"]
    panels = [a["text"] for f in figs for a in f["layout"]["annotations"]]
    assert panels == [
        "Order book (L2), agent's orders marked",
        "Mid price, agent's quotes and fills",
        "P&L and inventory",
        "Reward and its components (cumulative)",
    ]
    market, account = figs
    names = [t["name"] for t in market["data"]]
    assert names[:5] == ["bids", "asks", "agent's bid", "agent's ask", "mid"]
    x = values(market["data"][4]["x"])  # one mid per simulated second, up to the time shown
    assert len(x) == int(t1.split(" /")[0]) and x[-1] == float(t1.split(" /")[0])
    assert len(values(market["data"][0]["y"])) > 0 and np.all(values(market["data"][0]["x"]) < 0)  # bids left
    assert np.all(values(market["data"][1]["x"]) > 0)  # asks right
    sess = at.session_state["live"]
    pnl = values(account["data"][0]["y"])  # the account panels follow the same episode
    assert len(pnl) == len(x) and pnl[-1] == pytest.approx(sess.episode.series(S.PNL)[len(x) - 1])
    assert {
        "P&L ($)",
        "Sharpe so far",
        "Inventory (shares)",
        "Fills",
        "Spread captured ($/share)",
        "Adverse selection ($/share)",
    } <= set(metrics(at))
    at.button(key="live_pause").click().run()
    assert metrics(at)["Status"] == "paused"
    k = int(metrics(at)["Simulated time (s)"].split(" /")[0])
    at.button(key="live_step").click().run()
    assert int(metrics(at)["Simulated time (s)"].split(" /")[0]) == k + 1
    at.button(key="live_reset").click().run()
    assert metrics(at)["Simulated time (s)"] == "0 / 60" and metrics(at)["Status"] == "ready"
    # impossible parameters: a message, no traceback, and the page keeps working
    at.number_input(key="live_duration").set_value(5.0).run()
    assert not at.exception
    assert errors(at) == ["episode duration must be between 10 s and 500 s, got 5.0"]
    at.number_input(key="live_duration").set_value(60.0).run()
    assert at.number_input(key="live_price").value == pytest.approx(222.7)  # the preset's price level
    at.number_input(key="live_vol").set_value(0.5).run()
    assert errors(at) == ["volatility must be between 0.01 and 0.1, got 0.5"]
    at.number_input(key="live_vol").set_value(0.03).run()
    assert not errors(at) and metrics(at)["Status"] == "ready"
    # an unreadable checkpoint
    at.selectbox(key="live_agent").select("tune/exp/PPO_0/checkpoint_000001").run()
    assert not at.exception
    (msg,) = errors(at)
    assert "checkpoint_000001" in msg and "cannot be loaded as an RLModule" in msg
    at.selectbox(key="live_agent").select("gueant_lehalle_fernandez_tapia").run()
    assert not errors(at) and metrics(at)["Agent"] == "gueant_lehalle_fernandez_tapia"
    # another preset: its price level becomes the initial price
    at.selectbox(key="live_market").select("generic_large_tick").run()
    assert not errors(at) and at.number_input(key="live_price").value == 100.0
    # the replayed AMZN day: the episode runs in the day's prices; price, volatility and phase do not apply
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(LOBSTER))
    at.selectbox(key="live_market").select(M.REPLAY).run()
    assert not errors(at), errors(at)
    assert at.number_input(key="live_price").disabled and at.selectbox(key="live_phase").disabled
    at.button(key="live_start").click().run()
    time.sleep(0.3)
    at.run()
    assert not errors(at) and int(metrics(at)["Simulated time (s)"].split(" /")[0]) > 0
    mid = values(plotly_figures(at)[0]["data"][4]["y"])
    assert len(mid) > 0 and np.all((mid > 215) & (mid < 230))  # AMZN traded $220.52-226.03 that day
    # a LOBSTER folder without the day: a message in the page, which keeps working
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(tmp_path))
    at.run()
    assert not at.exception
    (msg,) = errors(at)
    assert str(tmp_path) in msg and "message" in msg
    at.selectbox(key="live_market").select(AMZN).run()
    assert not errors(at) and metrics(at)["Status"] == "ready"


def test_comparison_mode(results_dir, monkeypatch):
    at = app(results_dir, monkeypatch, "Strategy Comparison")
    assert not errors(at) and at.selectbox(key="run_folder").value == "run-a"
    head = at.dataframe[0].value
    assert list(head.index) == STRATS and "Sharpe" in " ".join(head.columns)
    paired = at.dataframe[1].value
    assert set(paired["Strategy"]) == {"static_spread", "random"} and "Wilcoxon p" in paired.columns
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles == ["Per-episode distributions", "Equity curves: mean P&L and 5-95% band"]
    at.selectbox(key="cmp_reference").select("random").run()
    paired = at.dataframe[1].value
    assert set(paired["Strategy"]) == {"avellaneda_stoikov", "static_spread"}
    # a new comparison lands as a run folder and is opened
    at.multiselect(key="cmp_strategies").set_value(["gueant_lehalle_fernandez_tapia", "static_spread"])
    at.number_input(key="cmp_episodes").set_value(2)
    at.number_input(key="cmp_duration").set_value(20.0)
    at.text_input(key="cmp_name").input("run-new")
    at.button(key="cmp_run").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert (results_dir / "run-new" / "episodes.parquet").is_file()
    assert at.selectbox(key="run_folder").value == "run-new"
    head = at.dataframe[0].value
    assert list(head.index) == ["gueant_lehalle_fernandez_tapia", "static_spread"]
    # wrong folders: messages, and the page keeps working
    at.text_input(key="run_path").input("no-such-run").run()
    assert errors(at) == [f"run folder 'no-such-run' not found under '{results_dir}'"]
    at.text_input(key="run_path").input("../../etc").run()
    assert "outside the results directory" in errors(at)[0]
    at.text_input(key="run_path").input("").run()
    assert not errors(at)
    at.number_input(key="cmp_episodes").set_value(0)
    at.button(key="cmp_run").click().run()
    assert errors(at) == ["number of episodes must be between 1 and 500, got 0"]


def test_comparison_on_the_replayed_day(results_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(tmp_path))  # first a LOBSTER folder without the day
    at = app(results_dir, monkeypatch, "Strategy Comparison")
    at.selectbox(key="cmp_market").select(M.REPLAY).run()
    assert at.selectbox(key="cmp_phase").disabled and not errors(at)
    at.multiselect(key="cmp_strategies").set_value(["static_spread", "random"])
    at.number_input(key="cmp_episodes").set_value(2)
    at.number_input(key="cmp_duration").set_value(60.0)  # longer than the rolling Sharpe's 30 steps
    at.text_input(key="cmp_name").input("run-replay")
    at.button(key="cmp_run").click().run()
    assert not at.exception
    (msg,) = errors(at)  # a message, nothing written
    assert str(tmp_path) in msg and not (results_dir / "run-replay").exists()
    monkeypatch.setenv("ALMM_LOBSTER_DIR", str(LOBSTER))
    at.button(key="cmp_run").click().run()
    assert not at.exception and not errors(at), errors(at)
    run = R.load_run(results_dir, "run-replay")
    assert run.env.market.model == "replay" and len(run.episodes) == 4
    assert list(at.dataframe[0].value.index) == ["static_spread", "random"]
    # its deep analysis (the replayed day has no volatility regimes of the simulator)
    at.radio(key="mode").set_value("Deep Analysis").run()
    at.selectbox(key="run_folder").select("run-replay").run()
    assert not at.exception and not errors(at), errors(at)


def test_deep_analysis_mode(results_dir, monkeypatch):
    at = app(results_dir, monkeypatch, "Deep Analysis")
    at.selectbox(key="run_folder").select("run-a").run()
    at.selectbox(key="deep_strategy").select("static_spread").run()
    at.selectbox(key="deep_seed").select(2).run()
    assert not errors(at)
    run = read_run(results_dir / "run-a")
    eps = run.episodes[run.episodes[S.STRATEGY] == "static_spread"]
    assert metrics(at)["Mean total P&L ($)"] == f"{eps[S.TOTAL_PNL].mean():,.2f}"
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles[0] == "Equity, drawdown and underwater" and "Rolling Sharpe (30 steps)" in titles
    assert "Mean P&L per step by volatility regime (95% CI)" in titles
    trades = at.dataframe[1].value
    assert len(trades) == (run.fills[S.STRATEGY] == "static_spread").sum()
    assert list(trades.columns[-3:]) == ["markout_1s", "markout_10s", "markout_60s"]
    risk = at.dataframe[0].value
    assert list(risk.columns) == ["of", "VaR 95% ($)", "CVaR 95% ($)", "observations"]
    at.number_input(key="deep_window").set_value(1).run()
    assert errors(at) == ["rolling window must be between 2 and 30 steps, got 1"]


def test_portfolio_mode(results_dir, monkeypatch):
    at = app(results_dir, monkeypatch, "Portfolio View")
    at.selectbox(key="run_folder").select("run-a").run()
    assert not errors(at)
    table = at.dataframe[0].value
    assert list(table["strategy"]) == [*STRATS, "portfolio"]
    assert table["weight"].iloc[:3].tolist() == pytest.approx([1 / 3] * 3, abs=1e-4)  # shown to 4 decimals
    assert "Diversification ratio" in metrics(at)
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles == ["Correlation of per-step P&L", "Equity: members and portfolio (mean, 5-95% band)"]
    at.radio(key="pf_weighting").set_value("custom").run()
    for s in STRATS:
        at.number_input(key=f"pf_w_{s}").set_value(0.0)
    at.run()
    assert errors(at) == ["portfolio: the weights sum to 0: give at least one strategy a positive weight"]
    at.number_input(key="pf_w_random").set_value(2.0).run()
    table = at.dataframe[0].value
    assert table["weight"].tolist()[:3] == [0.0, 0.0, 1.0] and not errors(at)
    at.multiselect(key="pf_members").set_value(["random"]).run()
    assert errors(at) == ["choose at least two strategies for a portfolio"]


def test_wrong_results_directory_is_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(P.RESULTS_ENV, str(tmp_path / "missing"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and "does not exist" in errors(at)[0]
    # `almm dashboard` becomes the server process (exec): run it as a command
    cmd = [sys.executable, "-m", "almm_rllib.cli", "dashboard", "--results", str(tmp_path / "missing")]
    r = subprocess.run([*cmd, "--port", "8599"], capture_output=True, text=True, timeout=120)
    assert (
        r.returncode == 2 and "almm dashboard: results directory" in r.stderr and "does not exist" in r.stderr
    )
    r = subprocess.run([*cmd[:-2], "--port", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--port must be in 1..65535" in r.stderr
