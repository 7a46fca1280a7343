"""PPO training throughput: sampling against a trivial env, and end to end against today's settings.

    python benchmarks/bench_train.py [--mode sampling] [--envs 8,32,64] [--steps 16000]
    python benchmarks/bench_train.py --mode e2e [--steps 60000] [--experiment experiments/ppo_curriculum.yaml]

``sampling`` (the default): RLlib's EnvRunner throughput in env steps per second with the project's env
(``almm_mm``, the native vector env, ``info_level="episode"`` as ``almm train`` configures it) against a
trivial native vector env of the same spaces and episode length, same runner and the seed's network, for each
number of envs per runner. Both run in this process on one local EnvRunner (no learner, no Ray), in alternating
rounds so that load from other processes hits both alike. The ratio is how much of RLlib's sampling speed the
market keeps: target >= 90%.

``e2e``: the experiment's own settings (the shipped ``ppo_curriculum.yaml``: env runners, envs per runner,
batch, minibatch, epochs, torch threads) against today's (``TODAY`` below: 4 envs per runner stepped one by one
by Gymnasium's SyncVectorEnv, 4000-step batches, minibatches of 500, 8 epochs, one torch thread), both built by
``build_config`` on one local Ray and trained for ``--steps`` env steps each in alternating iterations. Prints,
per setting, env steps/s and the time per iteration split into sampling (EnvRunner), learning (Learner update)
and the rest, then the speed-up. Evaluation, checkpoints and Tune are left out; the curriculum's phases are in.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import gymnasium as gym
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The ppo_curriculum settings before issue 13, as --set overrides of the experiment.
TODAY = [
    "env_runners.num_env_runners=1",
    "env_runners.num_envs_per_env_runner=4",
    "env_runners.gym_env_vectorize_mode=sync",
    "training.train_batch_size_per_learner=4000",
    "training.minibatch_size=500",
    "training.num_epochs=8",
    "torch_threads={learner: 1, env_runner: 1}",
]


class TrivialVectorEnv(gym.vector.VectorEnv):
    """Same spaces and episode length as the market-making env, next-step autoreset; computes nothing."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, config=None):
        from almm_rllib.env import MarketMakingGymEnv

        n = int((config or {}).get("num_envs", 1))
        ref = MarketMakingGymEnv({"market": {"warmup_seconds": 0.0}})
        self.num_envs = n
        self.single_observation_space = ref.observation_space
        self.single_action_space = ref.action_space
        self.observation_space = gym.vector.utils.batch_space(ref.observation_space, n)
        self.action_space = gym.vector.utils.batch_space(ref.action_space, n)
        self.n = int(ref.config.n_steps)
        self.t = np.zeros(n, np.int64)
        self.done = np.zeros(n, np.bool_)

    def reset(self, *, seed=None, options=None):
        self.t[:] = 0
        self.done[:] = False
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, actions):
        self.t = np.where(self.done, 0, self.t + 1)
        trunc = self.t >= self.n
        rew = np.zeros(self.num_envs)
        self.done = trunc
        return np.zeros(self.observation_space.shape, np.float32), rew, np.zeros_like(trunc), trunc, {}


def _runner(env, envs: int):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from almm_rllib.env.rllib_env import register_rllib_envs
    from almm_rllib.training.train import SEED_MODEL, VECTORIZE_MODE

    register_rllib_envs()
    cfg = (
        PPOConfig()
        .environment(env, env_config={} if env is TrivialVectorEnv else {"info_level": "episode"})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=envs, gym_env_vectorize_mode=VECTORIZE_MODE)
        .rl_module(model_config=dict(SEED_MODEL))
    )
    return SingleAgentEnvRunner(config=cfg)


