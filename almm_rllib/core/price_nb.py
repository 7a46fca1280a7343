"""The efficient price: the regime chain, the latent diffusion, and the impact of market orders (step items 1
and 2 of :mod:`market_nb`, and the price side of item 6).

* **Regime**: the continuous-time Markov chain jumps over the window (exponential holding times); the regime at
  the end of the window sets the volatility and the flow rates of the whole window (regime changes take effect
  at step boundaries; regimes last minutes, steps about a second).
* **Latent diffusion**: geometric Brownian motion with the regime's volatility times its ``diffusion_scale``
  (the share of the configured volatility left to the diffusion once the market orders' impact has added
  its own, so that the configured volatility is the price's total) plus compound-Poisson jumps.
  With ``formation.info_lead`` > 0 each step's Brownian increment is drawn ``info_lead`` seconds before it
  reaches the efficient price (kept in ``MarketState.info``, applied with the regime's volatility in force when
  it arrives, so a pinned regime's volatility is exactly the configured one). The increments drawn but not yet
  applied are what the informed traders know: their sum ``F_INFO_SUM`` is the coming move. The permanent
  impact of a stated share of the informed orders (``formation.informed_takeback``; 1 is Kyle's accounting:
  informed trading brings the information forward, it does not add to it) and of the followers
  (``formation.follower_takeback``: a slow transient part for orders that know nothing) is kept in
  ``F_INFO_ADV`` and taken back out of the price at rate ``1 / info_lead`` (which orders:
  ``flow_nb.takeback_order_nb``). The AMZN preset takes back none of the informed orders' impact and all of
  the followers' (docs/market-calibration.md, "The take-back, made explicit"). Jumps are not anticipated.
* **Impact of market orders** (a propagator with an exponential kernel decaying to a permanent part): a market
  order of ``v`` lots and sign ``eps`` moves the efficient price by ``eps * I(v) * (perm + (1 - perm) *
  exp(-decay * (t - t_order)))`` ticks, ``I(v) = impact_ticks * (v / impact_ref_lots) ** impact_exponent``.
  The permanent part goes into ``F_FAIR``, the transient part into ``F_TRANS``, which decays exactly between
  events (``transient_at_nb``). Why this form: a square-root law in size is what single-order and metaorder
  impact measurements show; the permanent part makes a sweep information that does not revert; the transient
  part is the standard way to keep the price diffusive under long-memory order signs (Bouchaud et al. 2004);
  an exponential kernel keeps the state O(1).
* **A sweep is information** (``formation.walk_gap_ticks``, ``walk_floor_nb``): after a market order whose
  deepest execution was at ``P``, the efficient price is moved permanently to no more than ``walk_gap`` ticks
  behind ``P`` when the square-root impact left it further back. Without it a sweep through thin depth
  reverts (the book refills around an efficient price that moved a few ticks), and a quote resting far from the
  touch is filled only when it is about to be marked back in its favour: a free lunch for depth that real
  books do not pay (the maker's markout behind the first price is as adverse as at the touch on the AMZN day).
  For a background order, the walk is the one through the background's own orders (``book_nb.owner_walk_nb``):
  an agent's resting quotes fill the order but do not shorten the move, so no passive quote can hold the
  efficient price up or down. An agent's own marketable order moves it by the walk it actually made.

The latent diffusion and the jumps draw only from the price stream; the impact adds no draws.
"""

from __future__ import annotations

import numba
import numpy as np

from .market_state_nb import (
    F_FAIR,
    F_INFO_ADV,
    F_INFO_SUM,
    F_SIGMA,
    F_TEMP,
    F_TIME,
    F_TRANS,
    F_TRANS_T,
    I_INFO_HEAD,
    I_INFO_N,
    I_REGIME,
    INFO_DB,
    INFO_DT,
    INFO_T,
    P_IMP_DECAY,
    P_IMP_EXP,
    P_IMP_PERM,
    P_IMP_REF,
    P_IMP_TICKS,
    P_INFO_LEAD,
    P_JUMP_RATE,
    P_JUMP_STD,
    P_SWITCHING,
    P_WALK_GAP,
    R_DIFF,
    R_VOL,
)
from .nbopts import NJIT_HOT, NJIT_INLINE
from .rng_nb import S_PRICE, expo_nb, normal_nb, uni_nb
from .schema import NO_PRICE


