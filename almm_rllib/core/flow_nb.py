"""The background order flow (step items 3, 4 and 6 of :mod:`market_nb`).

* **Arrivals**: limit orders per side and market orders as Poisson processes (exponential spacings, so arrival
  times come out sorted), every random number an event needs drawn up front from the flow stream into
  ``MarketState.bg_draws``. The number of draws never depends on the book or the agents, so two strategies run
  on the same seed face the same exogenous arrivals (common random numbers).
* **Cancellations**: each resting background order carries an Exp(1) hazard budget drawn when it was created;
  its hazard ``cancel_rate * (1 + coef * |price - fair|)`` accumulates each step and the order is cancelled at
  the exact time the budget runs out (a state-dependent rate that grows with the resting volume and with the
  distance from the fair price).
* **Pricing at arrival**: a background limit order's price is decided when it arrives, from the book at that
  instant and its pre-drawn numbers: relative to the same-side best quote or (with ``p_anchor_fair``) to the
  fair price plus temporary impact, a geometric distance behind it, or inside the spread. A market order's
  side is chosen on arrival (``market_side_nb``): informed, a metaorder's child, or leaning toward the
  efficient price.
* **Clustering**: market-order arrivals are a Hawkes process (``flow.hawkes_branching`` > 0, :mod:`hawkes_nb`)
  of the same mean rate as the Poisson one it replaces, with a second, slow kernel when
  ``flow.hawkes_slow_branching`` > 0.
"""

from __future__ import annotations

import numba
import numpy as np

from . import book_nb as bk
from .hawkes_nb import hawkes_after_nb, hawkes_wait2_nb, hawkes_wait_nb
from .market_state_nb import (
    F_FAIR,
    F_HAWKES,
    F_HAWKES_SLOW,
    F_INFO_SUM,
    F_LAST_MID,
    F_LAST_SIGN,
    I_HWM,
    K_BG_CANCEL,
    K_BG_LIMIT,
    K_BG_MARKET,
    META_LEFT,
    META_SIGN,
    P_ANCHOR_FAIR,
    P_CANCEL_COEF,
    P_CANCEL_RATE,
    P_DIST_MAX,
    P_DIST_MIN,
    P_DIST_MODEL,
    P_DIST_P,
    P_HAWKES_BETA,
    P_HAWKES_BETA_SLOW,
    P_HAWKES_N,
    P_HAWKES_N_SLOW,
    P_INFORMED,
    P_INSIDE,
    P_LIMIT_RATE,
    P_MARKET_RATE,
    P_META_TAIL,
    P_MSIZE_MU,
    P_MSIZE_SIGMA,
    P_P_CLEAR,
    P_P_FOLLOW,
    P_P_INFORMED,
    P_P_META,
    P_P_REFILL,
    P_P_REQUOTE,
    P_P_WALK,
    P_RQ_DIST_MIN,
    P_RQ_DIST_P,
    P_SIZE_MODEL,
    P_SIZE_MU,
    P_SIZE_SIGMA,
    P_STALE_MARGIN,
    P_STALE_RATE,
    P_TAKEBACK_FOL,
    P_TAKEBACK_INF,
    P_WALK_BEYOND,
    R_CANCEL_MULT,
    R_LIMIT_MULT,
    R_MARKET_MULT,
    RQ_BUDGET,
    RQ_DIST,
    RQ_SIZE,
    RQ_U,
    U_ANCHOR,
    U_BUDGET,
    U_DIST,
    U_INSIDE,
    U_META_LEN,
    U_META_PICK,
    U_META_SIGN,
    U_RF,
    U_RQ,
    U_SIZE,
    U_WALK,
)
from .nbopts import NJIT_INLINE
from .price_nb import efficient_price_nb, transient_at_nb
from .rng_nb import S_FLOW, expo_nb, geometric_inv_nb, geometric_nb, normal_nb, uni_nb
from .schema import BACKGROUND_OWNER, BUY, EV_CANCEL, EV_LIMIT, EV_MARKET, NO_ORDER, NO_PRICE, SELL


@numba.njit(**NJIT_INLINE)
def size_lots_nb(model, x):
    """Round a drawn size to lots, at least one."""
    if model == 0.0:
        s = np.int64(np.floor(x + 0.5))
    else:
        s = np.int64(x)
    return s if s >= 1 else np.int64(1)


