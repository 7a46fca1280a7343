"""The evaluation runner: common random numbers, run folders, metrics, checkpoints, CLI, the AS paper table."""

from __future__ import annotations

import gc
import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from almm_rllib.cli import main
from almm_rllib.core.config import ConfigError
from almm_rllib.env import EnvConfig, MarketMakingGymEnv
from almm_rllib.evaluation.policies import (
    CheckpointError,
    CheckpointPolicy,
    checkpoint_label,
    parse_policy_spec,
)
from almm_rllib.evaluation.runner import (
    as_env_config,
    evaluate,
    parse_seeds,
    resolve_policies,
    run_episode,
)
from almm_rllib.evaluation.simulate import paper_table, simulate
from almm_rllib.results import ResultsError, episodes_table, paired_comparison, read_run
from almm_rllib.results import schema as S

SMALL = {"episode_seconds": 40.0, "market": {"warmup_seconds": 5.0}}
AS = "avellaneda_stoikov:gamma=0.001,k=50"


# ------------------------------------------------------------------------------------------------------------
# One episode.


def test_same_seed_same_exogenous_flow_across_strategies():
    # 300 s: on the AMZN preset a minute may hold two market orders, too few to tell the two strategies apart
    cfg = {"episode_seconds": 300.0, "market": {"warmup_seconds": 5.0}}
    passive = run_episode("static_spread:half_spread_ticks=40", cfg, 11, run_id="crn")
    active = run_episode("random:min_offset_ticks=-2,max_offset_ticks=0,min_size=1,max_size=3", cfg, 11)
    assert len(active.fills) > 5 * max(len(passive.fills), 1)  # very different behaviour...
    for key in ("limit_buy", "limit_sell", "market"):  # ...same background arrivals
        assert passive.background[key] == active.background[key] > 0
    np.testing.assert_array_equal(passive.steps[S.REGIME], active.steps[S.REGIME])
    np.testing.assert_array_equal(passive.steps[S.TIME], active.steps[S.TIME])
    # and the same seed again gives the same episode, bit for bit
    again = run_episode("static_spread:half_spread_ticks=40", cfg, 11, run_id="crn")
    pd.testing.assert_frame_equal(passive.steps, again.steps)
    pd.testing.assert_frame_equal(passive.fills, again.fills)


def test_episode_log_columns_and_fill_mids():
    log = run_episode(
        "random:min_offset_ticks=-1,max_offset_ticks=1", SMALL, 3, strategy_name="rnd", run_id="r1"
    )
    cfg = as_env_config(SMALL)
    assert list(log.steps.columns) == list(S.STEPS_COLUMNS)
    assert list(log.fills.columns) == list(S.FILLS_COLUMNS)
    assert len(log.steps) == cfg.n_steps
    assert log.steps[S.STEP].tolist() == list(range(1, cfg.n_steps + 1))
    assert set(log.steps[S.STRATEGY]) == {"rnd"} and set(log.steps[S.RUN_ID]) == {"r1"}
    assert (log.steps[S.PHASE] == "eval").all()
    assert len(log.fills) > 0
    # fills lie inside their step
    t_end = log.steps.set_index(S.STEP)[S.TIME]
    step_time = t_end.loc[log.fills[S.STEP]].to_numpy()
    # mid_at_fill is mid(t_fill), the mid in force at the fill: the mid at the end of the step before the
    # fill's step (the reset mid for step 1), or the step's own mid for a fill stamped exactly at its end
    env = MarketMakingGymEnv(cfg)
    _, info = env.reset(seed=3)
    mids = np.concatenate([[info["mid"]], log.steps[S.MID].to_numpy()])
    k = log.fills[S.STEP].to_numpy()
    at_end = log.fills[S.TIME].to_numpy() >= step_time - 1e-9
    np.testing.assert_array_equal(log.fills[S.MID_AT_FILL], np.where(at_end, mids[k], mids[k - 1]))
    assert np.all(log.fills[S.TIME].to_numpy() <= step_time + 1e-9)
    assert np.all(log.fills[S.TIME].to_numpy() > step_time - cfg.dt - 1e-9)
    # the fills' quantities add up to the step's filled quantities (maker) plus taker trades
    assert log.fills[S.QTY].sum() >= (log.steps[S.FILLED_BID_QTY] + log.steps[S.FILLED_ASK_QTY]).sum()
    # a training config (episode-only infos) is evaluated with full infos: the same log
    lean = run_episode(
        "random:min_offset_ticks=-1,max_offset_ticks=1",
        {**SMALL, "info_level": "episode"},
        3,
        strategy_name="rnd",
        run_id="r1",
    )
    pd.testing.assert_frame_equal(lean.steps, log.steps)


