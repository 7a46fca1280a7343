"""Configuration of the market-making environment. The curriculum's phases (names, what each does to the
market) live in ``almm_rllib.core.agent_schema`` and are re-exported here."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from almm_rllib.core.agent_schema import PHASES, Phase, phase_market
from almm_rllib.core.config import Config, check
from almm_rllib.core.market_config import MarketConfig

from .replay_config import ReplayMarketConfig

__all__ = ["PHASES", "EnvConfig", "Phase", "phase_market"]


@dataclasses.dataclass(frozen=True)
class EnvConfig(Config):
    """Everything the market-making environment needs. Units: ticks and lots for actions, money for P&L,
    shares for inventory, seconds for time."""

    market: MarketConfig | ReplayMarketConfig = dataclasses.field(default_factory=MarketConfig)
    """The simulated market, or a replayed day (``model: replay``, see ``env.replay``)."""
    n_agents: int = 1
    """Market makers quoting into the same book (ids ``mm_0``, ``mm_1``, ...)."""
    dt: float = 1.0
    """Seconds per environment step."""
    episode_seconds: float = 300.0
    """Episode length in simulated seconds (truncation at the end of time): 300 steps by default."""
    min_offset_ticks: float | None = None
    """Lower bound of the bid/ask offsets from the mid (ticks); negative values let a quote cross the mid and
    trade aggressively (then it pays impact). None: ``-max(2, market.typical_spread_ticks)``, so that a quote
    can reach the far side of the market's typical spread (resolved when the config is built)."""
    max_offset_ticks: float | None = None
    """Upper bound of the offsets (ticks). None: ``max(20, 4 * market.typical_spread_ticks)`` (resolved when
    the config is built): the box follows the market's price scale."""

    max_size_lots: float = 5.0
    """Upper bound of the quoted sizes (lots); sizes round to whole lots, 0 = no quote."""
    inventory_limit_lots: int = 20
    """|inventory| limit in lots: quotes that could breach it are cut (see ``mm_nb``)."""
    lambda_inventory: float = 1e-6
    """Inventory penalty per share squared per step: ``lambda_I * q**2``."""
    lambda_volatility: float = 0.0
    """Volatility penalty: ``lambda_V * sigma**2`` with sigma the realised relative volatility per sqrt-second.
    Policy-independent unless the agent moves volatility itself; 0 by default."""
    lambda_impact: float = 1.0
    """Weight of the impact cost of the agent's aggressive trades (money)."""
    lambda_risk: float = 0.0
    """Risk aversion on the step P&L, per money: the penalty ``lambda_R * dpnl**2`` makes the reward a
    mean-variance objective (expected P&L less ``lambda_R`` times its second moment), which ranks strategies
    like the Sharpe ratio the evaluation reports instead of like the mean P&L alone. 0 by default (the seed's
    reward)."""
    reward_scale: float = 1.0
    """The reward is multiplied by this (PPO's value loss likes returns of order 1-100)."""
    terminal_inventory: Literal["mark_to_mid", "liquidate"] = "mark_to_mid"
    """At the end of an episode the inventory is marked to the mid, or liquidated through the impact model (on the
    order-book market without one, through the book's other orders); the cost is taken from the last step's P&L
    and reward."""
    phase: Phase | None = None
    """Curriculum phase (``low_volatility``, ``medium_volatility``, ``high_volatility``, ``regime_switching``;
    ``agent_schema.phase_market`` says what each does); None uses the market as configured."""
    vol_window: int = 30
    """Steps of mid returns in the realised-volatility estimate."""
    imbalance_levels: int = 5
    """Levels per side in the order-book imbalance feature."""
    pnl_scale: float | None = None
    """Money that maps to 1.0 in the P&L-change feature (None: 10 ticks on one lot)."""
    capital: float = 100_000.0
    """Notional capital for ``max_drawdown_pct``."""
    adverse_horizon_s: float = 10.0
    """H of the adverse-selection metric (seconds after a fill)."""
    seed: int | None = None
    """Base seed used when ``reset`` gets none (each episode then gets its own derived seed)."""
    info_level: Literal["full", "episode"] = "full"
    """``full``: every step's info carries the step record (``core.INFO_KEYS``), for logs and evaluation.
    ``episode``: step infos are empty except the last, which carries ``info["episode"]`` (the episode's
    market-making figures): what training needs, without the cost of stacking ~30 keys per step in RLlib's
    vector envs (the experiment builder selects it unless the YAML sets ``info_level``)."""

    @classmethod
    def _from_dict(cls, data: dict, prefix: str):
        # ``market: {model: replay, ...}`` selects the replay market; its ``episode_seconds`` is the env's
        # (the market is parsed here, by its own class, so that its errors name the key, not the union)
        m = data.get("market")
        if isinstance(m, dict):
            m = dict(m)
            data = dict(data)
            key = f"{prefix}.market" if prefix else "market"
            if m.get("model") == "replay":
                if "episode_seconds" in m:
                    data["episode_seconds"] = m.pop("episode_seconds")
                data["market"] = ReplayMarketConfig._from_dict(m, key)
            else:
                data["market"] = MarketConfig._from_dict(m, key)
        return super()._from_dict(data, prefix)

    def _validate(self) -> None:
        # the action box's defaults follow the market's price scale (see the fields)
        if self.min_offset_ticks is None:
            object.__setattr__(self, "min_offset_ticks", -max(2.0, self.market.typical_spread_ticks))
        if self.max_offset_ticks is None:
            object.__setattr__(self, "max_offset_ticks", max(20.0, 4.0 * self.market.typical_spread_ticks))
        check(1 <= self.n_agents <= 64, "n_agents", f"must be in 1..64, got {self.n_agents}")
        check(math.isfinite(self.dt) and self.dt > 0, "dt", f"must be > 0, got {self.dt}")
        check(
            math.isfinite(self.episode_seconds) and self.episode_seconds >= self.dt,
            "episode_seconds",
            f"must be >= dt ({self.dt}), got {self.episode_seconds}",
        )
        check(
            self.max_offset_ticks > self.min_offset_ticks,
            "max_offset_ticks",
            f"must be > min_offset_ticks ({self.min_offset_ticks}), got {self.max_offset_ticks}",
        )
        check(
            self.max_offset_ticks <= 1000, "max_offset_ticks", f"must be <= 1000, got {self.max_offset_ticks}"
        )
        check(
            self.min_offset_ticks >= -100, "min_offset_ticks", f"must be >= -100, got {self.min_offset_ticks}"
        )
        check(self.max_size_lots >= 1, "max_size_lots", f"must be >= 1, got {self.max_size_lots}")
        check(self.inventory_limit_lots >= 1, "inventory_limit_lots", "must be >= 1")
        for f in ("lambda_inventory", "lambda_volatility", "lambda_impact", "lambda_risk"):
            x = getattr(self, f)
            check(math.isfinite(x) and x >= 0, f, f"must be finite and >= 0, got {x}")
        check(math.isfinite(self.reward_scale) and self.reward_scale > 0, "reward_scale", "must be > 0")
        if self.phase is not None:
            phase_market(self.market, self.phase)  # a phase whose regime the market does not name is refused
        check(self.vol_window >= 2, "vol_window", f"must be >= 2, got {self.vol_window}")
        check(self.imbalance_levels >= 1, "imbalance_levels", "must be >= 1")
        if self.pnl_scale is not None:
            check(self.pnl_scale > 0, "pnl_scale", f"must be > 0, got {self.pnl_scale}")
        check(self.capital > 0, "capital", f"must be > 0, got {self.capital}")
        check(self.adverse_horizon_s >= 0, "adverse_horizon_s", "must be >= 0")
        steps = self.episode_seconds / self.dt
        check(steps <= 1e7, "episode_seconds", f"gives {steps:.0f} steps; at most 1e7")

    @property
    def n_steps(self) -> int:
        return max(1, round(self.episode_seconds / self.dt))

    @property
    def pnl_unit(self) -> float:
        if self.pnl_scale is not None:
            return self.pnl_scale
        return 10 * self.market.tick_size * self.market.lot_size
