"""The market step kernel: one compiled call advances the market by ``dt`` seconds.

``lob_step_nb`` does, in order:

1. **Regime**: the continuous-time Markov chain jumps over the window (exponential holding times); the
   regime at the end of the window sets the volatility and the flow rates of the whole window (regime changes
   take effect at step boundaries; regimes last minutes, steps about a second).
2. **Fair price**: geometric Brownian motion with the regime's volatility plus compound-Poisson jumps; the
   temporary-impact displacement decays by ``exp(-lambda dt)``.
3. **Background arrivals**: limit orders per side and market orders as Poisson processes (exponential
   spacings, so arrival times come out sorted), every random number an event needs drawn up front from the
   flow generator. The number of draws never depends on the book or the agents, so two strategies run on the
   same seed face the same exogenous arrivals (common random numbers).
4. **Cancellations**: each resting background order carries an Exp(1) hazard budget drawn when it was created;
   its hazard ``cancel_rate * (1 + coef * |price - fair|)`` accumulates each step and the order is cancelled
   at the exact time the budget runs out (a state-dependent rate that grows with the resting volume and with
   the distance from the fair price).
5. **Agents' delayed messages** whose latency has elapsed are released.
6. Everything is applied to the book **in time order**. A background limit order's price is decided when it
   arrives, from the book at that instant and its pre-drawn numbers: relative to the same-side best quote or
   (with ``p_anchor_fair``) to the fair price plus temporary impact, a geometric distance behind it, or inside
   the spread. A market order buys with a probability that leans toward the fair price (informed flow).
7. **Accounts** from the fills (cash, inventory in lots, maker/taker fees paid to the exchange account) and
   **impact** of each agent's aggressive volume: the permanent part moves the fair price, the temporary part
   displaces the background quotes and decays, the cost is charged to the agent (``charge_impact_cost``).

All kernels here run without numba's reference counting (``NJIT_HOT``) and allocate nothing: every buffer is
in the :class:`MarketState`. Accounts: index 0 is the background flow, 1..n the agents, n+1 the exchange.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from . import book_nb as bk
from .impact_nb import impact_nb
from .nbopts import NJIT_HOT, NJIT_INLINE
from .schema import (
    BACKGROUND_OWNER,
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_MARKET,
    NO_ORDER,
    NO_PRICE,
    SELL,
    STATUS_FILL_BUFFER_FULL,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
)

# float header (MarketState.f)
F_TIME = 0  #: simulation clock, seconds
F_FAIR = 1  #: latent fair price, ticks (float)
F_TEMP = 2  #: temporary-impact displacement of the background quotes, ticks (decays)
F_LAST_MID = 3  #: last mid in ticks (stylized market: the mid)
F_SIGMA = 4  #: the regime's relative volatility during the last step
F_SIZE = 8

# int header (MarketState.i)
I_REGIME = 0
I_NEXT_BG_ID = 1  #: next background order id
I_N_PENDING = 2  #: agent messages in flight
I_HWM = 3  #: one past the highest book slot ever used by a background order
I_DROPPED = 4  #: background orders dropped because the book was full
I_N_EVENTS = 5  #: events applied in the last step
I_N_FILLS = 6  #: fills recorded in the last step
I_N_AGENTS = 7
I_AGENT_SEQ = 8  #: next agent order sequence number
I_REJECTED = 9  #: agent orders refused by the book (table full / out of window)
I_N_BG_EVENTS = 10  #: background events (arrivals + cancels) in the last step
I_CNT_LIMIT_BUY = 11  #: cumulative background arrivals by kind (since reset, warm-up included)
I_CNT_LIMIT_SELL = 12
I_CNT_MARKET = 13
I_CNT_CANCEL = 14
I_SIZE = 16

# parameters (float64 vector built by MarketSimulator)
P_LIMIT_RATE = 0
P_MARKET_RATE = 1
P_CANCEL_RATE = 2
P_CANCEL_COEF = 3
P_DIST_MODEL = 4  #: 0 geometric, 1 uniform
P_DIST_P = 5
P_DIST_MAX = 6
P_ANCHOR_FAIR = 7
P_INSIDE = 8
P_SIZE_MODEL = 9  #: 0 lognormal, 1 geometric
P_SIZE_MU = 10
P_SIZE_SIGMA = 11
P_MSIZE_MU = 12
P_MSIZE_SIGMA = 13
P_INFORMED = 14
P_JUMP_RATE = 15
P_JUMP_STD = 16
P_LAT_MODEL = 17  #: 0 constant, 1 uniform, 2 lognormal
P_LAT_MEAN = 18
P_LAT_LOW = 19
P_LAT_HIGH = 20
P_LAT_SIGMA = 21
P_MAKER_FEE = 22  #: fraction of notional
P_TAKER_FEE = 23
P_CHARGE_IMPACT = 24
P_TICK = 25
P_LOT = 26
P_SWITCHING = 27
P_IMPACT_MODEL = 28
P_ST_SIGMA = 29  #: stylized: money per sqrt-second
P_ST_A = 30
P_ST_K = 31
P_ST_FILL_QUOTE = 32  #: stylized: 1 = fill the quoted size, 0 = one lot
P_SIZE = 40

# per-regime table columns (MarketState.reg)
R_VOL = 0
R_LIMIT_MULT = 1
R_MARKET_MULT = 2
R_CANCEL_MULT = 3

# per-agent step outputs (MarketState.out), lots and money
O_FILLED_BID = 0  #: lots of the agent's resting bids filled (as maker)
O_FILLED_ASK = 1
O_TAKER_BUY = 2  #: lots bought aggressively
O_TAKER_SELL = 3
O_N_FILLS = 4
O_IMPACT = 5  #: impact cost charged (money)
O_FEES = 6  #: fees paid (money; negative = rebate)
O_SIZE = 8

# per-agent quote slots (MarketState.quotes[a, side, :]); side 0 = bid, 1 = ask
Q_ID = 0  #: working order id (NO_ORDER when none)
Q_PRICE = 1  #: ticks, as sent
Q_QTY = 2  #: lots, as sent
Q_ARRIVAL_NS = 3  #: when the new-order message reaches the book (ns, int64)

# event kinds in the step's scratch list (MarketState.kind)
K_AGENT = 0  #: a released agent message (fully specified in ev)
K_BG_LIMIT = 1
K_BG_MARKET = 2
K_BG_CANCEL = 3

AGENT_ID_SHIFT = 40  #: agent a's order ids are (a << 40) + sequence
MARKET_ERR_EVENTS_FULL = 20  #: status: the step needed more events than max_events_per_step
MARKET_ERR_RNG = 21  #: status: a random-number buffer ran dry within a step (a sizing bug)

_NS = 1e9


class MarketState(NamedTuple):
    """Everything one market carries between steps (all numpy; pickles)."""

    book: bk.BookState
    f: np.ndarray  # float64[F_SIZE]
    i: np.ndarray  # int64[I_SIZE]
    p: np.ndarray  # float64[P_SIZE] parameters
    reg: np.ndarray  # float64[n_regimes, 4]
    q: np.ndarray  # float64[n_regimes, n_regimes] generator
    imp: np.ndarray  # float64[8] impact parameters
    bg_budget: np.ndarray  # float64[cap] hazard budget of the background order in each book slot
    bg_acc: np.ndarray  # float64[cap] accumulated hazard
    cash: np.ndarray  # float64[n_agents + 2]
    inv: np.ndarray  # int64[n_agents + 2] lots
    fees: np.ndarray  # float64[n_agents + 2] cumulative
    impact: np.ndarray  # float64[n_agents + 2] cumulative impact cost
    pending: np.ndarray  # EVENT_DTYPE[max_pending] agent messages in flight
    quotes: np.ndarray  # int64[n_agents, 2, 4]
    out: np.ndarray  # float64[n_agents, O_SIZE] last step
    ev: np.ndarray  # EVENT_DTYPE[max_events] scratch: the step's events
    kind: np.ndarray  # int8[max_events]
    u: np.ndarray  # float64[max_events, 5] pre-drawn numbers: anchor, inside, distance, size, hazard budget
    order: np.ndarray  # int64[max_events] processing order
    fills: np.ndarray  # FILL_DTYPE[max_fills] the last step's fills
    rbuf: np.ndarray  # float64[N_STREAMS, buffer] uniforms from the numpy Generators
    rpos: np.ndarray  # int64[N_STREAMS] next unread position per stream


# ---------------------------------------------------------------------------------------------------------------
# random numbers
#
# Every random number comes from a numpy Generator (PCG64) made from the seed: Python fills a buffer of uniforms
# per stream with ``Generator.random`` and the kernels turn them into the distributions they need (inverse CDF,
# Box-Muller). Passing Generators into numba costs ~5 us per call each to unbox, more than a whole market step;
# a buffer in the state costs nothing. Streams: flow (background arrivals and cancels), price (regime chain,
# fair price, jumps), agent (latencies).

S_FLOW = 0
S_PRICE = 1
S_AGENT = 2
N_STREAMS = 3


@numba.njit(**NJIT_INLINE)
def _uni_nb(ms, s):
    """Next uniform in [0, 1) of stream ``s`` (NaN if the buffer ran dry, which the caller sizes against)."""
    k = ms.rpos[s]
    if k >= ms.rbuf.shape[1]:
        ms.rpos[s] = k + 1
        return np.nan
    ms.rpos[s] = k + 1
    return ms.rbuf[s, k]


@numba.njit(**NJIT_INLINE)
def _expo_nb(ms, s, scale):
    """Exponential with mean ``scale``."""
    return -np.log(1.0 - _uni_nb(ms, s)) * scale


@numba.njit(**NJIT_INLINE)
def _normal_nb(ms, s):
    """Standard normal (Box-Muller, two uniforms per draw)."""
    u1 = 1.0 - _uni_nb(ms, s)
    u2 = _uni_nb(ms, s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@numba.njit(**NJIT_INLINE)
def _geometric_nb(ms, s, p):
    """Geometric on {1, 2, ...} with success probability ``p`` (inverse CDF)."""
    u = _uni_nb(ms, s)
    if p >= 1.0:
        return 1.0
    return 1.0 + np.floor(np.log(1.0 - u) / np.log(1.0 - p))


@numba.njit(**NJIT_INLINE)
def latency_nb(ms, p):
    """One message latency in seconds (agent stream)."""
    m = p[P_LAT_MODEL]
    if m == 0.0:
        return p[P_LAT_MEAN]
    if m == 1.0:
        return p[P_LAT_LOW] + (p[P_LAT_HIGH] - p[P_LAT_LOW]) * _uni_nb(ms, S_AGENT)
    s = p[P_LAT_SIGMA]
    if p[P_LAT_MEAN] <= 0.0:
        return 0.0
    mu = np.log(p[P_LAT_MEAN]) - 0.5 * s * s  # so that the mean is P_LAT_MEAN
    return np.exp(mu + s * _normal_nb(ms, S_AGENT))


@numba.njit(**NJIT_INLINE)
def _size_lots_nb(model, x):
    """Round a drawn size to lots, at least one."""
    if model == 0.0:
        s = np.int64(np.floor(x + 0.5))
    else:
        s = np.int64(x)
    return s if s >= 1 else np.int64(1)


# ---------------------------------------------------------------------------------------------------------------
# regime and fair price


@numba.njit(**NJIT_INLINE)
def _advance_regime_nb(ms, dt):
    r = ms.i[I_REGIME]
    if ms.p[P_SWITCHING] == 0.0:
        return r
    left = dt
    n = ms.q.shape[0]
    while True:
        rate = -ms.q[r, r]
        if rate <= 0.0:
            break
        w = _expo_nb(ms, S_PRICE, 1.0 / rate)
        if w >= left:
            break
        left -= w
        u = _uni_nb(ms, S_PRICE) * rate
        acc = 0.0
        nxt = r
        for j in range(n):
            if j == r:
                continue
            acc += ms.q[r, j]
            nxt = j
            if u < acc:
                break
        r = nxt
    ms.i[I_REGIME] = r
    return r


@numba.njit(**NJIT_INLINE)
def _advance_fair_nb(ms, dt, r):
    sig = ms.reg[r, R_VOL]
    z = _normal_nb(ms, S_PRICE)
    fair = ms.f[F_FAIR] * np.exp(sig * np.sqrt(dt) * z - 0.5 * sig * sig * dt)
    jr = ms.p[P_JUMP_RATE]
    if jr > 0.0:
        t = _expo_nb(ms, S_PRICE, 1.0 / jr)
        while t < dt:
            fair *= np.exp(ms.p[P_JUMP_STD] * _normal_nb(ms, S_PRICE))
            t += _expo_nb(ms, S_PRICE, 1.0 / jr)
    ms.f[F_FAIR] = fair
    ms.f[F_SIGMA] = sig
    lam = ms.imp[6]  # decay rate (impact_nb.P_DECAY_RATE)
    if ms.f[F_TEMP] != 0.0:
        ms.f[F_TEMP] *= np.exp(-lam * dt) if np.isfinite(lam) else 0.0


# ---------------------------------------------------------------------------------------------------------------
# building the step's event list


@numba.njit(**NJIT_INLINE)
def _push_bg_nb(ms, n, kind, t, side, u0, u1, u2, u3, u4):
    ev = ms.ev[n]
    ev.time = t
    ev.type = EV_LIMIT if kind == K_BG_LIMIT else EV_MARKET
    ev.side = side
    ev.price = NO_PRICE
    ev.qty = 0
    ev.order_id = NO_ORDER
    ev.owner = BACKGROUND_OWNER
    ms.kind[n] = kind
    ms.u[n, 0] = u0
    ms.u[n, 1] = u1
    ms.u[n, 2] = u2
    ms.u[n, 3] = u3
    ms.u[n, 4] = u4
    return n + 1


@numba.njit(**NJIT_INLINE)
def _gen_arrivals_nb(ms, n, t0, dt, r):
    """Background limit and market arrivals over [t0, t0 + dt). Returns the new event count or -1 if full."""
    p = ms.p
    cap = ms.ev.shape[0]
    lim_rate = p[P_LIMIT_RATE] * ms.reg[r, R_LIMIT_MULT]
    mkt_rate = 2.0 * p[P_MARKET_RATE] * ms.reg[r, R_MARKET_MULT]
    for stream in range(3):
        if stream < 2:
            rate = lim_rate
        else:
            rate = mkt_rate
        if rate <= 0.0:
            continue
        t = _expo_nb(ms, S_FLOW, 1.0 / rate)
        while t < dt:
            if n >= cap:
                return -1
            if stream < 2:
                side = BUY if stream == 0 else SELL
                # u0 anchor choice, u1 inside-spread choice, d distance (ticks), s size (lots)
                u0 = _uni_nb(ms, S_FLOW)
                u1 = _uni_nb(ms, S_FLOW)
                if p[P_DIST_MODEL] == 0.0:
                    d = _geometric_nb(ms, S_FLOW, p[P_DIST_P]) - 1.0
                    if d > p[P_DIST_MAX]:
                        d = p[P_DIST_MAX]
                else:
                    d = np.floor(_uni_nb(ms, S_FLOW) * (p[P_DIST_MAX] + 1.0))
                z = _normal_nb(ms, S_FLOW)
                if p[P_SIZE_MODEL] == 0.0:
                    s = np.exp(p[P_SIZE_MU] + p[P_SIZE_SIGMA] * z)
                else:
                    s = _geometric_nb(ms, S_FLOW, 1.0 / p[P_SIZE_SIGMA])
                # the cancellation hazard budget is drawn now, whether or not the order ends up resting
                budget = _expo_nb(ms, S_FLOW, 1.0)
                n = _push_bg_nb(ms, n, K_BG_LIMIT, t0 + t, side, u0, u1, d, s, budget)
            else:
                u0 = _uni_nb(ms, S_FLOW)
                s = np.exp(p[P_MSIZE_MU] + p[P_MSIZE_SIGMA] * _normal_nb(ms, S_FLOW))
                n = _push_bg_nb(ms, n, K_BG_MARKET, t0 + t, 0, u0, 0.0, 0.0, s, 0.0)
            t += _expo_nb(ms, S_FLOW, 1.0 / rate)
    return n


@numba.njit(**NJIT_INLINE)
def _gen_cancels_nb(ms, n, t0, dt, r):
    """Cancellation events of resting background orders whose hazard budget runs out in the window."""
    st = ms.book
    base = ms.p[P_CANCEL_RATE] * ms.reg[r, R_CANCEL_MULT]
    coef = ms.p[P_CANCEL_COEF]
    fair = ms.f[F_FAIR]
    cap = ms.ev.shape[0]
    if base <= 0.0:
        return n
    for slot in range(ms.i[I_HWM]):
        if st.o_id[slot] < 0 or st.o_owner[slot] != BACKGROUND_OWNER:
            continue
        h = base * (1.0 + coef * abs(st.o_price[slot] - fair))
        need = ms.bg_budget[slot] - ms.bg_acc[slot]
        if h * dt >= need:
            if n >= cap:
                return -1
            ev = ms.ev[n]
            ev.time = t0 + need / h
            ev.type = EV_CANCEL
            ev.side = 0
            ev.price = NO_PRICE
            ev.qty = 0
            ev.owner = BACKGROUND_OWNER
            ev.order_id = st.o_id[slot]
            ms.kind[n] = K_BG_CANCEL
            n += 1
            ms.bg_acc[slot] = ms.bg_budget[slot]
        else:
            ms.bg_acc[slot] += h * dt
    return n


@numba.njit(**NJIT_INLINE)
def _release_pending_nb(ms, n, t1):
    """Move agent messages that reach the book before ``t1`` into the step's list (keeping their order)."""
    k = ms.i[I_N_PENDING]
    cap = ms.ev.shape[0]
    keep = 0
    for j in range(k):
        m = ms.pending[j]
        if m.time < t1:
            if n >= cap:
                return -1
            ms.ev[n] = m
            ms.kind[n] = K_AGENT
            n += 1
        else:
            ms.pending[keep] = m
            keep += 1
    ms.i[I_N_PENDING] = keep
    return n