@numba.njit(**NJIT_INLINE)
def advance_regime_nb(ms, dt):
    r = ms.i[I_REGIME]
    if ms.p[P_SWITCHING] == 0.0:
        return r
    left = dt
    n = ms.q.shape[0]
    while True:
        rate = -ms.q[r, r]
        if rate <= 0.0:
            break
        w = expo_nb(ms, S_PRICE, 1.0 / rate)
        if w >= left:
            break
        left -= w
        u = uni_nb(ms, S_PRICE) * rate
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
def _release_info_nb(ms, db, dt, t1, sig):
    """Queue this step's Brownian increment ``db`` (over ``dt``) to reach the price at ``t1 + info_lead``; return
    the log-price change of every queued increment due by ``t1`` (a full ring applies its oldest one early)."""
    cap = ms.info.shape[0]
    head = ms.i[I_INFO_HEAD]
    n = ms.i[I_INFO_N]
    if n == cap:  # full: the oldest increment reaches the price now
        e = ms.info[head]
        logf = sig * e[INFO_DB] - 0.5 * sig * sig * e[INFO_DT]
        ms.f[F_INFO_SUM] -= e[INFO_DB]
        head = (head + 1) % cap
        n -= 1
    else:
        logf = 0.0
    e = ms.info[(head + n) % cap]
    e[INFO_T] = t1 + ms.p[P_INFO_LEAD]
    e[INFO_DB] = db
    e[INFO_DT] = dt
    ms.f[F_INFO_SUM] += db
    n += 1
    while n > 0 and ms.info[head, INFO_T] <= t1:
        e = ms.info[head]
        logf += sig * e[INFO_DB] - 0.5 * sig * sig * e[INFO_DT]
        ms.f[F_INFO_SUM] -= e[INFO_DB]
        head = (head + 1) % cap
        n -= 1
    if n == 0:
        ms.f[F_INFO_SUM] = 0.0  # no rounding residue left behind
    ms.i[I_INFO_HEAD] = head
    ms.i[I_INFO_N] = n
    return logf


@numba.njit(**NJIT_INLINE)
def advance_fair_nb(ms, dt, r):
    sig = ms.reg[r, R_DIFF]
    z = normal_nb(ms, S_PRICE)
    lead = ms.p[P_INFO_LEAD]
    if lead > 0.0:
        fair = ms.f[F_FAIR] * np.exp(_release_info_nb(ms, np.sqrt(dt) * z, dt, ms.f[F_TIME] + dt, sig))
        # what the informed orders' impact already put into the price leaves it as the information arrives
        take = ms.f[F_INFO_ADV] * min(1.0, dt / lead)
        ms.f[F_INFO_ADV] -= take
        fair -= take
    else:
        fair = ms.f[F_FAIR] * np.exp(sig * np.sqrt(dt) * z - 0.5 * sig * sig * dt)
    jr = ms.p[P_JUMP_RATE]
    if jr > 0.0:
        t = expo_nb(ms, S_PRICE, 1.0 / jr)
        while t < dt:
            fair *= np.exp(ms.p[P_JUMP_STD] * normal_nb(ms, S_PRICE))
            t += expo_nb(ms, S_PRICE, 1.0 / jr)
    ms.f[F_FAIR] = fair
    ms.f[F_SIGMA] = ms.reg[r, R_VOL]
    lam = ms.imp[6]  # decay rate (impact_nb.P_DECAY_RATE)
    if ms.f[F_TEMP] != 0.0:
        ms.f[F_TEMP] *= np.exp(-lam * dt) if np.isfinite(lam) else 0.0


# ---------------------------------------------------------------------------------------------------------------
# impact of market orders


