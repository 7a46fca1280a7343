"""The ``tune:`` section (search spaces, ASHA / PBT, selection on disjoint seeds) and SAC on the new stack.

Validation tests are pure; the smoke searches and the SAC run start a real Ray with 2 CPUs in their own temp dir
(shut down by the fixture) and train for a few hundred steps.
"""

from __future__ import annotations

import copy
import json
import pathlib
import shutil
import tempfile

import numpy as np
import pandas as pd
import pytest
import yaml

from almm_rllib.core.config import ConfigError
from almm_rllib.training.experiment import load_experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMOKE = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
SMOKE.pop("curriculum")


def _write(tmp_path, spec: dict, name: str = "exp.yaml") -> pathlib.Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(spec))
    return p


def _search_spec(scheduler: dict, **tune) -> dict:
    spec = copy.deepcopy(SMOKE)
    spec["name"] = f"search_{scheduler['type']}"
    spec["stop"] = {"training_iteration": 2}
    spec["checkpoint"] = {"frequency": 1, "at_end": True, "num_to_keep": 2}
    spec["tune"] = {
        "num_samples": 2,
        "scheduler": scheduler,
        "searcher": {"type": "random", "seed": 3},
        "search_space": {
            "training.entropy_coeff": {"loguniform": [1e-4, 1e-2]},
            "environment.env_config.lambda_inventory": {"choice": [0.0, 1e-6]},
            "environment.env_config.episode_seconds": {"choice": [40.0, 50.0]},
        },
        "selection": {"seeds": "3000000-3000001"},
        **tune,
    }
    return spec


# ------------------------------------------------------------------------------------------------------------
# Validation (no Ray).


def test_shipped_pbt_experiment_searches_what_the_seed_leaves_open_and_keeps_what_it_fixes():
    from almm_rllib.training.search import tuner_parts
    from almm_rllib.training.train import build_config

    exp = load_experiment(ROOT / "experiments" / "ppo_pbt.yaml")
    space = exp.spec["tune"]["search_space"]
    for key in (
        "environment.env_config.lambda_inventory",
        "environment.env_config.lambda_volatility",
        "environment.env_config.lambda_impact",
        "environment.env_config.episode_seconds",
        "training.entropy_coeff",
        "training.train_batch_size_per_learner",
        "training.minibatch_size",
    ):
        assert key in space, key
    assert not any(k in space for k in ("training.lr", "training.clip_param", "training.lambda_"))
    cfg = build_config(exp)
    param_space, kw = tuner_parts(exp.spec, cfg)
    assert param_space["lr"] == [[0, 3e-4], [200_000, 0.0]]
    assert (param_space["clip_param"], param_space["lambda"], param_space["vf_loss_coeff"]) == (
        0.2,
        0.95,
        0.5,
    )
    assert param_space["_model_config"]["fcnet_hiddens"] == [256, 256, 128]
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.search.sample import Domain

    assert isinstance(kw["scheduler"], PopulationBasedTraining)
    assert kw["metric"] == "env_runners/mm/sharpe" and kw["mode"] == "max" and kw["num_samples"] == 8
    assert isinstance(param_space["entropy_coeff"], Domain)
    assert isinstance(param_space["env_config"]["lambda_inventory"], Domain)
    # a sampled value is within the YAML's range
    v = param_space["env_config"]["lambda_inventory"].sample()
    assert 1e-8 <= v <= 1e-5


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"bogus": 1}, "tune.bogus is not a known key"),
        ({"mode": "best"}, "tune.mode must be 'max' or 'min'"),
        ({"num_samples": 0}, "tune.num_samples must be an integer >= 1"),
        ({"scheduler": {"type": "hyperband"}}, "tune.scheduler.type must be one of fifo, asha, pbt"),
        (
            {"scheduler": {"type": "asha", "perturbation_interval": 2}},
            "tune.scheduler.perturbation_interval is not a key of the asha",
        ),
        (
            {"scheduler": {"type": "asha", "reduction_factor": 1}},
            "tune.scheduler.reduction_factor must be > 1",
        ),
        (
            {"scheduler": {"type": "pbt", "quantile_fraction": 0.8}},
            "tune.scheduler.quantile_fraction must be in [0, 0.5]",
        ),
        (
            {"scheduler": {"type": "pbt", "mutate": ["training.gamma"]}},
            "'training.gamma' is not a key of tune.search_space",
        ),
        ({"search_space": {"training.entropy_coeff": {"loguniform": [0, 1]}}}, "needs low > 0"),
        ({"search_space": {"training.entropy_coeff": {"normal": [0, 1]}}}, "normal is not a known domain"),
        ({"search_space": {"training.entropy_coeff": {"uniform": [1, 0.5]}}}, "needs low < high"),
        (
            {"search_space": {"training.bogus_arg": {"choice": [1, 2]}}},
            "training.bogus_arg is not an argument",
        ),
        (
            {"search_space": {"training.gamma": {"uniform": [0.9, 1.2]}}},
            "value 1.2 is impossible: training.gamma",
        ),
        (
            {"search_space": {"environment.env_config.lambda_inventory": {"choice": [1e-6, -1.0]}}},
            "value -1.0 is impossible: environment.env_config.lambda_inventory",
        ),
        (
            {"search_space": {"environment.env_config.episode_seconds": {"choice": [0.1, 50.0]}}},
            "environment.env_config.episode_seconds",
        ),
        ({"search_space": {"env_runners.num_env_runners": {"choice": [1, 2]}}}, "is not searchable"),
        (
            {"search_space": {"training.minibatch_size": {"choice": [100, 300]}}},
            "training.minibatch_size can reach 300, more than the smallest training.train_batch_size_per_learner 200",
        ),
        (
            {
                "search_space": {
                    "training.minibatch_size": {"choice": [100, 300]},
                    "training.train_batch_size_per_learner": {"choice": [200, 400]},
                }
            },
            "training.minibatch_size can reach 300, more than the smallest training.train_batch_size_per_learner 200",
        ),
        ({"searcher": {"type": "optuna"}}, "tune.searcher.type must be one of random, grid"),
        ({"searcher": {"type": "grid"}}, "grid needs every tune.search_space entry"),
        (
            {"selection": {"seeds": "0-19"}},
            "tune.selection.seeds must be >= 100000 (the test seeds are 0..N-1)",
        ),
        ({"selection": {"metric": "happiness"}}, "tune.selection.metric is not a per-episode metric"),
    ],
)
def test_bad_tune_sections_are_refused_naming_key_and_file(tmp_path, change, needle):
    spec = _search_spec({"type": "asha"})
    spec["tune"].update(change)
    p = _write(tmp_path, spec)
    with pytest.raises(ConfigError) as ei:
        load_experiment(p)
    msg = str(ei.value)
    assert needle in msg, msg
    assert str(p) in msg