@numba.njit(**NJIT_INLINE)
def _sort_by_time_nb(ms, n):
    """Stable insertion sort of event indices by time (lists are short and mostly ordered)."""
    order = ms.order
    for j in range(n):
        order[j] = j
    for j in range(1, n):
        x = order[j]
        tx = ms.ev[x].time
        k = j - 1
        while k >= 0 and ms.ev[order[k]].time > tx:
            order[k + 1] = order[k]
            k -= 1
        order[k + 1] = x


# ---------------------------------------------------------------------------------------------------------------
# background event pricing at arrival


@numba.njit(**NJIT_INLINE)
def _bg_limit_price_nb(ms, side, u0, u1, d):
    st = ms.book
    p = ms.p
    anchor = ms.f[F_FAIR] + ms.f[F_TEMP]
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    di = np.int64(d)
    # inside the spread: improve the best quote by 1 + (d mod room) ticks
    if bb != NO_PRICE and ba != NO_PRICE and ba - bb > 1 and u1 < p[P_INSIDE]:
        room = ba - bb - 1
        if side == BUY:
            return bb + 1 + (di % room)
        return ba - 1 - (di % room)
    if side == BUY:
        if u0 < p[P_ANCHOR_FAIR] or bb == NO_PRICE:
            ref = np.int64(np.floor(anchor))
            if u0 >= p[P_ANCHOR_FAIR] and ba != NO_PRICE and ba - 1 < ref:
                ref = ba - 1  # an empty bid side refills behind the ask, not through it
        else:
            ref = bb
        return ref - di
    if u0 < p[P_ANCHOR_FAIR] or ba == NO_PRICE:
        ref = np.int64(np.ceil(anchor))
        if u0 >= p[P_ANCHOR_FAIR] and bb != NO_PRICE and bb + 1 > ref:
            ref = bb + 1
    else:
        ref = ba
    return ref + di


