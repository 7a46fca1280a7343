"""Training with real Ray: smoke run (checkpoints, TensorBoard tags, curriculum), resume after an
interruption, an EnvRunner killed mid-run, multi-agent experiments.

Ray runs with its own temp dir and is shut down by the fixture; the subprocess tests end what they started by
process id (never by stopping every Ray on the machine).
"""

from __future__ import annotations

import glob
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pandas as pd
import pytest

from almm_rllib.training.experiment import load_experiment
from tests.cli_procs import descendants, kill_all, wait_gone

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.yaml"
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_local():
    import ray

    tmp = tempfile.mkdtemp(prefix="almmray", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=tmp)
    yield tmp
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


def _tags(trial_dir: str) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = glob.glob(os.path.join(trial_dir, "events.out.tfevents*"))
    assert files, f"no TensorBoard event file in {trial_dir}"
    tags = set()
    for f in files:
        ea = EventAccumulator(f)
        ea.Reload()
        tags |= set(ea.Tags()["scalars"])
    return tags


def test_smoke_training_checkpoints_tensorboard_and_curriculum(ray_local, tmp_path):
    from almm_rllib.training.train import run_experiment

    exp = load_experiment(SMOKE, ["stop.training_iteration=4"])
    res = run_experiment(exp, storage=str(tmp_path), verbose=0)
    assert res.best_checkpoint and os.path.isdir(res.best_checkpoint)
    ck = pathlib.Path(res.best_checkpoint)
    assert (ck / "learner_group" / "learner" / "rl_module" / "default_policy").is_dir()
    assert len(list(pathlib.Path(res.trial_path).glob("checkpoint_*"))) == 2  # num_to_keep
    tags = _tags(res.trial_path)
    for t in (
        "env_runners/mm/pnl",
        "env_runners/mm/sharpe",
        "env_runners/mm/avg_abs_inventory",
        "env_runners/mm/fill_ratio",
        "env_runners/mm/spread_captured",
        "env_runners/mm/adverse_selection",
        "env_runners/mm/impact_cost",
        "curriculum/phase_index",
        "env_runners/episode_return_mean",
    ):
        assert f"ray/tune/{t}" in tags, t
    prog = pd.read_csv(pathlib.Path(res.trial_path) / "progress.csv")
    # 200 steps per iteration, the phase switches at 400 sampled steps
    phases = dict(zip(prog["num_env_steps_sampled_lifetime"], prog["curriculum/phase"], strict=True))
    assert phases[200] == "low_volatility" and phases[800] == "high_volatility"
    # the value loss is not silently clipped at these reward scales
    assert (prog["learners/default_policy/vf_loss_unclipped"] < 10.0).all()
    assert (pathlib.Path(res.experiment_path) / "experiment.yaml").is_file()


def test_env_runner_killed_mid_run_is_restarted_in_the_right_phase(ray_local):
    import ray

    from almm_rllib.training.callbacks import _get_phase
    from almm_rllib.training.train import build_config

    exp = load_experiment(SMOKE)
    cfg = build_config(exp)
    algo = cfg.build_algo()
    try:
        for _ in range(3):  # 600 steps: past the switch at 400
            algo.train()
        group = algo.env_runner_group
        before = [p for p in group.foreach_env_runner(_get_phase, local_env_runner=False) if p]
        assert before and all(set(p) == {"high_volatility"} for p in before)
        ids = group.healthy_worker_ids()
        assert len(ids) == 1
        actor = group._worker_manager._actors[ids[0]]
        ray.kill(actor, no_restart=False)  # a crash: Ray restarts the process, RLlib probes and re-adds it
        it0 = algo.iteration
        for _ in range(20):
            time.sleep(1.0)
            algo.train()
            if group.num_healthy_remote_workers() == 1 and group.num_remote_worker_restarts() >= 1:
                break
        assert group.num_remote_worker_restarts() >= 1
        # a recreated runner starts from the config, whose env phase is the curriculum's first (low): only the
        # callback's on_env_runners_recreated puts it back in the phase of the current step count
        assert algo.config.env_config["phase"] == "low_volatility"
        after = [p for p in group.foreach_env_runner(_get_phase, local_env_runner=False) if p]
        assert after and all(set(p) == {"high_volatility"} for p in after)
        res = algo.train()
        assert algo.iteration > it0 and res["num_env_steps_sampled_lifetime"] > 600
    finally:
        algo.stop()


