"""The Streamlit page (``streamlit run almm_rllib/dashboard/app.py``; ``almm dashboard`` starts it).

Thin on purpose: every figure and table comes from :mod:`.live`, :mod:`.runs` and :mod:`.markets` (plain
functions over the project's simulator, evaluation runner and results), drawn by :mod:`.figures`. Any
refusal (a wrong folder, an unreadable checkpoint, an impossible parameter) is shown as a message in the page,
never as a traceback, and the page keeps working.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from almm_rllib.baselines import STRATEGIES
from almm_rllib.core.config import ConfigError
from almm_rllib.dashboard import figures as F
from almm_rllib.dashboard import markets as M
from almm_rllib.dashboard import paths as P
from almm_rllib.dashboard import runs as R
from almm_rllib.dashboard.live import SPEEDS, LiveSession
from almm_rllib.evaluation import CheckpointError, load_policy, parse_policy_spec
from almm_rllib.results import ResultsError
from almm_rllib.results import schema as S

MODES = ("Live Simulation", "Strategy Comparison", "Deep Analysis", "Portfolio View")
#: Seconds between two updates of the live view (clock, metrics, book and prices) while an episode runs.
LIVE_TICK_S = 0.1
#: Seconds between two updates of the account panels (P&L, inventory, reward) while an episode runs.
ACCOUNT_TICK_S = 1.0
#: Widgets whose choices depend on the open run folder (reset when another run is opened).
RUN_WIDGET_PREFIXES = ("cmp_reference", "deep_strategy", "deep_seed", "pf_members", "pf_w_")
EXPECTED = (P.DashboardError, CheckpointError, ConfigError, ResultsError, ValueError)


@st.cache_resource(show_spinner="loading the checkpoint ...")
def _checkpoint_policy(path: str):
    """A checkpoint's policy, loaded once per process (it is stateless: live sessions may share it)."""
    return load_policy(parse_policy_spec(path))


def _policy_for(root, agent: str, cfg):
    if agent in STRATEGIES:
        return load_policy(agent, env_config=cfg)
    return _checkpoint_policy(str(P.inside(root, agent)))


def _market_controls(prefix: str, where) -> tuple[str, str | None]:
    """The market (a preset, the stylized market or the replayed day) and the curriculum phase (none for the
    replayed day); the market's description below them."""
    market = where.selectbox(
        "Market", list(M.MARKETS), key=f"{prefix}_market", help="a market preset, or the replayed LOBSTER day"
    )
    replay = market == M.REPLAY
    phase = where.selectbox(
        "Curriculum phase",
        M.PHASE_CHOICES,
        key=f"{prefix}_phase",
        disabled=replay,
        help="the replayed day has no phases" if replay else "pins a volatility regime, or lets them switch",
    )
    where.caption(M.MARKETS[market])
    return market, None if replay else phase


def _follow_market_defaults(market: str) -> None:
    """When the live market changes, its price level and volatility become the price and volatility inputs'
    values (before the inputs are drawn)."""
    if st.session_state.get("live_market_seen") == market:
        return
    st.session_state["live_market_seen"] = market
    d = M.defaults(market)
    if d is not None:
        st.session_state["live_price"], st.session_state["live_vol"] = float(d[0]), float(d[1])
    else:
        st.session_state.setdefault("live_price", M.PRICE_RANGE[1])
        st.session_state.setdefault("live_vol", M.REFERENCE_DAILY_VOL)


# ------------------------------------------------------------------------------------------------------------
# Live Simulation.