def test_num_samples_in_two_places_is_refused(tmp_path):
    spec = _search_spec({"type": "asha"})
    spec["num_samples"] = 2
    with pytest.raises(ConfigError, match="tune.num_samples is also given at the top level"):
        load_experiment(_write(tmp_path, spec))


def test_selection_seeds_are_disjoint_from_test_and_calibration_seeds():
    from almm_rllib.evaluation import calibration
    from almm_rllib.evaluation.runner import parse_seeds
    from almm_rllib.training.search import SELECTION_SEED, selection_seeds

    sel = set(selection_seeds({}))
    test = set(parse_seeds(50))
    calib = set(range(calibration.DEFAULT_SEED, calibration.DEFAULT_SEED + 10_000))
    probe = set(range(calibration.DEFAULT_PROBE_SEED, calibration.DEFAULT_PROBE_SEED + 10_000))
    assert min(sel) == SELECTION_SEED and len(sel) == 20
    assert not sel & test and not sel & calib and not sel & probe


def test_td3_and_ddpg_are_not_on_the_installed_rllib_and_sac_is():
    import importlib.util

    import ray.rllib.algorithms as algos

    root = pathlib.Path(algos.__file__).parent
    assert not (root / "td3").exists() and not (root / "ddpg").exists()
    assert importlib.util.find_spec("ray.rllib.algorithms.td3") is None
    assert (root / "sac").is_dir()


def test_sac_experiment_builds_a_sac_config_through_the_builder_sections():
    from ray.rllib.algorithms.sac import SACConfig

    from almm_rllib.training.train import build_config

    exp = load_experiment(ROOT / "experiments" / "sac_local.yaml")
    cfg = build_config(exp)
    assert isinstance(cfg, SACConfig)
    assert cfg.enable_rl_module_and_learner and cfg.enable_env_runner_and_connector_v2  # the new stack
    assert cfg.model_config["fcnet_hiddens"] == [256, 256, 128]
    assert cfg.actor_lr == exp.spec["training"]["actor_lr"]


def test_sac_sections_are_checked_against_sac(tmp_path):
    spec = copy.deepcopy(SMOKE)
    spec["algorithm"] = "SAC"
    spec["training"] = {"clip_param": 0.2}  # a PPO argument
    with pytest.raises(
        ConfigError, match="training.clip_param is not an argument of AlgorithmConfig.training.. for SAC"
    ):
        load_experiment(_write(tmp_path, spec))
    spec["algorithm"] = "TD3"
    with pytest.raises(ConfigError, match="algorithm must be one of PPO, SAC"):
        load_experiment(_write(tmp_path, spec))


# ------------------------------------------------------------------------------------------------------------
# Real Ray: tiny searches, tiny SAC.


