"""Environment throughput: steps per second with random actions for 1 and 4 agents on the default order-book
market, and the share of step time spent inside the compiled step kernel.

    python benchmarks/bench_env.py [--steps 30000]

Target: at least 20,000 single-agent steps per second on one core (the Gymnasium env, actions sampled in
advance so the sampler is not measured).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import almm_rllib.env.core as env_core
from almm_rllib.core import mm_nb
from almm_rllib.env import MarketMakingGymEnv
from almm_rllib.env.rllib_env import MarketMakingEnv


class _Timed:
    """Wraps the compiled step kernel to accumulate the time spent inside it."""

    def __init__(self, fn):
        self.fn = fn
        self.total = 0.0

    def __call__(self, *a):
        t0 = time.perf_counter()
        r = self.fn(*a)
        self.total += time.perf_counter() - t0
        return r


def run(env, n_steps: int, multi: bool, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    if multi:
        ids = env.possible_agents
        space = env.action_spaces[ids[0]]
        acts = rng.uniform(space.low, space.high, size=(n_steps, len(ids), 4)).astype(np.float32)
    else:
        space = env.action_space
        acts = rng.uniform(space.low, space.high, size=(n_steps, 4)).astype(np.float32)
    env.reset(seed=seed)
    timer = _Timed(mm_nb.mm_step_nb)
    env_core.mm.mm_step_nb = timer
    try:
        t0 = time.perf_counter()
        k = 0
        while k < n_steps:
            if multi:
                out = env.step({a: acts[k, i] for i, a in enumerate(ids)})
                done = out[3]["__all__"]
            else:
                out = env.step(acts[k])
                done = out[3]
            k += 1
            if done:
                env.reset()
        total = time.perf_counter() - t0
    finally:
        env_core.mm.mm_step_nb = timer.fn
    return n_steps / total, timer.total / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30_000)
    args = ap.parse_args()
    single = MarketMakingGymEnv()
    run(single, 500, multi=False)  # compile / load cache
    rate1, share1 = run(single, args.steps, multi=False)
    multi = MarketMakingEnv({"n_agents": 4})
    run(multi, 500, multi=True)
    rate4, share4 = run(multi, args.steps // 2, multi=True)
    print("default order-book market, random actions, resets included (episode = 300 steps)")
    print(f"1 agent  (Gymnasium env)      : {rate1:10,.0f} steps/s   compiled share {share1:5.1%}")
    print(
        f"4 agents (RLlib MultiAgentEnv): {rate4:10,.0f} steps/s   compiled share {share4:5.1%}  "
        f"({4 * rate4:,.0f} agent-steps/s)"
    )
    print(f"target 20,000 single-agent steps/s: {'met' if rate1 >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