@numba.njit(**NJIT_INLINE)
def _informed_side_nb(ms, u0):
    st = ms.book
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    if bb != NO_PRICE and ba != NO_PRICE:
        mid = 0.5 * (bb + ba)
    else:
        mid = ms.f[F_LAST_MID]
    x = ms.p[P_INFORMED] * (ms.f[F_FAIR] + ms.f[F_TEMP] - mid)
    p_buy = 1.0 / (1.0 + np.exp(-x))
    return BUY if u0 < p_buy else SELL


# ---------------------------------------------------------------------------------------------------------------
# accounting


@numba.njit(**NJIT_INLINE)
def _account_fill_nb(ms, f, n_agents):
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
def _apply_impact_nb(ms, n_agents, dt):
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


# ---------------------------------------------------------------------------------------------------------------
# the step


@numba.njit(**NJIT_INLINE)
def _apply_nb(st, fills, nfill, etype, side, price, qty, owner, oid, t):
    """One book event, with every argument cast to one signature so the book kernel compiles once."""
    return bk.apply_event_call_nb(
        st,
        fills,
        np.int64(nfill),
        np.int64(etype),
        np.int64(side),
        np.int64(price),
        np.int64(qty),
        np.int64(owner),
        np.int64(oid),
        np.float64(t),
    )


