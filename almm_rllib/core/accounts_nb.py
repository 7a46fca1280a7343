"""Accounting (step item 7 of :mod:`market_nb`): cash, inventory in lots and maker/taker fees of each fill, and
the impact of each agent's aggressive volume (the permanent part moves the fair price, the temporary part
displaces the background quotes and decays, the cost is charged to the agent with ``charge_impact_cost``), and
the cost of liquidating an agent's inventory (``liquidation_cost_any_nb``).

Accounts: index 0 is the background flow, 1..n the agents, n+1 the exchange.
"""

from __future__ import annotations

import numba
import numpy as np

from . import book_nb as bk
from .impact_nb import IMPACT_NONE, impact_nb, liquidation_cost_nb
from .market_state_nb import (
    F_FAIR,
    F_SIGMA,
    F_TEMP,
    O_FEES,
    O_FILLED_ASK,
    O_FILLED_BID,
    O_IMPACT,
    O_N_FILLS,
    O_TAKER_BUY,
    O_TAKER_SELL,
    P_CHARGE_IMPACT,
    P_IMPACT_MODEL,
    P_LOT,
    P_MAKER_FEE,
    P_TAKER_FEE,
    P_TICK,
)
from .nbopts import NJIT_INLINE
from .schema import BUY, SELL


@numba.njit(**NJIT_INLINE)
def account_fill_nb(ms, f, n_agents):
    """Cash, inventory and fees of one fill; per-agent step outputs."""
    px = f.price * ms.p[P_TICK]
    q = f.qty
    notional = px * q * ms.p[P_LOT]
    taker = f.taker_owner
    maker = f.maker_owner
    exch = n_agents + 1
    if f.aggressor == BUY:
        buyer = taker
        seller = maker
    else:
        buyer = maker
        seller = taker
    ms.cash[buyer] -= notional
    ms.cash[seller] += notional
    ms.inv[buyer] += q
    ms.inv[seller] -= q
    fm = notional * ms.p[P_MAKER_FEE]
    ft = notional * ms.p[P_TAKER_FEE]
    ms.cash[maker] -= fm
    ms.cash[taker] -= ft
    ms.cash[exch] += fm + ft
    ms.fees[maker] += fm
    ms.fees[taker] += ft
    if 1 <= maker <= n_agents:
        a = maker - 1
        if f.aggressor == BUY:
            ms.out[a, O_FILLED_ASK] += q
        else:
            ms.out[a, O_FILLED_BID] += q
        ms.out[a, O_N_FILLS] += 1
        ms.out[a, O_FEES] += fm
    if 1 <= taker <= n_agents:
        a = taker - 1
        if f.aggressor == BUY:
            ms.out[a, O_TAKER_BUY] += q
        else:
            ms.out[a, O_TAKER_SELL] += q
        ms.out[a, O_N_FILLS] += 1
        ms.out[a, O_FEES] += ft


@numba.njit(**NJIT_INLINE)
def apply_impact_nb(ms, n_agents, dt):
    """Impact of each agent's net aggressive volume over the step."""
    model = np.int64(ms.p[P_IMPACT_MODEL])
    tick = ms.p[P_TICK]
    lot = ms.p[P_LOT]
    exch = n_agents + 1
    for a in range(n_agents):
        v = (ms.out[a, O_TAKER_BUY] - ms.out[a, O_TAKER_SELL]) * lot
        if v == 0.0 or model == 0:
            continue
        price = ms.f[F_FAIR] * tick
        perm, temp, cost = impact_nb(model, ms.imp, v, dt, price, ms.f[F_SIGMA])
        ms.f[F_FAIR] += perm / tick
        ms.f[F_TEMP] += temp / tick
        ms.impact[a + 1] += cost
        ms.out[a, O_IMPACT] = cost
        if ms.p[P_CHARGE_IMPACT] != 0.0:
            ms.cash[a + 1] -= cost
            ms.cash[exch] += cost


@numba.njit(**NJIT_INLINE)
def liquidation_cost_any_nb(book, p, imp, agent, q, mid_money, sigma):
    """Cost (money, >= 0) of liquidating ``q`` shares of agent ``agent`` (0-based) now, measured from the mid
    ``mid_money``, in a market with ``book``, parameters ``p`` and agent impact parameters ``imp``.

    With an agent impact model, that model's cost (``impact_nb.liquidation_cost_nb``). Without one
    (``impact.model = "none"``, the order-book presets), the book is the impact model: the inventory is
    traded against every resting order but the agent's own, walking from the best price (the book is not
    changed; lots the book cannot absorb pay the last price reached). Marking a position at a mid that the
    agent's own quote sets, and closing it there for free, would let a one-sided quote at the touch mark its
    position up. ``book`` None (the replay market, which liquidates against the real book itself): the impact
    model's cost alone."""
    model = np.int64(p[P_IMPACT_MODEL])
    if book is None:
        return liquidation_cost_nb(model, imp, q, mid_money, sigma)
    if model != IMPACT_NONE:
        return liquidation_cost_nb(model, imp, q, mid_money, sigma)
    if q == 0.0:
        return 0.0
    tick = p[P_TICK]
    lot = p[P_LOT]
    lots = np.int64(np.ceil(abs(q) / lot - 1e-9))
    side = BUY if q < 0.0 else SELL  # a short buys back from the asks
    cost = bk.walk_cost_nb(book, side, lots, agent + 1, mid_money / tick)
    return cost * tick * abs(q) / lots
