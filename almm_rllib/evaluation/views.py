"""What a baseline strategy sees: :class:`~almm_rllib.baselines.MarketView` built from the env, or rebuilt from
the 9-D observation alone.

Two sources, two levels of knowledge:

* :func:`view_from_env` (the evaluation runner): the env's own state at the decision time (the end of the
  previous step, or the reset), so a baseline sees the true mid, best quotes, inventory, the env's online
  volatility estimate and the time left in the episode.
* :class:`ObservationDecoder` (the baselines-as-RLModules of ``almm_rllib.training.baseline_module``): only the
  observation vector and constants of the env config. What the observation does not hold is approximated, see
  the class docstring.

Units follow :class:`~almm_rllib.baselines.MarketView`: money, shares, seconds, and the volatility in money per
sqrt-second. The env's ``info["sigma"]`` and observation 3 are *relative* (per sqrt-second), so both are
multiplied by the mid here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from almm_rllib.baselines.base import MarketView
from almm_rllib.core.agent_schema import decode_observation
from almm_rllib.env.config import EnvConfig


def view_from_env(core, info: dict, obs: np.ndarray | None = None, step: int = 0) -> MarketView:
    """The view of the first agent (``agent_schema.agent_id(0)``) at the decision time of ``step`` (0 = just after the reset).

    Args:
        core: the env's :class:`~almm_rllib.env.MarketMakingCore` (``env.core``).
        info: the info dict of the previous step, or the reset info (which has no ``sigma``: the env's
            volatility estimate at reset is its reference volatility, the same prior its observation reports).
        obs: the agent's observation, passed through to the view.
        step: the index of the decision within the episode.

    ``time`` is the simulation clock (0 at the start of the episode), ``horizon`` the episode length, ``sigma``
    the env's relative estimate times the mid. Best bid and ask come from the book as it stands (nothing
    happens between two steps); NaN for an empty side and in the stylized market.
    """
    cfg: EnvConfig = core.config
    sim = core.sim
    mc = core.market_config
    tick = mc.tick_size
    mid = float(info["mid"])
    rel_sigma = info.get("sigma")
    if rel_sigma is None:
        rel_sigma = core.vol_ref
    bb, ba = sim.best_ticks()
    return MarketView(
        time=float(info.get("time", 0.0)),
        horizon=float(cfg.episode_seconds),
        mid=mid,
        best_bid=math.nan if bb is None else bb * tick,
        best_ask=math.nan if ba is None else ba * tick,
        tick_size=tick,
        lot_size=float(mc.lot_size),
        inventory=float(sim.inventory(0)),
        inventory_limit=float(cfg.inventory_limit_lots * mc.lot_size),
        sigma=float(rel_sigma) * mid,
        dt=float(cfg.dt),
        obs=obs,
        step=step,
    )


@dataclasses.dataclass(frozen=True)
class ObservationDecoder:
    """Rebuilds a :class:`MarketView` from the 9-D observation and constants of the env config.

    What the observation holds, and how each field of the view is obtained:

    Decoding uses ``agent_schema.decode_observation`` (the scales the kernel encodes with):

    * ``mid = initial_price * (1 + obs[0] / 100)``. Observation 0 is the mid's change in percent since the
      *reset*; the mid at reset is not in the observation, so the market's configured ``initial_price`` stands
      in for it. Exact in the stylized market (its mid starts at ``initial_price``); in the order-book market the
      warm-up moves the mid by a few ticks, a relative error of order 1e-4 on the mid (and on ``sigma`` in money,
      which scales with it). Offsets are relative to the env's own mid, so prices are not affected otherwise.
    * ``best_bid``/``best_ask``: ``mid -/+ spread / 2`` with the spread of observation 1 (ticks / 10); NaN when
      it is 0 (an empty side, or the stylized market). No baseline reads them.
    * ``inventory = round(obs[2] * inventory_limit_lots) * lot_size``: exact (whole lots).
    * ``sigma = obs[3] * vol_ref * mid`` (money per sqrt-second): exact up to the observation's clip at 10.
    * ``time = 0`` and ``horizon = inf``: the time left in the episode is **not** in the observation, so a
      strategy that needs it (Avellaneda-Stoikov, symmetric) must run with a constant ``rolling_horizon``.
    * ``dt``, ``tick_size``, ``lot_size``, ``inventory_limit``: the env config's.
    """

    tick_size: float
    lot_size: float
    inventory_limit_lots: int
    vol_ref: float
    initial_price: float
    dt: float

    @classmethod
    def from_env_config(cls, env_config: EnvConfig) -> ObservationDecoder:
        """The decoder of an env config (its curriculum phase applied, as the env applies it)."""
        from almm_rllib.env.core import MarketMakingCore

        return cls.from_core(MarketMakingCore(env_config))

    @classmethod
    def from_core(cls, core) -> ObservationDecoder:
        """The decoder of a built env (``env.core``, a :class:`~almm_rllib.env.MarketMakingCore`)."""
        mc = core.market_config
        return cls(
            tick_size=float(mc.tick_size),
            lot_size=float(mc.lot_size),
            inventory_limit_lots=int(core.config.inventory_limit_lots),
            vol_ref=float(core.vol_ref),
            initial_price=float(mc.initial_price),
            dt=float(core.config.dt),
        )

    def view(self, obs: np.ndarray) -> MarketView:
        """The view rebuilt from one observation (shape ``(OBS_DIM,)``)."""
        d = decode_observation(
            obs,
            mid0=self.initial_price,
            inventory_limit_lots=self.inventory_limit_lots,
            vol_ref=self.vol_ref,
            pnl_unit=1.0,
        )
        mid = d.mid
        spread = d.spread_ticks * self.tick_size
        half = 0.5 * spread
        return MarketView(
            time=0.0,
            horizon=math.inf,
            mid=float(mid),
            best_bid=float(mid - half) if spread > 0 else math.nan,
            best_ask=float(mid + half) if spread > 0 else math.nan,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            inventory=float(d.inventory_lots * self.lot_size),
            inventory_limit=float(self.inventory_limit_lots * self.lot_size),
            sigma=d.sigma * float(mid),
            dt=self.dt,
            obs=np.asarray(obs, dtype=np.float32),
            step=0,
        )


__all__ = ["ObservationDecoder", "view_from_env"]