@pytest.fixture(scope="module")
def ray_local():
    import ray

    tmp = tempfile.mkdtemp(prefix="almmsrch", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=tmp)
    yield tmp
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.ray
@pytest.mark.parametrize(
    "scheduler",
    [
        {"type": "asha", "max_t": 2, "grace_period": 1, "reduction_factor": 2},
        {"type": "pbt", "perturbation_interval": 1, "quantile_fraction": 0.5, "resample_probability": 0.5},
    ],
    ids=["asha", "pbt"],
)
def test_smoke_search_runs_two_trials_reports_mm_metrics_and_selects_on_selection_seeds(
    ray_local, tmp_path, scheduler
):
    from almm_rllib.results import read_run
    from almm_rllib.results import schema as S
    from almm_rllib.training.train import run_experiment

    exp = load_experiment(_write(tmp_path, _search_spec(scheduler)))
    res = run_experiment(exp, storage=str(tmp_path / "tune"), verbose=0)
    exp_dir = pathlib.Path(res.experiment_path)
    table = pd.read_csv(exp_dir / "search_trials.csv")
    assert len(table) == 2
    # each trial ran with values from its space, and reported the market-making metrics
    assert table["training.entropy_coeff"].between(1e-4, 1e-2).all()
    assert set(table["environment.env_config.episode_seconds"]) <= {40.0, 50.0}
    assert table["env_runners/mm/sharpe"].notna().all() and table["env_runners/mm/pnl"].notna().all()
    if scheduler["type"] == "asha":  # (pbt may change a trial's episode length midway)
        # the sampled episode length reached the env: 1-second steps
        lengths = table["environment.env_config.episode_seconds"]
        assert (table["env_runners/episode_len_mean"] == lengths).all()
    # selection: both trials evaluated on the selection seeds, the best one picked
    sel = json.loads((exp_dir / "selection.json").read_text())
    assert sel["seeds"] == [3_000_000, 3_000_001, 2]
    eps = read_run(exp_dir / "selection", tables=(S.EPISODES,)).episodes
    assert set(eps[S.SEED]) == {3_000_000, 3_000_001}
    means = eps.groupby(S.STRATEGY)[S.SHARPE].mean()
    assert len(means) == 2
    assert sel["scores"][sel["best_trial"]] == pytest.approx(means.max())
    assert res.best_checkpoint == sel["best_checkpoint"]
    assert pathlib.Path(
        res.best_checkpoint, "learner_group", "learner", "rl_module", "default_policy"
    ).is_dir()
    # the selection evaluates on the experiment's own market (50 s episodes), not on a trial's sampled length
    assert (eps[S.N_STEPS] == 50).all()
    assert np.isfinite(table["selection_sharpe"]).all()