def sampling(envs_list: list[int], steps: int, rounds: int) -> None:
    import torch

    torch.set_num_threads(1)  # what an EnvRunner actor gets from Ray (OMP_NUM_THREADS=1)
    rows = []
    for n in envs_list:
        runners = {"trivial": _runner(TrivialVectorEnv, n), "almm_mm": _runner("almm_mm", n)}
        spent = dict.fromkeys(runners, 0.0)
        done = dict.fromkeys(runners, 0)
        for r in runners.values():
            r.sample(num_timesteps=max(steps // 4, 4 * n))  # warm-up: compile, first episodes
        for _ in range(rounds):
            for name, r in runners.items():
                t0 = time.perf_counter()
                eps = r.sample(num_timesteps=steps // rounds)
                spent[name] += time.perf_counter() - t0
                done[name] += sum(len(e) for e in eps)
        for r in runners.values():
            r.stop()
        rows.append((n, done["trivial"] / spent["trivial"], done["almm_mm"] / spent["almm_mm"]))
    print("PPO sampling, 1 local EnvRunner, the seed's network, native vector envs; env steps per second")
    print(f"{'envs/runner':>11} | {'trivial env':>12} | {'almm_mm':>12} | ratio (target >= 90%)")
    for n, trivial, project in rows:
        print(f"{n:>11} | {trivial:12,.0f} | {project:12,.0f} | {project / trivial:6.1%}")


def _timer(res: dict, key: str) -> float:
    """Seconds a timer took in the last iteration (RLlib reports them under ``timers``)."""
    v = (res.get("timers") or {}).get(key, 0.0)
    return float(v) if isinstance(v, int | float) else 0.0


def e2e(experiment: str, steps: int) -> None:
    import ray
    import torch
    from ray.rllib.utils.metrics import ENV_RUNNER_SAMPLING_TIMER, LEARNER_UPDATE_TIMER

    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import build_config, learner_threads

    stop = f"stop={{num_env_steps_sampled_lifetime: {steps}}}"
    settings = {
        "new": load_experiment(experiment, [stop]),
        "today": load_experiment(experiment, [stop, *TODAY]),
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        algos = {k: build_config(exp).build_algo() for k, exp in settings.items()}
        threads = {k: learner_threads(exp) for k, exp in settings.items()}
        stats = {k: {"steps": 0, "wall": 0.0, "sample": 0.0, "learn": 0.0, "iters": 0} for k in algos}
        for k, algo in algos.items():  # warm-up iteration (compile, connect), not counted
            torch.set_num_threads(threads[k])
            stats[k]["steps0"] = algo.train()["num_env_steps_sampled_lifetime"]
        while any(s["steps"] < steps for s in stats.values()):
            for k, algo in algos.items():
                s = stats[k]
                if s["steps"] >= steps:
                    continue
                torch.set_num_threads(threads[k])  # the learner runs in this process, as in a Tune trial
                t0 = time.perf_counter()
                res = algo.train()
                s["wall"] += time.perf_counter() - t0
                s["steps"] = res["num_env_steps_sampled_lifetime"] - s["steps0"]
                s["sample"] += _timer(res, ENV_RUNNER_SAMPLING_TIMER)
                s["learn"] += _timer(res, LEARNER_UPDATE_TIMER)
                s["iters"] += 1
        for algo in algos.values():
            algo.stop()
    finally:
        ray.shutdown()
    print(
        f"PPO end to end, {experiment} settings vs today's, {steps:,} env steps each, alternating iterations"
    )
    print(
        f"{'setting':>8} | {'env steps/s':>11} | {'s/iter':>7} | {'sampling':>8} | {'learning':>8} | {'other':>6}"
        " | 1M steps at this rate"
    )
    for k, s in stats.items():
        it = s["iters"]
        other = s["wall"] - s["sample"] - s["learn"]
        rate = s["steps"] / s["wall"]
        print(
            f"{k:>8} | {rate:11,.0f} | {s['wall'] / it:7.2f} | {s['sample'] / it:8.2f} | {s['learn'] / it:8.2f} | "
            f"{other / it:6.2f} | {1e6 / rate / 60:.1f} min"
        )
    new, old = stats["new"], stats["today"]
    print(f"speed-up new/today: {(new['steps'] / new['wall']) / (old['steps'] / old['wall']):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("sampling", "e2e"), default="sampling")
    ap.add_argument("--envs", default="8,32,64", help="sampling: envs per EnvRunner, comma list")
    ap.add_argument(
        "--steps", type=int, default=None, help="env steps per setting (sampling 16000, e2e 60000)"
    )
    ap.add_argument("--rounds", type=int, default=4, help="sampling: alternating rounds")
    ap.add_argument("--experiment", default=str(ROOT / "experiments" / "ppo_curriculum.yaml"))
    args = ap.parse_args()
    if args.mode == "sampling":
        sampling([int(x) for x in args.envs.split(",")], args.steps or 16000, args.rounds)
    else:
        e2e(args.experiment, args.steps or 60000)


if __name__ == "__main__":
    main()
