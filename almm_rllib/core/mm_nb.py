"""The market-making step kernel: one compiled call per environment step.

``mm_step_nb`` turns every agent's action (bid/ask offsets in ticks from the mid, sizes in lots) into quotes,
applies the inventory limit, advances the market by ``dt`` and writes the features the environment packs into
observations, rewards and infos. Python only validates and clips the actions before, and packs dicts after.

Quote rules (documented in the env):

* bid = floor(mid - bid_offset), ask = ceil(mid + ask_offset) in ticks: prices round *outward*;
* if that leaves bid >= ask the two are pushed apart around the mid (an agent never crosses itself);
* sizes round to the nearest lot; 0 lots = no quote on that side;
* inventory limit L (lots): the bid is cut to L - q and the ask to L + q (never below 0); a quote that
  replaces a working order also leaves room for that order, which can still fill until its cancel arrives,
  so no fill of the agent's orders can take |inventory| beyond L (exact while latency < dt: an order
  replaced twice within one latency is not counted);
* a quote equal in price and size to the one already working keeps its order (and queue place).
"""

from __future__ import annotations

import numba
import numpy as np

from . import book_nb as bk
from . import market_nb as mk
from .accounts_nb import liquidation_cost_any_nb
from .agent_schema import (
    ACT_DIM,
    OBS_CLIP,
    OBS_DIM,
    OBS_DPNL,
    OBS_FILLS,
    OBS_FILLS_UNIT,
    OBS_IMBALANCE,
    OBS_INVENTORY,
    OBS_MID,
    OBS_MID_PCT,
    OBS_QUEUE_ASK,
    OBS_QUEUE_BID,
    OBS_QUEUE_NONE,
    OBS_SPREAD,
    OBS_SPREAD_TICKS,
    OBS_VOLATILITY,
    STEP_NEED_RANDOM,
    STEP_NON_FINITE,
)
from .nbopts import NJIT_HOT
from .schema import BUY, NO_PRICE, SELL, STATUS_OK, STATUS_PENDING_FULL

# parameters (float64 vector)
MP_DT = 0
MP_INV_LIMIT = 1  #: lots
MP_IMB_LEVELS = 2
MP_STYLIZED = 3  #: 1.0 for the stylized market
MP_LOW_WATER = 4  #: unread random numbers a stream needs before a step (else: STEP_NEED_RANDOM)
MP_LAMBDA_INV = 5
MP_LAMBDA_VOL = 6
MP_LAMBDA_IMP = 7
MP_REWARD_SCALE = 8
MP_PNL_UNIT = 9
MP_VOL_REF = 10
MP_LOT = 11
MP_TICK = 12
MP_ACT_LOW = 13  #: ACT_DIM entries: lower bounds of the action box
MP_ACT_HIGH = 17  #: ACT_DIM entries
MP_AS_H = 21  #: adverse-selection horizon H, seconds (>= 0)
MP_N_STEPS = 22  #: steps per episode
MP_LIQUIDATE = 23  #: 1.0: the last step pays the impact model's cost of liquidating the inventory
MP_LAMBDA_RISK = 24  #: risk aversion on the step P&L (penalty lambda_R * dpnl**2)
MP_SIZE = 25

# per-episode running state (float64 vector ES_*, then the return ring, then per-agent P&L)
ES_MID0 = 0  #: mid at reset, ticks
ES_LAST_MID = 1
ES_N_RET = 2
ES_SUM = 3
ES_SUM2 = 4
ES_SIGMA = 5
ES_STEP = 6  #: steps done in the episode
ES_RING = 8  #: vol_window entries of log mid returns follow