def test_liquidation_cost_is_the_simulators():
    impact = {"model": "almgren_chriss", "epsilon": 0.01, "eta": 0.001, "liquidation_seconds": 10.0}
    cfg = {**SMALL, "market": {"warmup_seconds": 5.0, "impact": impact}}
    log = run_episode("random:min_offset_ticks=-2,max_offset_ticks=0,max_size=3", cfg, 2)
    q = log.steps[S.INVENTORY].iloc[-1]
    assert q != 0 and log.liquidation_cost > 0
    eps_part = 0.01 * abs(q)
    assert log.liquidation_cost == pytest.approx(eps_part + 0.001 * q * q / 10.0)
    m = log.metrics(as_env_config(cfg))
    assert m[S.TOTAL_PNL_LIQUIDATED] == pytest.approx(m[S.TOTAL_PNL] - log.liquidation_cost)
    # an env that liquidates itself already charged it: not counted twice
    log2 = run_episode(
        "random:min_offset_ticks=-2,max_offset_ticks=0,max_size=3",
        {**cfg, "terminal_inventory": "liquidate"},
        2,
    )
    assert log2.liquidation_cost == 0.0
    assert log2.steps[S.PNL].iloc[-1] == pytest.approx(log.steps[S.PNL].iloc[-1] - log.liquidation_cost)


def test_specs_seeds_and_labels():
    s = parse_policy_spec("glft:gamma=0.05,Q=3")
    assert s.kind == "baseline" and s.strategy == "gueant_lehalle_fernandez_tapia"
    assert s.params == {"gamma": 0.05, "Q": 3} and s.label == "gueant_lehalle_fernandez_tapia:gamma=0.05,Q=3"
    assert parse_policy_spec("static_spread").label == "static_spread"
    with pytest.raises(
        ConfigError, match=r"strategy 'static_spread': StaticSpreadParams\.width is not a known key"
    ):
        parse_policy_spec("static_spread:width=3")
    with pytest.raises(ValueError, match="neither a baseline"):
        parse_policy_spec("no_such_strategy")
    assert parse_seeds(3) == [0, 1, 2] and parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("5-7") == [5, 6, 7] and parse_seeds("4,1,9") == [4, 1, 9]
    with pytest.raises(ValueError, match="only once"):
        parse_seeds("1,1")
    specs = resolve_policies(["static_spread", "random"], ["a", "b"])
    assert [x.label for x in specs] == ["a", "b"]
    with pytest.raises(ValueError, match="unique"):
        resolve_policies(["static_spread", "static_spread"])
    with pytest.raises(ValueError, match="one name per policy"):
        resolve_policies(["static_spread", "random"], ["only_one"])


# ------------------------------------------------------------------------------------------------------------
# Run folders.


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    path = evaluate(
        [AS, "static_spread"],
        SMALL,
        [3, 4, 5],
        out_dir=out,
        run_name="two-by-three",
        workers=1,
        progress=False,
        policy_names=["avellaneda_stoikov", "static_spread"],
    )
    return path