def live_page(root) -> None:
    sb = st.sidebar
    checkpoints = P.list_checkpoints(root)
    agents = [*STRATEGIES, *checkpoints]
    agent = sb.selectbox(
        "Agent", agents, key="live_agent", help="a baseline, or a checkpoint under the results directory"
    )
    market, phase = _market_controls("live", sb)
    replay = market == M.REPLAY
    duration = sb.number_input(
        "Episode duration (s)",
        value=300.0,
        step=10.0,
        key="live_duration",
        help="10-500 simulated seconds, one step per second",
    )
    _follow_market_defaults(market)
    lo, hi = M.price_range(market)
    price = sb.number_input(
        "Initial price ($)",
        step=5.0,
        key="live_price",
        disabled=replay,
        help="the replayed day's own prices"
        if replay
        else f"${lo:g}-{hi:g}; defaults to the preset's price level",
    )
    vol = sb.number_input(
        "Volatility (daily, relative)",
        step=0.005,
        format="%.4f",
        key="live_vol",
        disabled=replay,
        help="the replayed day's own volatility"
        if replay
        else "0.01-0.10; sets the preset's medium regime to daily/sqrt(23,400 s), low and high in proportion "
        "(the default is the preset's own)",
    )
    latency = sb.number_input("Latency (ms)", value=5.0, step=1.0, key="live_latency", help="0-1,000 ms")
    seed = sb.number_input(
        "Seed",
        value=0,
        step=1,
        key="live_seed",
        help="the replayed day: draws the episode's start in the day" if replay else "the episode's seed",
    )
    speed = sb.select_slider("Speed (simulated s per s)", options=SPEEDS, value=10.0, key="live_speed")

    cfg = M.env_config(market, phase, duration, price, vol, latency)
    seed = M.check_seed(seed)
    signature = (agent, cfg, seed)
    sess: LiveSession | None = st.session_state.get("live")
    if sess is None or st.session_state.get("live_signature") != signature:
        st.session_state.pop("live", None)
        with st.spinner("preparing the episode (the replayed day is read once, then cached) ..."):
            sess = LiveSession(_policy_for(root, agent, cfg), cfg, seed)
        st.session_state["live"] = sess
        st.session_state["live_signature"] = signature
    sess.set_speed(float(speed))

    c = st.columns(4)
    if c[0].button("Start", key="live_start", type="primary"):
        sess.start(time.monotonic())
    if c[1].button("Pause", key="live_pause"):
        sess.pause()
    if c[2].button("Single step", key="live_step"):
        sess.single_step()
    if c[3].button("Reset", key="live_reset"):
        sess.reset()

    @st.fragment(run_every=LIVE_TICK_S if sess.running else None)
    def live_view() -> None:
        s: LiveSession = st.session_state["live"]
        was_running = s.running
        s.tick(time.monotonic())
        ep = s.episode
        head = st.columns(3)
        head[0].metric("Simulated time (s)", f"{s.time:.0f} / {s.config.episode_seconds:.0f}")
        head[1].metric("Status", s.status)
        head[2].metric("Agent", ep.label)
        rate = s.update_rate()
        st.caption(
            f"speed {s.speed:g}x · {s.updates} updates"
            + (f" · {rate:.1f} updates/s" if rate == rate else "")
            + " · charts are static while the episode runs (hover them when paused)"
        )
        st.plotly_chart(
            _live_chart().update_market(s.view(), s.running),
            key="live_market_chart",
            config=_chart_cfg(s),
            theme=None,
        )
        if was_running and not s.running:
            st.rerun(scope="app")  # the episode ended: stop the timers

    @st.fragment(run_every=ACCOUNT_TICK_S if sess.running else None)
    def account_view() -> None:
        s: LiveSession = st.session_state["live"]
        metrics = s.metrics_row(time.monotonic())
        for col, (label, value) in zip(st.columns(len(metrics)), metrics):
            col.metric(label, value)
        st.plotly_chart(
            _live_chart().update_account(s.view()), key="live_account_chart", config=_chart_cfg(s), theme=None
        )

    live_view()
    account_view()


def _live_chart() -> F.LiveChart:
    """The live figures of this browser session (built once, their data replaced by each update)."""
    chart = st.session_state.get("live_figures")
    if chart is None:
        chart = st.session_state["live_figures"] = F.LiveChart()
    return chart


def _chart_cfg(s: LiveSession) -> dict:
    return {"staticPlot": s.running}  # no interactivity to rebuild on each update while running


# ------------------------------------------------------------------------------------------------------------
# Run folders (Strategy Comparison, Deep Analysis, Portfolio View).


def _run_picker(root) -> R.Run | None:
    sb = st.sidebar
    pending = st.session_state.pop("pending_run", None)
    if pending is not None:
        st.session_state["run_folder"] = pending
        st.session_state["run_path"] = ""
    runs = P.list_runs(root)
    sb.selectbox(
        "Run folder", runs, key="run_folder", index=0 if runs else None, placeholder="no run folders yet"
    )
    typed = sb.text_input("... or a folder under the results directory", key="run_path")
    name = typed.strip() or st.session_state.get("run_folder")
    if not name:
        return None
    run = R.load_run(root, name)
    if st.session_state.get("run_loaded") != str(run.path):
        # another run: its strategies and seeds differ, so the widgets that chose among them start afresh
        for key in [k for k in st.session_state if k.startswith(RUN_WIDGET_PREFIXES)]:
            del st.session_state[key]
        st.session_state["run_loaded"] = str(run.path)
    return run


