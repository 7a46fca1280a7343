"""The market simulator: a plain-Python factory around the compiled step kernel.

>>> from almm_rllib.core.market import MarketSimulator
>>> from almm_rllib.core.market_config import MarketConfig
>>> sim = MarketSimulator(MarketConfig(), n_agents=1)
>>> sim.reset(seed=7)
>>> sim.set_quote(0, bid=(9_998, 1), ask=(10_002, 1))   # ticks, lots
>>> res = sim.step(1.0)

Randomness: ``reset(seed)`` derives three independent generators from ``np.random.SeedSequence(seed)``:
the background flow, the fair price and regime chain, and the agents' latencies. The first two never depend on
what agents do, so every strategy run on one seed faces the same exogenous arrivals and the same fair-price
path (common random numbers); outcomes still differ where the book state matters, as in a real market.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import book_nb as bk
from . import market_nb as mk
from .accounts_nb import liquidation_cost_any_nb
from .book import LimitOrderBook
from .market_config import MarketConfig
from .schema import (
    BUY,
    EV_LIMIT,
    EVENT_DTYPE,
    FILL_DTYPE,
    NO_ORDER,
    NO_PRICE,
    RESULT_DTYPE,
    SELL,
    STATUS_FILL_BUFFER_FULL,
    STATUS_PENDING_FULL,
)

MAX_PENDING = 1024
#: What each fatal status of a market step means, and the MarketConfig field that lifts the limit (if any).
_STATUS_TEXT = {
    STATUS_PENDING_FULL: (f"an agent has more than {MAX_PENDING} messages in flight", None),
    mk.MARKET_ERR_EVENTS_FULL: (
        "the step needed more events than max_events_per_step",
        "max_events_per_step",
    ),
    mk.MARKET_ERR_RNG: (
        "a random-number buffer ran dry (max_events_per_step too small for the flow rates)",
        "max_events_per_step",
    ),
    STATUS_FILL_BUFFER_FULL: ("the step produced more fills than max_fills_per_step", "max_fills_per_step"),
}
#: The cumulative background counters of :meth:`MarketSimulator.background_counts` (kernel int header slots).
_BACKGROUND_COUNTERS = {
    "limit_buy": mk.I_CNT_LIMIT_BUY,
    "limit_sell": mk.I_CNT_LIMIT_SELL,
    "market": mk.I_CNT_MARKET,
    "cancel": mk.I_CNT_CANCEL,
}


def status_text(status: int) -> str:
    """What a fatal status of a market step means, and which ``MarketConfig`` field to raise (if one helps)."""
    why, field = _STATUS_TEXT.get(int(status), (f"status {int(status)}", None))
    return f"{why}; raise MarketConfig.{field}" if field else why


class MarketError(RuntimeError):
    """The simulation cannot continue (a buffer limit was hit); the message names the config field to raise."""


class StepResult(NamedTuple):
    """What one step produced. ``fills`` is a copy of the step's FILL_DTYPE records (ticks and lots);
    ``agent_out`` is float64[n_agents, O_SIZE] (see ``market_nb.O_*``)."""

    fills: np.ndarray
    agent_out: np.ndarray
    n_events: int
    n_background_events: int


def _params(cfg: MarketConfig) -> np.ndarray:
    p = np.zeros(mk.P_SIZE, np.float64)
    fl = cfg.flow
    p[mk.P_LIMIT_RATE] = fl.limit_rate
    p[mk.P_MARKET_RATE] = fl.market_rate
    p[mk.P_CANCEL_RATE] = fl.cancel_rate
    p[mk.P_CANCEL_COEF] = fl.cancel_distance_coef
    p[mk.P_DIST_MODEL] = 0.0 if fl.limit_distance == "geometric" else 1.0
    p[mk.P_DIST_P] = fl.limit_distance_p
    p[mk.P_DIST_MAX] = fl.limit_distance_max
    p[mk.P_DIST_MIN] = fl.limit_distance_min
    p[mk.P_ANCHOR_FAIR] = fl.p_anchor_fair
    p[mk.P_INSIDE] = fl.p_inside_spread
    p[mk.P_SIZE_MODEL] = 0.0 if fl.size_model == "lognormal" else 1.0
    p[mk.P_SIZE_MU] = fl.size_mu
    p[mk.P_SIZE_SIGMA] = fl.size_sigma
    p[mk.P_MSIZE_MU] = fl.market_size_mu
    p[mk.P_MSIZE_SIGMA] = fl.market_size_sigma
    p[mk.P_INFORMED] = fl.informed_slope
    p[mk.P_JUMP_RATE] = cfg.jumps.rate
    p[mk.P_JUMP_STD] = cfg.jumps.size_std
    lat = cfg.latency
    p[mk.P_LAT_MODEL] = {"constant": 0.0, "uniform": 1.0, "lognormal": 2.0}[lat.model]
    p[mk.P_LAT_MEAN] = lat.mean
    p[mk.P_LAT_LOW] = lat.low
    p[mk.P_LAT_HIGH] = lat.high
    p[mk.P_LAT_SIGMA] = lat.sigma
    p[mk.P_MAKER_FEE] = cfg.fees.maker_bps * 1e-4
    p[mk.P_TAKER_FEE] = cfg.fees.taker_bps * 1e-4
    p[mk.P_CHARGE_IMPACT] = 1.0 if cfg.charge_impact_cost else 0.0
    p[mk.P_TICK] = cfg.tick_size
    p[mk.P_LOT] = cfg.lot_size
    p[mk.P_SWITCHING] = 1.0 if cfg.regimes.switching else 0.0
    p[mk.P_IMPACT_MODEL] = cfg.impact.model_id
    p[mk.P_ST_SIGMA] = cfg.stylized.sigma
    p[mk.P_ST_A] = cfg.stylized.A
    p[mk.P_ST_K] = cfg.stylized.k
    p[mk.P_ST_FILL_QUOTE] = 1.0 if cfg.stylized.fill_size == "quote" else 0.0
    fm = cfg.formation
    p[mk.P_IMP_TICKS] = fm.impact_ticks
    p[mk.P_IMP_EXP] = fm.impact_exponent
    p[mk.P_IMP_REF] = fm.impact_ref_lots
    p[mk.P_IMP_PERM] = fm.permanent_share
    p[mk.P_IMP_DECAY] = math.log(2.0) / fm.transient_halflife
    p[mk.P_INFO_LEAD] = fm.info_lead
    p[mk.P_WALK_GAP] = -1.0 if fm.walk_gap_ticks is None else fm.walk_gap_ticks
    p[mk.P_TAKEBACK_INF] = fm.informed_takeback
    p[mk.P_TAKEBACK_FOL] = fm.follower_takeback
    p[mk.P_HAWKES_N] = fl.hawkes_branching
    p[mk.P_HAWKES_BETA] = fl.hawkes_decay
    p[mk.P_HAWKES_N_SLOW] = fl.hawkes_slow_branching
    p[mk.P_HAWKES_BETA_SLOW] = fl.hawkes_slow_decay
    p[mk.P_P_INFORMED] = fl.p_informed
    p[mk.P_P_META] = fl.p_metaorder
    p[mk.P_META_TAIL] = fl.metaorder_tail
    p[mk.P_P_FOLLOW] = fl.p_follow
    p[mk.P_P_WALK] = fl.p_walk
    p[mk.P_P_CLEAR] = fl.p_clear
    p[mk.P_P_REQUOTE] = fl.p_requote
    p[mk.P_P_REFILL] = fl.p_refill
    p[mk.P_RQ_DIST_MIN] = fl.requote_distance_min
    p[mk.P_RQ_DIST_P] = fl.requote_distance_p
    p[mk.P_STALE_RATE] = fl.cancel_stale_rate
    p[mk.P_STALE_MARGIN] = fl.cancel_stale_margin
    p[mk.P_WALK_BEYOND] = 1.0 if fl.walk_beyond_best else 0.0
    return p


def _regime_table(cfg: MarketConfig) -> np.ndarray:
    rc = cfg.regimes
    return np.ascontiguousarray(
        np.stack(
            [
                rc.volatility,
                rc.limit_rate_mult,
                rc.market_rate_mult,
                rc.cancel_rate_mult,
                np.asarray(rc.volatility) * np.asarray(rc.diffusion_scale or (1.0,) * len(rc.names)),
            ],
            axis=1,
        ),
        dtype=np.float64,
    )


class MarketSimulator:
    """One market (order book or stylized) with ``n_agents`` market makers quoting into it."""

    def __init__(
        self,
        config: MarketConfig | None = None,
        n_agents: int = 1,
        seed: int | None = None,
        *,
        quote_tape: bool = False,
    ):
        """``quote_tape``: record, in each step, the best quotes after every event that changed them
        (:meth:`step_quotes`; for statistics measured at event resolution, as on a LOBSTER day). Off, the market
        is the same bit for bit and the step skips the bookkeeping."""
        if config is None:
            config = MarketConfig()
        if not isinstance(config, MarketConfig):
            raise TypeError(f"MarketSimulator needs a MarketConfig, got {type(config).__name__}")
        if not isinstance(n_agents, int) or n_agents < 0:
            raise ValueError(f"n_agents must be a non-negative integer, got {n_agents!r}")
        self.config = config
        self.n_agents = n_agents
        self._quote_tape = bool(quote_tape)
        self.state: mk.MarketState | None = None
        self._seed = seed
        self.reset(seed)

    # ------------------------------------------------------------------------------------------------ set-up
    def _new_state(self) -> mk.MarketState:
        cfg = self.config
        p0 = cfg.initial_price / cfg.tick_size
        book = bk.new_book_state(cfg.book_capacity, cfg.book_window, round(p0))
        n_acct = self.n_agents + 2
        quotes = np.zeros((max(self.n_agents, 1), 2, 4), np.int64)
        quotes[:, :, mk.Q_ID] = NO_ORDER
        f = np.zeros(mk.F_SIZE, np.float64)
        f[mk.F_FAIR] = p0
        f[mk.F_LAST_MID] = p0
        i = np.zeros(mk.I_SIZE, np.int64)
        i[mk.I_NEXT_BG_ID] = 1
        i[mk.I_N_AGENTS] = self.n_agents
        nev = cfg.max_events_per_step
        pending = np.zeros(MAX_PENDING, EVENT_DTYPE)
        return mk.MarketState(
            book=book,
            f=f,
            i=i,
            p=_params(cfg),
            reg=_regime_table(cfg),
            q=np.ascontiguousarray(cfg.regimes.generator()),
            imp=cfg.impact.to_params(),
            bg_budget=np.zeros(cfg.book_capacity, np.float64),
            bg_acc=np.zeros(cfg.book_capacity, np.float64),
            cash=np.zeros(n_acct, np.float64),
            inv=np.zeros(n_acct, np.int64),
            fees=np.zeros(n_acct, np.float64),
            impact=np.zeros(n_acct, np.float64),
            pending=pending,
            quotes=quotes,
            out=np.zeros((max(self.n_agents, 1), mk.O_SIZE), np.float64),
            ev=np.zeros(nev, EVENT_DTYPE),
            kind=np.zeros(nev, np.int8),
            bg_draws=np.zeros((nev, mk.N_DRAWS), np.float64),
            order=np.zeros(nev, np.int64),
            fills=np.zeros(cfg.max_fills_per_step, FILL_DTYPE),
            rbuf=np.zeros((mk.N_STREAMS, self._rbuf_size), np.float64),
            rpos=np.full(mk.N_STREAMS, self._rbuf_size, np.int64),
            info=np.zeros((mk.INFO_CAP, 3), np.float64),
            meta=np.zeros((cfg.flow.metaorder_count, 2), np.float64),
            tape=np.zeros((nev if self._quote_tape else 0, mk.TAPE_SIZE), np.float64),
        )

    @property
    def _rbuf_size(self) -> int:
        # a step draws at most ~8 uniforms per event; the low-water mark keeps a full step's worth in the buffer
        return 16 * self.config.max_events_per_step + 8192

    @property
    def random_low_water(self) -> int:
        """Unread random numbers each stream needs before a step: a kernel that steps the market itself (e.g.
        ``mm_nb.mm_step_nb``) checks it and asks for :meth:`refill_random` below it."""
        return 8 * self.config.max_events_per_step + 4096

    def refill_random(self) -> None:
        """Top up each stream's uniform buffer from its Generator when it runs low. Deterministic: it depends
        only on how many numbers the stream has used, so exogenous streams stay aligned across strategies."""
        ms = self.state
        size = ms.rbuf.shape[1]
        low = self.random_low_water
        for s, gen in enumerate(self._gens):
            k = int(ms.rpos[s])
            if k > size - low:
                rem = size - k
                if rem > 0:
                    ms.rbuf[s, :rem] = ms.rbuf[s, k:]
                ms.rbuf[s, max(rem, 0) :] = gen.random(size - max(rem, 0))
                ms.rpos[s] = 0

    def reset(self, seed: int | None = None) -> None:
        """Fresh market: new generators from ``seed``, seeded book, regime drawn (or pinned), warm-up run."""
        cfg = self.config
        ss = np.random.SeedSequence(seed)
        s_flow, s_px, s_agent = ss.spawn(3)
        self.rng_flow = np.random.Generator(np.random.PCG64(s_flow))
        self.rng_px = np.random.Generator(np.random.PCG64(s_px))
        self.rng_agent = np.random.Generator(np.random.PCG64(s_agent))
        self._gens = (
            self.rng_flow,
            self.rng_px,
            self.rng_agent,
        )  # order = market_nb.S_FLOW, S_PRICE, S_AGENT
        self.state = ms = self._new_state()
        rc = cfg.regimes
        if rc.initial is not None:
            ms.i[mk.I_REGIME] = rc.index(rc.initial)
        else:
            ms.i[mk.I_REGIME] = int(self.rng_px.choice(len(rc.names), p=rc.stationary()))
        ms.f[mk.F_SIGMA] = ms.reg[ms.i[mk.I_REGIME], mk.R_VOL]
        if cfg.model == "lob":
            self._seed_book()
            if cfg.flow.p_metaorder > 0:
                u = self.rng_flow.random((len(ms.meta), 2))
                ms.meta[:, mk.META_SIGN] = np.where(u[:, 0] < 0.5, 1.0, -1.0)
                ms.meta[:, mk.META_LEFT] = np.floor((1.0 - u[:, 1]) ** (-1.0 / cfg.flow.metaorder_tail))
            self.run_background(int(math.ceil(cfg.warmup_seconds)), 1.0)
            # the episode starts now: clock, accounts and counters back to zero (the book is kept); what is
            # timed on the clock (queued latent increments, the transient impact) moves with it
            t_end = ms.f[mk.F_TIME]
            ms.info[:, mk.INFO_T] -= t_end
            ms.f[mk.F_TRANS_T] -= t_end
            ms.f[mk.F_TIME] = 0.0
            ms.cash[:] = 0.0
            ms.inv[:] = 0
            ms.fees[:] = 0.0
            ms.impact[:] = 0.0
            ms.i[mk.I_DROPPED] = 0
            ms.i[mk.I_REJECTED] = 0
            ms.f[mk.F_TEMP] = 0.0
            mid = bk.mid_ticks_nb(ms.book)
            if not np.isnan(mid):
                ms.f[mk.F_LAST_MID] = mid

    def _seed_book(self) -> None:
        """Initial depth: ``initial_depth_levels`` levels per side one tick apart around the fair price."""
        cfg = self.config
        ms = self.state
        p0 = ms.f[mk.F_FAIR]
        n = cfg.initial_depth_levels
        if n == 0:
            return
        ev = np.zeros(2 * n, EVENT_DTYPE)
        for k in range(n):
            for j, side in enumerate((BUY, SELL)):
                e = ev[2 * k + j]
                e["type"] = EV_LIMIT
                e["side"] = side
                e["price"] = math.floor(p0) - k if side == BUY else math.floor(p0) + 1 + k
                e["qty"] = cfg.initial_depth_lots
                e["owner"] = 0
                e["order_id"] = ms.i[mk.I_NEXT_BG_ID]
                ms.i[mk.I_NEXT_BG_ID] += 1
        res = np.zeros(len(ev), RESULT_DTYPE)
        fills = np.zeros(4 * n + 4, FILL_DTYPE)
        bk.process_events_nb(ms.book, ev, fills, 0, res)
        budgets = self.rng_flow.exponential(1.0, size=len(ev))
        for e, b in zip(ev, budgets, strict=True):
            slot = int(bk.hm_find_nb(ms.book, int(e["order_id"])))
            if slot >= 0:
                ms.bg_budget[slot] = b
                ms.i[mk.I_HWM] = max(int(ms.i[mk.I_HWM]), slot + 1)

    # ------------------------------------------------------------------------------------------------ stepping
    def _step(self, dt: float) -> int:
        self.refill_random()
        if self.config.model == "lob":
            status = mk.lob_step_nb(self.state, dt)
        else:
            status = mk.stylized_step_nb(self.state, dt)
        if status != 0:
            raise MarketError(f"market step at t={self.time:.3f}s failed: {status_text(status)}")
        return status

    def step(self, dt: float) -> StepResult:
        """Advance the market by ``dt`` seconds (one compiled call)."""
        if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"step dt must be a positive finite number of seconds, got {dt!r}")
        self._step(float(dt))
        ms = self.state
        nf = int(ms.i[mk.I_N_FILLS])
        return StepResult(
            fills=ms.fills[:nf].copy(),
            agent_out=ms.out[: self.n_agents].copy(),
            n_events=int(ms.i[mk.I_N_EVENTS]),
            n_background_events=int(ms.i[mk.I_N_BG_EVENTS]),
        )

    def run_background(self, n_steps: int, dt: float, record: bool = False) -> np.ndarray:
        """Run ``n_steps`` steps of ``dt`` seconds in as few compiled calls as possible (agents' resting quotes
        stay in the book, nobody re-quotes). With ``record``, returns float64[n_steps, REC_SIZE] rows (see
        ``market_nb.REC_*``: time, mid, best bid/ask, fair price in ticks, regime, background events, aggressive
        volume per side, resting orders, top-5 depth per side in lots)."""
        if self.config.model != "lob":
            for _ in range(n_steps):
                self._step(dt)
            return np.zeros((0, mk.REC_SIZE))
        rec = np.full((n_steps if record else 0, mk.REC_SIZE), np.nan)
        dpx = np.zeros(mk.REC_DEPTH_N, np.int64)
        dq = np.zeros(mk.REC_DEPTH_N, np.int64)
        done = 0
        while done < n_steps:
            self.refill_random()
            k, status = mk.lob_run_nb(
                self.state, float(dt), n_steps - done, self.random_low_water, rec[done:], dpx, dq
            )
            done += int(k)
            if status != 0:
                raise MarketError(f"market run at t={self.time:.3f}s failed: {status_text(status)}")
        return rec

    def set_quote(
        self, agent: int, bid: tuple[int, int] | None = None, ask: tuple[int, int] | None = None
    ) -> None:
        """Agent ``agent`` (0-based) quotes ``(price_ticks, lots)`` per side; ``None`` or 0 lots = no quote.

        Unchanged quotes keep their order and queue place; changed ones are cancelled and replaced, each
        message reaching the book after its own latency (order-book market) or at once (stylized market).
        """
        if not 0 <= agent < self.n_agents:
            raise ValueError(f"agent must be in [0, {self.n_agents}), got {agent}")
        ms = self.state
        now = float(ms.f[mk.F_TIME])
        for side_idx, q in ((0, bid), (1, ask)):
            price, qty = (0, 0) if q is None else (int(q[0]), int(q[1]))
            if self.config.model == "lob":
                self.refill_random()
                ok = mk.set_quote_nb(ms, agent, side_idx, price, qty, now)
            else:
                ok = mk.set_quote_direct_nb(ms, agent, side_idx, price, qty)
            if not ok:
                raise MarketError(f"agent {agent}: {status_text(STATUS_PENDING_FULL)}")

    # ------------------------------------------------------------------------------------------------ queries
    @property
    def time(self) -> float:
        return float(self.state.f[mk.F_TIME])

    @property
    def regime(self) -> int:
        return int(self.state.i[mk.I_REGIME])

    @property
    def regime_name(self) -> str:
        return self.config.regimes.names[self.regime]

    @property
    def fair_price(self) -> float:
        """Latent fair price, money."""
        return float(self.state.f[mk.F_FAIR]) * self.config.tick_size

    @property
    def sigma(self) -> float:
        """The current regime's relative volatility per sqrt-second."""
        return float(self.state.f[mk.F_SIGMA])

    def mid_ticks(self) -> float:
        """Mid in ticks (the last two-sided mid when a side is empty; the stylized market's mid)."""
        if self.config.model == "lob":
            m = bk.mid_ticks_nb(self.state.book)
            if not np.isnan(m):
                return float(m)
        return float(self.state.f[mk.F_LAST_MID])

    @property
    def mid(self) -> float:
        return self.mid_ticks() * self.config.tick_size

    def best_ticks(self) -> tuple[int | None, int | None]:
        if self.config.model != "lob":
            return None, None
        bb, ba = int(self.state.book.hdr[bk.H_BEST_BID]), int(self.state.book.hdr[bk.H_BEST_ASK])
        return (None if bb == NO_PRICE else bb), (None if ba == NO_PRICE else ba)

    def imbalance(self, levels: int = 5) -> float:
        if self.config.model != "lob":
            return 0.0
        return float(bk.imbalance_nb(self.state.book, levels))

    def book(self) -> LimitOrderBook:
        """A LimitOrderBook facade over the live book (queries, ``check()``); shares the arrays."""
        return LimitOrderBook.from_state(self.state.book, self.config.tick_size, self.config.lot_size)

    def cash(self, agent: int) -> float:
        return float(self.state.cash[agent + 1])

    def inventory_lots(self, agent: int) -> int:
        return int(self.state.inv[agent + 1])

    def inventory(self, agent: int) -> float:
        """Signed shares held by the agent."""
        return self.inventory_lots(agent) * self.config.lot_size

    def resting(self, agent: int, side_idx: int) -> tuple[int, int, int]:
        """(lots resting, lots ahead, orders ahead) of the agent's working order on a side (0 bid, 1 ask)."""
        if self.config.model != "lob":
            q = self.state.quotes[agent, side_idx]
            return (int(q[mk.Q_QTY]), 0, 0) if q[mk.Q_ID] != NO_ORDER else (0, -1, -1)
        r = mk.agent_resting_nb(self.state, agent, side_idx)
        return int(r[0]), int(r[1]), int(r[2])

    def level_lots(self, side: int, price_ticks: int) -> int:
        """Total lots resting at a price on a side (BUY/SELL)."""
        if self.config.model != "lob":
            return 0
        return int(bk.level_qty_nb(self.state.book, side, price_ticks))

    def liquidation_cost(self, agent: int) -> float:
        """Cost (money, >= 0) of liquidating the agent's inventory now, from the mid: the agent impact model's
        (``impact.model``) or, without one, walking the book's other orders (``accounts_nb.liquidation_cost_any_nb``)."""
        q = self.inventory(agent)
        if q == 0:
            return 0.0
        ms = self.state
        return float(
            liquidation_cost_any_nb(ms.book, ms.p, ms.imp, agent, float(q), self.mid, max(self.sigma, 0.0))
        )

    def step_fills(self) -> np.ndarray:
        """The last step's fills (FILL_DTYPE records, ticks and lots): a read-only view, valid until the next
        step (:meth:`step` returns a copy)."""
        v = self.state.fills[: int(self.state.i[mk.I_N_FILLS])]
        v.flags.writeable = False
        return v

    @property
    def quote_tape(self) -> bool:
        """Whether each step records its quote tape (:meth:`step_quotes`)."""
        return self._quote_tape

    def step_quotes(self) -> np.ndarray:
        """The last step's quote tape (a copy): one row per event that changed the touch, in event order, with
        columns ``TAPE_TIME`` (s), ``TAPE_BID``, ``TAPE_ASK`` (ticks; NaN for an empty side), ``TAPE_BID_LOTS``,
        ``TAPE_ASK_LOTS`` of :mod:`almm_rllib.core.market_state_nb`. Needs ``quote_tape=True``."""
        if not self._quote_tape:
            raise RuntimeError("step_quotes needs a MarketSimulator built with quote_tape=True")
        return self.state.tape[: int(self.state.i[mk.I_TAPE_N])].copy()

    def background_counts(self) -> dict[str, int]:
        """Cumulative background arrivals by kind since the reset, warm-up included: ``limit_buy``,
        ``limit_sell``, ``market`` (exogenous: the same for every strategy on a seed) and ``cancel``."""
        i = self.state.i
        return {name: int(i[k]) for name, k in _BACKGROUND_COUNTERS.items()}

    def totals(self) -> tuple[float, int]:
        """(sum of cash over every account, sum of inventory over every account): conserved quantities."""
        return float(self.state.cash.sum()), int(self.state.inv.sum())

    def set_regime_config(self, config: MarketConfig) -> None:
        """Reconfigure the running market's regimes (e.g. for a curriculum phase) without rebuilding it.

        ``config`` may differ from the current configuration only in ``regimes`` (same number of regimes) and in
        the stylized market's ``sigma``; anything else needs a new simulator and is refused with a ValueError
        naming the field. The new chain, volatilities and rate multipliers apply from the next step; a pinned
        regime (``switching=False``) is entered now. A later :meth:`reset` keeps the new configuration.
        """
        if not isinstance(config, MarketConfig):
            raise TypeError(f"need a MarketConfig, got {type(config).__name__}")
        old = self.config
        n_old, n_new = len(old.regimes.names), len(config.regimes.names)
        if n_new != n_old:
            raise ValueError(
                f"set_regime_config cannot change the number of regimes ({n_old} -> {n_new}); "
                "build a new MarketSimulator"
            )
        same = config.replace(regimes=old.regimes, stylized=config.stylized.replace(sigma=old.stylized.sigma))
        if same != old:
            diff = [f for f in MarketConfig.field_names() if getattr(same, f) != getattr(old, f)]
            raise ValueError(
                f"set_regime_config changes only the regimes and the stylized sigma, not {', '.join(diff)}; "
                "build a new MarketSimulator"
            )
        self.config = config
        ms = self.state
        ms.p[:] = _params(config)
        ms.reg[:] = _regime_table(config)
        ms.q[:] = config.regimes.generator()
        rc = config.regimes
        if not rc.switching:
            ms.i[mk.I_REGIME] = rc.index(rc.initial)
        ms.f[mk.F_SIGMA] = ms.reg[ms.i[mk.I_REGIME], mk.R_VOL]


__all__ = ["MAX_PENDING", "MarketError", "MarketSimulator", "StepResult", "status_text"]
