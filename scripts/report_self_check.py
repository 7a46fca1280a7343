"""How often the market report's verdict fails a model that is exactly right: simulated days play the real one,
and each is judged with ``results.microstructure.compare`` against one other simulated day (the single-day
verdict) and against the mean of ``--pool`` others (``almm market-report``'s verdict). Prints the failing rows
per played day under both (docs/market-calibration.md, "How often a perfect model fails").

    PYTHONPATH=. python scripts/report_self_check.py [--first 200] [--played 32] [--pool 16] [--seconds 23400]
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool

import numpy as np


def _stats(args: tuple[int, float]) -> dict:
    from almm_rllib.core.market_config import MarketConfig
    from almm_rllib.results.microstructure import microstructure_stats, simulator_day

    seed, seconds = args
    return microstructure_stats(
        simulator_day(MarketConfig(), seconds=seconds, seed=seed, burn_in_seconds=300.0)
    )


def main(argv: list[str] | None = None) -> int:
    from almm_rllib.results.microstructure import compare, pool_stats

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--first", type=int, default=200, help="first seed (played days first, then the pool)")
    ap.add_argument("--played", type=int, default=32, help="simulated days playing the real one")
    ap.add_argument("--pool", type=int, default=16, help="simulated days they are judged against")
    ap.add_argument("--seconds", type=float, default=23_400.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    played = list(range(a.first, a.first + a.played))
    pool = list(range(played[-1] + 1, played[-1] + 1 + a.pool))
    with Pool(a.workers) as p:
        st = dict(zip(played + pool, p.map(_stats, [(s, a.seconds) for s in played + pool], chunksize=1)))
    pooled = pool_stats([st[s] for s in pool])

    def fails(real: dict, sim: dict) -> int:
        return sum(r.verdict == "fail" for r in compare(real, sim))

    single = [fails(st[s], st[pool[i % len(pool)]]) for i, s in enumerate(played)]
    mean = [fails(st[s], pooled) for s in played]
    print(f"played days: seeds {played[0]}-{played[-1]}; judged against seeds {pool[0]}-{pool[-1]}")
    for label, f in (("one other simulated day", single), (f"the mean of {len(pool)} days", mean)):
        print(
            f"against {label}: failing rows {f}; mean {np.mean(f):.2f}; at most one on "
            f"{sum(x <= 1 for x in f)} of {len(f)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
