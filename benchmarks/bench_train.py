"""PPO sampling throughput with the project's env against a trivial env of the same spaces, same RLlib config.

    python benchmarks/bench_train.py [--iterations 8] [--envs 8]

The project's env runs with ``info_level="episode"``, as ``almm train`` configures it. The learner is kept light (small network, one SGD pass over one minibatch) so that sampling dominates: the
figure is RLlib's EnvRunner throughput, and the ratio says how much the market simulation costs on top of
RLlib's own per-step overhead (connectors, module forward, episode bookkeeping). Target: >= 85%.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


class TrivialEnv(gym.Env):
    """Same spaces and episode length as the market-making env; does nothing."""

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


def measure(env, iterations: int, envs: int) -> float:
    from ray.rllib.algorithms.ppo import PPOConfig

    import almm_rllib.env.rllib_env  # noqa: F401

    batch = 4000
    cfg = (
        PPOConfig()
        .environment(env, env_config={} if env is TrivialEnv else {"info_level": "episode"})
        .env_runners(num_env_runners=1, num_envs_per_env_runner=envs, num_cpus_per_env_runner=1)
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=batch, minibatch_size=batch, num_epochs=1, lr=1e-4)
        .rl_module(model_config={"fcnet_hiddens": [32], "vf_share_layers": True})
    )
    algo = cfg.build_algo()
    try:
        algo.train()  # warm-up: compile, connect, first episodes
        steps0 = algo.train()["num_env_steps_sampled_lifetime"]
        t0 = time.perf_counter()
        for _ in range(iterations):
            res = algo.train()
        wall = time.perf_counter() - t0
        return (res["num_env_steps_sampled_lifetime"] - steps0) / wall
    finally:
        algo.stop()


def main() -> None:
    import ray

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument(
        "--envs", default="1,4,8", help="envs per EnvRunner (vectorised), comma list; ppo_local.yaml uses 4"
    )
    args = ap.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for n in [int(x) for x in args.envs.split(",")]:
            trivial = measure(TrivialEnv, args.iterations, n)
            project = measure("almm_mm", args.iterations, n)
            rows.append((n, trivial, project))
    finally:
        ray.shutdown()
    print("PPO, 1 EnvRunner, 4000-step batches, light learner ([32], 1 SGD pass); env steps per second")
    print(f"{'envs/runner':>11} | {'trivial env':>12} | {'almm_mm':>12} | ratio (target >= 85%)")
    for n, trivial, project in rows:
        print(f"{n:>11} | {trivial:12,.0f} | {project:12,.0f} | {project / trivial:6.1%}")


if __name__ == "__main__":
    main()