@numba.njit(**NJIT_INLINE)
def _limit_size_draw_nb(ms):
    """A background limit order's size before rounding to lots (``flow.size_model``). The normal is drawn for
    either model, so the number of draws never depends on it."""
    p = ms.p
    z = normal_nb(ms, S_FLOW)
    if p[P_SIZE_MODEL] == 0.0:
        return np.exp(p[P_SIZE_MU] + p[P_SIZE_SIGMA] * z)
    return geometric_nb(ms, S_FLOW, 1.0 / p[P_SIZE_SIGMA])


@numba.njit(**NJIT_INLINE)
def push_bg_nb(ms, n, kind, t, side, u0, u1, u2, u3, u4):
    ev = ms.ev[n]
    ev.time = t
    ev.type = EV_LIMIT if kind == K_BG_LIMIT else EV_MARKET
    ev.side = side
    ev.price = NO_PRICE
    ev.qty = 0
    ev.order_id = NO_ORDER
    ev.owner = BACKGROUND_OWNER
    ms.kind[n] = kind
    ms.bg_draws[n, U_ANCHOR] = u0
    ms.bg_draws[n, U_INSIDE] = u1
    ms.bg_draws[n, U_DIST] = u2
    ms.bg_draws[n, U_SIZE] = u3
    ms.bg_draws[n, U_BUDGET] = u4
    return n + 1


@numba.njit(**NJIT_INLINE)
def gen_arrivals_nb(ms, n, t0, dt, r):
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
        if stream == 2 and (p[P_HAWKES_N] > 0.0 or p[P_HAWKES_N_SLOW] > 0.0):
            n = _gen_hawkes_market_nb(ms, n, t0, dt, rate)
            if n < 0:
                return -1
            continue
        t = expo_nb(ms, S_FLOW, 1.0 / rate)
        while t < dt:
            if n >= cap:
                return -1
            if stream < 2:
                side = BUY if stream == 0 else SELL
                # u0 anchor choice, u1 inside-spread choice, d distance (ticks), s size (lots)
                u0 = uni_nb(ms, S_FLOW)
                u1 = uni_nb(ms, S_FLOW)
                if p[P_DIST_MODEL] == 0.0:
                    d = geometric_nb(ms, S_FLOW, p[P_DIST_P]) - 1.0
                    if d > p[P_DIST_MAX]:
                        d = p[P_DIST_MAX]
                else:
                    d = np.floor(uni_nb(ms, S_FLOW) * (p[P_DIST_MAX] + 1.0))
                d += p[P_DIST_MIN]
                s = _limit_size_draw_nb(ms)
                # the cancellation hazard budget is drawn now, whether or not the order ends up resting
                budget = expo_nb(ms, S_FLOW, 1.0)
                n = push_bg_nb(ms, n, K_BG_LIMIT, t0 + t, side, u0, u1, d, s, budget)
            else:
                n = _push_market_nb(ms, n, t0 + t)
            t += expo_nb(ms, S_FLOW, 1.0 / rate)
    return n


@numba.njit(**NJIT_INLINE)
def _push_market_nb(ms, n, t):
    """A background market order arriving at ``t``: its side uniform and size now, the metaorder uniforms too
    when metaorders are on and the walk uniform when ``p_walk`` < 1 (config choices, so the number of draws
    never depends on the state)."""
    p = ms.p
    u0 = uni_nb(ms, S_FLOW)
    s = np.exp(p[P_MSIZE_MU] + p[P_MSIZE_SIGMA] * normal_nb(ms, S_FLOW))
    if p[P_P_META] > 0.0:
        pick = uni_nb(ms, S_FLOW)
        sign = uni_nb(ms, S_FLOW)
        length = uni_nb(ms, S_FLOW)
        # columns: U_ANCHOR, U_META_PICK, U_META_SIGN, U_SIZE, U_META_LEN
        n = push_bg_nb(ms, n, K_BG_MARKET, t, 0, u0, pick, sign, s, length)
    else:
        n = push_bg_nb(ms, n, K_BG_MARKET, t, 0, u0, 0.0, 0.0, s, 0.0)
    ms.bg_draws[n - 1, U_WALK] = uni_nb(ms, S_FLOW) if p[P_P_WALK] < 1.0 else 0.0
    if p[P_P_REQUOTE] > 0.0 or p[P_P_REFILL] > 0.0:
        _draw_requote_nb(ms, n - 1, U_RQ)
        _draw_requote_nb(ms, n - 1, U_RF)
    return n


