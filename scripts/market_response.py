"""Quick look at a simulated market's price response, for tuning a preset by hand (not a test, not the
calibration): the response function R(tau) after background market orders, the maker's markout of passive
fills, the spread, the market-order sign autocorrelation and inter-arrival dispersion, and the mid's realised
volatility. Figures at one-second resolution (mids are read at step ends).

    PYTHONPATH=. python scripts/market_response.py [--preset amzn_2012_06_21] [--seconds 7200] [--seed 1]
        [--set flow.p_informed=0.3 ...]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from almm_rllib.core.market import MarketSimulator
from almm_rllib.core.market_config import MarketConfig

TAUS = (1, 5, 10, 30, 60, 300)


def _setting(text: str) -> dict:
    key, _, value = text.partition("=")
    out: dict = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = json.loads(value) if value[:1] in "[{-0123456789tfn" else value
    return out


def simulate(cfg: MarketConfig, seconds: int, seed: int) -> dict:
    sim = MarketSimulator(cfg, n_agents=0, seed=seed)
    n = seconds
    mid = np.empty(n + 1)
    spread = np.empty(n)
    mid[0] = sim.mid_ticks()
    fills = []
    for k in range(n):
        res = sim.step(1.0)
        mid[k + 1] = sim.mid_ticks()
        bb, ba = sim.best_ticks()
        spread[k] = (ba - bb) if bb is not None and ba is not None else np.nan
        if len(res.fills):
            f = res.fills
            fills.append(
                np.stack([np.full(len(f), k), f["taker_order_id"], f["aggressor"], f["price"], f["qty"]], 1)
            )
    fl = np.concatenate(fills) if fills else np.zeros((0, 5))
    step, oid, aggr, price, qty = fl.T
    eps_f = np.where(aggr == 1, 1.0, -1.0)  # schema BUY == 1
    # market orders: first fill of each taker order id
    _, first = np.unique(oid, return_index=True)
    first = np.sort(first)
    st = step[first].astype(int)
    eps = eps_f[first]
    out = {"spread_mean_ticks": float(np.nanmean(spread)), "market_orders_per_s": len(first) / n}
    for tau in TAUS:
        ok = st + tau <= n
        out[f"R({tau})"] = (
            float(np.mean(eps[ok] * (mid[st[ok] + tau] - mid[st[ok]]))) if ok.any() else math.nan
        )
    side = -eps_f  # the maker's side: +1 bought
    for h in (1, 10, 60):
        ok = step + h <= n
        mo = side[ok] * (mid[(step[ok] + h).astype(int)] - price[ok])
        out[f"maker_markout_{h}s"] = float(np.average(mo, weights=qty[ok]))
    for lag in (1, 2, 5, 10, 20, 50, 100):
        out[f"sign_acf_{lag}"] = float(np.corrcoef(eps[:-lag], eps[lag:])[0, 1])
    ia = np.diff(st.astype(float))
    ret = np.diff(mid)
    out["mid_vol_ticks_per_sqrt_s_1s"] = float(ret.std())
    out["mid_vol_ticks_per_sqrt_s_10s"] = float(np.diff(mid[::10]).std() / math.sqrt(10))
    out["mid_vol_ticks_per_sqrt_s_60s"] = float(np.diff(mid[::60]).std() / math.sqrt(60))
    out["mid_vol_rel_10s_x1e4"] = float(np.diff(np.log(mid[::10])).std() / math.sqrt(10) * 1e4)
    out["mid_vol_rel_60s_x1e4"] = float(np.diff(np.log(mid[::60])).std() / math.sqrt(60) * 1e4)
    out["counts_per_10s_fano"] = float(np.var(np.bincount(st // 10)) / np.mean(np.bincount(st // 10)))
    out["interarrival_cv_1s_res"] = float(ia.std() / ia.mean()) if len(ia) > 1 else math.nan
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=None)
    ap.add_argument("--seconds", type=int, default=7200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    data: dict = {} if args.preset is None else {"preset": args.preset}
    from almm_rllib.core.config import _deep_update

    for s in args.set:
        _deep_update(data, _setting(s))
    cfg = MarketConfig.from_dict(data, source="--set")
    for k, v in simulate(cfg, args.seconds, args.seed).items():
        print(f"{k:32s} {v:10.4f}")


if __name__ == "__main__":
    main()