@numba.njit(**NJIT_HOT)
def lob_step_nb(ms, dt):
    """Advance the order-book market by ``dt`` seconds. Returns a status (STATUS_OK when all went well)."""
    st = ms.book
    n_agents = ms.i[I_N_AGENTS]
    t0 = ms.f[F_TIME]
    t1 = t0 + dt
    for a in range(n_agents):
        for c in range(O_SIZE):
            ms.out[a, c] = 0.0
    r = _advance_regime_nb(ms, dt)
    _advance_fair_nb(ms, dt, r)
    n = _gen_arrivals_nb(ms, 0, t0, dt, r)
    if n < 0:
        return MARKET_ERR_EVENTS_FULL
    n = _gen_cancels_nb(ms, n, t0, dt, r)
    if n < 0:
        return MARKET_ERR_EVENTS_FULL
    n_bg = n
    n = _release_pending_nb(ms, n, t1)
    if n < 0:
        return MARKET_ERR_EVENTS_FULL
    _sort_by_time_nb(ms, n)
    nfill = 0
    for j in range(n):
        x = ms.order[j]
        e = ms.ev[x]
        k = ms.kind[x]
        if k == K_BG_LIMIT:
            side = e.side
            ms.i[I_CNT_LIMIT_BUY if side == BUY else I_CNT_LIMIT_SELL] += 1
            price = _bg_limit_price_nb(ms, side, ms.u[x, 0], ms.u[x, 1], ms.u[x, 2])
            qty = _size_lots_nb(ms.p[P_SIZE_MODEL], ms.u[x, 3])
            oid = ms.i[I_NEXT_BG_ID]
            ms.i[I_NEXT_BG_ID] += 1
            status, filled, rested, nfill2 = _apply_nb(
                st, ms.fills, nfill, EV_LIMIT, side, price, qty, BACKGROUND_OWNER, oid, e.time
            )
            if status == STATUS_FILL_BUFFER_FULL:
                return STATUS_FILL_BUFFER_FULL
            if status == STATUS_OK and rested > 0:
                slot = bk.hm_find_nb(st, oid)
                ms.bg_budget[slot] = ms.u[x, 4]
                ms.bg_acc[slot] = 0.0
                if slot + 1 > ms.i[I_HWM]:
                    ms.i[I_HWM] = slot + 1
            elif status == STATUS_ORDER_TABLE_FULL or status >= 5:
                ms.i[I_DROPPED] += 1
        elif k == K_BG_MARKET:
            ms.i[I_CNT_MARKET] += 1
            side = _informed_side_nb(ms, ms.u[x, 0])
            qty = _size_lots_nb(0.0, ms.u[x, 3])
            oid = ms.i[I_NEXT_BG_ID]
            ms.i[I_NEXT_BG_ID] += 1
            status, filled, rested, nfill2 = _apply_nb(
                st, ms.fills, nfill, EV_MARKET, side, NO_PRICE, qty, BACKGROUND_OWNER, oid, e.time
            )
            if status == STATUS_FILL_BUFFER_FULL:
                return STATUS_FILL_BUFFER_FULL
        else:
            if k == K_BG_CANCEL:
                ms.i[I_CNT_CANCEL] += 1
            status, filled, rested, nfill2 = _apply_nb(
                st, ms.fills, nfill, e.type, e.side, e.price, e.qty, e.owner, e.order_id, e.time
            )
            if status == STATUS_FILL_BUFFER_FULL:
                return STATUS_FILL_BUFFER_FULL
            if k == K_AGENT and e.type == EV_LIMIT and status != STATUS_OK:
                ms.i[I_REJECTED] += 1
        for fi in range(nfill, nfill2):
            _account_fill_nb(ms, ms.fills[fi], n_agents)
        nfill = nfill2
    _apply_impact_nb(ms, n_agents, dt)
    for s in range(N_STREAMS):
        if ms.rpos[s] > ms.rbuf.shape[1]:
            return MARKET_ERR_RNG
    mid = bk.mid_ticks_nb(st)
    if not np.isnan(mid):
        ms.f[F_LAST_MID] = mid
    ms.f[F_TIME] = t1
    ms.i[I_N_EVENTS] = n
    ms.i[I_N_BG_EVENTS] = n_bg
    ms.i[I_N_FILLS] = nfill
    return STATUS_OK