@numba.njit(**NJIT_INLINE)
def _draw_requote_nb(ms, x, col):
    """The 4 numbers of a requote (``RQ_*`` offsets from ``col``): whether it comes, its distance uniform, its
    size (lots, before rounding) and its cancellation budget; drawn whether or not it comes."""
    d = ms.bg_draws[x]
    d[col + RQ_U] = uni_nb(ms, S_FLOW)
    d[col + RQ_DIST] = uni_nb(ms, S_FLOW)
    d[col + RQ_SIZE] = _limit_size_draw_nb(ms)
    d[col + RQ_BUDGET] = expo_nb(ms, S_FLOW, 1.0)


@numba.njit(**NJIT_INLINE)
def requote_price_nb(ms, side, u_dist, t):
    """The price (ticks) of a requote of ``side``: ``requote_distance_min`` plus a geometric number of ticks
    behind the efficient price at ``t`` (from the uniform ``u_dist``), never through the opposite best."""
    p = ms.p
    di = np.int64(p[P_RQ_DIST_MIN] + geometric_inv_nb(u_dist, p[P_RQ_DIST_P]) - 1.0)
    eff = efficient_price_nb(ms, t)
    st = ms.book
    if side == BUY:
        price = np.int64(np.floor(eff)) - di
        ba = st.hdr[bk.H_BEST_ASK]
        if ba != NO_PRICE and price >= ba:
            price = ba - 1
        return price
    price = np.int64(np.ceil(eff)) + di
    bb = st.hdr[bk.H_BEST_BID]
    if bb != NO_PRICE and price <= bb:
        price = bb + 1
    return price


@numba.njit(**NJIT_INLINE)
def market_size_nb(ms, d, side):
    """Lots a background market order of ``side`` takes (``FlowConfig.p_walk``, ``p_clear``): a share
    ``p_walk`` its drawn size (it may walk the book), or with ``walk_beyond_best`` the background volume at the
    background's best opposite price plus its drawn size (it always walks, as far as the depth behind the
    touch lets it), a share ``p_clear`` exactly that volume, the rest its drawn size capped by that volume. The
    agents' quotes do not size the order (it executes against them all the same), so they cannot change its
    impact."""
    qty = size_lots_nb(0.0, d[U_SIZE])
    u = d[U_WALK]
    if u < ms.p[P_P_WALK] and ms.p[P_WALK_BEYOND] == 0.0:
        return qty
    best, at_best, _ = bk.owner_walk_nb(ms.book, side, 0, BACKGROUND_OWNER)
    if u < ms.p[P_P_WALK]:
        return qty + max(at_best, 0)
    if best == NO_PRICE:
        return qty
    if at_best < 1:
        return qty
    if u < ms.p[P_P_WALK] + ms.p[P_P_CLEAR]:
        return at_best
    return min(qty, at_best)


