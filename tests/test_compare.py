"""The seed's table (``almm compare``) and the multi-agent evaluation (``almm evaluate-multi``).

Table figures are checked against direct computations on synthetic episodes; the multi-agent path runs a real
(tiny) multi-agent training on Ray with 2 CPUs in its own temp dir, then evaluates its checkpoint.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

import numpy as np
import pytest
import yaml

from almm_rllib.results import schema as S
from almm_rllib.results.seed_table import seed_table, targets, targets_markdown, to_markdown
from tests.results_fixtures import make_episodes

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_seed_table_picks_the_best_agent_and_pairs_it_with_every_baseline():
    eps = make_episodes(
        {"ppo": 5.0, "sac": 1.0, "avellaneda_stoikov": 0.0, "static_spread": 2.0}, seeds=range(30)
    )
    t = seed_table(eps, ["ppo", "sac"], n_resamples=999)
    assert t.best_agent == "ppo" and t.n_seeds == 30
    assert set(t.paired["strategy"]) == {"ppo"}
    assert set(t.paired["reference"]) == {"avellaneda_stoikov", "static_spread"}
    # the difference is ppo minus the baseline, seed by seed
    row = t.paired[(t.paired["reference"] == "static_spread") & (t.paired["metric"] == S.TOTAL_PNL)].iloc[0]
    a = eps[eps[S.STRATEGY] == "ppo"].set_index(S.SEED)[S.TOTAL_PNL]
    b = eps[eps[S.STRATEGY] == "static_spread"].set_index(S.SEED)[S.TOTAL_PNL]
    assert row["mean_diff"] == pytest.approx((a - b).mean())
    assert row["ci_low"] < row["mean_diff"] < row["ci_high"] and row["p_value"] < 0.05
    md = to_markdown(t)
    # the seed's columns, drawdown also in % of capital (the fraction x 100)
    for title in (
        "Sharpe",
        "Total P&L ($)",
        "P&L closed through the book ($)",
        "Max drawdown ($)",
        "Max drawdown (% of capital)",
        "Avg abs inventory",
    ):
        assert title in md
    pct = eps[eps[S.STRATEGY] == "ppo"][S.MAX_DRAWDOWN_PCT].mean() * 100
    from almm_rllib.results.report import fmt_num

    ppo_line = next(line for line in md.splitlines() if line.startswith("| ppo (agent)"))
    assert fmt_num(pct) in ppo_line
    assert "| avellaneda_stoikov |" in md and "Best agent by mean Sharpe: **ppo**" in md
    tg = targets(t)
    assert tg["best_baseline"] == "static_spread" and tg["pnl_beats_as"] is True
    sharpe = eps.groupby(S.STRATEGY)[S.SHARPE].mean()
    assert tg["sharpe_ratio_to_best_baseline"] == pytest.approx(sharpe["ppo"] / sharpe["static_spread"])


def test_seed_table_refuses_an_unknown_agent():
    eps = make_episodes({"ppo": 1.0, "static_spread": 0.0}, seeds=range(5))
    with pytest.raises(ValueError, match=r"agents \['sac'\] are not in the episodes table"):
        seed_table(eps, ["sac"])


def _fake_ckpt(tmp_path, modules):
    rl = tmp_path.joinpath("ck", "learner_group", "learner", "rl_module")
    for m in modules:
        (rl / m).mkdir(parents=True)
    return tmp_path / "ck"


def test_module_map_shared_per_agent_and_ambiguous(tmp_path):
    from almm_rllib.evaluation.multi_agent import module_map
    from almm_rllib.evaluation.policies import CheckpointError

    agents = ["mm_0", "mm_1", "mm_2"]
    ck = _fake_ckpt(tmp_path / "a", ["learner", "baseline_mm_2"])
    assert module_map(ck, agents) == {"mm_0": "learner", "mm_1": "learner", "mm_2": "baseline_mm_2"}
    ck = _fake_ckpt(tmp_path / "b", ["mm_0", "mm_1", "baseline_mm_2"])
    assert module_map(ck, agents) == {"mm_0": "mm_0", "mm_1": "mm_1", "mm_2": "baseline_mm_2"}
    ck = _fake_ckpt(tmp_path / "c", ["p", "q"])
    with pytest.raises(CheckpointError, match="no module for agent 'mm_0'"):
        module_map(ck, agents)
    assert module_map(ck, agents, {"mm_0": "p", "mm_1": "q", "mm_2": "q"})["mm_1"] == "q"
    with pytest.raises(CheckpointError, match="module 'zz'"):
        module_map(ck, agents, {"mm_0": "zz", "mm_1": "q", "mm_2": "q"})


@pytest.fixture(scope="module")
def ray_local():
    import ray

    tmp = tempfile.mkdtemp(prefix="almmcmp", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=tmp)
    yield tmp
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.ray
def test_multi_agent_checkpoint_is_evaluated_with_flow_and_pnl_split(ray_local, tmp_path):
    from almm_rllib.cli import main
    from almm_rllib.evaluation.multi_agent import run_multi, split_table
    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import run_experiment

    overrides = [
        "env_runners.num_env_runners=0",
        "env_runners.num_envs_per_env_runner=1",
        "training.train_batch_size_per_learner=200",
        "training.minibatch_size=100",
        "training.num_epochs=1",
        "environment.env_config.episode_seconds=200",
        "environment.env_config.market.warmup_seconds=5",
        "stop.num_env_steps_sampled_lifetime=400",
        "rl_module.model_config.fcnet_hiddens=[16]",
        "checkpoint.frequency=0",
    ]
    exp = load_experiment(ROOT / "experiments" / "ppo_multi_agent.yaml", overrides)
    res = run_experiment(exp, storage=str(tmp_path / "tune"), verbose=0)
    ck = res.best_checkpoint
    cfg = exp.env_config
    df = run_multi(ck, cfg, [0, 1, 2])
    assert len(df) == 9 and set(df[S.AGENT_ID]) == {"mm_0", "mm_1", "mm_2"}
    assert dict(zip(df[S.AGENT_ID], df["module"], strict=False)) == {
        "mm_0": "learner",
        "mm_1": "learner",
        "mm_2": "baseline_mm_2",
    }
    # same checkpoint, same seeds: the same episodes bit for bit
    again = run_multi(ck, cfg, [0, 1, 2])
    assert df.equals(again)
    assert df[S.N_FILLS].sum() > 0  # the split below needs fills (200-s episodes: 50-s ones may have none)
    split = split_table(df)
    for col in ("fills_share", "volume_share", "pnl_share"):
        assert split[col].sum() == pytest.approx(1.0)
    assert (df[S.N_FILLS] >= 0).all() and np.isfinite(df[S.TOTAL_PNL]).all()
    # the command: reads the experiment YAML's env config, writes the markdown and the episodes
    yml = tmp_path / "env.yaml"
    yml.write_text(yaml.safe_dump({"environment": exp.spec["environment"]}))
    out = tmp_path / "ma"
    rc = main(["evaluate-multi", ck, "--env-config", str(yml), "--seeds", "0-2", "--out", str(out)])
    assert rc == 0
    md = (out / "multi_agent.md").read_text()
    assert "| mm_2 (baseline_mm_2) |" in md and "| mm_0 (learner) | mm_2 (baseline_mm_2) |" in md
    import pandas as pd

    written = pd.read_csv(out / "multi_agent_episodes.csv")
    np.testing.assert_allclose(written[S.TOTAL_PNL], df[S.TOTAL_PNL])
    # the experiment folder stands for its trial's last checkpoint, as in almm evaluate
    trial = pathlib.Path(ck).parent
    out2 = tmp_path / "ma2"
    rc = main(
        ["evaluate-multi", str(trial.parent), "--env-config", str(yml), "--seeds", "0-2", "--out", str(out2)]
    )
    assert rc == 0
    np.testing.assert_allclose(pd.read_csv(out2 / "multi_agent_episodes.csv")[S.TOTAL_PNL], df[S.TOTAL_PNL])


def test_targets_say_whether_the_pnl_lead_over_avellaneda_stoikov_is_significant():
    """A higher mean P&L than Avellaneda-Stoikov's is reported with its paired difference and Wilcoxon p, and
    counts as significant only when p < 0.05: a lead within noise (an agent that abstains beside a baseline
    that loses a little) is printed as such."""
    for shift, significant in ((5.0, True), (0.05, False)):
        eps = make_episodes({"ppo": shift, "avellaneda_stoikov": 0.0}, seeds=range(30), noise=1.0)
        t = seed_table(eps, ["ppo"])
        tg = targets(t)
        row = t.paired[(t.paired["reference"] == "avellaneda_stoikov") & (t.paired["metric"] == S.TOTAL_PNL)]
        assert tg["pnl_diff_vs_as"] == pytest.approx(float(row["mean_diff"].iloc[0]))
        assert tg["pnl_p_vs_as"] == pytest.approx(float(row["p_value"].iloc[0]))
        assert tg["pnl_beats_as_significant"] is significant, tg
        md = targets_markdown(t).split(". With every last position")[0]  # the mark-to-mid sentence
        assert ("(difference" in md) and (("not significant" in md) is not significant), md


def test_targets_flag_a_pnl_lead_that_holds_only_marked_to_the_mid():
    """An agent whose P&L beats Avellaneda-Stoikov marked to the mid but not once its last position is closed
    through the book (a large position, or one its own quote marks): the table has the closed P&L column and
    the paired difference, and the targets say the lead holds only marked to the mid."""
    eps = make_episodes({"ppo": 5.0, "avellaneda_stoikov": 0.0}, seeds=range(30), noise=1.0)
    ppo = eps[S.STRATEGY] == "ppo"
    as_liq = eps.loc[~ppo].set_index(S.SEED)[S.TOTAL_PNL_LIQUIDATED]
    # the agent's closed P&L: Avellaneda-Stoikov's plus noise around 0
    eps.loc[ppo, S.TOTAL_PNL_LIQUIDATED] = as_liq.loc[
        eps.loc[ppo, S.SEED]
    ].to_numpy() + np.random.default_rng(1).normal(0.0, 3.0, 30)
    t = seed_table(eps, ["ppo"])
    tg = targets(t)
    assert tg["pnl_beats_as_significant"] and not tg["pnl_liquidated_beats_as_significant"]
    row = t.paired[
        (t.paired["reference"] == "avellaneda_stoikov") & (t.paired["metric"] == S.TOTAL_PNL_LIQUIDATED)
    ]
    assert tg["pnl_liquidated_diff_vs_as"] == pytest.approx(float(row["mean_diff"].iloc[0]))
    md = targets_markdown(t)
    assert "the P&L lead holds only marked to the mid" in md
    assert "P&L closed through the book ($)" in to_markdown(
        t
    ) and "Δ P&L closed through the book" in to_markdown(t)
    # a lead that survives the close is not flagged
    eps2 = make_episodes({"ppo": 5.0, "avellaneda_stoikov": 0.0}, seeds=range(30), noise=1.0)
    t2 = seed_table(eps2, ["ppo"])
    assert targets(t2)["pnl_liquidated_beats_as_significant"]
    assert "holds only marked to the mid" not in targets_markdown(t2)


def test_compare_resolves_trial_and_experiment_folders_like_evaluate(tmp_path, monkeypatch):
    # almm compare --checkpoint NAME=<experiment folder> failed to load ("RLModule not found") where almm
    # evaluate --checkpoint <experiment folder> takes the trial's last checkpoint: both now resolve alike
    from almm_rllib.evaluation import compare as cmp
    from almm_rllib.evaluation import runner

    trial = tmp_path / "exp" / "PPO_trial_0"
    for n in (1, 3, 10):
        (trial / f"checkpoint_{n:06d}").mkdir(parents=True)
    seen = {}
    monkeypatch.setattr(
        runner, "evaluate", lambda policies, *a, **kw: seen.update(p=policies, kw=kw) or "run"
    )
    assert (
        cmp.run_compare([f"ppo={tmp_path / 'exp'}", f"sac={trial}"], None, [0], baselines=["random"]) == "run"
    )
    last = str(trial / "checkpoint_000010")
    assert seen["p"] == [last, last, "random"] and seen["kw"]["policy_names"] == ["ppo", "sac"]


def test_sharpe_target_is_a_relative_gain_that_also_reads_negative_baselines():
    # on the replayed day every baseline's mean Sharpe is negative: the ratio to the best one means nothing
    # (printed "n/ax" before), the gain relative to its size does
    eps = make_episodes(
        {"ppo": 0.0, "avellaneda_stoikov": 0.0, "static_spread": 0.0}, seeds=range(30), noise=0.1
    )
    sharpe = {"ppo": 0.05, "avellaneda_stoikov": -0.3, "static_spread": -0.1}
    for name, v in sharpe.items():
        eps.loc[eps[S.STRATEGY] == name, S.SHARPE] = v + np.random.default_rng(len(name)).normal(0, 0.01, 30)
    t = seed_table(eps, ["ppo"])
    tg = targets(t)
    mean = eps.groupby(S.STRATEGY)[S.SHARPE].mean()
    assert tg["best_baseline"] == "static_spread"
    assert tg["sharpe_gain_over_best_baseline"] == pytest.approx(
        (mean["ppo"] - mean["static_spread"]) / abs(mean["static_spread"])
    )
    assert tg["sharpe_target_met"]  # +150% of its size, p << 0.05
    md = targets_markdown(t)
    assert "n/a" not in md.split(";")[0] and "of its size" in md and ": met (needs +20% or more" in md
    # a positive best baseline: the same rule as a ratio of 1.2
    eps.loc[eps[S.STRATEGY] == "static_spread", S.SHARPE] = 0.045
    assert not targets(seed_table(eps, ["ppo"]))["sharpe_target_met"]  # +11%: below 20%