# ---------------------------------------------------------------------------------------------------------------
# agents' quotes


@numba.njit(**NJIT_INLINE)
def _enqueue_nb(ms, t, etype, side, price, qty, owner, oid):
    k = ms.i[I_N_PENDING]
    if k >= ms.pending.shape[0]:
        return False
    m = ms.pending[k]
    m.time = t
    m.type = etype
    m.side = side
    m.price = price
    m.qty = qty
    m.owner = owner
    m.order_id = oid
    ms.i[I_N_PENDING] = k + 1
    return True


@numba.njit(**NJIT_INLINE)
def in_flight_nb(qs, now):
    """The working order's new-order message has not reached the book yet."""
    return now * _NS < qs[Q_ARRIVAL_NS]


@numba.njit(**NJIT_INLINE)
def keeps_order_nb(ms, qs, price, qty, now):
    """A quote of ``qty`` lots at ``price`` equals the working one (``qs``), whose order is resting or still in
    flight: it keeps that order and its queue place."""
    if qs[Q_ID] == NO_ORDER or qs[Q_PRICE] != price or qs[Q_QTY] != qty:
        return False
    return in_flight_nb(qs, now) or bk.hm_find_nb(ms.book, qs[Q_ID]) != NO_ORDER


@numba.njit(**NJIT_HOT)
def set_quote_nb(ms, agent, side_idx, price, qty, now):
    """Ask for agent ``agent`` (0-based) to quote ``qty`` lots at ``price`` ticks on one side (qty 0 = none).

    An unchanged quote (same price and size as sent) whose order is resting or still in flight keeps its order
    and its queue place. Otherwise the old order is cancelled and a new one sent, each message delayed by its
    own latency draw. Returns False if the in-flight queue is full (nothing sent).
    """
    qs = ms.quotes[agent, side_idx]
    owner = agent + 1
    side = BUY if side_idx == 0 else SELL
    oid = qs[Q_ID]
    if oid != NO_ORDER:
        if qty > 0 and keeps_order_nb(ms, qs, price, qty, now):
            return True
        # cancel the working order (harmless if it has been filled meanwhile); never let the cancel overtake
        # the order it cancels when latencies are random, or the order would rest orphaned
        t_cancel = max(now + latency_nb(ms, ms.p), (qs[Q_ARRIVAL_NS] + 1) / _NS)
        if not _enqueue_nb(ms, t_cancel, EV_CANCEL, side, NO_PRICE, 0, owner, oid):
            return False
        qs[Q_ID] = NO_ORDER
    if qty <= 0:
        return True
    seq = ms.i[I_AGENT_SEQ]
    ms.i[I_AGENT_SEQ] = seq + 1
    new_id = (np.int64(owner) << AGENT_ID_SHIFT) + seq
    t_arr = now + latency_nb(ms, ms.p)
    if not _enqueue_nb(ms, t_arr, EV_LIMIT, side, price, qty, owner, new_id):
        return False
    qs[Q_ID] = new_id
    qs[Q_PRICE] = price
    qs[Q_QTY] = qty
    qs[Q_ARRIVAL_NS] = np.int64(np.ceil(t_arr * _NS))
    return True


