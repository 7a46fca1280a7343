"""Market simulator throughput: background events per second through the step kernel (generation included)
and steps per second, beside the bare book kernel's rate measured in the same run.

    python benchmarks/bench_sim.py [--seconds 20000] [--dt 1.0] [--preset generic_large_tick]

Target: at least 5 million background events per second including generation.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from almm_rllib.core import book_nb as nb
from almm_rllib.core import market_nb as mk
from almm_rllib.core.market import MarketSimulator
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.core.schema import FILL_DTYPE, RESULT_DTYPE
from almm_rllib.core.streams import random_event_stream

COUNTERS = (mk.I_CNT_LIMIT_BUY, mk.I_CNT_LIMIT_SELL, mk.I_CNT_MARKET, mk.I_CNT_CANCEL)


def bg_events(sim: MarketSimulator) -> int:
    return int(sum(sim.state.i[c] for c in COUNTERS))


def bench_background(cfg: MarketConfig, seconds: int, dt: float, repeat: int) -> tuple[float, float, float]:
    """(events/s, steps/s, events per step) of background-only runs through lob_run_nb (many steps per call)."""
    sim = MarketSimulator(cfg, n_agents=0, seed=1)
    sim.run_background(10, dt)  # compile / load cache
    best = (0.0, 0.0, 0.0)
    n_steps = int(seconds / dt)
    for _ in range(repeat):
        e0 = bg_events(sim)
        t0 = time.perf_counter()
        sim.run_background(n_steps, dt)
        el = time.perf_counter() - t0
        ev = bg_events(sim) - e0
        if ev / el > best[0]:
            best = (ev / el, n_steps / el, ev / n_steps)
    return best


def bench_agent_steps(cfg: MarketConfig, n_steps: int, dt: float) -> tuple[float, float]:
    """(steps/s, events/s) with one agent re-quoting every step through the Python facade, one call per step."""
    sim = MarketSimulator(cfg, n_agents=1, seed=2)
    m = round(sim.mid_ticks())
    sim.set_quote(0, bid=(m - 1, 1), ask=(m + 1, 1))
    sim.step(dt)
    e0 = bg_events(sim)
    t0 = time.perf_counter()
    for k in range(n_steps):
        m = round(sim.mid_ticks())
        sim.set_quote(0, bid=(m - 1 - (k % 2), 1), ask=(m + 1, 1))
        sim.step(dt)
    el = time.perf_counter() - t0
    return n_steps / el, (bg_events(sim) - e0) / el


def bench_book(n: int) -> float:
    ev = random_event_stream(n, seed=2024)
    fills = np.zeros(n, FILL_DTYPE)
    res = np.zeros(n, RESULT_DTYPE)
    nb.process_events_nb(nb.new_book_state(200_000, 4096, 10_000), ev[:100], fills, 0, res)
    best = float("inf")
    for _ in range(3):
        st = nb.new_book_state(200_000, 4096, 10_000)
        t0 = time.perf_counter()
        nb.process_events_nb(st, ev, fills, 0, res)
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20_000, help="simulated seconds per background run")
    ap.add_argument("--dt", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--preset", default=None, help="market preset (default: the default market)")
    args = ap.parse_args()
    cfg = MarketConfig() if args.preset is None else MarketConfig.preset(args.preset)
    rate_bg, steps_bg, per_step = bench_background(cfg, args.seconds, args.dt, args.repeat)
    steps_agent, ev_agent = bench_agent_steps(cfg, 20_000, args.dt)
    rate_book = bench_book(1_000_000)
    print(f"{args.preset or 'default'} market, dt = {args.dt} s, {per_step:.1f} background events per step")
    print(
        f"step kernel, background only   : {rate_bg / 1e6:6.2f} M background events/s  {steps_bg:>10,.0f} steps/s"
    )
    print(
        f"step per call, 1 agent quoting : {ev_agent / 1e6:6.2f} M background events/s  {steps_agent:>10,.0f} steps/s"
    )
    print(f"bare book kernel (same run)    : {rate_book / 1e6:6.2f} M events/s")
    print(f"ratio step kernel / bare book  : {rate_bg / rate_book:6.2f}")
    print(f"target 5 M background events/s : {'met' if rate_bg >= 5e6 else 'NOT met'}")


if __name__ == "__main__":
    main()
