"""The ``almm`` verbs through the real entry point (a subprocess each): values typed as people type them, one
clear line for every refused value, documented exit codes, no run folder left by a failed command."""

from __future__ import annotations

import json

import pytest

from tests.cli_procs import almm

SHORT = ["--set", "episode_seconds=10", "--no-progress", "--no-report"]


def _one_line_refusal(res, *needles: str) -> str:
    """Exit code 2, no traceback, and a last stderr line that names every needle."""
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    for n in needles:
        assert n in last, (n, last)
    return last


def test_numbers_parse_as_numbers_in_every_override_syntax(tmp_path):
    # --set with the field's own default in scientific notation, and a baseline parameter written the same way
    res = almm(
        "evaluate",
        "avellaneda_stoikov:gamma=5e-2",
        "--seeds",
        "1",
        "--set",
        "lambda_inventory=1e-6",
        "--set",
        "market.flow.limit_rate=1.2E+1",
        *SHORT,
        "--out",
        str(tmp_path),
        "--run-name",
        "r",
    )
    assert res.returncode == 0, res.stderr
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["env_config"]["lambda_inventory"] == 1e-6
    assert cfg["env_config"]["market"]["flow"]["limit_rate"] == 12.0
    assert cfg["policies"][0]["params"] == {"gamma": 0.05}


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["evaluate", "--seeds", "1-x"], ["--seeds", "1-x"]),
        (["evaluate", "--seeds", "3,a"], ["--seeds"]),
        (["evaluate", "avellaneda_stoikov:gama=1"], ["avellaneda_stoikov", "gama", "not a known key"]),
        (["evaluate", "avellaneda_stoikov:gamma=-1"], ["avellaneda_stoikov", "gamma", "-1"]),
        (["evaluate", "avellaneda_stoikov:gamma=.nan"], ["gamma", "finite"]),
        (["evaluate", "--set", "lambda_inventory=-1"], ["lambda_inventory"]),
        (["evaluate", "--set", "lambda_inventory=.inf"], ["--set", "lambda_inventory", "finite"]),
        (["evaluate", "--set", "lambda_inventory"], ["--set", "key=value"]),
        (["evaluate", "--seeds", "2", "--reference", "nope"], ["--reference", "nope"]),
        (["simulate", "static_spread", "--episodes", "2", "--reference", "nope"], ["--reference", "nope"]),
        (["evaluate", "no_such_strategy"], ["no_such_strategy"]),
        (["evaluate", "--checkpoint", "latest"], ["--checkpoint latest"]),
        (["simulate", "--paper", "--gammas", "0.1,x"], ["--gammas", "x"]),
        (["simulate", "--paper", "--gammas", "0.1,-1"], ["--gammas"]),
        (
            ["train", "experiments/smoke.yaml", "--set", "stop.trainig_iteration=3"],
            ["stop.trainig_iteration"],
        ),
        (["train", "experiments/smoke.yaml", "--set", "training.lr=.nan"], ["training.lr", "finite"]),
        (["train", "experiments/smoke.yaml", "--set", "training.lr=[[0, 1e-3], [100, -1]]"], ["training.lr"]),
        (["train", "experiments/smoke.yaml", "--set", "training.lr=[[0, x]]"], ["training.lr"]),
        (
            ["train", "experiments/smoke.yaml", "--set", "env_runners.num_cpus_per_env_runner=-1"],
            ["env_runners.num_cpus_per_env_runner"],
        ),
        (
            ["train", "experiments/smoke.yaml", "--set", "training.vf_loss_coeff=-0.5"],
            ["training.vf_loss_coeff"],
        ),
        (
            ["train", "experiments/smoke.yaml", "--set", "training.entropy_coeff=-0.01"],
            ["training.entropy_coeff"],
        ),
        (
            ["train", "experiments/smoke.yaml", "--set", "environment.env_config.lambda_impact=-1"],
            ["lambda_impact"],
        ),
        (["train", "experiments/smoke.yaml", "--resume", "--storage", "{tmp}/none"], ["--resume", "nothing"]),
        (["train", "experiments/nope.yaml"], ["nope.yaml"]),
    ],
    ids=lambda x: (
        " ".join(x) if isinstance(x, list) and x and x[0] in ("evaluate", "simulate", "train") else ""
    ),
)
def test_bad_values_get_one_line_naming_them(tmp_path, args, needles):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[0] in ("evaluate", "simulate") else []
    res = almm(*args, *extra, timeout=300)
    _one_line_refusal(res, *needles)
    assert not out.exists() or not any(out.iterdir()), "a refused command left a run folder"
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["evaluate", "--workers", "0"], "--workers"),
        (["evaluate", "--episodes", "0"], "--episodes"),
        (["simulate", "static_spread", "--episodes", "0"], "--episodes"),
        (["evaluate", "--run-name", "../escape"], "--run-name"),
        (["evaluate", "--run-name", "a/b"], "--run-name"),
        (["evaluate", "--run-name", ".."], "--run-name"),
        (["demo", "--run-name", "x/../../y"], "--run-name"),
        (["train", "experiments/smoke.yaml", "--progress-s", "0"], "--progress-s"),
    ],
)
def test_bad_options_are_refused_by_the_parser(tmp_path, args, option):
    res = almm(*args, "--out", str(tmp_path / "out")) if args[0] != "train" else almm(*args)
    _one_line_refusal(res, f"argument {option}")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "escape").exists()


def test_evaluate_help_lists_baselines_with_their_parameters():
    res = almm("evaluate", "--help")
    assert res.returncode == 0
    for name, param in [
        ("avellaneda_stoikov", "gamma"),
        ("gueant_lehalle_fernandez_tapia", "gamma"),
        ("static_spread", ""),
        ("glft", ""),
    ]:
        line = next((ln for ln in res.stdout.splitlines() if name in ln), "")
        assert line and param in line, (name, res.stdout)


def test_exit_codes_are_documented():
    res = almm("--help")
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    for code in ("0 done", "1 the run failed", "2 refused", "130 interrupted"):
        assert code in text


def test_checkpoint_takes_every_path_and_names_several_trials(tmp_path):
    """A glob matching two trials gives two --checkpoint paths: both are checkpoints (the baselines stay);
    an experiment folder with two trials is refused, naming them, instead of guessing."""
    exp = tmp_path / "tune" / "ppo_local"
    for t in ("PPO_a_00000", "PPO_a_00001"):
        for n in (1, 3):
            (exp / t / f"checkpoint_00000{n}").mkdir(parents=True)
    res = almm("evaluate", "--checkpoint", str(exp), "--seeds", "1", "--out", str(tmp_path / "o"))
    _one_line_refusal(res, "2 trials", "PPO_a_00000", "PPO_a_00001")
    # two trial folders after one --checkpoint: both read as checkpoints (each its last one), none as a policy
    res = almm(
        "evaluate",
        "--checkpoint",
        str(exp / "PPO_a_00000"),
        str(exp / "PPO_a_00001"),
        "--seeds",
        "1",
        "--out",
        str(tmp_path / "o"),
    )
    last = _one_line_refusal(res)
    assert "PPO_a_00000/checkpoint_000003" in last  # resolved to the trial's last checkpoint, then loaded
    assert not (tmp_path / "o").exists()
