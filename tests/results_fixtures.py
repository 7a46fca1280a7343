"""Synthetic step / fill / episode tables for the results-package tests.

* :func:`make_steps` / :func:`make_fills`: small hand-built logs of one episode, from a P&L path and a list of
  fills, with every pinned column present and consistent (dpnl = diff(pnl), cash = pnl - q * mid).
* :func:`simulate_run`: a toy market maker on a random-walk mid, several strategies on the same seeds (the
  mid path depends on the seed only: common random numbers), with consistent accounting.
* :func:`make_episodes`: an episodes table with random metric values and a chosen shift per strategy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almm_rllib.results import schema as S

KEY = {"run_id": "run-test", "strategy": "s", "seed": 0, "agent_id": "agent_0"}


def make_steps(
    pnl,
    *,
    inventory=None,
    mid=None,
    sigma=0.01,
    time=None,
    posted_bid=1.0,
    posted_ask=1.0,
    filled_bid=0.0,
    filled_ask=0.0,
    regime=0,
    **key,
) -> pd.DataFrame:
    """One episode's step log from its P&L path ``pnl_1..pnl_n`` (steps numbered 0..n-1, 1 s apart)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    n = pnl.size
    k = {**KEY, **key}

    def col(v, dtype=np.float64):
        return np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()

    q = col(0.0 if inventory is None else inventory)
    m = col(100.0 if mid is None else mid)
    t = np.arange(1, n + 1, dtype=np.float64) if time is None else col(time)
    df = pd.DataFrame(
        {
            S.RUN_ID: k["run_id"],
            S.STRATEGY: k["strategy"],
            S.SEED: np.int64(k["seed"]),
            S.AGENT_ID: k["agent_id"],
            S.STEP: np.arange(n, dtype=np.int32),
            S.TIME: t,
            S.MID: m,
            S.BEST_BID: m - 0.05,
            S.BEST_ASK: m + 0.05,
            S.BID_PRICE: m - 0.05,
            S.ASK_PRICE: m + 0.05,
            S.CASH: pnl - q * m,
            S.INVENTORY: q,
            S.PNL: pnl,
            S.DPNL: np.diff(pnl, prepend=0.0),
            S.REWARD: np.diff(pnl, prepend=0.0),
            S.POSTED_BID_QTY: col(posted_bid),
            S.POSTED_ASK_QTY: col(posted_ask),
            S.FILLED_BID_QTY: col(filled_bid),
            S.FILLED_ASK_QTY: col(filled_ask),
            S.IMPACT_COST: 0.0,
            S.SIGMA: col(sigma),
            S.REGIME: col(regime, np.int8),
            S.N_FILLS: np.zeros(n, dtype=np.int32),
            S.PHASE: "eval",
        }
    )
    return df[list(S.STEPS_COLUMNS)]


def make_fills(rows, **key) -> pd.DataFrame:
    """One episode's fill log from ``(step, time, side, price, qty, mid_at_fill)`` tuples (maker fills)."""
    k = {**KEY, **key}
    rows = list(rows)
    df = pd.DataFrame(rows, columns=[S.STEP, S.TIME, S.SIDE, S.PRICE, S.QTY, S.MID_AT_FILL])
    df[S.RUN_ID] = k["run_id"]
    df[S.STRATEGY] = k["strategy"]
    df[S.SEED] = np.int64(k["seed"])
    df[S.AGENT_ID] = k["agent_id"]
    df[S.IS_MAKER] = True
    df[S.ORDER_ID] = np.arange(len(df), dtype=np.int64)
    df = df.astype({S.STEP: np.int32, S.TIME: np.float64, S.SIDE: np.int8, S.PRICE: np.float64})
    df = df.astype({S.QTY: np.float64, S.MID_AT_FILL: np.float64, S.SEED: np.int64})
    return df[list(S.FILLS_COLUMNS)]


#: Toy strategies: (half spread in money, inventory skew in money per share).
TOY_STRATEGIES = {
    "avellaneda_stoikov": (0.05, 0.004),
    "wide": (0.12, 0.004),
    "naive": (0.02, 0.0),
}


