"""The stylized Avellaneda-Stoikov market: no book, no latency; fills are Poisson with intensity
``A exp(-k delta)`` and the mid is a binomial random walk."""

from __future__ import annotations

import numba
import numpy as np

from .market_state_nb import (
    F_FAIR,
    F_LAST_MID,
    F_TIME,
    I_N_AGENTS,
    I_N_EVENTS,
    I_N_FILLS,
    O_FILLED_ASK,
    O_FILLED_BID,
    O_N_FILLS,
    O_SIZE,
    P_LOT,
    P_ST_A,
    P_ST_FILL_QUOTE,
    P_ST_K,
    P_ST_SIGMA,
    P_TICK,
    Q_ID,
    Q_PRICE,
    Q_QTY,
)
from .nbopts import NJIT_HOT
from .rng_nb import S_FLOW, S_PRICE, uni_nb
from .schema import BACKGROUND_OWNER, BUY, NO_ORDER, SELL, STATUS_OK


@numba.njit(**NJIT_HOT)
def stylized_step_nb(ms, dt):
    """One step of the paper's market: fills first (probability A exp(-k delta) dt per quote), then the mid
    moves by +-sigma sqrt(dt). Every step draws the same numbers (one per agent side, one for the mid), so
    strategies on the same seed see the same randomness. Quotes are the agents' working quotes (no latency,
    no book); the counterparty is the background account."""
    n_agents = ms.i[I_N_AGENTS]
    p = ms.p
    tick = p[P_TICK]
    lot = p[P_LOT]
    mid = ms.f[F_LAST_MID] * tick
    for a in range(n_agents):
        for c in range(O_SIZE):
            ms.out[a, c] = 0.0
    nfill = 0
    for a in range(n_agents):
        for s in range(2):
            u = uni_nb(ms, S_FLOW)
            qs = ms.quotes[a, s]
            if qs[Q_QTY] <= 0:
                continue
            px = qs[Q_PRICE] * tick
            delta = mid - px if s == 0 else px - mid
            prob = p[P_ST_A] * np.exp(-p[P_ST_K] * delta) * dt
            if u < prob:
                q = qs[Q_QTY] if p[P_ST_FILL_QUOTE] != 0.0 else 1
                notional = px * q * lot
                if s == 0:
                    ms.cash[a + 1] -= notional
                    ms.cash[BACKGROUND_OWNER] += notional
                    ms.inv[a + 1] += q
                    ms.inv[BACKGROUND_OWNER] -= q
                    ms.out[a, O_FILLED_BID] += q
                else:
                    ms.cash[a + 1] += notional
                    ms.cash[BACKGROUND_OWNER] -= notional
                    ms.inv[a + 1] -= q
                    ms.inv[BACKGROUND_OWNER] += q
                    ms.out[a, O_FILLED_ASK] += q
                ms.out[a, O_N_FILLS] += 1
                if nfill < ms.fills.shape[0]:
                    f = ms.fills[nfill]
                    f.time = ms.f[F_TIME] + dt
                    f.price = qs[Q_PRICE]
                    f.qty = q
                    f.maker_order_id = qs[Q_ID]
                    f.taker_order_id = NO_ORDER
                    f.maker_owner = a + 1
                    f.taker_owner = BACKGROUND_OWNER
                    f.aggressor = SELL if s == 0 else BUY
                    nfill += 1
    step = p[P_ST_SIGMA] * np.sqrt(dt)
    if uni_nb(ms, S_PRICE) < 0.5:
        mid += step
    else:
        mid -= step
    ms.f[F_LAST_MID] = mid / tick
    ms.f[F_FAIR] = mid / tick
    ms.f[F_TIME] += dt
    ms.i[I_N_FILLS] = nfill
    ms.i[I_N_EVENTS] = 0
    return STATUS_OK