@numba.njit(**NJIT_HOT)
def set_quote_direct_nb(ms, agent, side_idx, price, qty):
    """Stylized market: quotes take effect at once (no book, no latency)."""
    qs = ms.quotes[agent, side_idx]
    if qty <= 0:
        qs[Q_ID] = NO_ORDER
        qs[Q_QTY] = 0
        return True
    if qs[Q_ID] == NO_ORDER or qs[Q_PRICE] != price or qs[Q_QTY] != qty:
        seq = ms.i[I_AGENT_SEQ]
        ms.i[I_AGENT_SEQ] = seq + 1
        qs[Q_ID] = (np.int64(agent + 1) << AGENT_ID_SHIFT) + seq
    qs[Q_PRICE] = price
    qs[Q_QTY] = qty
    return True


@numba.njit(**NJIT_HOT)
def agent_resting_nb(ms, agent, side_idx):
    """(lots resting, lots ahead in queue, orders ahead) of the agent's working order on one side.

    (0, -1, -1) when it has none resting (none sent, in flight, filled or cancelled).
    """
    oid = ms.quotes[agent, side_idx, Q_ID]
    if oid == NO_ORDER:
        return 0, -1, -1
    st = ms.book
    slot = bk.hm_find_nb(st, oid)
    if slot == NO_ORDER:
        return 0, -1, -1
    ahead, rank = bk.queue_position_nb(st, oid)
    return st.o_qty[slot], ahead, rank