@numba.njit(**NJIT_INLINE)
def _gen_hawkes_market_nb(ms, n, t0, dt, rate):
    """Background market orders over [t0, t0 + dt) as a Hawkes process of mean rate ``rate``: the fast kernel
    (branching ratio ``P_HAWKES_N``, decay ``P_HAWKES_BETA``, excess in ``F_HAWKES``) and, when
    ``P_HAWKES_N_SLOW`` > 0, the slow one (``P_HAWKES_BETA_SLOW``, ``F_HAWKES_SLOW``; a third uniform per
    candidate, so a one-kernel market draws exactly as before). Returns the new event count or -1 if full."""
    n1 = ms.p[P_HAWKES_N]
    beta1 = ms.p[P_HAWKES_BETA]
    n2 = ms.p[P_HAWKES_N_SLOW]
    beta2 = ms.p[P_HAWKES_BETA_SLOW]
    mu = rate * (1.0 - n1 - n2)
    alpha1 = n1 * beta1
    alpha2 = n2 * beta2
    cap = ms.ev.shape[0]
    e1 = ms.f[F_HAWKES]
    e2 = ms.f[F_HAWKES_SLOW]
    t = 0.0
    while True:
        if n2 > 0.0:
            u1 = uni_nb(ms, S_FLOW)
            u2 = uni_nb(ms, S_FLOW)
            w = hawkes_wait2_nb(e1, e2, mu, beta1, beta2, u1, u2, uni_nb(ms, S_FLOW))
        else:
            w = hawkes_wait_nb(e1, mu, beta1, uni_nb(ms, S_FLOW), uni_nb(ms, S_FLOW))
        if t + w >= dt:
            e1 *= np.exp(-beta1 * (dt - t))
            if n2 > 0.0:
                e2 *= np.exp(-beta2 * (dt - t))
            break
        t += w
        e1 = hawkes_after_nb(e1, beta1, alpha1, w)
        if n2 > 0.0:
            e2 = hawkes_after_nb(e2, beta2, alpha2, w)
        if n >= cap:
            return -1
        n = _push_market_nb(ms, n, t0 + t)
    ms.f[F_HAWKES] = e1
    ms.f[F_HAWKES_SLOW] = e2
    return n


@numba.njit(**NJIT_INLINE)
def gen_cancels_nb(ms, n, t0, dt, r):
    """Cancellation events of resting background orders whose hazard budget runs out in the window: the hazard
    is ``cancel_rate * (1 + cancel_distance_coef * |price - fair|)`` plus ``cancel_stale_rate`` per tick that a
    quote stands inside ``cancel_stale_margin`` of the fair price, or through it (an ask the fair price has
    risen towards or above: its owner pulls it before it is picked off)."""
    st = ms.book
    base = ms.p[P_CANCEL_RATE] * ms.reg[r, R_CANCEL_MULT]
    coef = ms.p[P_CANCEL_COEF]
    stale = ms.p[P_STALE_RATE] * ms.reg[r, R_CANCEL_MULT]
    margin = ms.p[P_STALE_MARGIN]
    fair = ms.f[F_FAIR] + transient_at_nb(ms, t0)
    cap = ms.ev.shape[0]
    if base <= 0.0 and stale <= 0.0:
        return n
    for slot in range(ms.i[I_HWM]):
        if st.o_id[slot] < 0 or st.o_owner[slot] != BACKGROUND_OWNER:
            continue
        h = base * (1.0 + coef * abs(st.o_price[slot] - fair))
        if stale > 0.0:
            if st.o_side[slot] == BUY:
                s = st.o_price[slot] - (fair - margin)
            else:
                s = fair + margin - st.o_price[slot]
            if s > 0.0:
                h += stale * s
        if h <= 0.0:
            continue
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
def bg_limit_price_nb(ms, side, u0, u1, d, t):
    """The price of a background limit order arriving at ``t``, from the book at that instant."""
    st = ms.book
    p = ms.p
    anchor = efficient_price_nb(ms, t)
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
def lean_side_nb(ms, u, t):
    """Side of a market order that leans toward the efficient price (``informed_slope``): it buys with
    probability ``1 / (1 + exp(-slope * (fair - mid)))``, so it eats the stale side when the book lags."""
    st = ms.book
    bb = st.hdr[bk.H_BEST_BID]
    ba = st.hdr[bk.H_BEST_ASK]
    if bb != NO_PRICE and ba != NO_PRICE:
        mid = 0.5 * (bb + ba)
    else:
        mid = ms.f[F_LAST_MID]
    x = ms.p[P_INFORMED] * (efficient_price_nb(ms, t) - mid)
    p_buy = 1.0 / (1.0 + np.exp(-x))
    return BUY if u < p_buy else SELL