# per-agent episode accumulators (float64[n_agents, ACC_SIZE + 3 * ring], ring = as_ring_size(H, dt)); the ring
# holds, per future step r, the sums of side*qty*mid(t_fill), side*qty and qty of the fills whose t_fill + H
# falls in [t_r, t_{r+1}): they meet mid(t_fill + H) = mid_r at the end of step r (docs metrics.md)
ACC_STEPS = 0
ACC_MEAN_DPNL = 1  #: running mean of dpnl (Welford: a constant dpnl leaves ACC_M2_DPNL exactly 0)
ACC_M2_DPNL = 2  #: running sum of squared deviations from the mean
ACC_PEAK = 3  #: running max of P&L (starts at 0)
ACC_MAXDD = 4
ACC_SUM_ABS_INV = 5  #: shares
ACC_POSTED = 6  #: shares posted (resting + filled as maker)
ACC_FILLED = 7  #: shares filled as maker
ACC_SC_NUM = 8  #: sum of side * (mid(t_fill) - price) * qty over the agent's fills (money)
ACC_FILL_QTY = 9  #: shares filled (maker and taker)
ACC_AS_NUM = 10  #: sum of side * (mid(t_fill) - mid(t_fill + H)) * qty for fills whose horizon has passed
ACC_AS_QTY = 11
ACC_IMPACT = 12
ACC_N_FILLS = 13
ACC_LOSS_STEPS = 14  #: sum of min(dpnl, 0)**2 (Sortino denominator)
ACC_MAX_ABS_PNL = 15  #: max |pnl| (the scale of the Sharpe ratio's zero-deviation test)
ACC_SIZE = 16
#: tolerance on float times when placing t_fill and t_fill + H among step ends (results.metrics.TIME_TOL)
AS_TIME_TOL = 1e-9