# ---------------------------------------------------------------------------------------------------------------
# the stylized Avellaneda-Stoikov market


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
            u = _uni_nb(ms, S_FLOW)
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
    if _uni_nb(ms, S_PRICE) < 0.5:
        mid += step
    else:
        mid -= step
    ms.f[F_LAST_MID] = mid / tick
    ms.f[F_FAIR] = mid / tick
    ms.f[F_TIME] += dt
    ms.i[I_N_FILLS] = nfill
    ms.i[I_N_EVENTS] = 0
    return STATUS_OK


# ---------------------------------------------------------------------------------------------------------------
# background-only runs (warm-up, realism report, benchmark)

REC_TIME = 0
REC_MID = 1  #: ticks
REC_BID = 2  #: ticks (NaN when empty)
REC_ASK = 3
REC_FAIR = 4  #: ticks
REC_REGIME = 5
REC_N_BG = 6  #: background events in the step
REC_MKT_BUY = 7  #: lots bought by aggressive orders in the step
REC_MKT_SELL = 8
REC_N_ORDERS = 9  #: resting orders after the step
REC_DEPTH = 10  #: lots on the 5 best bid levels (10..14), then the 5 best ask levels (15..19)
REC_DEPTH_N = 5
REC_SIZE = REC_DEPTH + 2 * REC_DEPTH_N


