"""The market-making environment's engine, shared by the RLlib MultiAgentEnv and the Gymnasium env.

Spaces (per agent)
------------------
Observation, ``Box(-10, 10, (9,), float32)``; every feature is scaled to be of order one (the layout, indices
and scales live in ``almm_rllib.core.agent_schema``; the kernel encodes with them, the views decode with them):

====  ===================  ==========================================================================
idx   feature              definition
====  ===================  ==========================================================================
0     mid                  100 * (mid / mid at reset - 1): relative change in percent
1     spread               (best ask - best bid) in ticks / 10 (0 when a side is empty; 0 stylized)
2     inventory            inventory / inventory limit, in [-1, 1]
3     volatility           realised vol of mid log-returns over ``vol_window`` steps, per sqrt-second,
                           divided by the market's reference vol (the middle regime's; the reference itself
                           until 5 returns exist)
4     imbalance            order-book imbalance over ``imbalance_levels`` levels, in [-1, 1]
5     queue bid            lots ahead of the agent's bid / lots at its level: 0 = front, 1 = back or no bid
6     queue ask            same for the ask
7     P&L change           step P&L / ``pnl_scale`` (default: 10 ticks on one lot), clipped to [-10, 10]
8     fills                the agent's fills in the step / 5, clipped to [0, 10]
====  ===================  ==========================================================================

Action (``agent_schema.ACT_*``), ``Box([min_off, min_off, 0, 0], [max_off, max_off, max_size, max_size], (4,),
float32)``:
bid offset and ask offset in ticks from the mid (bid = floor(mid - off), ask = ceil(mid + off)), bid size
and ask size in lots (rounded; 0 = no quote on that side). Out-of-bounds actions are **clipped** to the box;
non-finite actions raise ``ValueError`` naming the agent and the component. A quote unchanged in price and
size keeps its order and queue place; a changed one is cancelled and replaced, each message subject to latency.
Quotes that could take |inventory| beyond ``inventory_limit_lots`` are cut to the room left.

Reward (per agent, times ``reward_scale``)::

    dP&L - lambda_I * q**2 - lambda_V * sigma**2 - lambda_Q * impact_cost

with P&L marked to the mid (``metrics.md``), q in shares, sigma the realised relative volatility per
sqrt-second (observation 3 before scaling) and impact_cost in money. With
``terminal_inventory="liquidate"`` the last step also pays the impact model's cost of liquidating q.

Episode: ``episode_seconds / dt`` steps; truncated (not terminated) at the end of time.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from almm_rllib.core import agent_schema as A
from almm_rllib.core import mm_nb as mm
from almm_rllib.core.agent_schema import ACT_DIM, OBS_DIM
from almm_rllib.core.market import MarketError, MarketSimulator, status_text
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.core.risk import sharpe_ratio, sortino_ratio
from almm_rllib.core.schema import STATUS_OK

from .config import EnvConfig, phase_market

#: Keys of the per-agent ``info`` dict (the step log is built from them; units: money, shares, seconds).
INFO_KEYS = (
    "step",
    "time",
    "mid",
    "best_bid",
    "best_ask",
    "bid_price",
    "ask_price",
    "cash",
    "inventory",
    "pnl",
    "dpnl",
    "reward",
    "penalty_inventory",
    "penalty_volatility",
    "penalty_impact",
    "penalty_risk",
    "posted_bid_qty",
    "posted_ask_qty",
    "filled_bid_qty",
    "filled_ask_qty",
    "taker_buy_qty",
    "taker_sell_qty",
    "impact_cost",
    "fees",
    "sigma",
    "regime",
    "regime_name",
    "phase",
    "n_fills",
    "fills",
    "liquidation_cost",
)

#: Fields of each entry of ``info["fills"]``, a tuple of the agent's fills in the step, each a tuple: time (s),
#: side (+1 = the agent bought), price (money), qty (shares), is_maker (1/0), order_id (exact: ids < 2**53).
#: Plain tuples, not arrays: Gymnasium's vector envs stack array-valued infos and need fixed shapes.
AGENT_FILL_COLUMNS = ("time", "side", "price", "qty", "is_maker", "order_id")


def episode_seed(env, seed: int | None) -> int:
    """Gymnasium seeding for the env wrappers: ``reset(seed=s)`` runs the market on seed ``s`` and re-seeds the
    env's ``np_random``; a later ``reset()`` draws the next episode's seed from ``np_random``, so the sequence of
    episodes is reproducible. An env never seeded uses ``config.seed`` for its first episode if set."""
    if seed is None and env._np_random is None and env.core.config.seed is not None:
        seed = env.core.config.seed
    if seed is not None:
        env._np_random, env._np_random_seed = gym.utils.seeding.np_random(int(seed))
        return int(seed)
    return int(env.np_random.integers(0, 2**63 - 1))


def kernel_params(
    cfg: EnvConfig,
    act_low: np.ndarray,
    act_high: np.ndarray,
    *,
    lot: float,
    tick: float,
    inventory_limit: float,
    liquidate: bool,
    vol_ref: float = 0.0,
    stylized: bool = False,
    low_water: float = 0.0,
) -> np.ndarray:
    """The compiled step's parameter vector (``mm_nb.MP_*``) for ``cfg``: the one home of its layout for every
    market the env runs (the simulator here, the replay in ``env.replay``). ``lot``/``inventory_limit``: the
    kernel's quantity unit and the limit in it (the simulator: lots; the replay: shares, ``lot`` 1); ``vol_ref``
    may be set later (``MP_VOL_REF``)."""
    mp = np.zeros(mm.MP_SIZE, np.float64)
    mp[mm.MP_DT] = cfg.dt
    mp[mm.MP_INV_LIMIT] = inventory_limit
    mp[mm.MP_IMB_LEVELS] = cfg.imbalance_levels
    mp[mm.MP_STYLIZED] = 1.0 if stylized else 0.0
    mp[mm.MP_LOW_WATER] = low_water
    mp[mm.MP_LAMBDA_INV] = cfg.lambda_inventory
    mp[mm.MP_LAMBDA_VOL] = cfg.lambda_volatility
    mp[mm.MP_LAMBDA_RISK] = cfg.lambda_risk
    mp[mm.MP_LAMBDA_IMP] = cfg.lambda_impact
    mp[mm.MP_REWARD_SCALE] = cfg.reward_scale
    mp[mm.MP_PNL_UNIT] = cfg.pnl_unit
    mp[mm.MP_VOL_REF] = vol_ref
    mp[mm.MP_LOT] = lot
    mp[mm.MP_TICK] = tick
    mp[mm.MP_ACT_LOW : mm.MP_ACT_LOW + ACT_DIM] = act_low
    mp[mm.MP_ACT_HIGH : mm.MP_ACT_HIGH + ACT_DIM] = act_high
    mp[mm.MP_AS_H] = cfg.adverse_horizon_s
    mp[mm.MP_N_STEPS] = cfg.n_steps
    mp[mm.MP_LIQUIDATE] = 1.0 if liquidate else 0.0
    return mp


class MarketMakingCore:
    """Engine with array inputs/outputs; the env classes wrap it in Gymnasium / RLlib conventions."""

    def __init__(self, config: EnvConfig | dict | None = None):
        if config is None:
            config = EnvConfig()
        elif isinstance(config, dict):
            config = EnvConfig.from_dict(dict(config), source="env_config")
        if not isinstance(config, EnvConfig):
            raise TypeError(f"env config must be an EnvConfig or a mapping, got {type(config).__name__}")
        self.config = config
        self._phase = config.phase
        self._full_info = config.info_level == "full"
        self.agent_ids = A.agent_ids(config.n_agents)
        self.act_low, self.act_high = A.action_bounds(
            config.min_offset_ticks, config.max_offset_ticks, config.max_size_lots
        )
        self._episode = 0
        self._build_market()

    # ------------------------------------------------------------------------------------------------ set-up
    def _build_market(self) -> None:
        """The simulator and the kernel's buffers and parameters (once; a phase change reconfigures them)."""
        cfg = self.config
        n = cfg.n_agents
        self.market_config = mc = phase_market(cfg.market, self._phase)
        self._applied_phase = self._phase
        self.sim = MarketSimulator(mc, n_agents=n, seed=0)
        self._stylized = mc.model == "stylized"
        self.tick = mc.tick_size
        self.lot = mc.lot_size
        self.feat = np.zeros((max(n, 1), mm.FT_SIZE), np.float64)
        self.obs = np.zeros((n, OBS_DIM), np.float32)
        self._act = np.zeros((n, ACT_DIM), np.float64)
        self.mp = kernel_params(
            cfg,
            self.act_low,
            self.act_high,
            lot=mc.lot_size,
            tick=mc.tick_size,
            inventory_limit=cfg.inventory_limit_lots,
            stylized=self._stylized,
            low_water=self.sim.random_low_water,
            liquidate=cfg.terminal_inventory == "liquidate",
        )
        self._set_vol_ref(mc)
        self.es = np.zeros(mm.ES_RING + cfg.vol_window + n, np.float64)
        self.acc = np.zeros((n, mm.ACC_SIZE + 3 * mm.as_ring_size(cfg.adverse_horizon_s, cfg.dt)), np.float64)

    def _set_vol_ref(self, mc: MarketConfig) -> None:
        if self._stylized:
            # a relative vol comparable to the order-book market's: sigma (money/sqrt s) / price
            self.vol_ref = mc.stylized.sigma / mc.initial_price
        else:
            vols = mc.regimes.volatility
            self.vol_ref = float(sorted(vols)[len(vols) // 2]) or 1e-4
        self.mp[mm.MP_VOL_REF] = self.vol_ref

    def _apply_phase(self) -> None:
        """Reconfigure the running simulator for the phase set by :meth:`set_task` (no rebuild)."""
        mc = phase_market(self.config.market, self._phase)
        self.sim.set_regime_config(mc)
        self.market_config = mc
        self._set_vol_ref(mc)
        self._applied_phase = self._phase

    def set_task(self, phase: str) -> None:
        """Curriculum hook: switch to ``phase`` (one of ``agent_schema.PHASES``); takes effect at the next reset,
        which reconfigures the running simulator (``MarketSimulator.set_regime_config``) rather than building a
        new one. An unknown phase raises a ConfigError (a ValueError) naming the known ones."""
        A.check_phase(phase, key="set_task phase")
        phase_market(self.config.market, phase)  # refuse a phase this market cannot run now, not at reset
        self._phase = phase

    def get_task(self) -> str | None:
        """The phase in force (the one the current episode runs in, unless set_task was called since)."""
        return self._phase

    # ------------------------------------------------------------------------------------------------ episode
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        """New episode on the market seeded with ``seed`` (None: fresh OS entropy)."""
        if self._phase != self._applied_phase:
            self._apply_phase()
        self._episode += 1
        sim = self.sim
        sim.reset(seed)
        self.seed_used = seed
        self.mid0 = mm.mm_reset_nb(sim.state, self.mp, self.es, self.acc, self.obs)
        infos = [
            {
                "step": 0,
                "time": 0.0,
                "mid": self.mid0 * self.tick,
                "regime": sim.regime,
                "regime_name": sim.regime_name,
                "phase": self._phase,
                "seed": seed,
            }
            for _ in range(self.config.n_agents)
        ]
        return self.obs.copy(), infos

    def _advance(self, actions) -> bool:
        """Run the compiled step on ``actions``; returns whether the episode ended (the kernel charges the
        terminal liquidation on the last step, see ``EnvConfig.terminal_inventory``)."""
        act = self._act
        if self._episode == 0 or self.t >= self.config.n_steps:  # before the first reset, or after the end
            raise gym.error.ResetNeeded(
                "step() after the episode ended (or before reset()): call reset() first"
            )
        # exactly one action per agent: no broadcasting of a scalar or of one row (a single agent may pass [4])
        shape = np.shape(actions)
        if shape != act.shape and not (act.shape[0] == 1 and shape == act.shape[1:]):
            want = f"{act.shape} (agents x {ACT_DIM})" + (f" or ({ACT_DIM},)" if act.shape[0] == 1 else "")
            raise ValueError(f"actions must have shape {want}, got {shape}")
        try:
            act[...] = actions
        except (ValueError, TypeError):
            raise ValueError(f"actions must be numbers of shape {act.shape}, got {actions!r}") from None
        sim = self.sim
        status = mm.mm_step_nb(sim.state, act, self.mp, self.es, self.feat, self.obs, self.acc)
        if status == A.STEP_NEED_RANDOM:
            sim.refill_random()
            act[...] = actions
            status = mm.mm_step_nb(sim.state, act, self.mp, self.es, self.feat, self.obs, self.acc)
        return self._finished(status, actions)

    def _finished(self, status: int, actions) -> bool:
        """After the compiled step: raise on a failed status, else whether the episode ended."""
        if status != STATUS_OK:
            self._raise(status, actions)
        return self.t >= self.config.n_steps

    @property
    def t(self) -> int:
        """Steps done in the episode (the kernel's counter)."""
        return int(self.es[mm.ES_STEP])

    def use_buffers(self, mp, es, feat, obs, acc) -> None:
        """Keep the kernel's arrays in the given ones (rows of a vector env's stacked arrays), current contents
        copied: the vector env steps many markets in one call on the stacked arrays, and this core's queries
        (infos, episode summary) read the same memory."""
        for name, new in (("mp", mp), ("es", es), ("feat", feat), ("obs", obs), ("acc", acc)):
            old = getattr(self, name)
            if new.shape != old.shape or new.dtype != old.dtype:
                raise ValueError(
                    f"use_buffers: {name} must be {old.dtype}{old.shape}, got {new.dtype}{new.shape}"
                )
            new[...] = old
            setattr(self, name, new)

    def _step_infos(self, done: bool) -> list[dict]:
        n = self.config.n_agents
        infos = self._infos(self.feat) if self._full_info else [{} for _ in range(n)]
        if done:
            for i in range(n):
                infos[i]["episode"] = self.episode_summary(i)
                infos[i]["phase"] = self._phase
        return infos

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, list[dict]]:
        """Apply ``actions`` float[n_agents, 4]; returns (obs, rewards, truncated, infos).

        One compiled call does the work (``mm_nb.mm_step_nb``); the returned arrays are fresh copies.
        """
        done = self._advance(actions)
        n = self.config.n_agents
        return self.obs.copy(), self.feat[:n, mm.FT_REWARD].copy(), done, self._step_infos(done)

    def step_one(self, action) -> tuple[np.ndarray, float, bool, dict]:
        """Single-agent fast path of :meth:`step`: (obs[9], reward, truncated, info)."""
        done = self._advance(action)
        return self.obs[0].copy(), float(self.feat[0, mm.FT_REWARD]), done, self.info_one(done)

    def info_one(self, done: bool) -> dict:
        """The single agent's info after a step (empty mid-episode with ``info_level="episode"``)."""
        return self._step_infos(done)[0] if done or self._full_info else {}

    def episode_summary(self, i: int) -> dict:
        """The episode's market-making figures for agent ``i`` (metrics.md definitions, from the running
        accumulators; the step log gives the same numbers through ``almm_rllib.results.metrics``)."""
        c = self.acc[i]
        n = int(c[mm.ACC_STEPS])
        if n == 0:
            return {}
        mean = c[mm.ACC_MEAN_DPNL]
        std = math.sqrt(c[mm.ACC_M2_DPNL] / (n - 1)) if n > 1 else 0.0
        down = math.sqrt(c[mm.ACC_LOSS_STEPS] / n)
        # fills whose t_fill + H is past the last step still wait in the ring: the mid in force then is the
        # last step's (as in results.metrics); the slot of the last step itself is already resolved (zero)
        as_num, as_qty = c[mm.ACC_AS_NUM], c[mm.ACC_AS_QTY]
        mid_last = self.feat[i, mm.FT_MID] * self.tick
        for j in range(mm.ACC_SIZE, c.shape[0], 3):
            as_num += c[j] - c[j + 1] * mid_last
            as_qty += c[j + 2]
        fq = c[mm.ACC_FILL_QTY]
        return {
            "pnl": float(self.feat[i, mm.FT_PNL]),
            "sharpe": sharpe_ratio(mean, std, n, c[mm.ACC_MAX_ABS_PNL]),
            "sortino": sortino_ratio(mean, down, n),
            "max_drawdown": float(c[mm.ACC_MAXDD]),
            "avg_abs_inventory": float(c[mm.ACC_SUM_ABS_INV] / n),
            "final_inventory": float(self.feat[i, mm.FT_INV] * self.lot),
            "fill_ratio": float(c[mm.ACC_FILLED] / c[mm.ACC_POSTED])
            if c[mm.ACC_POSTED] > 0
            else float("nan"),
            "spread_captured": float(c[mm.ACC_SC_NUM] / fq) if fq > 0 else float("nan"),
            "adverse_selection": float(as_num / as_qty) if as_qty > 0 else float("nan"),
            "impact_cost": float(c[mm.ACC_IMPACT]),
            "n_fills": float(c[mm.ACC_N_FILLS]),
            "volume": float(fq),
        }

    def _raise(self, status: int, actions) -> None:
        if status == A.STEP_NON_FINITE:
            k = int(self.feat[0, mm.FT_BAD])
            i, j = divmod(k, ACT_DIM)
            bad = np.asarray(actions, dtype=np.float64).reshape(-1, ACT_DIM)[i, j]
            raise ValueError(
                f"non-finite action for agent {self.agent_ids[i]}: {A.ACT_NAMES[j]} = {bad} "
                f"(the env clips out-of-bounds actions but cannot repair NaN or inf)"
            )
        raise MarketError(f"market step failed at t={self.sim.time:.3f}s: {status_text(status)}")

    def _agent_fills(self, owner: int) -> tuple:
        fl = self.sim.step_fills()
        maker = fl["maker_owner"] == owner
        sel = maker | (fl["taker_owner"] == owner)
        fs = fl[sel]
        is_maker = maker[sel]
        out = np.empty((len(fs), len(AGENT_FILL_COLUMNS)), np.float64)
        # the agent bought if it was the maker of a sell-aggressor fill or the taker of a buy-aggressor fill
        bought = np.where(is_maker, fs["aggressor"] < 0, fs["aggressor"] > 0)
        out[:, 0] = fs["time"]
        out[:, 1] = np.where(bought, 1.0, -1.0)
        out[:, 2] = fs["price"] * self.tick
        out[:, 3] = fs["qty"] * self.lot
        out[:, 4] = is_maker
        out[:, 5] = np.where(is_maker, fs["maker_order_id"], fs["taker_order_id"])
        return tuple(map(tuple, out.tolist()))

    def _infos(self, f: np.ndarray) -> list[dict]:
        sim = self.sim
        tick, lot = self.tick, self.lot
        regime = sim.regime
        regime_name = sim.regime_name
        time = sim.time
        phase = self._phase
        infos = []
        for i in range(self.config.n_agents):
            row = f[i].tolist()
            n_fills = int(row[mm.FT_N_FILLS])
            infos.append(
                dict(
                    zip(
                        INFO_KEYS,
                        (
                            self.t,
                            time,
                            row[mm.FT_MID] * tick,
                            row[mm.FT_BID] * tick,
                            row[mm.FT_ASK] * tick,
                            row[mm.FT_QUOTE_BID] * tick,
                            row[mm.FT_QUOTE_ASK] * tick,
                            row[mm.FT_CASH],
                            row[mm.FT_INV] * lot,
                            row[mm.FT_PNL],
                            row[mm.FT_DPNL],
                            row[mm.FT_REWARD],
                            row[mm.FT_PEN_INV],
                            row[mm.FT_PEN_VOL],
                            row[mm.FT_PEN_IMP],
                            row[mm.FT_PEN_RISK],
                            (row[mm.FT_REST_BID] + row[mm.FT_FILLED_BID]) * lot,
                            (row[mm.FT_REST_ASK] + row[mm.FT_FILLED_ASK]) * lot,
                            row[mm.FT_FILLED_BID] * lot,
                            row[mm.FT_FILLED_ASK] * lot,
                            row[mm.FT_TAKER_BUY] * lot,
                            row[mm.FT_TAKER_SELL] * lot,
                            row[mm.FT_IMPACT],
                            row[mm.FT_FEES],
                            row[mm.FT_SIGMA],
                            regime,
                            regime_name,
                            phase,
                            n_fills,
                            self._agent_fills(i + 1) if n_fills else _NO_FILLS,
                            row[mm.FT_LIQ],
                        ),
                        strict=True,
                    )
                )
            )
        return infos


_NO_FILLS: tuple = ()
