"""The market-making environment on a replayed trading day (historical backtest).

``market: {model: replay, data: DIR, ticker: AMZN, window: [start_s, end_s], episode_seconds: N}`` in the env
config puts the agent inside a real day: the day's messages replay through the compiled book
(``core.replay_nb``) and the agent's quotes join the real queues (exact FIFO where the file names the orders
ahead, hftbacktest's power probabilistic queue model where it cannot tell; see ``core.replay_nb``).
Observation, action and reward are those of the simulated market (``env.core``), with these differences:

* **the replay does not react to the agent**: every real message is applied as recorded, whatever the
  agent did; its fills take nothing away from the real book and its aggressive orders move no price. The
  P&L is therefore that of a small trader whose orders change nobody's behaviour;
* no fees and no impact model (aggressive quotes pay the real prices they take; ``impact_cost`` is 0; the
  ``liquidate`` terminal walks the real book);
* one agent only; curriculum phases do not change a recorded day (the phase is only recorded);
* observation 3 divides by ``market.vol_ref``, a fixed number (not estimated from the day: no look-ahead).

Episodes start at seeded random times inside ``window`` (seconds after midnight, as in the file): the same
seed gives the same start, the same messages and, for the same actions, the same episode. At a decision time
``t`` the agent has seen the messages stamped up to ``t`` only; its quotes reach the book ``latency``
seconds later.

The env reads the day from a *prepared stream* (``market.stream``, a ``.npz`` of replay operations). The
env config resolver of the evaluation layer (``almm_rllib.evaluation.replay.resolve_env_config``, used by
``almm backtest``) reads the LOBSTER files named by ``data`` and ``ticker``, checks them and fills it in.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from almm_rllib.core import book_nb as bk
from almm_rllib.core import mm_nb as mm
from almm_rllib.core import replay_mm_nb as rmm
from almm_rllib.core import replay_nb as rp
from almm_rllib.core.agent_schema import OBS_DIM, OBS_QUEUE_NONE, STEP_NON_FINITE, check_phase
from almm_rllib.core.config import ConfigError
from almm_rllib.core.market_state_nb import I_N_FILLS
from almm_rllib.core.schema import BUY, SELL

from .config import EnvConfig
from .core import MarketMakingCore, kernel_params
from .replay_config import ReplayMarketConfig

__all__ = ["ReplayMarketConfig", "ReplayMarketMakingCore", "make_core", "replay_assumptions", "replay_window"]

_DEPTH = 256  #: levels walked for the liquidation cost
_SNAP_EVERY = 8192  #: operations between book snapshots (resets start from the nearest one)


@dataclasses.dataclass(frozen=True)
class PreparedStream:
    """A prepared replay stream loaded from ``market.stream``."""

    ops: np.ndarray
    msg_time: np.ndarray
    capacity: int
    window: int
    centre: int
    source: str
    ticker: str | None
    date: str | None


def load_prepared_stream(path: str) -> PreparedStream:
    """Read a prepared stream file (written by ``almm_rllib.data.lobster.stream``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            ops = z["ops"]
            msg_time = z["msg_time"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError("market.stream", f"cannot read the prepared replay stream {path}: {exc}") from None
    if ops.dtype != rp.OP_DTYPE:
        raise ConfigError("market.stream", f"{path} holds operations of another layout; prepare it again")
    return PreparedStream(
        ops=ops,
        msg_time=msg_time,
        capacity=int(meta["capacity"]),
        window=int(meta["window"]),
        centre=int(meta["centre"]),
        source=str(meta["source"]),
        ticker=meta.get("ticker"),
        date=meta.get("date"),
    )


def replay_window(cfg: EnvConfig, msg_time: np.ndarray, source: str) -> tuple[float, float]:
    """The episode window ``(start, end)`` of a replay env config: ``market.window`` (default: the whole file),
    checked against the file's message times and the episode length; a ConfigError names the file."""
    t_first, t_last = float(msg_time[0]), float(msg_time[-1])
    w = cfg.market.window
    lo, hi = (float(w[0]), float(w[1])) if w is not None else (t_first, t_last)
    if lo < t_first or hi > t_last:
        raise ConfigError(
            "market.window",
            f"[{lo}, {hi}] lies outside {source} (messages from {t_first:.3f} to {t_last:.3f} s after midnight)",
        )
    if hi - lo < cfg.n_steps * cfg.dt:
        raise ConfigError(
            "market.window", f"[{lo}, {hi}] is shorter than one episode ({cfg.episode_seconds} s)"
        )
    return lo, hi


def replay_assumptions(mc: ReplayMarketConfig) -> str:
    """What a result on the replay market assumes, in words, for reports (``almm backtest``, ``almm
    sim-to-real``): the replay's lack of reaction, the queue model and what both mean for the P&L."""
    return (
        "Replay market (a recorded trading day). No reaction: the replay does not react to the agent; the "
        "recorded messages are applied as they happened whatever it did: no market impact on later messages, "
        "no trader reacting to its quotes or trades, its fills remove nothing from the real book. "
        "Queue model: where the file names the orders ahead of the agent (LOBSTER order ids), its place is "
        "exact FIFO (executions and cancellations ahead move it forward, those behind do not); where the file "
        "cannot tell (volume that reached the visible levels from deeper ones or was re-synchronised from the "
        "orderbook file, hidden executions), hftbacktest's power probabilistic queue model with "
        f"n = {mc.queue_power:g} splits a decrease of the level between the volume ahead of the agent and "
        "behind it, volume revealed without its arrival is put ahead of it, and hidden executions fill it "
        "only beyond the displayed quantity ahead. Real shares the agent took (with an aggressive order, or "
        "from a real order arriving through its price) are not available to it again, nor counted ahead of "
        "it, until the real messages deplete them (shadow consumption). "
        "P&L: marked to the real mid; it is the P&L of a trader too small to move anyone: no adverse "
        "reaction to its quotes and no price impact of its trades beyond the shown depth it takes, so it "
        "flatters strategies that trade size or trade often; its passive fills where the file cannot tell "
        "the queue place are model estimates; aggressive orders pay the shown real prices; no fees; "
        f"orders and cancels reach the book {mc.latency:g} s after the decision."
    )


class _ReplayView:
    """What the shared env code reads from ``core.sim`` (fills, clock, regime labels)."""

    regime = 0
    regime_name = "replay"

    def __init__(self, core: ReplayMarketMakingCore) -> None:
        self._core = core
        self.state = core.view

    @property
    def time(self) -> float:
        c = self._core
        return float(c.rs[rmm.RS_NOW] - c.episode_start)

    def liquidation_cost(self, agent: int) -> float:
        return self._core.liquidation_cost()

    def background_counts(self) -> dict[str, int]:
        """The day's messages replayed since the episode started, by kind, as the simulator counts its flow:
        ``limit_buy`` / ``limit_sell`` (real orders resting), ``market`` (executions, hidden ones included) and
        ``cancel`` (partial and full cancellations); synthetic re-synchronisations are not counted."""
        c = self._core
        ops = c.ops[c.episode_cursor : int(c.ag.hdr[rp.RH_CURSOR])]
        kind, side = ops["kind"], ops["side"]
        real = ops["order_id"] < rp.SYNTHETIC_ID_BASE
        return {
            "limit_buy": int(((kind == rp.RP_ADD) & (side == BUY) & real).sum()),
            "limit_sell": int(((kind == rp.RP_ADD) & (side == SELL) & real).sum()),
            "market": int(((kind == rp.RP_EXEC) | (kind == rp.RP_HIDDEN)).sum()),
            "cancel": int((kind == rp.RP_CANCEL).sum()),
        }

    def step_fills(self) -> np.ndarray:
        """The agent's fills of the last step (``FILL_DTYPE``; quantities in shares), ``time`` in seconds since
        the episode start like the env's ``info["time"]`` (the compiled step keeps the day's clock)."""
        v = self.state
        out = v.fills[: int(v.i[I_N_FILLS])].copy()
        out["time"] -= self._core.episode_start
        return out

    def best_ticks(self) -> tuple[int | None, int | None]:
        """(best bid, best ask) of the real book in ticks, None for an empty side."""
        hdr = self._core.book.hdr
        bb, ba = int(hdr[bk.H_BEST_BID]), int(hdr[bk.H_BEST_ASK])
        return (None if bb == rp.NO_PRICE else bb), (None if ba == rp.NO_PRICE else ba)

    def inventory(self, agent: int) -> float:
        """Shares held."""
        return float(self._core.rs[rmm.RS_INV])


class ReplayMarketMakingCore(MarketMakingCore):
    """:class:`~almm_rllib.env.core.MarketMakingCore` on a replayed day (see the module docstring)."""

    @property
    def t(self) -> int:
        """Steps done in the episode (the replay step keeps its own counter, not the simulator kernel's)."""
        return self._steps_done

    @t.setter
    def t(self, value: int) -> None:
        self._steps_done = int(value)

    def _build_market(self) -> None:
        cfg = self.config
        mc = cfg.market
        if not isinstance(mc, ReplayMarketConfig):
            raise TypeError("ReplayMarketMakingCore needs market.model = replay")
        if cfg.n_agents != 1:
            raise ConfigError("n_agents", f"the replay market runs one agent, got {cfg.n_agents}")
        if mc.stream is None:
            raise ConfigError(
                "market.stream",
                "the replay market needs its prepared stream: build the env config with "
                "almm_rllib.evaluation.replay.resolve_env_config (almm backtest does), which reads "
                f"market.data ({mc.data!r}) and market.ticker ({mc.ticker!r})",
            )
        self.market_config = mc
        self._applied_phase = self._phase
        self._stylized = False
        self.stream = s = load_prepared_stream(mc.stream)
        self.window = replay_window(cfg, s.msg_time, s.source)
        self.ops = s.ops
        self._op_time = s.ops["time"]
        self.ag = rp.new_replay_agents(queue_power=mc.queue_power)
        self.view = rmm.new_fill_view(self.ag.fills.shape[0])
        self.rs = np.zeros(rmm.RS_SIZE, np.float64)
        self.book = bk.new_book_state(s.capacity, s.window, s.centre)
        self._snaps: list[bk.BookState] = []
        self.episode_cursor = 0
        self.episode_start = self.window[0]
        self.feat = np.zeros((1, mm.FT_SIZE), np.float64)
        self.obs = np.zeros((1, OBS_DIM), np.float32)
        self._act = np.zeros((1, 4), np.float64)
        self.vol_ref = mc.vol_ref
        # every quantity inside the replay step is in shares (see core.replay_mm_nb); the env liquidates
        # against the real book (liquidation_cost), not in the kernel
        self.mp = kernel_params(
            cfg,
            self.act_low,
            self.act_high,
            lot=1.0,
            tick=mc.tick_size,
            inventory_limit=cfg.inventory_limit_lots * mc.lot_size,
            vol_ref=self.vol_ref,
            liquidate=False,
        )
        self.es = np.zeros(mm.ES_RING + cfg.vol_window + 1, np.float64)
        self.acc = np.zeros((1, mm.ACC_SIZE + 3 * mm.as_ring_size(cfg.adverse_horizon_s, cfg.dt)), np.float64)
        self.sim = _ReplayView(self)

    def episode_window(self, seed: int | None) -> tuple[float, float]:
        """(start, end) in seconds after midnight of the episode that ``reset(seed)`` runs."""
        lo, hi = self.window
        span = hi - lo - self.config.n_steps * self.config.dt
        start = lo + float(np.random.default_rng(seed).uniform(0.0, span)) if span > 0 else lo
        return start, start + self.config.n_steps * self.config.dt

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        """New episode starting at a seeded random time inside the window; the book is the real book then."""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
        cfg = self.config
        mc = self.market_config
        self._episode += 1
        self.seed_used = seed
        start, _ = self.episode_window(seed)
        self.episode_start = start
        s = self.stream
        n0 = int(np.searchsorted(self._op_time, start, side="right"))
        self._restore(n0)
        status = rp.replay_seek_nb(self.book, self.ag, self.ops, n0)
        self._check(status)
        self.episode_cursor = n0
        self.rs[:] = 0.0
        self.rs[rmm.RS_NOW] = start
        self.rs[rmm.RS_LATENCY] = mc.latency
        self.rs[rmm.RS_NEXT_ID] = 1.0
        self.rs[rmm.RS_LOT] = mc.lot_size
        self.rs[rmm.RS_W_ID] = -1.0
        self.rs[rmm.RS_W_ID + 1] = -1.0
        self.view.i[:] = 0
        self.tick = mc.tick_size
        self.lot = 1  # the step's quantities are shares
        self.t = 0
        self._n_steps = cfg.n_steps
        mid = bk.mid_ticks_nb(self.book)
        self.mid0 = float(mid) if not math.isnan(mid) else float(s.centre)
        self.es[:] = 0.0
        self.acc[:] = 0.0
        self.es[mm.ES_MID0] = self.mid0
        self.es[mm.ES_LAST_MID] = self.mid0
        self.es[mm.ES_SIGMA] = self.vol_ref
        obs = np.zeros((1, OBS_DIM), np.float32)
        bb, ba = int(self.book.hdr[bk.H_BEST_BID]), int(self.book.hdr[bk.H_BEST_ASK])
        if bb != rp.NO_PRICE and ba != rp.NO_PRICE:
            obs[0, 1] = (ba - bb) / 10.0
        obs[0, 3] = 1.0
        obs[0, 4] = bk.imbalance_nb(self.book, cfg.imbalance_levels)
        obs[0, 5] = OBS_QUEUE_NONE
        obs[0, 6] = OBS_QUEUE_NONE
        info = {
            "step": 0,
            "time": 0.0,
            "mid": self.mid0 * self.tick,
            "regime": 0,
            "regime_name": "replay",
            "phase": self._phase,
            "seed": seed,
            "episode_start": start,
        }
        return obs, [info]

    def _restore(self, n0: int) -> None:
        """The book after the last snapshot at or before operation ``n0`` (snapshots every ``_SNAP_EVERY``
        operations, taken on first use), agents cleared and the cursor there: a reset costs a copy and a short
        seek instead of replaying the day from its start."""
        rp.reset_replay_agents(self.ag)
        j = n0 // _SNAP_EVERY
        snaps = self._snaps
        while len(snaps) <= j:
            k = len(snaps)
            if k == 0:
                s = self.stream
                snaps.append(bk.new_book_state(s.capacity, s.window, s.centre))
                continue
            st = bk.BookState(*(a.copy() for a in snaps[k - 1]))
            self.ag.hdr[rp.RH_CURSOR] = (k - 1) * _SNAP_EVERY
            self._check(rp.replay_seek_nb(st, self.ag, self.ops, min(k * _SNAP_EVERY, len(self.ops))))
            snaps.append(st)
        for dst, src in zip(self.book, snaps[j], strict=True):
            dst[...] = src
        rp.reset_replay_agents(self.ag)
        self.ag.hdr[rp.RH_CURSOR] = j * _SNAP_EVERY

    def _check(self, status: int) -> None:
        if status == rp.RS_OK:
            return
        i = int(self.ag.hdr[rp.RH_BAD_OP])
        why = rp.STATUS_TEXT.get(int(status), f"status {status}")
        op = self.ops[min(i, len(self.ops) - 1)]
        raise ConfigError(
            "market.stream", f"{self.stream.source}: message {int(op['msg'])} (operation {i}): {why}"
        )

    def _advance(self, actions) -> bool:
        act = self._act
        try:
            act[...] = actions
        except (ValueError, TypeError):
            raise ValueError(
                f"actions must have shape {act.shape} (agents x 4), got {np.shape(actions)}"
            ) from None
        status = rmm.replay_mm_step_nb(
            self.book,
            self.ag,
            self.ops,
            self.view,
            self.rs,
            act,
            self.mp,
            self.es,
            self.feat,
            self.obs,
            self.acc,
        )
        if status == STEP_NON_FINITE:
            self._raise(status, actions)
        if status != 0:
            self._check(status - 100)
        self.t += 1
        if self.t < self._n_steps:
            return False
        if self.config.terminal_inventory == "liquidate":
            f = self.feat
            liq = self.liquidation_cost()
            f[0, mm.FT_LIQ] = liq
            f[0, mm.FT_PNL] -= liq
            f[0, mm.FT_DPNL] -= liq
            f[0, mm.FT_REWARD] -= liq * self.config.reward_scale
            self.obs[0, 7] = np.clip(f[0, mm.FT_DPNL] / self.config.pnl_unit, -10.0, 10.0)
        return True

    def liquidation_cost(self) -> float:
        """Cost (money, >= 0) of trading the inventory away now against the real book, measured from the mid
        (the book is not changed; what the shown depth cannot absorb pays the worst shown price)."""
        q = self.rs[rmm.RS_INV]
        if q == 0:
            return 0.0
        side = BUY if q < 0 else SELL  # the side of the resting orders taken
        px = np.zeros(_DEPTH, np.int64)
        qty = np.zeros(_DEPTH, np.int64)
        k = bk.depth_nb(self.book, side, _DEPTH, px, qty)
        mid = self.feat[0, mm.FT_MID]
        left = abs(q)
        cost = 0.0
        last = mid
        for j in range(k):
            take = min(left, float(qty[j]))
            cost += abs(px[j] - mid) * take
            left -= take
            last = px[j]
            if left <= 0:
                break
        cost += abs(last - mid) * left
        return float(cost * self.tick)

    def set_task(self, phase: str) -> None:
        """Recorded only: a replayed day has no volatility regimes to pin."""
        check_phase(phase, key="set_task phase")
        self._phase = self._applied_phase = phase


def make_core(config: EnvConfig | dict | None) -> MarketMakingCore:
    """The env engine for ``config``: the replay market for ``market.model == "replay"``, else the simulator."""
    if config is None:
        config = EnvConfig()
    elif isinstance(config, dict):
        config = EnvConfig.from_dict(dict(config), source="env_config")
    if isinstance(config, EnvConfig) and isinstance(config.market, ReplayMarketConfig):
        return ReplayMarketMakingCore(config)
    return MarketMakingCore(config)
