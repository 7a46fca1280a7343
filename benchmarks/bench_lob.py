"""Order-book throughput: the compiled batch kernel against the reference book, same stream, same run.

    python benchmarks/bench_lob.py [--events 1000000] [--seed 2024] [--repeat 5]

The stream (``almm_rllib.core.streams.random_event_stream``): about half limit orders near the touch, a tenth
market orders, the rest cancels of live orders. Targets on a 2-core machine: compiled >= 15x the reference
and >= 15 million events per second.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from almm_rllib.core import book_nb as nb
from almm_rllib.core.schema import FILL_DTYPE, RESULT_DTYPE
from almm_rllib.core.streams import random_event_stream
from tests.reference.book_ref import RefBook


def run_compiled(ev: np.ndarray, repeat: int) -> tuple[float, int]:
    fills = np.zeros(ev.shape[0], FILL_DTYPE)
    results = np.zeros(ev.shape[0], RESULT_DTYPE)
    # warm-up compiles (or loads from cache) on a small slice
    nb.process_events_nb(nb.new_book_state(200_000, 4096, 10_000), ev[:1000], fills, 0, results)
    best = float("inf")
    nfill = 0
    for _ in range(repeat):
        st = nb.new_book_state(200_000, 4096, 10_000)
        t0 = time.perf_counter()
        n_done, nfill, status = nb.process_events_nb(st, ev, fills, 0, results)
        dt = time.perf_counter() - t0
        assert n_done == ev.shape[0] and status == 0
        best = min(best, dt)
    return best, nfill


def run_reference(ev: np.ndarray) -> tuple[float, int]:
    ref = RefBook(window=4096, capacity=200_000)
    rows = ev.tolist()
    nfill = 0
    t0 = time.perf_counter()
    for t, et, sd, pr, q, ow, oid in rows:
        nfill += len(ref.apply(et, sd, pr, q, ow, oid, t)[3])
    return time.perf_counter() - t0, nfill


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ev = random_event_stream(args.events, args.seed)
    kinds = np.bincount(ev["type"], minlength=5)
    n = ev.shape[0]
    print(
        f"stream: {n:,} events, limit {kinds[1] / n:.1%}, market {kinds[3] / n:.1%}, cancel {kinds[4] / n:.1%}"
    )
    t_c, f_c = run_compiled(ev, args.repeat)
    t_r, f_r = run_reference(ev)
    assert f_c == f_r, f"compiled and reference disagree on the number of fills: {f_c} vs {f_r}"
    rate_c, rate_r = n / t_c, n / t_r
    print(
        f"compiled batch kernel : {rate_c / 1e6:8.2f} M events/s  ({t_c * 1e3:8.1f} ms, best of {args.repeat})"
    )
    print(f"reference book        : {rate_r / 1e6:8.3f} M events/s  ({t_r * 1e3:8.1f} ms)")
    print(f"fills                 : {f_c:,}")
    print(f"ratio compiled/ref    : {rate_c / rate_r:8.1f}x   (target >= 15x)")
    print(f"target 15 M events/s  : {'met' if rate_c >= 15e6 else 'NOT met'}")


if __name__ == "__main__":
    main()
