"""PPO training throughput: sampling against a trivial env, and end to end against today's settings.

    python benchmarks/bench_train.py [--mode sampling] [--envs 8,32,64] [--steps 16000]
    python benchmarks/bench_train.py --mode e2e [--steps 60000] [--experiment experiments/ppo_curriculum.yaml]
                                     [--set training.num_epochs=4 ...]

``sampling`` (the default): RLlib's EnvRunner throughput in env steps per second with the project's env
(``almm_mm``, the native vector env, ``info_level="episode"`` as ``almm train`` configures it) against a
trivial native vector env of the same spaces and episode length, same runner and the seed's network, for each
number of envs per runner (and, for reference, against the trivial gym.Env in Gymnasium's SyncVectorEnv that
this benchmark used before). Both run in this process on one local EnvRunner (no learner, no Ray), in alternating
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


class TrivialEnv(gym.Env):
    """The same as one gym.Env, for RLlib's SyncVectorEnv (the reference of this benchmark before issue 13)."""

    def __init__(self, config=None):
        from almm_rllib.env import MarketMakingGymEnv

        ref = MarketMakingGymEnv({"market": {"warmup_seconds": 0.0}})
        self.observation_space = ref.observation_space
        self.action_space = ref.action_space
        self.n = int(ref.config.n_steps)
        self._obs = np.zeros(self.observation_space.shape, np.float32)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs.copy(), {}

    def step(self, action):
        self.t += 1
        return self._obs.copy(), 0.0, False, self.t >= self.n, {}


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
        .environment(env, env_config={"info_level": "episode"} if env == "almm_mm" else {})
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=envs,
            gym_env_vectorize_mode="sync" if env is TrivialEnv else VECTORIZE_MODE,
        )
        .rl_module(model_config=dict(SEED_MODEL))
    )
    return SingleAgentEnvRunner(config=cfg)


def sampling(envs_list: list[int], steps: int, rounds: int) -> None:
    import torch

    torch.set_num_threads(1)  # what an EnvRunner actor gets from Ray (OMP_NUM_THREADS=1)
    rows = []
    for n in envs_list:
        runners = {
            "trivial": _runner(TrivialVectorEnv, n),
            "sync": _runner(TrivialEnv, n),
            "almm_mm": _runner("almm_mm", n),
        }
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
        rows.append((n, *(done[k] / spent[k] for k in ("trivial", "sync", "almm_mm"))))
    print(
        "PPO sampling, 1 local EnvRunner, the seed's network; env steps per second. trivial: a native vector"
    )
    print(
        "env computing nothing; trivial sync: a trivial gym.Env in Gymnasium's SyncVectorEnv (the old reference)"
    )
    print(
        f"{'envs/runner':>11} | {'trivial':>9} | {'triv. sync':>10} | {'almm_mm':>9} | ratio (target >= 90%)"
        " | ratio vs sync"
    )
    for n, trivial, sync, project in rows:
        print(
            f"{n:>11} | {trivial:9,.0f} | {sync:10,.0f} | {project:9,.0f} | {project / trivial:21.1%}"
            f" | {project / sync:13.1%}"
        )


class _Clock:
    """Seconds spent inside wrapped calls (RLlib's own ``timers`` are exponential moving averages that barely
    leave their first value, so they cannot give a per-iteration split)."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def e2e(experiment: str, steps: int, overrides: list[str]) -> None:
    import ray
    import ray.rllib.algorithms.ppo.ppo as ppo_module
    import torch

    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import build_config, learner_threads

    stop = f"stop={{num_env_steps_sampled_lifetime: {steps}}}"
    settings = {
        "new": load_experiment(experiment, [stop, *overrides]),
        "today": load_experiment(experiment, [stop, *TODAY]),
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        algos = {k: build_config(exp).build_algo() for k, exp in settings.items()}
        sample_clock = {k: _Clock() for k in algos}
        learn_clock = {k: _Clock() for k in algos}
        sample_fn = ppo_module.synchronous_parallel_sample
        active = {"key": None}

        def sample(*args, **kwargs):  # PPO.training_step samples through this module-level function
            return sample_clock[active["key"]].wrap(sample_fn)(*args, **kwargs)

        ppo_module.synchronous_parallel_sample = sample
        for k, algo in algos.items():
            algo.learner_group.update = learn_clock[k].wrap(algo.learner_group.update)
        threads = {k: learner_threads(exp) for k, exp in settings.items()}
        stats = {k: {"steps": 0, "wall": 0.0, "sample": 0.0, "learn": 0.0, "iters": 0} for k in algos}
        for k, algo in algos.items():  # warm-up iteration (compile, connect), not counted
            torch.set_num_threads(threads[k])
            active["key"] = k
            stats[k]["steps0"] = algo.train()["num_env_steps_sampled_lifetime"]
            stats[k]["s0"], stats[k]["l0"] = sample_clock[k].seconds, learn_clock[k].seconds
        while any(s["steps"] < steps for s in stats.values()):
            for k, algo in algos.items():
                s = stats[k]
                if s["steps"] >= steps:
                    continue
                torch.set_num_threads(threads[k])  # the learner runs in this process, as in a Tune trial
                active["key"] = k
                t0 = time.perf_counter()
                res = algo.train()
                s["wall"] += time.perf_counter() - t0
                s["steps"] = res["num_env_steps_sampled_lifetime"] - s["steps0"]
                s["sample"] = sample_clock[k].seconds - s["s0"]
                s["learn"] = learn_clock[k].seconds - s["l0"]
                s["iters"] += 1
        for algo in algos.values():
            algo.stop()
    finally:
        ray.shutdown()
    print(
        f"PPO end to end, {experiment} settings {' '.join(overrides)} vs today's, {steps:,} env steps each,"
        " alternating iterations"
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
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="e2e: override the new settings"
    )
    args = ap.parse_args()
    if args.mode == "sampling":
        sampling([int(x) for x in args.envs.split(",")], args.steps or 16000, args.rounds)
    else:
        e2e(args.experiment, args.steps or 60000, args.set)


if __name__ == "__main__":
    main()