@pytest.mark.ray
def test_sac_smoke_trains_and_its_checkpoint_is_evaluated_deterministically(ray_local, tmp_path):
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.distribution.torch.torch_distribution import TorchSquashedGaussian

    from almm_rllib.evaluation.policies import CheckpointPolicy
    from almm_rllib.results import read_run
    from almm_rllib.results import schema as S
    from almm_rllib.training.train import run_experiment

    spec = copy.deepcopy(SMOKE)
    spec.update(name="sac_smoke", algorithm="SAC", stop={"num_env_steps_sampled_lifetime": 300})
    spec["env_runners"]["rollout_fragment_length"] = 50
    spec["training"] = {
        "actor_lr": 3e-4,
        "critic_lr": 3e-4,
        "alpha_lr": 3e-4,
        "train_batch_size_per_learner": 32,
        "num_steps_sampled_before_learning_starts": 100,
        "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 10000},
    }
    spec["rl_module"] = {"model_config": {"fcnet_hiddens": [16], "fcnet_activation": "relu"}}
    spec["checkpoint"] = {"frequency": 0, "at_end": True}
    res = run_experiment(load_experiment(_write(tmp_path, spec)), storage=str(tmp_path / "tune"), verbose=0)
    assert res.metrics["num_env_steps_sampled_lifetime"] >= 300
    assert (
        "learners/default_policy/policy_loss" in res.metrics
        and "learners/default_policy/qf_loss" in res.metrics
    )
    ck = res.best_checkpoint
    pol = CheckpointPolicy(ck)
    assert type(pol.module).__name__ == "DefaultSACTorchRLModule"
    assert pol.describe()["deterministic"] == "tanh of the squashed Gaussian's mean"
    assert pol.label.startswith("sac:")
    # the deterministic action is RLlib's squashing of the Gaussian's mean, then the env's box
    obs = np.random.default_rng(0).normal(size=(64, pol.obs_shape[0])).astype(np.float32)
    with torch.no_grad():
        logits = pol.module.forward_inference({Columns.OBS: torch.from_numpy(obs)})[
            Columns.ACTION_DIST_INPUTS
        ]
        dist = TorchSquashedGaussian.from_logits(logits)
        ref = dist._squash(dist.loc).numpy()
    got = pol.normalized_action(obs)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    assert np.all(np.abs(got) <= 1.0)
    # the seed's table in one command: PPO and SAC checkpoints against the baselines on common seeds
    from almm_rllib.cli import main

    ppo_spec = copy.deepcopy(SMOKE)
    ppo_spec.update(name="ppo_smoke", stop={"training_iteration": 2})
    ppo = run_experiment(
        load_experiment(_write(tmp_path, ppo_spec, "ppo.yaml")), storage=str(tmp_path / "tune"), verbose=0
    ).best_checkpoint
    env_yaml = _write(tmp_path, {"environment": spec["environment"]}, "env.yaml")
    argv = [
        "compare",
        "--checkpoint",
        f"ppo={ppo}",
        "--checkpoint",
        f"sac={ck}",
        "--baselines",
        "static_spread",
    ]
    argv += ["avellaneda_stoikov", "--seeds", "3", "--env-config", str(env_yaml), "--out", str(tmp_path)]
    assert main([*argv, "--run-name", "cmp", "--no-progress"]) == 0
    run_dir = tmp_path / "cmp"
    eps = read_run(run_dir, tables=(S.EPISODES,)).episodes
    assert set(eps[S.STRATEGY]) == {"ppo", "sac", "static_spread", "avellaneda_stoikov"}
    assert (eps[S.N_STEPS] == 50).all() and sorted(set(eps[S.SEED])) == [0, 1, 2]
    md = (run_dir / "table.md").read_text()
    assert "| ppo (agent) |" in md and "| sac (agent) |" in md
    sharpe = eps.groupby(S.STRATEGY)[S.SHARPE].mean()
    best = "ppo" if sharpe["ppo"] >= sharpe["sac"] else "sac"
    assert f"Best agent by mean Sharpe: **{best}**" in md
    baseline_rows = [
        ln for ln in md.splitlines() if ln.startswith(("| static_spread | ", "| avellaneda_stoikov | "))
    ]
    # each baseline: one row in the table, one in the paired comparison (with Wilcoxon p-values)
    assert len(baseline_rows) == 4 and sum("p=" in ln for ln in baseline_rows) == 2
    # re-rendering the run gives the same table
    assert main(["compare", "--run", str(run_dir)]) == 0
    assert (run_dir / "table.md").read_text() == md


def test_trials_table_reads_searched_values_from_the_config_dict_form():
    # AlgorithmConfig keeps train_batch_size_per_learner as the property of "_train_batch_size_per_learner": the
    # table read NaN for it (a PBT run that did sample 2000 and 4000)
    import types

    from almm_rllib.training.search import trials_table

    spec = {
        "tune": {
            "search_space": {
                "training.train_batch_size_per_learner": {"choice": [2000, 4000]},
                "training.entropy_coeff": {"loguniform": [1e-4, 1e-2]},
                "environment.env_config.episode_seconds": {"choice": [150.0, 300.0]},
            }
        }
    }
    res = types.SimpleNamespace(
        path="/x/trial_0",
        config={
            "_train_batch_size_per_learner": 4000,
            "entropy_coeff": 0.003,
            "env_config": {"episode_seconds": 150.0},
        },
        metrics={"env_runners": {"mm": {"sharpe": 0.2}}},
        checkpoint=None,
        error=None,
    )
    row = trials_table(spec, [res]).iloc[0]
    assert row["training.train_batch_size_per_learner"] == 4000 and row["training.entropy_coeff"] == 0.003
    assert row["environment.env_config.episode_seconds"] == 150.0 and row["env_runners/mm/sharpe"] == 0.2


def test_pbt_with_a_concurrency_limit_below_its_population_is_refused(tmp_path):
    # with max_concurrent_trials 1 the searcher creates PBT's trials one at a time: none is ever paused for
    # another and nothing is exploited (a random search that says PBT)
    spec = _search_spec({"type": "pbt", "perturbation_interval": 1}, max_concurrent_trials=1)
    with pytest.raises(ConfigError, match="tune.max_concurrent_trials.*never exploit one another"):
        load_experiment(_write(tmp_path, spec))
    spec["tune"]["max_concurrent_trials"] = 2  # the whole population at once: fine
    assert load_experiment(_write(tmp_path, spec)).spec["tune"]["max_concurrent_trials"] == 2
    spec = _search_spec({"type": "asha", "max_t": 2, "grace_period": 1}, max_concurrent_trials=1)
    assert load_experiment(_write(tmp_path, spec))  # ASHA stops trials, it does not need them side by side
