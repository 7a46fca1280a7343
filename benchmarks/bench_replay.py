"""Replay throughput: a real LOBSTER day through the compiled book, bare and with one quoting agent, same run.

    python benchmarks/bench_replay.py [--data /work/shared/data/lobster] [--ticker AMZN] [--repeat 5]
        [--step 1.0]

* **bare**: every replay operation of the day through ``core.replay_nb`` with no agent (``replay_seek_nb``);
* **one quoting agent**: the same day advanced ``--step`` seconds at a time (``replay_advance_nb``), a compiled
  quoting loop keeping one lot at the best bid and at the best ask (cancel and re-post when the touch moves,
  5 ms latency), the agent's queue place followed through every message and its fills recorded.

* **env**: the Gymnasium env on the replay market (``market: {model: replay}``), random actions, 300-second
  episodes at seeded random starts (resets included), ``info_level`` episode (what training uses) and full.

Messages per second = the file's messages / best wall time. Targets: >= 1 M messages/s with the agent, and
>= 20,000 env steps/s.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numba
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from almm_rllib.core import book_nb as bk
from almm_rllib.core import replay_nb as rp
from almm_rllib.core.nbopts import NJIT
from almm_rllib.core.schema import BUY, SELL
from almm_rllib.data.lobster.stream import load_replay_stream


@numba.njit(**NJIT)
def quote_day_nb(st, ag, ops, t0, t1, step, latency):
    """Advance the day ``step`` seconds at a time, keeping one lot at each touch. Returns (steps, fills)."""
    t = t0
    oid = 1
    n_steps = 0
    total_fills = 0
    while t <= t1:
        t += step
        rp.replay_advance_nb(st, ag, ops, t)
        total_fills += ag.hdr[rp.RH_N_FILLS]
        ag.hdr[rp.RH_N_FILLS] = 0
        n_steps += 1
        for side in (BUY, SELL):
            px = st.hdr[bk.H_BEST_BID] if side == BUY else st.hdr[bk.H_BEST_ASK]
            there = False
            for k in range(ag.a_id.shape[0]):
                if ag.a_id[k] >= 0 and ag.a_side[k] == side:
                    if ag.a_price[k] != px:
                        rp.agent_submit_nb(ag, t + latency, rp.AG_CANCEL, 1, ag.a_id[k], side, px, 0)
                    else:
                        there = True
            if not there:
                oid += 1
                rp.agent_submit_nb(ag, t + latency, rp.AG_LIMIT, 1, oid, side, px, 1)
    return n_steps, total_fills


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/lobster")
    ap.add_argument("--ticker", default="AMZN")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--step", type=float, default=1.0)
    ap.add_argument("--env-steps", type=int, default=30_000)
    a = ap.parse_args(argv)
    s = load_replay_stream(a.data, a.ticker)
    ops = s.ops
    n_msg = len(s.msg_time)
    t0, t1 = float(ops["time"][0]), float(ops["time"][-1])

    def fresh():
        return bk.new_book_state(s.capacity, s.window, s.centre), rp.new_replay_agents()

    st, ag = fresh()
    rp.replay_seek_nb(st, ag, ops, ops.shape[0])  # compile / load
    st, ag = fresh()
    quote_day_nb(st, ag, ops, t0, t0 + 10, a.step, 0.005)
    bare = agent = float("inf")
    steps = fills = 0
    for _ in range(a.repeat):
        st, ag = fresh()
        c0 = time.perf_counter()
        assert rp.replay_seek_nb(st, ag, ops, ops.shape[0]) == rp.RS_OK
        bare = min(bare, time.perf_counter() - c0)
        st, ag = fresh()
        c0 = time.perf_counter()
        steps, fills = quote_day_nb(st, ag, ops, t0, t1, a.step, 0.005)
        agent = min(agent, time.perf_counter() - c0)
        assert ag.hdr[rp.RH_STATUS] == rp.RS_OK
    print(f"{a.ticker} {s.date}: {n_msg} messages, {ops.shape[0]} replay operations")
    print(f"bare book        : {bare * 1e3:8.2f} ms  {n_msg / bare / 1e6:6.2f} M messages/s")
    print(
        f"one quoting agent: {agent * 1e3:8.2f} ms  {n_msg / agent / 1e6:6.2f} M messages/s "
        f"({steps} steps of {a.step} s, {fills} agent fills)"
    )
    for level in ("episode", "full"):
        rate = env_steps_per_s(a.data, a.ticker, level, a.env_steps)
        print(f"env on the replay  : {rate:10,.0f} steps/s (info_level {level}, resets included)")
    return 0


def env_steps_per_s(data: str, ticker: str, info_level: str, n: int) -> float:
    from almm_rllib.env import MarketMakingGymEnv
    from almm_rllib.evaluation.replay import resolve_env_config

    t0, t1 = 36000.0, 55000.0
    cfg = resolve_env_config(
        {
            "market": {"model": "replay", "data": data, "ticker": ticker, "window": [t0, t1]},
            "episode_seconds": 300,
            "info_level": info_level,
        }
    )
    env = MarketMakingGymEnv(cfg)
    rng = np.random.default_rng(0)
    acts = rng.uniform(env.action_space.low, env.action_space.high, size=(n, 4)).astype(np.float32)
    env.reset(seed=0)
    for k in range(400):  # compile / load, and take the reset snapshots
        if env.step(acts[k])[3]:
            env.reset()
    env.reset(seed=1)
    c0 = time.perf_counter()
    for k in range(n):
        if env.step(acts[k])[3]:
            env.reset()
    return n / (time.perf_counter() - c0)


if __name__ == "__main__":
    raise SystemExit(main())
