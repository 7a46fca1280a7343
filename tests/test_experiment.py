"""Experiment YAMLs: validation errors name the key and the file; the PPOConfig is what the seed asks for."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from almm_rllib.core.config import ConfigError
from almm_rllib.training.experiment import ExperimentError, apply_overrides, load_experiment, parse_override

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def _write(tmp_path, spec: dict) -> pathlib.Path:
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(spec))
    return p


BASE = {"name": "t", "stop": {"training_iteration": 1}, "environment": {"env": "almm_mm"}}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_validate_and_build(path, tmp_path, monkeypatch):
    from almm_rllib.training.train import build_config

    exp = load_experiment(path)
    warm = exp.spec.get("warm_start")
    if warm:  # build it with a short clone (the full one is a minute), cached in a temporary folder
        monkeypatch.setenv("ALMM_CACHE", str(tmp_path))
        exp = load_experiment(path, ["warm_start.steps=300", "warm_start.epochs=1"])
    cfg = build_config(exp)
    assert cfg.env in ("almm_mm", "almm_mm_multi")
    # the seed's PPO hyper-parameters in every shipped experiment except the smoke test; a warm-started one
    # fine-tunes a cloned baseline: 10x smaller learning rate and no entropy bonus (ppo_warm.yaml says why)
    if path.name != "smoke.yaml" and exp.spec.get("algorithm", "PPO") == "PPO":
        entropy, lr0 = (0.0, 3e-5) if warm else (0.01, 3e-4)
        assert (cfg.clip_param, cfg.lambda_, cfg.entropy_coeff, cfg.vf_loss_coeff) == (
            0.2,
            0.95,
            entropy,
            0.5,
        )
        total = exp.stop["num_env_steps_sampled_lifetime"]
        assert cfg.lr == [[0, lr0], [int(total), 0.0]]  # linear decay to zero over the run
        if warm:
            assert cfg.rl_module_spec.load_state_path and (tmp_path / "warm_start").is_dir()
        mc = cfg.model_config
        assert mc["fcnet_hiddens"] == [256, 256, 128] and mc["fcnet_activation"] == "relu"
        assert mc["vf_share_layers"] is True


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"bogus": 1}, "bogus is not a known key"),
        ({"name": ""}, "name is required"),
        ({"algorithm": "DQN"}, "algorithm must be one of PPO, SAC"),
        ({"stop": {}}, "stop must be a non-empty mapping"),
        ({"stop": {"training_iteration": "ten"}}, "stop.training_iteration must be a number"),
        ({"training": {"lambda_": 1.5}}, "training.lambda_ must be in [0, 1]"),
        (
            {"training": {"minibatch_size": 500, "train_batch_size_per_learner": 100}},
            "training.minibatch_size must be <=",
        ),
        (
            {"training": {"lr": {"linear_decay_from": 1e-3}}},
            "linear_decay_from needs stop.num_env_steps_sampled_lifetime",
        ),
        ({"training": {"lr": [[5, 1e-3]]}}, "starting at step 0"),
        (
            {"training": {"num_sgd_iterz": 3}},
            "training.num_sgd_iterz is not an argument of AlgorithmConfig.training()",
        ),
        ({"env_runners": {"num_env_runners": -1}}, "env_runners.num_env_runners must be >= 0"),
        ({"env_runners": {"num_workers": 2}}, "env_runners.num_workers is not an argument"),
        ({"environment": {"env": "CartPole-v1"}}, "environment.env must be one of almm_mm, almm_mm_multi"),
        ({"environment": {"env_config": {"dt": -1}}}, "environment.env_config.dt must be > 0"),
        (
            {"environment": {"env_config": {"market": {"tick_size": 0}}}},
            "environment.env_config.market.tick_size",
        ),
        (
            {
                "curriculum": [
                    {"phase": "low_volatility", "until": 10},
                    {"phase": "high_volatility", "until": 5},
                ]
            },
            "curriculum[1].until must increase",
        ),
        ({"curriculum": [{"phase": "calm"}]}, "curriculum[0].phase must be one of"),
        (
            {"curriculum": [{"phase": "low_volatility"}, {"phase": "high_volatility"}]},
            "curriculum[0].until is required",
        ),
        ({"checkpoint": {"every": 3}}, "checkpoint.every is not a known key"),
        ({"multi_agent": {"shared": True}}, "multi_agent needs environment.env: almm_mm_multi"),
    ],
)
def test_validation_errors_name_key_and_file(tmp_path, change, needle):
    spec = {**BASE, **change}
    p = _write(tmp_path, spec)
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    msg = str(err.value)
    assert needle in msg and str(p) in msg


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_experiment(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_experiment(bad)


def test_overrides():
    assert parse_override("training.lr=0.001") == (["training", "lr"], 0.001)
    assert parse_override("environment.env_config.market.flow.limit_rate=4") == (
        ["environment", "env_config", "market", "flow", "limit_rate"],
        4,
    )
    spec = apply_overrides(BASE, ["stop.training_iteration=7", "env_runners.num_env_runners=0"])
    assert spec["stop"] == {"training_iteration": 7} and spec["env_runners"] == {"num_env_runners": 0}
    assert BASE["stop"] == {"training_iteration": 1}  # the input is not modified
    with pytest.raises(ConfigError, match="expects key=value"):
        parse_override("stop.training_iteration")
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides(BASE, ["name.x=1"])


def test_override_errors_name_the_key(tmp_path):
    p = _write(tmp_path, BASE)
    with pytest.raises(ConfigError, match="environment.env_config.n_agnts is not a known key"):
        load_experiment(p, ["environment.env_config.n_agnts=2"])


def test_network_maps_onto_shared_trunk_and_two_heads():
    """Dense(256)-ReLU-Dense(256)-ReLU-Dense(128)-ReLU shared by a 4-D policy head and a 1-D value head."""
    import gymnasium as gym
    import numpy as np
    import torch

    from almm_rllib.training.train import build_config

    cfg = build_config(load_experiment(ROOT / "experiments" / "ppo_local.yaml"))
    spec = cfg.get_default_rl_module_spec()
    spec.observation_space = gym.spaces.Box(-10, 10, (9,), np.float32)
    spec.action_space = gym.spaces.Box(-1, 1, (4,), np.float32)
    spec.model_config = cfg.model_config
    module = spec.build()
    linears = [(name, m) for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    shapes = {name: (m.in_features, m.out_features) for name, m in linears}
    trunk = [s for n, s in shapes.items() if n.startswith("encoder")]
    assert trunk == [(9, 256), (256, 256), (256, 128)]
    heads = {n: s for n, s in shapes.items() if not n.startswith("encoder")}
    assert sorted(heads.values()) == [(128, 1), (128, 8)]  # value head; policy head = mean + log-std of 4-D
    relus = [m for m in module.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) >= 3


@pytest.mark.parametrize(
    "over,key",
    [
        (["warm_start.strategy=volatility_adaptive", "warm_start.stepz=10"], "warm_start.stepz"),
        (["warm_start.strategy=no_such_rule"], "warm_start.strategy"),
        (["warm_start.strategy=volatility_adaptive", "warm_start.std=0"], "warm_start.std"),
        (["warm_start.steps=10"], "warm_start"),
    ],
)
def test_a_bad_warm_start_is_refused_naming_the_key(over, key):
    with pytest.raises(ExperimentError, match=key.replace(".", r"\.")):
        load_experiment(ROOT / "experiments" / "smoke.yaml", over)
