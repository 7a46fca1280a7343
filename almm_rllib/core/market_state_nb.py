"""The market's state layout: what :class:`MarketState` holds and the named indices into its arrays.

One market is a NamedTuple of numpy arrays (no ``jitclass``: it must pickle for Ray), built by
``MarketSimulator._new_state``. The headers and the parameter vector are flat float64/int64 arrays indexed by
the constants below (``F_*`` float header, ``I_*`` int header, ``P_*`` parameters, ``R_*`` per-regime table,
``O_*`` per-agent step outputs, ``Q_*`` agent quote slots, ``U_*`` pre-drawn numbers of a background event,
``K_*`` event kinds, ``REC_*`` the columns of a background run's record). Accounts: index 0 is the background
flow, 1..n the agents, n+1 the exchange.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import book_nb as bk

# float header (MarketState.f)
F_TIME = 0  #: simulation clock, seconds
F_FAIR = 1  #: latent fair price, ticks (float)
F_TEMP = 2  #: temporary-impact displacement of the background quotes, ticks (decays)
F_LAST_MID = 3  #: last mid in ticks (stylized market: the mid)
F_SIGMA = 4  #: the regime's relative volatility during the last step
F_TRANS = 5  #: transient part of the market orders' impact on the efficient price, ticks (decays)
F_INFO_SUM = 6  #: latent Brownian increments drawn but not yet in the efficient price (the informed signal)
F_HAWKES = 7  #: excess intensity of market-order arrivals over the baseline, per second (Hawkes)
F_TRANS_T = 8  #: time F_TRANS was last brought up to date, seconds
F_INFO_ADV = 9  #: permanent impact being taken back at rate 1 / info_lead (formation.*_takeback), ticks
F_LAST_SIGN = (
    10  #: side of the last background market order (+1 buy, -1 sell, 0 none yet; kept when p_follow > 0)
)
F_HAWKES_SLOW = 11  #: excess intensity of the slow Hawkes kernel (flow.hawkes_slow_branching > 0), per second
F_SIZE = 16

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
I_INFO_HEAD = 15  #: oldest entry of the information ring (MarketState.info)
I_INFO_N = 16  #: entries in the information ring
I_TAPE_N = 17  #: rows of MarketState.tape written in the last step (its touch changes)
I_SIZE = 24

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
P_IMP_TICKS = 40  #: impact (ticks) of a market order of P_IMP_REF lots, permanent + transient
P_IMP_EXP = 41  #: concavity of impact in size (0.5: square root)
P_IMP_REF = 42  #: reference size, lots
P_IMP_PERM = 43  #: permanent share of the impact
P_IMP_DECAY = 44  #: decay rate of the transient part, per second
P_INFO_LEAD = 45  #: seconds by which the informed know the latent diffusion's increments (0: none)
P_HAWKES_N = 46  #: branching ratio of market-order arrivals (0: Poisson)
P_HAWKES_BETA = 47  #: decay rate of the Hawkes kernel, per second
P_P_INFORMED = 48  #: share of background market orders trading on the informed signal
P_P_META = 49  #: share of background market orders that are children of metaorders
P_META_TAIL = 50  #: Pareto tail exponent of metaorder lengths (in child orders)
P_DIST_MIN = 51  #: ticks added to every drawn limit-order distance
P_P_FOLLOW = 52  #: share of background market orders that repeat the last one's side
P_WALK_GAP = 53  #: formation.walk_gap_ticks (-1: off)
P_P_WALK = 54  #: share of background market orders that may walk beyond the opposite best (1: all)
P_P_CLEAR = 55  #: share of background market orders that take exactly the opposite best's volume
P_P_REQUOTE = 56  #: probability a background market order brings a new limit order on its own side
P_P_REFILL = 57  #: probability it brings a new limit order on the side it took liquidity from
P_RQ_DIST_MIN = 58  #: ticks added to a requote's drawn distance from the efficient price
P_RQ_DIST_P = 59  #: geometric success probability of a requote's distance
P_STALE_RATE = 60  #: extra cancellation hazard per tick a background quote is stale (flow.cancel_stale_rate)
P_STALE_MARGIN = 61  #: ticks from the fair price inside which a background quote counts as stale
P_WALK_BEYOND = 62  #: 1: an order that may walk takes the background's best volume plus its drawn size
P_TAKEBACK_INF = (
    63  #: share of informed market orders whose permanent impact leaves as the information arrives
)
P_TAKEBACK_FOL = 64  #: share of follower market orders whose permanent impact leaves at the same rate
P_HAWKES_N_SLOW = 65  #: branching ratio of the slow Hawkes kernel (flow.hawkes_slow_branching; 0: one kernel)
P_HAWKES_BETA_SLOW = 66  #: decay rate of the slow Hawkes kernel, per second
P_SIZE = 67

# per-regime table columns (MarketState.reg)
R_VOL = 0
R_LIMIT_MULT = 1
R_MARKET_MULT = 2
R_CANCEL_MULT = 3
R_DIFF = 4  #: the latent diffusion's volatility: the regime's volatility times its diffusion_scale

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

# columns of a background event's pre-drawn numbers (MarketState.bg_draws)
U_ANCHOR = 0  #: limit: uniform choosing the anchor (best quote or fair price); market: choosing the side
U_INSIDE = 1  #: limit: uniform choosing an inside-the-spread price
U_DIST = 2  #: limit: distance from the anchor, ticks
U_SIZE = 3  #: size before rounding to lots
U_BUDGET = 4  #: limit: Exp(1) cancellation hazard budget
U_META_PICK = 1  #: market: uniform picking the metaorder a child order belongs to
U_META_SIGN = 2  #: market: uniform giving the sign of a metaorder that starts at this order
U_META_LEN = 4  #: market: uniform giving the length of a metaorder that starts at this order
U_WALK = 5  #: market: uniform deciding whether the order may walk beyond the opposite best (flow.p_walk < 1)
U_RQ = 6  #: market: 4 numbers of the requote on the aggressor's side (uniform, distance, size, budget)
U_RF = 10  #: market: 4 numbers of the refill on the side the order took liquidity from
RQ_U = 0  #: offsets within a requote's 4 numbers
RQ_DIST = 1
RQ_SIZE = 2
RQ_BUDGET = 3
N_DRAWS = 14  #: columns of MarketState.bg_draws

# event kinds in the step's scratch list (MarketState.kind)
K_AGENT = 0  #: a released agent message (fully specified in ev)
K_BG_LIMIT = 1
K_BG_MARKET = 2
K_BG_CANCEL = 3

AGENT_ID_SHIFT = 40  #: agent a's order ids are (a << 40) + sequence
MARKET_ERR_EVENTS_FULL = 20  #: status: the step needed more events than max_events_per_step
MARKET_ERR_RNG = 21  #: status: a random-number buffer ran dry within a step (a sizing bug)

INFO_CAP = 4096  #: steps of latent increments the information ring holds (older ones are applied early)
INFO_T = 0
INFO_DB = 1
INFO_DT = 2
META_SIGN = 0
META_LEFT = 1

NS = 1e9  #: nanoseconds per second (agent message arrival times are int64 ns)


class MarketState(NamedTuple):
    """Everything one market carries between steps (all numpy; pickles).

    Names: ``f``, ``i`` and ``p`` are the float header, the int header and the parameter vector. They are read
    and written on nearly every line of the hot kernels and always through a named index whose prefix says
    which vector it belongs to (``ms.f[F_FAIR]``, ``ms.i[I_REGIME]``, ``ms.p[P_TICK]``), so the field name
    only has to say "the F_ vector"; a long name would double every line without adding a fact. ``q`` is the
    generator matrix Q of the regime chain (the textbook letter; ``RegimeConfig.generator`` builds it).
    """

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
    bg_draws: np.ndarray  # float64[max_events, N_DRAWS] a background event's pre-drawn numbers: U_* columns
    order: np.ndarray  # int64[max_events] processing order
    fills: np.ndarray  # FILL_DTYPE[max_fills] the last step's fills
    rbuf: np.ndarray  # float64[N_STREAMS, buffer] uniforms from the numpy Generators
    rpos: np.ndarray  # int64[N_STREAMS] next unread position per stream
    info: np.ndarray  # float64[INFO_CAP, 3] information ring: (time it reaches the price, dB, dt) per step
    meta: np.ndarray  # float64[n_metaorders, 2] live metaorders: (sign, child orders left)
    tape: np.ndarray  # float64[rows, TAPE_SIZE] the last step's touch changes (0 rows: not recorded)


# the quote tape (MarketState.tape): one row per event of a step that changed the touch, in event order, so that
# statistics which need the quotes "just before" and "just after" an order see them at event resolution
TAPE_TIME = 0  #: seconds
TAPE_BID = 1  #: ticks (NaN when the side is empty)
TAPE_ASK = 2
TAPE_BID_LOTS = 3  #: lots at the best bid (0 when empty)
TAPE_ASK_LOTS = 4
TAPE_SIZE = 5


# ---------------------------------------------------------------------------------------------------------------
# the record of a background-only run (one row per step; lob_run_nb)

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