def comparison_page(root) -> None:
    sb = st.sidebar
    with st.expander("Run a new comparison", expanded=not P.list_runs(root)):
        c1, c2 = st.columns(2)
        strategies = c1.multiselect(
            "Strategies",
            list(STRATEGIES),
            default=["avellaneda_stoikov", "static_spread"],
            key="cmp_strategies",
        )
        checkpoints = c2.multiselect("Checkpoints", P.list_checkpoints(root), key="cmp_checkpoints")
        c3, c4, c5 = st.columns(3)
        n = c3.number_input("Episodes", value=10, step=1, key="cmp_episodes", help=f"1-{R.MAX_EPISODES}")
        duration = c4.number_input("Episode duration (s)", value=300.0, step=10.0, key="cmp_duration")
        name = c5.text_input("Run name (optional)", key="cmp_name")
        market, phase = _market_controls("cmp", st)
        if st.button("Run comparison", key="cmp_run", type="primary"):
            price, vol = M.defaults(market) or (0.0, 0.0)  # the preset as defined (the replay ignores both)
            cfg = M.env_config(market, phase, duration, price, vol, 5.0)
            bar = st.progress(0.0, text="starting ...")
            run_dir = R.run_comparison(
                root,
                [*strategies, *checkpoints],
                int(n),
                cfg,
                run_name=name.strip() or None,
                on_progress=lambda done, total: bar.progress(done / total, text=f"{done}/{total} episodes"),
            )
            st.session_state["pending_run"] = run_dir.name
            st.rerun()
    run = _run_picker(root)
    if run is None:
        st.info(
            "No run folder yet: run a comparison above, or `almm evaluate` one into the results directory."
        )
        return
    strategies = run.strategies
    reference = sb.selectbox(
        "Reference strategy",
        strategies,
        key="cmp_reference",
        index=strategies.index("avellaneda_stoikov") if "avellaneda_stoikov" in strategies else 0,
    )
    tables = R.comparison(run, reference)
    st.subheader(f"Run {run.name}: {len(strategies)} strategies, {tables.n_seeds} seeds")
    st.markdown("**Expected performance** (mean and 95% bootstrap interval per episode)")
    st.dataframe(tables.headline, key="cmp_headline")
    if tables.paired_table is not None:
        st.markdown(f"**Paired comparison against {reference}** (Wilcoxon signed-rank p-values)")
        st.dataframe(tables.paired_table, hide_index=True, key="cmp_paired")
    else:
        st.info(tables.paired_note)
    st.plotly_chart(F.distributions_chart(run.episodes, R.DISTRIBUTION_METRICS), key="cmp_dist")
    st.plotly_chart(F.equity_bands_chart(R.equity_bands(run.steps)), key="cmp_equity")