@numba.njit(**NJIT_INLINE)
def impact_size_nb(lots, ticks, expo, ref):
    """I(v): the total impact (ticks) of a market order of ``lots`` lots, concave in size."""
    if lots <= 0.0 or ticks == 0.0:
        return 0.0
    return ticks * (lots / ref) ** expo


@numba.njit(**NJIT_INLINE)
def decayed_nb(x, rate, elapsed):
    """``x`` after ``elapsed`` seconds of exponential decay at ``rate`` per second."""
    if x == 0.0 or elapsed <= 0.0:
        return x
    return x * np.exp(-rate * elapsed)


@numba.njit(**NJIT_INLINE)
def transient_at_nb(ms, t):
    """The transient impact (ticks) at time ``t`` (not before the last update); brings ``F_TRANS`` up to ``t``."""
    x = decayed_nb(ms.f[F_TRANS], ms.p[P_IMP_DECAY], t - ms.f[F_TRANS_T])
    ms.f[F_TRANS] = x
    if t > ms.f[F_TRANS_T]:
        ms.f[F_TRANS_T] = t
    return x


@numba.njit(**NJIT_INLINE)
def efficient_price_nb(ms, t):
    """The efficient price (ticks) at ``t``: permanent (``F_FAIR``) + the agents' temporary impact (``F_TEMP``)
    + the transient impact of market orders, the level the background quotes refill around."""
    return ms.f[F_FAIR] + ms.f[F_TEMP] + transient_at_nb(ms, t)


@numba.njit(**NJIT_INLINE)
def market_order_impact_nb(ms, t, sign, lots):
    """A market order of ``lots`` lots and ``sign`` (+1 buy, -1 sell) at time ``t`` moves the efficient price:
    its permanent part into ``F_FAIR``, its transient part into ``F_TRANS``. Returns the permanent part."""
    p = ms.p
    size = impact_size_nb(lots, p[P_IMP_TICKS], p[P_IMP_EXP], p[P_IMP_REF])
    if size == 0.0:
        return 0.0
    perm = p[P_IMP_PERM]
    ms.f[F_FAIR] += sign * perm * size
    ms.f[F_TRANS] = transient_at_nb(ms, t) + sign * (1.0 - perm) * size
    return sign * perm * size


@numba.njit(**NJIT_INLINE)
def walk_floor_nb(ms, t, sign, deepest):
    """After a market order of ``sign`` whose deepest execution was at ``deepest`` (ticks; ignored when the
    order filled nothing): move the efficient price (``F_FAIR`` + ``F_TEMP`` + the transient part at ``t``)
    permanently to within ``walk_gap`` ticks of ``deepest`` when it lies further back. Returns the move
    (signed ticks, 0 when off or already close enough)."""
    gap = ms.p[P_WALK_GAP]
    if gap < 0.0 or deepest == NO_PRICE:
        return 0.0
    eff = efficient_price_nb(ms, t)
    behind = sign * (deepest - eff) - gap
    if behind <= 0.0:
        return 0.0
    ms.f[F_FAIR] += sign * behind
    return sign * behind


@numba.njit(**NJIT_HOT)
def propagator_path_nb(times, signs, lots, t_eval, ticks, expo, ref, perm, decay, out):
    """Impact path of a sequence of market orders (sorted ``times``) evaluated at sorted ``t_eval``: the O(1)
    recursion of the step kernel (``impact_size_nb``, ``decayed_nb``), for comparison with the propagator sum
    in ``tests/reference``. Writes ``out[k]`` = permanent + transient impact (ticks) at ``t_eval[k]``, counting
    the orders at times <= t_eval[k]."""
    permanent = 0.0
    trans = 0.0
    t_last = 0.0
    j = 0
    for k in range(t_eval.shape[0]):
        te = t_eval[k]
        while j < times.shape[0] and times[j] <= te:
            trans = decayed_nb(trans, decay, times[j] - t_last)
            t_last = times[j]
            size = impact_size_nb(lots[j], ticks, expo, ref)
            permanent += signs[j] * perm * size
            trans += signs[j] * (1.0 - perm) * size
            j += 1
        out[k] = permanent + decayed_nb(trans, decay, te - t_last)