def test_resume_continues_an_interrupted_experiment(tmp_path):
    env = dict(os.environ)
    ray_tmp = tempfile.mkdtemp(prefix="almmrs", dir="/tmp")
    env["RAY_TMPDIR"] = ray_tmp
    env.pop("RAY_ADDRESS", None)
    args = [
        sys.executable,
        "-m",
        "almm_rllib.cli",
        "train",
        str(SMOKE),
        "--storage",
        str(tmp_path),
        "--num-cpus",
        "2",
        "--set",
        "stop.training_iteration=6",
        "--set",
        "checkpoint.num_to_keep=10",
    ]
    log = tmp_path / "train.log"
    p = subprocess.Popen(
        [*args, "--progress-s", "1"],
        env=env,
        start_new_session=True,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    tree: set[int] = set()
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not glob.glob(
            str(tmp_path / "smoke" / "PPO_*" / "checkpoint_000001")
        ):
            if p.poll() is not None:
                break
            time.sleep(0.5)
        assert p.poll() is None, "training ended before it could be interrupted"
        tree = descendants(p.pid)  # Ray's processes, started by this run
        os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C does: Tune saves its state and stops
        rc = p.wait(timeout=120)
        left = wait_gone(tree, timeout=30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        kill_all(tree)
    text = log.read_text()
    # Ctrl-C: exit 130, the command that continues, no process of the run left
    assert rc == 130, text[-3000:]
    hint = [ln for ln in text.splitlines() if ln.startswith("almm train: continue with: almm train")]
    assert hint and hint[-1].endswith("--resume"), text[-2000:]
    assert not left, f"processes of the run survived the interrupt: {left}"
    # progress lines at a steady rate, with the figures they promise
    lines = [ln for ln in text.splitlines() if ln.startswith("[train ")]
    assert len(lines) >= 3 and any("steps " in ln and "return " in ln and "mm pnl " in ln for ln in lines), (
        text
    )
    saved = (tmp_path / "smoke" / "experiment.yaml").read_text()
    # --resume with a stop value other than the saved one is refused; experiment.yaml stays as it was
    refused = subprocess.run(
        [*args[:-4], "--set", "stop.training_iteration=9", "--set", "checkpoint.num_to_keep=10", "--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert (
        "stop.training_iteration (saved 6, given 9)" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert (tmp_path / "smoke" / "experiment.yaml").read_text() == saved
    # result.json: one JSON line per iteration (progress.csv gains columns as new metrics appear)
    prog = pd.read_json(glob.glob(str(tmp_path / "smoke" / "PPO_*" / "result.json"))[0], lines=True)
    done_before = int(prog["training_iteration"].max())
    rows_before = len(prog)
    assert 1 <= done_before < 6
    out = subprocess.run([*args, "--quiet", "--resume"], env=env, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / "smoke" / "experiment.yaml").read_text() == saved
    # progress.csv still reads after the resume, its appended rows under the right columns
    csv = pd.read_csv(glob.glob(str(tmp_path / "smoke" / "PPO_*" / "progress.csv"))[0])
    assert csv["training_iteration"].tolist()[-1] == 6
    assert set(csv["training_iteration"]) == set(range(1, 7))
    assert set(csv["curriculum/phase"]) <= {"low_volatility", "high_volatility"}
    trials = glob.glob(str(tmp_path / "smoke" / "PPO_*"))
    assert len(trials) == 1  # the same trial continued, no new one
    prog = pd.read_json(os.path.join(trials[0], "result.json"), lines=True)
    iters = prog["training_iteration"].tolist()
    assert iters[-1] == 6
    resumed = iters[rows_before:]
    # continued from the last checkpoint (iterations after it are redone), not restarted from scratch
    assert resumed and 2 <= resumed[0] <= done_before + 1
    assert resumed == list(range(resumed[0], 7))
    # the curriculum phase survives the restore: it follows the restored step count (switch at 400 steps)
    after = prog.iloc[rows_before:]
    want = [
        "low_volatility" if s < 400 else "high_volatility" for s in after["num_env_steps_sampled_lifetime"]
    ]
    assert after["curriculum/phase"].tolist() == want
    shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.parametrize("shared", [True, False])
def test_multi_agent_experiment_trains(ray_local, shared):
    from almm_rllib.training.train import build_config

    exp = load_experiment(
        ROOT / "experiments" / "ppo_multi_agent.yaml",
        [
            f"multi_agent.shared={str(shared).lower()}",
            "env_runners.num_env_runners=0",
            "env_runners.num_envs_per_env_runner=1",
            "training.train_batch_size_per_learner=200",
            "training.minibatch_size=100",
            "training.num_epochs=1",
            "environment.env_config.episode_seconds=50",
            "stop.num_env_steps_sampled_lifetime=200",
            "rl_module.model_config.fcnet_hiddens=[16]",
        ],
    )
    algo = build_config(exp).build_algo()
    try:
        import torch

        module = algo.get_module("baseline_mm_2")
        before = [p.detach().clone() for p in module.parameters()]
        res = algo.train()
        learners = res["learners"]
        trained = {m for m, v in learners.items() if isinstance(v, dict) and "policy_loss" in v}
        if shared:
            assert trained == {"learner"}
        else:
            assert trained == {"mm_0", "mm_1"}
        assert set(algo.config.policies_to_train) == trained  # the Avellaneda-Stoikov module is not trained
        after = list(algo.get_module("baseline_mm_2").parameters())
        assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    finally:
        algo.stop()


def test_warm_start_policy_starts_as_the_cloned_baseline(ray_local, tmp_path, monkeypatch):
    """``warm_start``: the built algorithm's policy is the module fitted to the baseline (the same weights, so
    the same outputs), and that module's Gaussian mean is near the baseline's normalized actions."""
    import numpy as np
    import torch
    from ray.rllib.core.columns import Columns

    from almm_rllib.training.train import build_config
    from almm_rllib.training.warm_start import FIT_FILE, rollout

    monkeypatch.setenv("ALMM_CACHE", str(tmp_path / "cache"))
    exp = load_experiment(
        SMOKE,
        [
            "warm_start.strategy=volatility_adaptive",
            "warm_start.steps=3000",
            "warm_start.epochs=200",
            "warm_start.lr=0.003",
        ],
    )
    algo = build_config(exp).build_algo()
    try:
        (state,) = list((tmp_path / "cache" / "warm_start").iterdir())
        assert (state / FIT_FILE).is_file()
        obs, target, _ = rollout("volatility_adaptive", exp.env_config, 400, seed=99)  # fresh states
        x = torch.as_tensor(obs)

        def act(runner):
            with torch.no_grad():
                return runner.module.forward_inference({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS].numpy()

        # what the sampling EnvRunners start with
        (out,) = algo.env_runner_group.foreach_env_runner(act, local_env_runner=False)
        saved = type(algo.get_module()).from_checkpoint(str(state))
        with torch.no_grad():
            want = saved.forward_inference({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS].numpy()
        np.testing.assert_array_equal(out, want)  # the algorithm starts from the saved state
        assert np.abs(out[:, :4] - target).mean() < 0.05  # ... which acts like the baseline
        np.testing.assert_allclose(out[:, 4:], np.log(0.2), atol=0.1)
    finally:
        algo.stop()