@numba.njit(**NJIT_HOT)
def lob_run_nb(ms, dt, n_steps, low_water, rec, dpx, dq):
    """Run up to ``n_steps`` steps of the order-book market in one call, recording one row of ``rec`` per step
    (``rec`` may have zero rows: no recording). Stops early, before a step, when a random-number buffer falls
    below ``low_water`` unread numbers, so Python can refill it. Returns (steps done, status)."""
    st = ms.book
    for k in range(n_steps):
        for s in range(N_STREAMS):
            if ms.rbuf.shape[1] - ms.rpos[s] < low_water:
                return k, STATUS_OK
        status = lob_step_nb(ms, dt)
        if status != STATUS_OK:
            return k, status
        if k < rec.shape[0]:
            r = rec[k]
            r[REC_TIME] = ms.f[F_TIME]
            r[REC_MID] = ms.f[F_LAST_MID]
            bb = st.hdr[bk.H_BEST_BID]
            ba = st.hdr[bk.H_BEST_ASK]
            r[REC_BID] = np.nan if bb == NO_PRICE else bb
            r[REC_ASK] = np.nan if ba == NO_PRICE else ba
            r[REC_FAIR] = ms.f[F_FAIR]
            r[REC_REGIME] = ms.i[I_REGIME]
            r[REC_N_BG] = ms.i[I_N_BG_EVENTS]
            buy = 0.0
            sell = 0.0
            for fi in range(ms.i[I_N_FILLS]):
                f = ms.fills[fi]
                if f.aggressor == BUY:
                    buy += f.qty
                else:
                    sell += f.qty
            r[REC_MKT_BUY] = buy
            r[REC_MKT_SELL] = sell
            r[REC_N_ORDERS] = st.hdr[bk.H_N_LIVE]
            for side in range(2):
                nlv = bk.depth_nb(st, BUY if side == 0 else SELL, REC_DEPTH_N, dpx, dq)
                for j in range(REC_DEPTH_N):
                    r[REC_DEPTH + side * REC_DEPTH_N + j] = dq[j] if j < nlv else 0.0
    return n_steps, STATUS_OK