def test_run_folder_reads_back_with_pandas_pyarrow_duckdb(small_run):
    assert small_run.name == "two-by-three"
    con = duckdb.connect()
    for table, schema in (
        ("steps", S.STEPS_SCHEMA),
        ("fills", S.FILLS_SCHEMA),
        ("episodes", S.EPISODES_SCHEMA),
    ):
        f = small_run / f"{table}.parquet"
        t = pq.read_table(f)
        assert t.schema.equals(schema, check_metadata=False), table
        assert t.schema.metadata[S.TABLE_KEY] == table.encode()
        df = pd.read_parquet(f)
        assert list(df.columns) == list(schema.names)
        assert con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0] == len(df)
    ep = pd.read_parquet(small_run / "episodes.parquet")
    assert len(ep) == 6
    assert sorted(zip(ep[S.STRATEGY], ep[S.SEED])) == sorted(
        (s, k) for s in ("avellaneda_stoikov", "static_spread") for k in (3, 4, 5)
    )
    steps_file = small_run / "steps.parquet"
    per = con.execute(
        f"SELECT strategy, count(*) FROM read_parquet('{steps_file}') GROUP BY strategy ORDER BY strategy"
    ).fetchall()
    assert per == [("avellaneda_stoikov", 3 * 40), ("static_spread", 3 * 40)]
    run = read_run(small_run)  # strict schema check
    assert run.config["seeds"] == [3, 4, 5]
    assert [p["label"] for p in run.config["policies"]] == ["avellaneda_stoikov", "static_spread"]
    assert EnvConfig.from_dict(run.config["env_config"]) == as_env_config(SMALL)
    assert (small_run / "version.json").is_file()


def test_metrics_recomputed_from_the_logs_match(small_run):
    """Every metric recomputed from the step and fill logs. The liquidation cost is the one input they do not
    hold (on the order-book market it walks the final book, which is not logged): it is read back from the
    episode table as ``total_pnl - total_pnl_liquidated``, and it is > 0 where an episode ended with
    inventory."""
    run = read_run(small_run)
    cfg = as_env_config(SMALL)
    logged = run.episodes.set_index(list(S.KEY_COLUMNS))
    cost = logged[S.TOTAL_PNL] - logged[S.TOTAL_PNL_LIQUIDATED]

    def liquidation_cost(g):
        return float(cost.loc[tuple(g[c].iat[0] for c in S.KEY_COLUMNS)])

    again = episodes_table(
        run.steps,
        run.fills,
        capital=cfg.capital,
        horizon_s=cfg.adverse_horizon_s,
        liquidation_cost=liquidation_cost,
        step_dt=cfg.dt,
    )
    got = run.episodes.sort_values(list(S.KEY_COLUMNS)).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, again.reset_index(drop=True), check_dtype=False)
    holds = logged[S.FINAL_INVENTORY] != 0
    assert holds.any() and (cost[holds] > 0).all() and (cost[~holds] == 0).all()


def test_paired_comparison_of_the_run(small_run):
    ep = read_run(small_run, tables=("episodes",)).episodes
    paired = paired_comparison(ep, n_resamples=199)
    assert set(paired["strategy"]) == {"static_spread"}
    assert (paired["reference"] == "avellaneda_stoikov").all()
    assert (paired.loc[paired["metric"] == S.TOTAL_PNL, "n_pairs"] == 3).all()


def test_parallel_run_equals_serial_run(tmp_path):
    kw = dict(out_dir=tmp_path, workers=None, progress=False)
    policies = ["static_spread", "random"]
    serial = evaluate(policies, SMALL, 3, run_name="serial", **{**kw, "workers": 1})
    parallel = evaluate(policies, SMALL, 3, run_name="parallel", **{**kw, "workers": 2})
    a, b = read_run(serial), read_run(parallel)
    for table in ("steps", "fills", "episodes"):
        x, y = getattr(a, table).drop(columns=S.RUN_ID), getattr(b, table).drop(columns=S.RUN_ID)
        pd.testing.assert_frame_equal(x, y)
    assert b.config["workers"] == 2


