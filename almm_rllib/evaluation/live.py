"""One episode driven step by step: what the dashboard's Live Simulation shows while it runs.

:class:`LiveEpisode` runs exactly the episode of :func:`~almm_rllib.evaluation.runner.run_episode` (same env,
same policy, same seed: the same step and fill rows, bit for bit) but one step at a time, so a caller can look
at the market between steps: the L2 depth with the agent's own resting orders, the step log so far, the
reward's components. It owns its env (the runner's env cache is shared by every ``run_episode`` of the
process, and a paused live episode must not be reset by an evaluation run meanwhile).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from almm_rllib.env.config import EnvConfig
from almm_rllib.evaluation.policies import CheckpointPolicy, Policy, PolicySpec, load_policy
from almm_rllib.evaluation.runner import (
    AGENT_ID,
    DEFAULT_PHASE_LABEL,
    EpisodeLog,
    _fill_frame,
    _new_trace,
    _record,
    _step_frame,
    as_env_config,
)
from almm_rllib.evaluation.views import view_from_env
from almm_rllib.results import schema as S

#: The reward's components kept per step beside the step log (``info`` keys, money).
REWARD_COMPONENTS = (
    "dpnl",
    "penalty_inventory",
    "penalty_volatility",
    "penalty_impact",
    "penalty_risk",
    "reward",
)


class LiveEpisode:
    """An episode of the single-agent env advanced by :meth:`step`.

    Args:
        policy: a policy spec string, a parsed :class:`PolicySpec` or a loaded :class:`Policy` (a checkpoint
            policy is stateless and may be shared; a baseline is reset with the seed here).
        env_config: the env config (``info_level`` is forced to ``"full"``, as in the runner).
        seed: the episode's seed.
        strategy_name: the ``strategy`` label of the logs (default: the policy's label).
        run_id: the ``run_id`` column.
    """

    def __init__(
        self,
        policy: PolicySpec | str | Policy,
        env_config: EnvConfig | dict | None,
        seed: int,
        *,
        strategy_name: str | None = None,
        run_id: str = "live",
    ) -> None:
        from almm_rllib.env.gym_env import MarketMakingGymEnv

        cfg = as_env_config(env_config)
        if not isinstance(policy, Policy):
            policy = load_policy(policy, label=strategy_name, env_config=cfg)
        self.config = cfg
        self.policy = policy
        self.env = MarketMakingGymEnv(cfg)
        if isinstance(policy, CheckpointPolicy):
            policy.check_env(self.env)
        self.seed = int(seed)
        self.label = strategy_name or policy.label
        self.key = {
            S.RUN_ID: str(run_id),
            S.STRATEGY: str(self.label),
            S.SEED: self.seed,
            S.AGENT_ID: AGENT_ID,
        }
        self.obs, self.info = self.env.reset(seed=self.seed)
        policy.reset(self.seed)
        n = cfg.n_steps
        self.n_steps = n
        self._trace = _new_trace(n)
        self._components = {c: np.empty(n, np.float64) for c in REWARD_COMPONENTS}
        self._prev_mid = float(self.info["mid"])
        self.phase = self.info.get("phase") or DEFAULT_PHASE_LABEL
        self.k = 0
        self.done = False

    # -------------------------------------------------------------------------------------------- stepping
    @property
    def core(self):
        return self.env.core

    @property
    def time(self) -> float:
        """Simulated seconds since the start of the episode."""
        return float(self.info.get("time", 0.0))

    def step(self, n: int = 1) -> int:
        """Advance up to ``n`` steps (fewer at the end of the episode); returns how many were taken."""
        taken = 0
        policy, core = self.policy, self.env.core
        while taken < n and not self.done:
            k = self.k
            view = view_from_env(core, self.info, self.obs, k) if policy.needs_view else None
            action = policy.act(self.obs, view)
            self.obs, _reward, terminated, truncated, info = self.env.step(action)
            self.done = bool(terminated or truncated)
            _record(self._trace, info, self._prev_mid)
            for c, v in self._components.items():
                v[k] = info[c]
            self._prev_mid = float(info["mid"])
            self.info = info
            self.k = k + 1
            taken += 1
        return taken

    def run_for(self, seconds: float) -> int:
        """Advance by ``seconds`` of simulated time (whole steps, at least one while not done)."""
        return self.step(max(1, int(round(seconds / self.config.dt))))

    # --------------------------------------------------------------------------------------------- reading
    def steps(self) -> pd.DataFrame:
        """The step log so far (pinned ``steps`` columns)."""
        return _step_frame(self._trace, self.key, self.phase)

    def fills(self) -> pd.DataFrame:
        """The fill log so far (pinned ``fills`` columns)."""
        return _fill_frame(self._trace.fill_rows, self.key)

    def series(self, name: str) -> np.ndarray:
        """One per-step column so far, without building a frame (a read-only view, valid until the next
        :meth:`step`): a float column of the step log (``time``, ``mid``, ``bid_price``, ``pnl``, ...) or a
        reward component (:data:`REWARD_COMPONENTS`). What a page redrawn several times a second reads."""
        src = self._components.get(name)
        if src is None:
            src = self._trace.floats.get(name)
        if src is None:
            known = (*self._trace.floats, *REWARD_COMPONENTS)
            raise KeyError(f"no per-step series {name!r}; known: {', '.join(known)}")
        v = src[: self.k].view()
        v.flags.writeable = False
        return v

    def fill_array(self) -> np.ndarray:
        """The fills so far as one float array, a row per fill: ``time``, ``side`` (+1 bought / -1 sold),
        ``price``, ``qty`` (shares), ``is_maker``, ``order_id`` (the columns of :meth:`fills`, unframed)."""
        rows = self._trace.fill_rows
        return np.concatenate([f for _, f, _ in rows]) if rows else np.zeros((0, 6), np.float64)

    def reward_components(self) -> pd.DataFrame:
        """Per step so far: ``time``, the P&L change, the three penalties and the reward (``info`` values)."""
        k = self.k
        return pd.DataFrame(
            {S.TIME: self._trace.floats[S.TIME][:k], **{c: v[:k] for c, v in self._components.items()}}
        )

    def depth(self, levels: int = 10) -> pd.DataFrame:
        """The L2 book now: one row per price level (``side`` +1 bid / -1 ask, ``price``, ``shares``) with the
        agent's own resting shares at that level (``own_shares``; its quote prices are ``info``'s bid and
        ask). Empty for the stylized market, which has no book."""
        core = self.env.core
        if core.market_config.model != "lob":
            return pd.DataFrame({"side": [], "price": [], "shares": [], "own_shares": []})
        book = core.sim.book()
        d = book.get_depth(levels)
        lot = core.market_config.lot_size
        own = {}
        for side_idx, side, key in ((0, 1, "bid_price"), (1, -1, "ask_price")):
            lots = core.sim.resting(0, side_idx)[0]
            price = self.info.get(key)
            if lots > 0 and price is not None and np.isfinite(price):
                own[(side, round(float(price), 10))] = lots * lot
        rows = [
            (side, float(p), float(q), float(own.get((side, round(float(p), 10)), 0.0)))
            for side, name in ((1, "bids"), (-1, "asks"))
            for p, q in d[name]
        ]
        return pd.DataFrame(rows, columns=["side", "price", "shares", "own_shares"])

    def metrics(self) -> dict[str, Any]:
        """Every episode metric of the steps so far (:meth:`EpisodeLog.metrics`); ``{}`` before the first step."""
        if self.k == 0:
            return {}
        return self.log().metrics(self.config)

    def log(self) -> EpisodeLog:
        """The episode so far as the runner's :class:`EpisodeLog` (liquidation cost of the inventory now, or 0
        when the env liquidates at the end)."""
        cfg = self.config
        liq = 0.0 if cfg.terminal_inventory == "liquidate" else float(self.env.core.sim.liquidation_cost(0))
        return EpisodeLog(
            run_id=self.key[S.RUN_ID],
            strategy=self.key[S.STRATEGY],
            seed=self.seed,
            agent_id=AGENT_ID,
            steps=self.steps(),
            fills=self.fills(),
            liquidation_cost=liq,
        )
