"""The pieces under the CLI: the one override reader, the gym registration, the progress lines, the resumable
progress.csv, the run writer's clean-up."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from almm_rllib.core.config import ConfigError
from almm_rllib.env.overrides import (
    apply_overrides,
    check_folder_name,
    load_yaml,
    parse_override,
    parse_params,
    parse_value,
)

# ------------------------------------------------------------------------------------------------------------
# overrides


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("1e-4", 1e-4),
        ("5E+2", 500.0),
        ("-2.5e-3", -2.5e-3),
        ("3.0e-4", 3e-4),
        ("1_000", 1000),
        ("7", 7),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ("relu", "relu"),
        ("1e-4x", "1e-4x"),
        ("[[0, 1e-4], [1000, 0]]", [[0, 1e-4], [1000, 0]]),
        ("{a: 2e3}", {"a": 2000.0}),
    ],
)
def test_values_read_yaml_1_2_numbers(raw, want):
    got = parse_value(raw)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("raw", [".nan", ".inf", "-.inf", "[1, .nan]", "{a: {b: -.inf}}"])
def test_nan_and_inf_refused_naming_the_key(raw):
    with pytest.raises(ConfigError, match=r"--set: training\.lr.* must be a finite number"):
        parse_override(f"training.lr={raw}")


def test_every_override_syntax_reads_the_same_numbers():
    assert parse_override("training.lr=1e-4") == (["training", "lr"], 1e-4)
    assert parse_params("gamma=5e-2,k=2", where="spec") == {"gamma": 0.05, "k": 2}
    assert load_yaml("lr: 1e-4\nx: [1e-3]\n", where="f.yaml") == {"lr": 1e-4, "x": [1e-3]}
    assert apply_overrides({"a": {"b": 1}}, ["a.c=2e-1"]) == {"a": {"b": 1, "c": 0.2}}
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides({"a": 1}, ["a.b=1"])
    with pytest.raises(ConfigError, match="spec: expected key=value"):
        parse_params("gamma", where="spec")


def test_experiment_yaml_reads_scientific_notation(tmp_path):
    from almm_rllib.training.experiment import load_experiment

    src = (Path(__file__).parents[1] / "experiments" / "smoke.yaml").read_text()
    p = tmp_path / "e.yaml"
    p.write_text(src.replace("lr: 3.0e-4", "lr: 3e-4"))
    exp = load_experiment(p, ["environment.env_config.lambda_inventory=1e-6"])
    assert exp.spec["training"]["lr"] == 3e-4
    assert exp.env_config.lambda_inventory == 1e-6


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../x", "", " x", ".hidden", "a\\b"])
def test_run_names_must_stay_inside_out(name):
    with pytest.raises(ConfigError, match="--run-name"):
        check_folder_name(name)
    assert check_folder_name("eval-1_a.b") == "eval-1_a.b"


# ------------------------------------------------------------------------------------------------------------
# gym.make after import almm_rllib (fresh interpreters: the registry is per process)


@pytest.mark.parametrize(
    "code",
    [
        # the package first: gymnasium is not imported by it, and the env registers when gymnasium loads
        "import sys, almm_rllib\nassert 'gymnasium' not in sys.modules\nimport gymnasium as gym\n",
        "import gymnasium as gym\nimport almm_rllib\n",
        "import gymnasium as gym\nID = 'almm_rllib.env:almm/MarketMaking-v0'\n",
    ],
    ids=["package-then-gymnasium", "gymnasium-then-package", "module-form"],
)
def test_gym_make_works_after_import_almm_rllib(code):
    code += (
        "env = gym.make(globals().get('ID', 'almm/MarketMaking-v0'))\n"
        "obs, info = env.reset(seed=3)\n"
        "obs2, r, term, trunc, info = env.step(env.action_space.sample())\n"
        "print(type(env.unwrapped).__name__, obs.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("MarketMakingGymEnv (9,)")


# ------------------------------------------------------------------------------------------------------------
# progress lines and progress.csv


def test_progress_lines_show_steps_return_pnl_and_time_left(monkeypatch):
    from almm_rllib.training import progress

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    buf = io.StringIO()
    cb = progress.ProgressLines({"num_env_steps_sampled_lifetime": 1000}, interval_s=5, stream=buf)
    clock[0] = 103.0
    cb.on_step_end(iteration=1, trials=[])
    assert buf.getvalue() == ""  # not yet 5 s
    clock[0] = 106.0
    cb.on_step_end(iteration=2, trials=[])
    assert "waiting for the first training iteration" in buf.getvalue()
    result = {
        "num_env_steps_sampled_lifetime": 100,
        "training_iteration": 1,
        "env_runners": {"episode_return_mean": -1.5, "mm": {"pnl": 12.25}},
    }
    cb.on_trial_result(1, [], None, result)
    clock[0] = 110.0
    result = {**result, "num_env_steps_sampled_lifetime": 300, "training_iteration": 3}
    cb.on_trial_result(3, [], None, result)
    clock[0] = 111.0
    cb.on_step_end(iteration=3, trials=[])
    line = buf.getvalue().strip().splitlines()[-1]
    # 200 steps in the 4 s between the results: 50 steps/s, 700 left -> 14 s, 1 s of it gone since
    assert line == "[train 0:00:11] steps 300/1,000 (30%)  iter 3  return -1.50  mm pnl 12.25  left ~0:00:13"
    clock[0] = 113.0
    cb.on_step_end(iteration=4, trials=[])
    assert len(buf.getvalue().strip().splitlines()) == 2  # steady: one line per interval


def test_resumed_progress_csv_keeps_its_header(tmp_path):
    """Tune's CSV logger appends a resumed trial's rows in the key order of the first new result; this one
    keeps the file's header, so pandas reads the columns right."""
    from ray.tune.logger import CSVLoggerCallback

    from almm_rllib.training.progress import ResumableCSVLogger

    class Trial(SimpleNamespace):
        __hash__ = object.__hash__

    def run2(logger_cls, folder):
        folder.mkdir()
        trial = Trial(local_path=str(folder), init_local_path=lambda: None)
        for it, res in [
            (1, {"training_iteration": 1, "a": 1.0, "b": 10.0}),
            (2, {"b": 20.0, "c": 5.0, "training_iteration": 2, "a": 2.0}),
        ]:
            logger = logger_cls()  # a new logger per session: the second one is the resumed run
            logger._restore_from_remote = lambda *a, **k: None
            logger.log_trial_result(it, trial, res)
            logger.log_trial_end(trial)
        return folder / "progress.csv"

    ours = pd.read_csv(run2(ResumableCSVLogger, tmp_path / "ours"))
    assert ours["training_iteration"].tolist() == [1, 2]
    assert ours["a"].tolist() == [1.0, 2.0] and ours["b"].tolist() == [10.0, 20.0]
    with pytest.raises(pd.errors.ParserError):  # the bug this logger fixes: Tune's own file does not read
        pd.read_csv(run2(CSVLoggerCallback, tmp_path / "tune"))


# ------------------------------------------------------------------------------------------------------------
# run writer clean-up


def test_run_writer_removes_stale_temp_files_and_leaves_no_empty_folder(tmp_path):
    from almm_rllib.results.io import RunWriter

    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run / f".steps.parquet.{dead.pid}.0123456789ab.tmp"
    mine_alive = run / f".fills.parquet.{os.getppid()}.0123456789ab.tmp"  # a live writer's file stays
    stale.write_bytes(b"x")
    mine_alive.write_bytes(b"x")
    RunWriter(run, {"k": 1}).abort()
    assert not stale.exists() and mine_alive.exists()
    mine_alive.unlink()

    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt), RunWriter(fresh, {"k": 1}):
        raise KeyboardInterrupt
    assert not fresh.exists()  # created by the writer, empty after the abort: removed
    with pytest.raises(RuntimeError), RunWriter(run, {"k": 1}):
        raise RuntimeError
    assert run.is_dir()  # it existed before: kept