def test_run_folder_errors(tmp_path):
    with pytest.raises(ResultsError, match=str(tmp_path / "nowhere")):
        read_run(tmp_path / "nowhere")
    evaluate(["static_spread"], SMALL, 1, out_dir=tmp_path, run_name="r", workers=1, progress=False)
    with pytest.raises(ResultsError, match="already holds a run"):
        evaluate(["static_spread"], SMALL, 1, out_dir=tmp_path, run_name="r", workers=1, progress=False)
    (tmp_path / "r" / "episodes.parquet").write_bytes(b"not parquet")
    with pytest.raises(ResultsError, match="episodes.parquet"):
        read_run(tmp_path / "r")


def test_simulate_one_strategy(tmp_path):
    path = simulate("volatility_adaptive", SMALL, 2, seed=7, out_dir=tmp_path, progress=False, name="va")
    run = read_run(path, tables=("episodes",))
    assert run.episodes[S.SEED].tolist() == [7, 8] and set(run.episodes[S.STRATEGY]) == {"va"}
    assert run.config["kind"] == "simulate"


# ------------------------------------------------------------------------------------------------------------
# CLI.


def test_cli_evaluate_and_missing_paths(tmp_path, capsys):
    rc = main(
        [
            "evaluate",
            "static_spread",
            "random",
            "--seeds",
            "0-1",
            "--set",
            "episode_seconds=20",
            "--set",
            "market.warmup_seconds=5",
            "--out",
            str(tmp_path),
            "--run-name",
            "cli",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "Expected performance" in out and "static_spread" in out
    assert f"run folder: {tmp_path / 'cli'}" in out
    assert (
        tmp_path / "cli" / "report.html"
    ).is_file() and f"HTML report: {tmp_path / 'cli' / 'report.html'}" in out
    ep = read_run(tmp_path / "cli", tables=("episodes",)).episodes
    assert len(ep) == 4 and ep[S.N_STEPS].eq(20).all()
    missing = tmp_path / "no" / "checkpoint"
    rc = main(["evaluate", str(missing), "--seeds", "1", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err and "not found" in err
    rc = main(["evaluate", "static_spread", "--set", "market.nope=1", "--out", str(tmp_path)])
    assert rc == 2 and "market.nope" in capsys.readouterr().err


def test_cli_simulate_paper_table(tmp_path, capsys):
    rc = main(
        [
            "simulate",
            "--paper",
            "--episodes",
            "20",
            "--gammas",
            "0.1",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert (
        "inventory" in out
        and "symmetric" in out
        and "paper.py" in out
        and "AS working paper (Oct 2006)" in out
    )
    folders = [ln.removeprefix("run folder: ") for ln in out.splitlines() if ln.startswith("run folder: ")]
    assert len(folders) == 1 and (Path(folders[0]) / "version.json").is_file()  # one gamma, one run folder


def test_paper_table_on_the_env_agrees_with_the_closed_form_and_the_paper():
    t = paper_table([0.1], 100, seed=0, workers=1, progress=False)
    env = t[t["source"] == "env"].set_index("strategy")
    ref = t[t["source"] == "paper.py"].set_index("strategy")
    # the AS spread depends on time only; the env rounds quotes outward to the 0.01 tick: 0 to 2 ticks wider
    for s in ("inventory", "symmetric"):
        assert 0.0 <= env.loc[s, "spread"] - ref.loc[s, "spread"] <= 0.02 + 1e-9
    # the paper's finding: the inventory strategy trades a little profit for much less risk
    assert env.loc["inventory", "profit_std"] < 0.7 * env.loc["symmetric", "profit_std"]
    assert env.loc["inventory", "final_q_std"] < 0.5 * env.loc["symmetric", "final_q_std"]
    for s in ("inventory", "symmetric"):
        se = np.hypot(env.loc[s, "profit_std"], ref.loc[s, "profit_std"]) / np.sqrt(100)
        assert abs(env.loc[s, "profit"] - ref.loc[s, "profit"]) < 4 * se + 1.0


# ------------------------------------------------------------------------------------------------------------
# Checkpoints.


@pytest.fixture(scope="module")
def checkpoints():
    """Two tiny PPO checkpoints on ``almm_mm``: RLlib's default pipeline, and one with a MeanStdFilter.

    Yields ``{name: (path, explore=False episode sampled by RLlib, raw obs -> filtered obs by RLlib or None)}``.
    """
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module.mean_std_filter import MeanStdFilter

    from almm_rllib.env.rllib_env import register_rllib_envs

    owned = not ray.is_initialized()
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    out = Path(tempfile.mkdtemp(prefix="almm-ckpt-"))
    if owned:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=ray_tmp, log_to_driver=False)
    # the Tune registry lives in the Ray session: register again in case an earlier session registered first
    register_rllib_envs()
    made = {}
    try:
        for name, filtered in (("plain", False), ("filtered", True)):
            config = (
                PPOConfig()
                .environment("almm_mm", env_config={**SMALL, "episode_seconds": 50.0})
                .env_runners(num_env_runners=0)
                .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
                .rl_module(model_config={"fcnet_hiddens": [16, 16], "vf_share_layers": False})
                .debugging(log_level="ERROR")
            )
            if filtered:
                config = config.env_runners(
                    env_to_module_connector=lambda env, spaces=None, device=None: MeanStdFilter()
                )
            algo = config.build_algo()
            try:
                algo.train()
                path = algo.save_to_path(str(out / name))
                runner = algo.env_runner
                filt = None
                if filtered:
                    piece = next(
                        c for c in runner._env_to_module.connectors if type(c).__name__ == "MeanStdFilter"
                    )
                    rllib_filter = piece._filters[None]
                    rng = np.random.default_rng(0)
                    raw = rng.uniform(-2, 2, size=(20, 9)).astype(np.float32)
                    filt = (raw, np.stack([rllib_filter(r, update=False) for r in raw]))
                episode = runner.sample(num_episodes=1, explore=False)[0]
                made[name] = (Path(path), episode, filt)
            finally:
                algo.stop()
        yield made
    finally:
        if owned:
            ray.shutdown()
        gc.collect()  # run RLlib's finalizers now, not in the middle of a later test
        shutil.rmtree(ray_tmp, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.ray
@pytest.mark.parametrize("name", ["plain", "filtered"])
def test_checkpoint_acts_like_rllib_explore_false(checkpoints, name):
    from ray.rllib.utils.spaces.space_utils import unsquash_action

    path, episode, filt = checkpoints[name]
    pol = CheckpointPolicy(path)
    assert pol.label == f"ppo:{name}"
    assert pol.normalize_actions and not pol.clip_actions
    assert ("MeanStdFilter" in pol.filter_note) == (name == "filtered")
    # the episode RLlib sampled with explore=False: its stored observations went through RLlib's filter (the
    # filter kept updating while sampling), its stored actions are the module's normalized outputs
    obs = np.asarray(episode.get_observations()[:-1])
    acts = np.asarray(episode.get_actions())
    assert len(acts) == 50
    saved_filter, pol.obs_filter = pol.obs_filter, None
    try:
        np.testing.assert_allclose(pol.normalized_action(obs), acts, rtol=0, atol=1e-6)
    finally:
        pol.obs_filter = saved_filter
    env = MarketMakingGymEnv(as_env_config({**SMALL, "episode_seconds": 50.0}))
    pol.check_env(env)
    np.testing.assert_allclose(pol.to_env(acts), unsquash_action(acts, env.action_space), rtol=0, atol=1e-6)
    if filt is not None:
        raw, rllib_filtered = filt
        np.testing.assert_allclose(np.stack([pol.obs_filter(r) for r in raw]), rllib_filtered, rtol=1e-6)


@pytest.mark.ray
def test_evaluate_a_checkpoint_with_the_baselines(checkpoints, tmp_path):
    path = checkpoints["plain"][0]
    run_dir = evaluate(
        [str(path), "static_spread"], SMALL, 2, out_dir=tmp_path, run_name="ck", workers=1, progress=False
    )
    run = read_run(run_dir)
    assert sorted(set(run.episodes[S.STRATEGY])) == ["ppo:plain", "static_spread"]
    desc = run.config["policies"][0]
    assert desc["kind"] == "checkpoint" and desc["module_id"] == "default_policy"
    assert desc["observation_filter"].startswith("none") and desc["action_mapping"] == "normalize"
    assert "torch" in run.version and "ray" in run.version
    # --policy-name: one name per checkpoint
    named = evaluate(
        [str(path), "static_spread"],
        SMALL,
        1,
        out_dir=tmp_path,
        run_name="named",
        workers=1,
        progress=False,
        policy_names=["my_ppo"],
    )
    assert sorted(set(read_run(named, tables=("episodes",)).episodes[S.STRATEGY])) == [
        "my_ppo",
        "static_spread",
    ]
    # the runner's actions are the policy's, and the same seed gives the same episode
    log = run_episode(str(path), SMALL, 0, run_id="ck")
    again = run.steps[(run.steps[S.STRATEGY] == "ppo:plain") & (run.steps[S.SEED] == 0)]
    np.testing.assert_array_equal(log.steps[S.PNL].to_numpy(), again[S.PNL].to_numpy())
    np.testing.assert_array_equal(log.steps[S.BID_PRICE].to_numpy(), again[S.BID_PRICE].to_numpy())


@pytest.mark.ray
def test_tune_style_label_and_corrupt_checkpoints(checkpoints, tmp_path):
    src = checkpoints["plain"][0]
    tune_dir = tmp_path / "PPO_almm_mm_0001" / "checkpoint_000003"
    shutil.copytree(src, tune_dir)
    assert checkpoint_label(tune_dir) == "ppo:PPO_almm_mm_0001/checkpoint_000003"
    assert CheckpointPolicy(tune_dir).label == "ppo:PPO_almm_mm_0001/checkpoint_000003"

    state = tune_dir / "learner_group" / "learner" / "rl_module" / "default_policy" / "module_state.pkl"
    state.write_bytes(b"\x80\x04garbage")
    with pytest.raises(CheckpointError, match=str(state.parent)):
        CheckpointPolicy(tune_dir)
    with pytest.raises(CheckpointError, match="RLModule 'mm_7' not found"):
        CheckpointPolicy(src, module_id="mm_7")
    missing = tmp_path / "gone"
    with pytest.raises(CheckpointError, match=f"{missing}: checkpoint folder not found"):
        evaluate([str(missing)], SMALL, 1, out_dir=tmp_path, workers=1, progress=False)
    not_ckpt = tmp_path / "empty"
    not_ckpt.mkdir()
    with pytest.raises(CheckpointError, match="no learner_group state"):
        CheckpointPolicy(not_ckpt)
    pipe = tune_dir / "env_runner" / "env_to_module_connector" / "class_and_ctor_args.pkl"
    pipe.write_bytes(b"broken")
    with pytest.raises(CheckpointError, match=str(pipe)):
        CheckpointPolicy(tune_dir)


@pytest.mark.ray
def test_cli_checkpoint_option_compares_with_every_baseline(checkpoints, tmp_path):
    from almm_rllib.baselines import STRATEGIES
    from almm_rllib.cli import main

    path = checkpoints["plain"][0]
    cfg = tmp_path / "env.yaml"
    cfg.write_text(yaml.safe_dump(SMALL))
    rc = main(
        [
            "evaluate",
            "--checkpoint",
            str(path),
            "--seeds",
            "1",
            "--env-config",
            str(cfg),
            "--out",
            str(tmp_path),
            "--run-name",
            "cli",
            "--no-report",
            "--no-progress",
            "--workers",
            "1",
        ]
    )
    assert rc == 0
    got = set(read_run(tmp_path / "cli", tables=("episodes",)).episodes[S.STRATEGY])
    assert got == {"ppo:plain", *STRATEGIES}