def simulate_run(
    strategies=None,
    seeds=(0, 1, 2, 3, 4, 5),
    n_steps: int = 200,
    *,
    run_id: str = "run-sim",
    dt: float = 0.5,
    lot: float = 10.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Toy market maker: one agent per (strategy, seed), quoting ``mid -/+ half_spread - skew * q``.

    The mid is a random walk whose volatility depends on a two-state regime (switching every 50 steps); a side
    fills with probability ``exp(-20 * distance of the quote from the mid)``. Fills happen at the quote during
    the step, before the mid moves. Accounting: cash and inventory after the step's fills; the agent starts
    flat with no cash, so pnl = cash + q * mid.
    """
    strategies = TOY_STRATEGIES if strategies is None else strategies
    steps_out, fills_out = [], []
    for seed in seeds:
        mrng = np.random.default_rng([seed, 7])
        regime = ((np.arange(n_steps) // 50) % 2).astype(np.int8)
        vol = np.where(regime == 0, 0.02, 0.06)
        mids = 100.0 + np.cumsum(mrng.normal(0.0, vol))
        mid0 = 100.0
        for si, (name, (half, skew)) in enumerate(strategies.items()):
            frng = np.random.default_rng([seed, 1000 + si])
            cash, q, order_id = 0.0, 0.0, 0
            prev_mid = mid0
            rows, fills = [], []
            for t in range(n_steps):
                time = (t + 1) * dt
                bid = round(prev_mid - half - skew * q, 2)
                ask = round(prev_mid + half - skew * q, 2)
                fb = fa = 0.0
                nf = 0
                for side, price in ((1, bid), (-1, ask)):
                    dist = abs(price - prev_mid)
                    if frng.random() < np.exp(-20.0 * dist):
                        q += side * lot
                        cash -= side * price * lot
                        fills.append((t, time - dt / 2, side, price, lot, prev_mid, order_id))
                        nf += 1
                        if side == 1:
                            fb += lot
                        else:
                            fa += lot
                    order_id += 1
                mid = mids[t]
                pnl = cash + q * mid
                sigma = vol[t] / np.sqrt(dt) / mid
                rows.append((t, time, mid, bid, ask, cash, q, pnl, fb, fa, sigma, regime[t], nf))
                prev_mid = mid
            a = np.array(rows, dtype=np.float64)
            st = pd.DataFrame(
                {
                    S.RUN_ID: run_id,
                    S.STRATEGY: name,
                    S.SEED: np.int64(seed),
                    S.AGENT_ID: "agent_0",
                    S.STEP: a[:, 0].astype(np.int32),
                    S.TIME: a[:, 1],
                    S.MID: a[:, 2],
                    S.BEST_BID: a[:, 2] - 0.01,
                    S.BEST_ASK: a[:, 2] + 0.01,
                    S.BID_PRICE: a[:, 3],
                    S.ASK_PRICE: a[:, 4],
                    S.CASH: a[:, 5],
                    S.INVENTORY: a[:, 6],
                    S.PNL: a[:, 7],
                    S.DPNL: np.diff(a[:, 7], prepend=0.0),
                    S.REWARD: np.diff(a[:, 7], prepend=0.0) - 1e-4 * a[:, 6] ** 2,
                    S.POSTED_BID_QTY: lot,
                    S.POSTED_ASK_QTY: lot,
                    S.FILLED_BID_QTY: a[:, 8],
                    S.FILLED_ASK_QTY: a[:, 9],
                    S.IMPACT_COST: 0.0,
                    S.SIGMA: a[:, 10],
                    S.REGIME: a[:, 11].astype(np.int8),
                    S.N_FILLS: a[:, 12].astype(np.int32),
                    S.PHASE: "eval",
                }
            )
            steps_out.append(st[list(S.STEPS_COLUMNS)])
            fl = pd.DataFrame(
                fills, columns=[S.STEP, S.TIME, S.SIDE, S.PRICE, S.QTY, S.MID_AT_FILL, S.ORDER_ID]
            )
            fl[S.RUN_ID] = run_id
            fl[S.STRATEGY] = name
            fl[S.SEED] = np.int64(seed)
            fl[S.AGENT_ID] = "agent_0"
            fl[S.IS_MAKER] = True
            fl = fl.astype({S.STEP: np.int32, S.SIDE: np.int8, S.ORDER_ID: np.int64, S.SEED: np.int64})
            fills_out.append(fl[list(S.FILLS_COLUMNS)])
    return pd.concat(steps_out, ignore_index=True), pd.concat(fills_out, ignore_index=True)


def make_episodes(shifts: dict[str, float], seeds=range(20), *, noise: float = 1.0, rng_seed: int = 0):
    """An episodes table: in every metric, a per-seed value ``base`` shared by the strategies (as common
    random numbers make it), plus the strategy's shift, plus a little independent noise."""
    rng = np.random.default_rng(rng_seed)
    seeds = list(seeds)
    base = rng.normal(0.0, 10.0, size=(len(seeds), len(S.EPISODE_METRICS)))
    rows = []
    for name, shift in shifts.items():
        own = rng.normal(0.0, noise, size=base.shape)
        for i, seed in enumerate(seeds):
            row = {S.RUN_ID: "run-test", S.STRATEGY: name, S.SEED: seed, S.AGENT_ID: "agent_0"}
            for j, m in enumerate(S.EPISODE_METRICS):
                row[m] = base[i, j] + shift + own[i, j]
            row[S.N_STEPS] = 100
            row[S.N_FILLS] = 10
            row[S.N_ROUND_TRIPS] = 5
            rows.append(row)
    df = pd.DataFrame(rows, columns=list(S.EPISODES_COLUMNS))
    return df.astype({S.SEED: np.int64, S.N_STEPS: np.int64, S.N_FILLS: np.int64, S.N_ROUND_TRIPS: np.int64})