def as_ring_size(horizon_s: float, dt: float) -> int:
    """Slots of the adverse-selection ring: t_fill + H is at most ``floor(H / dt)`` step ends (plus rounding)
    after the end of the fill's step, and the slot of the current step is resolved before new fills arrive."""
    return int((horizon_s + AS_TIME_TOL) // dt) + 2


# per-agent features written after the step (float64[n_agents, FT_SIZE])
FT_MID = 0  #: ticks, after the step
FT_BID = 1  #: best bid, ticks (NaN if empty)
FT_ASK = 2
FT_SPREAD = 3  #: ticks (0 in the stylized market)
FT_IMBALANCE = 4
FT_QPOS_BID = 5  #: lots ahead / lots at the level of the agent's bid, in [0, 1); 1 when not resting
FT_QPOS_ASK = 6
FT_REST_BID = 7  #: lots resting on the bid after the step
FT_REST_ASK = 8
FT_FILLED_BID = 9  #: lots of the agent's bids filled during the step (as maker)
FT_FILLED_ASK = 10
FT_TAKER_BUY = 11
FT_TAKER_SELL = 12
FT_N_FILLS = 13
FT_INV = 14  #: lots after the step
FT_CASH = 15  #: money after the step
FT_IMPACT = 16  #: impact cost charged in the step (money)
FT_FEES = 17  #: fees paid in the step (money)
FT_QUOTE_BID = 18  #: the bid price quoted this step, ticks (NaN when not quoting)
FT_QUOTE_ASK = 19
FT_QUOTE_BID_LOTS = 20  #: the lots quoted (after the inventory limit)
FT_QUOTE_ASK_LOTS = 21
FT_MID_BEFORE = 22  #: mid the quotes were priced from, ticks
FT_PNL = 23  #: mark-to-mid P&L since reset (money)
FT_DPNL = 24
FT_PEN_INV = 25
FT_PEN_VOL = 26
FT_PEN_IMP = 27
FT_REWARD = 28  #: scaled reward
FT_SIGMA = 29  #: realised relative volatility per sqrt-second
FT_BAD = 30
FT_LIQ = 31  #: cost of liquidating the inventory, charged on the last step with MP_LIQUIDATE (money)
FT_PEN_RISK = 32  #: risk penalty lambda_R * dpnl**2 (money)
FT_SIZE = 33


@numba.njit(**NJIT_HOT)
def _mid_nb(ms, stylized):
    if stylized:
        return ms.f[mk.F_LAST_MID]
    m = bk.mid_ticks_nb(ms.book)
    if np.isnan(m):
        return ms.f[mk.F_LAST_MID]
    return m


@numba.njit(**NJIT_HOT)
def _queue_frac_nb(ms, agent, side_idx):
    lots, ahead, rank = mk.agent_resting_nb(ms, agent, side_idx)
    if lots <= 0:
        return 0.0, 1.0
    oid = ms.quotes[agent, side_idx, mk.Q_ID]
    price = ms.quotes[agent, side_idx, mk.Q_PRICE]
    level = bk.level_qty_nb(ms.book, BUY if side_idx == 0 else SELL, price)
    if level <= 0 or oid < 0:
        return float(lots), 1.0
    return float(lots), ahead / level


@numba.njit(**NJIT_HOT)
def _cap_lots_nb(ms, agent, side_idx, price, lots, room, now, stylized):
    """Cut a quote so that no fill can take |inventory| past the limit.

    ``room`` = limit -/+ inventory. A quote that keeps the working order needs ``lots <= room``. A replacement
    must also leave room for the working order it cancels, which may still fill until the cancel arrives.
    """
    if room <= 0 or lots <= 0:
        return 0
    if lots > room:
        lots = room
    qs = ms.quotes[agent, side_idx]
    if qs[mk.Q_ID] < 0 or stylized:
        return lots
    if mk.keeps_order_nb(ms, qs, price, lots, now):
        return lots  # unchanged: keeps its order, and lots <= room already
    if mk.in_flight_nb(qs, now):
        old = qs[mk.Q_QTY]
    else:
        old, _, _ = mk.agent_resting_nb(ms, agent, side_idx)
    lots = min(lots, room - old)
    return lots if lots > 0 else 0


@numba.njit(**NJIT_HOT)
def quote_prices_nb(mid, bid_off, ask_off):
    """(bid, ask) in ticks from a mid in ticks and offsets in ticks: outward rounding, never self-crossing."""
    bid = np.int64(np.floor(mid - bid_off + 1e-9))
    ask = np.int64(np.ceil(mid + ask_off - 1e-9))
    if bid >= ask:
        # push apart around the mid, keeping the side that was asked to be more aggressive closer
        c = np.int64(np.floor(mid))
        bid = c if bid_off <= ask_off else c - 1
        ask = bid + 1
    return bid, ask


# Kept as one function on purpose: it is the env's single compiled call per step, and its stages (decode the
# actions, quote, step the market, features, reward, running figures) share the kernel's arrays and ~20 locals
# that helpers would pass back and forth; each stage is labelled inside. lob_step_nb was split with inlined
# helpers (NJIT_INLINE) at no measured cost; doing the same here is open.
@numba.njit(**NJIT_HOT)
def mm_step_nb(ms, act, mp, es, feat, obs, acc):
    """Quote, step, measure, reward. ``act`` float[n_agents, 4] raw actions (clipped here to the box).

    Writes ``feat`` (float64[n, FT_SIZE]) and ``obs`` (float32[n, OBS_DIM]) and updates the episode state
    ``es`` and accumulators ``acc``. Returns STATUS_OK, STEP_NEED_RANDOM or STEP_NON_FINITE (nothing done for
    those two), STATUS_PENDING_FULL, or a market error status.
    """
    n = ms.i[mk.I_N_AGENTS]
    for s in range(mk.N_STREAMS):
        if ms.rbuf.shape[1] - ms.rpos[s] < mp[MP_LOW_WATER]:
            return STEP_NEED_RANDOM
    for a in range(n):
        for j in range(ACT_DIM):
            x = act[a, j]
            if not np.isfinite(x):
                feat[0, FT_BAD] = a * ACT_DIM + j
                return STEP_NON_FINITE
            lo = mp[MP_ACT_LOW + j]
            hi = mp[MP_ACT_HIGH + j]
            act[a, j] = lo if x < lo else (hi if x > hi else x)
    stylized = mp[MP_STYLIZED] != 0.0
    limit = np.int64(mp[MP_INV_LIMIT])
    now = ms.f[mk.F_TIME]
    mid = _mid_nb(ms, stylized)
    for a in range(n):
        inv = ms.inv[a + 1]
        bid, ask = quote_prices_nb(mid, act[a, 0], act[a, 1])
        b_lots = np.int64(np.floor(act[a, 2] + 0.5))
        a_lots = np.int64(np.floor(act[a, 3] + 0.5))
        b_lots = _cap_lots_nb(ms, a, 0, bid, b_lots, limit - inv, now, stylized)
        a_lots = _cap_lots_nb(ms, a, 1, ask, a_lots, limit + inv, now, stylized)
        feat[a, FT_MID_BEFORE] = mid
        feat[a, FT_QUOTE_BID] = bid if b_lots > 0 else np.nan
        feat[a, FT_QUOTE_ASK] = ask if a_lots > 0 else np.nan
        feat[a, FT_QUOTE_BID_LOTS] = b_lots
        feat[a, FT_QUOTE_ASK_LOTS] = a_lots
        if stylized:
            mk.set_quote_direct_nb(ms, a, 0, bid, b_lots)
            mk.set_quote_direct_nb(ms, a, 1, ask, a_lots)
        else:
            if not mk.set_quote_nb(ms, a, 0, bid, b_lots, now):
                return STATUS_PENDING_FULL
            if not mk.set_quote_nb(ms, a, 1, ask, a_lots, now):
                return STATUS_PENDING_FULL
    if stylized:
        status = mk.stylized_step_nb(ms, mp[MP_DT])
    else:
        status = mk.lob_step_nb(ms, mp[MP_DT])
    if status != STATUS_OK:
        return status
    es[ES_STEP] += 1.0
    mid1 = _mid_nb(ms, stylized)
    if stylized:
        bb = np.nan
        ba = np.nan
        spread = 0.0
        imb = 0.0
    else:
        b = ms.book.hdr[bk.H_BEST_BID]
        s = ms.book.hdr[bk.H_BEST_ASK]
        bb = np.nan if b == NO_PRICE else float(b)
        ba = np.nan if s == NO_PRICE else float(s)
        spread = ba - bb if (b != NO_PRICE and s != NO_PRICE) else 0.0
        imb = bk.imbalance_nb(ms.book, np.int64(mp[MP_IMB_LEVELS]))
    for a in range(n):
        f = feat[a]
        f[FT_MID] = mid1
        f[FT_BID] = bb
        f[FT_ASK] = ba
        f[FT_SPREAD] = spread
        f[FT_IMBALANCE] = imb
        if stylized:
            rb = float(ms.quotes[a, 0, mk.Q_QTY])
            ra = float(ms.quotes[a, 1, mk.Q_QTY])
            f[FT_REST_BID] = rb
            f[FT_REST_ASK] = ra
            f[FT_QPOS_BID] = 0.0 if rb > 0 else 1.0
            f[FT_QPOS_ASK] = 0.0 if ra > 0 else 1.0
        else:
            rb, qb = _queue_frac_nb(ms, a, 0)
            ra, qa = _queue_frac_nb(ms, a, 1)
            f[FT_REST_BID] = rb
            f[FT_REST_ASK] = ra
            f[FT_QPOS_BID] = qb
            f[FT_QPOS_ASK] = qa
        o = ms.out[a]
        f[FT_FILLED_BID] = o[mk.O_FILLED_BID]
        f[FT_FILLED_ASK] = o[mk.O_FILLED_ASK]
        f[FT_TAKER_BUY] = o[mk.O_TAKER_BUY]
        f[FT_TAKER_SELL] = o[mk.O_TAKER_SELL]
        f[FT_N_FILLS] = o[mk.O_N_FILLS]
        f[FT_IMPACT] = o[mk.O_IMPACT]
        f[FT_FEES] = o[mk.O_FEES]
        f[FT_INV] = ms.inv[a + 1]
        f[FT_CASH] = ms.cash[a + 1]
    _measure_nb(ms, mp, es, feat, obs, n, mid1, ms.book)
    _accumulate_nb(ms, mp, feat, acc, n, ms.f[mk.F_TIME])
    return STATUS_OK


@numba.njit(**NJIT_HOT)
def _accumulate_nb(ms, mp, feat, acc, n, t_end):
    """Episode accumulators for the training metrics (what metrics.md defines, computed on the fly).

    ``t_end`` is the end of this step on the clock of the fills' ``time``. ``mid(t)`` is the mid in force at t:
    the mid of the last step ending at or before t (``AS_TIME_TOL``), as in ``results.metrics``. A fill inside
    the step (t_fill < t_end) has ``mid(t_fill)`` = the mid before the step; a fill stamped exactly at the step
    end (every fill of the stylized market) has the step's own mid, as the definition is written, although
    the stylized market draws its fills before it moves the mid. ``t_fill + H`` is placed among the step ends
    ``t_end + j dt``; the fill waits in the ring slot of that step and meets its mid there (or the last mid
    when the episode ends first, see ``MarketMakingCore.episode_summary``)."""
    lot = mp[MP_LOT]
    tick = mp[MP_TICK]
    dt = mp[MP_DT]
    horizon = mp[MP_AS_H]
    ring = (acc.shape[1] - ACC_SIZE) // 3
    nfill = ms.i[mk.I_N_FILLS]
    for a in range(n):
        f = feat[a]
        c = acc[a]
        k = np.int64(c[ACC_STEPS]) + 1  # this step's number
        mid_before = f[FT_MID_BEFORE] * tick
        mid_now = f[FT_MID] * tick
        # fills of earlier steps whose t_fill + H falls in this step meet this step's mid
        j = ACC_SIZE + 3 * (k % ring)
        c[ACC_AS_NUM] += c[j] - c[j + 1] * mid_now
        c[ACC_AS_QTY] += c[j + 2]
        c[j] = 0.0
        c[j + 1] = 0.0
        c[j + 2] = 0.0
        owner = a + 1
        for fi in range(nfill):
            fl = ms.fills[fi]
            if fl.maker_owner == owner:
                side = 1.0 if fl.aggressor == SELL else -1.0
            elif fl.taker_owner == owner:
                side = 1.0 if fl.aggressor == BUY else -1.0
            else:
                continue
            q = fl.qty * lot
            px = fl.price * tick
            m_fill = mid_now if fl.time >= t_end - AS_TIME_TOL else mid_before
            c[ACC_SC_NUM] += side * (m_fill - px) * q
            c[ACC_FILL_QTY] += q
            d = fl.time + horizon - t_end
            if d < -AS_TIME_TOL:  # t_fill + H before this step's end: the mid before the step
                c[ACC_AS_NUM] += side * q * (m_fill - mid_before)
                c[ACC_AS_QTY] += q
                continue
            ahead = np.int64(np.floor((d + AS_TIME_TOL) / dt))
            if ahead == 0:
                c[ACC_AS_NUM] += side * q * (m_fill - mid_now)
                c[ACC_AS_QTY] += q
                continue
            if ahead >= ring:  # cannot happen with as_ring_size; keep the slot arithmetic safe
                ahead = ring - 1
            j = ACC_SIZE + 3 * ((k + ahead) % ring)
            c[j] += side * q * m_fill
            c[j + 1] += side * q
            c[j + 2] += q
        accumulate_pnl_nb(c, f[FT_DPNL], f[FT_PNL])
        c[ACC_SUM_ABS_INV] += abs(f[FT_INV]) * lot
        c[ACC_POSTED] += (f[FT_REST_BID] + f[FT_FILLED_BID] + f[FT_REST_ASK] + f[FT_FILLED_ASK]) * lot
        c[ACC_FILLED] += (f[FT_FILLED_BID] + f[FT_FILLED_ASK]) * lot
        c[ACC_IMPACT] += f[FT_IMPACT]
        c[ACC_N_FILLS] += f[FT_N_FILLS]


@numba.njit(**NJIT_HOT)
def accumulate_pnl_nb(c, dp, pnl):
    """One step's P&L into an agent's accumulators ``c`` (ACC_*): Welford's mean and squared deviations of
    dpnl, the Sortino sum, drawdown and max |pnl|. The step count ``c[ACC_STEPS]`` is incremented here."""
    c[ACC_STEPS] += 1.0
    delta = dp - c[ACC_MEAN_DPNL]
    c[ACC_MEAN_DPNL] += delta / c[ACC_STEPS]
    c[ACC_M2_DPNL] += delta * (dp - c[ACC_MEAN_DPNL])
    if dp < 0.0:
        c[ACC_LOSS_STEPS] += dp * dp
    if abs(pnl) > c[ACC_MAX_ABS_PNL]:
        c[ACC_MAX_ABS_PNL] = abs(pnl)
    if pnl > c[ACC_PEAK]:
        c[ACC_PEAK] = pnl
    dd = c[ACC_PEAK] - pnl
    if dd > c[ACC_MAXDD]:
        c[ACC_MAXDD] = dd


@numba.njit(**NJIT_HOT)
def _encode_obs_nb(o, mp, es, mid, spread, inv_lots, sigma, imb, q_bid, q_ask, dpnl, n_fills):
    """The observation of ``agent_schema`` (its indices and scales), clipped to [-OBS_CLIP, OBS_CLIP]."""
    o[OBS_MID] = OBS_MID_PCT * (mid / es[ES_MID0] - 1.0)
    o[OBS_SPREAD] = spread / OBS_SPREAD_TICKS
    o[OBS_INVENTORY] = inv_lots / mp[MP_INV_LIMIT]
    o[OBS_VOLATILITY] = sigma / mp[MP_VOL_REF]
    o[OBS_IMBALANCE] = imb
    o[OBS_QUEUE_BID] = q_bid
    o[OBS_QUEUE_ASK] = q_ask
    o[OBS_DPNL] = dpnl / mp[MP_PNL_UNIT]
    o[OBS_FILLS] = n_fills / OBS_FILLS_UNIT
    for j in range(OBS_DIM):
        x = o[j]
        o[j] = -OBS_CLIP if x < -OBS_CLIP else (OBS_CLIP if x > OBS_CLIP else x)


@numba.njit(**NJIT_HOT)
def mm_reset_nb(ms, mp, es, acc, obs):
    """Start an episode on the freshly reset market ``ms``: clear the episode state and the accumulators and
    write every agent's first observation (mid change 0, volatility at its reference, nothing resting)."""
    stylized = mp[MP_STYLIZED] != 0.0
    mid = _mid_nb(ms, stylized)
    es[:] = 0.0
    acc[:] = 0.0
    es[ES_MID0] = mid
    es[ES_LAST_MID] = mid
    es[ES_SIGMA] = mp[MP_VOL_REF]
    spread = 0.0
    imb = 0.0
    if not stylized:
        b = ms.book.hdr[bk.H_BEST_BID]
        s = ms.book.hdr[bk.H_BEST_ASK]
        if b != NO_PRICE and s != NO_PRICE:
            spread = float(s - b)
        imb = bk.imbalance_nb(ms.book, np.int64(mp[MP_IMB_LEVELS]))
    for a in range(obs.shape[0]):
        _encode_obs_nb(
            obs[a],
            mp,
            es,
            mid,
            spread,
            float(ms.inv[a + 1]),
            es[ES_SIGMA],
            imb,
            OBS_QUEUE_NONE,
            OBS_QUEUE_NONE,
            0.0,
            0.0,
        )
    return mid


@numba.njit(**NJIT_HOT)
def _measure_nb(ms, mp, es, feat, obs, n, mid1, book):
    """Realised volatility, P&L (with the terminal liquidation), reward components and the observation.
    ``book``: the market's book, which the terminal liquidation walks without an agent impact model, or None
    for the replay market (``liquidation_cost_any_nb``)."""
    # realised volatility: O(1) update of the ring of log mid returns
    w = es.shape[0] - ES_RING - n
    last = es[ES_LAST_MID]
    if mid1 > 0.0 and last > 0.0:
        r = np.log(mid1 / last)
        k = np.int64(es[ES_N_RET]) % w
        if es[ES_N_RET] >= w:
            old = es[ES_RING + k]
            es[ES_SUM] -= old
            es[ES_SUM2] -= old * old
        es[ES_RING + k] = r
        es[ES_SUM] += r
        es[ES_SUM2] += r * r
        es[ES_N_RET] += 1.0
    es[ES_LAST_MID] = mid1
    m = min(es[ES_N_RET], float(w))
    if m >= 5.0:
        var = (es[ES_SUM2] - es[ES_SUM] * es[ES_SUM] / m) / (m - 1.0)
        es[ES_SIGMA] = np.sqrt(max(var, 0.0) / mp[MP_DT])
    sigma = es[ES_SIGMA]
    mid_money = mid1 * mp[MP_TICK]
    lot = mp[MP_LOT]
    liquidate = mp[MP_LIQUIDATE] != 0.0 and es[ES_STEP] >= mp[MP_N_STEPS]
    for a in range(n):
        f = feat[a]
        q = f[FT_INV] * lot
        liq = 0.0
        if liquidate and q != 0.0:
            liq = liquidation_cost_any_nb(book, ms.p, ms.imp, a, q, mid_money, max(ms.f[mk.F_SIGMA], 0.0))
        pnl = f[FT_CASH] + q * mid_money - liq
        dpnl = pnl - es[es.shape[0] - n + a]
        es[es.shape[0] - n + a] = pnl
        pen_inv = mp[MP_LAMBDA_INV] * q * q
        pen_vol = mp[MP_LAMBDA_VOL] * sigma * sigma
        pen_imp = mp[MP_LAMBDA_IMP] * f[FT_IMPACT]
        pen_risk = mp[MP_LAMBDA_RISK] * dpnl * dpnl
        f[FT_LIQ] = liq
        f[FT_PNL] = pnl
        f[FT_DPNL] = dpnl
        f[FT_PEN_INV] = pen_inv
        f[FT_PEN_VOL] = pen_vol
        f[FT_PEN_IMP] = pen_imp
        f[FT_PEN_RISK] = pen_risk
        f[FT_REWARD] = (dpnl - pen_inv - pen_vol - pen_imp - pen_risk) * mp[MP_REWARD_SCALE]
        f[FT_SIGMA] = sigma
        _encode_obs_nb(
            obs[a],
            mp,
            es,
            mid1,
            f[FT_SPREAD],
            f[FT_INV],
            sigma,
            f[FT_IMBALANCE],
            f[FT_QPOS_BID],
            f[FT_QPOS_ASK],
            dpnl,
            f[FT_N_FILLS],
        )