def deep_page(root) -> None:
    run = _run_picker(root)
    if run is None:
        st.info("No run folder yet: run a comparison first.")
        return
    sb = st.sidebar
    strategy = sb.selectbox("Strategy", run.strategies, key="deep_strategy")
    seeds = sorted(int(s) for s in pd.unique(run.episodes.loc[run.episodes[S.STRATEGY] == strategy, S.SEED]))
    seed = sb.selectbox("Episode (seed) of the path charts", seeds, key="deep_seed")
    window = sb.number_input("Rolling Sharpe window (steps)", value=30, step=5, key="deep_window")
    v = R.strategy_view(run, strategy, seed, int(window))
    st.subheader(f"{strategy} in run {run.name}: {len(v.seeds)} episodes")
    eps = v.episodes
    m = st.columns(5)
    m[0].metric("Mean total P&L ($)", f"{eps[S.TOTAL_PNL].mean():,.2f}")
    m[1].metric("Mean Sharpe", f"{eps[S.SHARPE].mean():.2f}")
    m[2].metric("Fill ratio", f"{eps[S.FILL_RATIO].mean():.3f}")
    m[3].metric("Spread captured ($/sh)", f"{eps[S.SPREAD_CAPTURED].mean():.4f}")
    m[4].metric("Adverse selection ($/sh)", f"{eps[S.ADVERSE_SELECTION].mean():.4f}")
    st.plotly_chart(F.equity_drawdown_chart(v.episode_steps, v.drawdown), key="deep_equity")
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        F.histogram(eps[S.TOTAL_PNL], "P&L distribution (episode totals)", "total P&L ($)"),
        key="deep_pnl_hist",
    )
    c2.plotly_chart(
        F.line_chart(
            v.episode_steps[S.TIME],
            v.rolling_sharpe,
            f"Rolling Sharpe ({int(window)} steps)",
            "time (s)",
            "Sharpe",
        ),
        key="deep_rolling",
    )
    c3, c4 = st.columns(2)
    c3.plotly_chart(
        F.line_chart(
            v.episode_steps[S.TIME],
            v.episode_steps[S.INVENTORY],
            f"Inventory path (seed {v.seed})",
            "time (s)",
            "shares",
            F.COLORS[3],
        ),
        key="deep_inv_path",
    )
    c4.plotly_chart(
        F.histogram(v.inventory, "Inventory histogram (every step)", "shares", F.COLORS[3]),
        key="deep_inv_hist",
    )
    st.markdown("**Value at risk** (historical, 95%)")
    st.dataframe(v.risk, hide_index=True, key="deep_risk")
    c5, c6 = st.columns(2)
    c5.plotly_chart(F.edge_chart(eps), key="deep_edge")
    regimes = getattr(run.env.market, "regimes", None) if run.env else None  # the replayed day has none
    regime_names = dict(enumerate(regimes.names)) if regimes else {}
    c6.plotly_chart(F.regime_chart(v.regimes, regime_names), key="deep_regimes")
    st.markdown(
        f"**Trades**: every fill with its markouts at 1, 10 and 60 s ($/share, + = in the agent's favour); "
        f"{len(v.trades)} fills"
    )
    cols = [
        S.SEED,
        S.STEP,
        S.TIME,
        S.SIDE,
        S.PRICE,
        S.QTY,
        S.MID_AT_FILL,
        "spread_captured",
        "markout_1s",
        "markout_10s",
        "markout_60s",
    ]
    st.dataframe(v.trades[cols], hide_index=True, key="deep_trades", height=300)


def portfolio_page(root) -> None:
    run = _run_picker(root)
    if run is None:
        st.info("No run folder yet: run a comparison first.")
        return
    sb = st.sidebar
    members = sb.multiselect("Strategies", run.strategies, default=run.strategies, key="pf_members")
    weighting = sb.radio(
        "Weights",
        ("equal", "inverse_volatility", "custom"),
        key="pf_weighting",
        format_func=lambda w: w.replace("_", "-"),
    )
    custom = None
    if weighting == "custom":
        custom = {s: sb.number_input(f"weight of {s}", value=1.0, step=0.1, key=f"pf_w_{s}") for s in members}
    v = R.portfolio_view(run, members, weighting, custom)
    st.subheader(f"Portfolio of {len(members)} strategies of run {run.name}")
    t = v.table.set_index("strategy")
    m = st.columns(4)
    m[0].metric("Portfolio mean P&L ($)", f"{t.loc['portfolio', S.TOTAL_PNL]:,.2f}")
    m[1].metric("Portfolio mean Sharpe", f"{t.loc['portfolio', S.SHARPE]:.2f}")
    m[2].metric("Portfolio mean max drawdown ($)", f"{t.loc['portfolio', S.MAX_DRAWDOWN]:,.2f}")
    m[3].metric("Diversification ratio", f"{v.diversification_ratio:.2f}")
    st.dataframe(v.table.round(4), hide_index=True, key="pf_table")
    c1, c2 = st.columns([1, 2])
    c1.plotly_chart(F.correlation_chart(v.correlation), key="pf_corr")
    c2.plotly_chart(
        F.equity_bands_chart(v.equity, "Equity: members and portfolio (mean, 5-95% band)"), key="pf_equity"
    )


PAGES = {MODES[0]: live_page, MODES[1]: comparison_page, MODES[2]: deep_page, MODES[3]: portfolio_page}


def main() -> None:
    st.set_page_config(page_title="almm dashboard", layout="wide")
    st.sidebar.title("almm dashboard")
    mode = st.sidebar.radio("Mode", MODES, key="mode")
    st.title(mode)
    try:
        root = P.results_root()
    except P.DashboardError as e:
        st.error(str(e))
        return
    st.sidebar.caption(f"results directory: {root}")
    try:
        PAGES[mode](root)
    except EXPECTED as e:
        st.error(str(e))
    except Exception as e:  # the page keeps working: report, never a traceback
        st.error(f"unexpected error: {type(e).__name__}: {e}")


main()