@numba.njit(**NJIT_INLINE)
def _metaorder_side_nb(ms, d):
    """Side of a child order of a metaorder (Lillo, Mike & Farmer 2005): the order belongs to one of the live
    metaorders, picked uniformly; a metaorder that has sent its last child is replaced by a new one of random
    sign and Pareto length ``floor(U ** (-1 / tail))`` (the source of the signs' long memory, whose
    autocorrelation decays like ``lag ** -(tail - 1)``)."""
    m = ms.meta.shape[0]
    j = min(np.int64(d[U_META_PICK] * m), m - 1)
    sign = ms.meta[j, META_SIGN]
    ms.meta[j, META_LEFT] -= 1.0
    if ms.meta[j, META_LEFT] <= 0.0:
        ms.meta[j, META_SIGN] = 1.0 if d[U_META_SIGN] < 0.5 else -1.0
        ms.meta[j, META_LEFT] = np.floor((1.0 - d[U_META_LEN]) ** (-1.0 / ms.p[P_META_TAIL]))
    return BUY if sign > 0.0 else SELL


@numba.njit(**NJIT_INLINE)
def market_side_nb(ms, d, t):
    """Side of a background market order from its draws ``d``, remembered in ``F_LAST_SIGN`` when
    ``p_follow`` > 0 (otherwise the state is left as it was, so a market without followers is unchanged)."""
    side = _choose_side_nb(ms, d, t)
    if ms.p[P_P_FOLLOW] > 0.0:
        ms.f[F_LAST_SIGN] = 1.0 if side == BUY else -1.0
    return side


@numba.njit(**NJIT_INLINE)
def informed_order_nb(ms, d):
    """Whether a background market order with draws ``d`` is informed: the branch of ``_choose_side_nb`` that
    trades on ``F_INFO_SUM``, ``U_ANCHOR`` in ``[p_follow, p_follow + p_informed)`` (the followers' share comes
    first). The side rule's test of "informed", and the band ``takeback_order_nb`` reads."""
    u = d[U_ANCHOR] - ms.p[P_P_FOLLOW]
    return u >= 0.0 and u < ms.p[P_P_INFORMED]


@numba.njit(**NJIT_INLINE)
def takeback_order_nb(ms, d):
    """Whether the permanent impact of a background market order with draws ``d`` leaves the efficient price
    again at rate ``1 / info_lead`` (``F_INFO_ADV``, ``price_nb``): the first ``formation.follower_takeback``
    of the followers' band of ``U_ANCHOR`` (``[0, p_follow)``) and the first ``formation.informed_takeback`` of
    the informed band (``[p_follow, p_follow + p_informed)``, ``informed_order_nb``). By the order's uniform,
    the same one the side rule reads, so no draw is added."""
    u = d[U_ANCHOR]
    p_fol = ms.p[P_P_FOLLOW]
    if u < p_fol:
        return u < ms.p[P_TAKEBACK_FOL] * p_fol
    return informed_order_nb(ms, d) and u - p_fol < ms.p[P_TAKEBACK_INF] * ms.p[P_P_INFORMED]


@numba.njit(**NJIT_INLINE)
def _choose_side_nb(ms, d, t):
    """A share ``p_follow`` repeats the side of the last background market order (herding and order
    splitting over seconds: the short memory of signs, ``sign_acf`` at lags 1-5); a share ``p_informed`` trades
    on the informed signal (the latent increments not yet in the efficient price, ``F_INFO_SUM``): it buys when
    the price is about to rise; a share ``p_metaorder`` are children of metaorders; the rest lean toward the
    efficient price (``lean_side_nb``). One uniform ``U_ANCHOR`` decides, in that order."""
    u = d[U_ANCHOR]
    p_fol = ms.p[P_P_FOLLOW]
    if u < p_fol and ms.f[F_LAST_SIGN] != 0.0:
        return BUY if ms.f[F_LAST_SIGN] > 0.0 else SELL
    u -= p_fol
    if u < 0.0:  # a follower with nothing to follow yet leans like the rest
        return lean_side_nb(ms, (u + p_fol) / p_fol, t)
    p_inf = ms.p[P_P_INFORMED]
    if informed_order_nb(ms, d):
        s = ms.f[F_INFO_SUM]
        if s > 0.0 or (s == 0.0 and u < 0.5 * p_inf):
            return BUY
        return SELL
    p_meta = ms.p[P_P_META]
    if u < p_inf + p_meta:
        return _metaorder_side_nb(ms, d)
    return lean_side_nb(ms, (u - p_inf - p_meta) / (1.0 - p_fol - p_inf - p_meta), t)
