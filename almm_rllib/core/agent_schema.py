"""The agent interface, stated once: what a market maker observes, what it sends, its id, the env ids, the
curriculum phases and the status codes of the market-making step kernel.

Read by the kernel (``core.mm_nb`` encodes the observation with these indices and scales), the env (spaces,
agent ids, registrations, phases), the views (``evaluation.views`` decodes the observation with
:func:`decode_observation`) and training (env names, agent ids, curriculum phases). Nothing here imports
anything above ``core``.

Observation (per agent, ``float32[OBS_DIM]``, every feature clipped to ``[-OBS_CLIP, OBS_CLIP]``):

====  ===================  ==========================================================================
idx   name                 encoding
====  ===================  ==========================================================================
0     mid                  ``OBS_MID_PCT * (mid / mid at reset - 1)``: relative change in percent
1     spread               ``(best ask - best bid)`` in ticks ``/ OBS_SPREAD_TICKS`` (0: a side empty; stylized)
2     inventory            inventory / inventory limit (lots), in [-1, 1]
3     volatility           realised relative vol per sqrt-second / the market's reference vol (1 at reset)
4     imbalance            order-book imbalance over ``imbalance_levels`` levels, in [-1, 1]
5     queue bid            lots ahead of the agent's bid / lots at its level: 0 = front, 1 = back or no bid
6     queue ask            same for the ask
7     P&L change           step P&L / ``pnl_unit`` (money)
8     fills                the agent's fills in the step ``/ OBS_FILLS_UNIT``
====  ===================  ==========================================================================

Action (per agent, ``float32[ACT_DIM]``): bid offset and ask offset in ticks from the mid, bid size and ask size
in lots (see :func:`action_bounds` for the box).
"""

from __future__ import annotations

import math
import typing
from typing import Literal, NamedTuple

import numpy as np

from .config import ConfigError
from .market_config import MarketConfig

# --------------------------------------------------------------------------------------------------------------
# Observation layout and scales.
OBS_MID = 0
OBS_SPREAD = 1
OBS_INVENTORY = 2
OBS_VOLATILITY = 3
OBS_IMBALANCE = 4
OBS_QUEUE_BID = 5
OBS_QUEUE_ASK = 6
OBS_DPNL = 7
OBS_FILLS = 8
OBS_DIM = 9
OBS_NAMES = (
    "mid",
    "spread",
    "inventory",
    "volatility",
    "imbalance",
    "queue_bid",
    "queue_ask",
    "dpnl",
    "fills",
)

OBS_CLIP = 10.0  #: every feature is clipped to [-OBS_CLIP, OBS_CLIP]
OBS_LOW = -OBS_CLIP
OBS_HIGH = OBS_CLIP
OBS_MID_PCT = 100.0  #: observation 0 is the mid's relative change times this (percent)
OBS_SPREAD_TICKS = 10.0  #: ticks of spread that map to 1.0
OBS_FILLS_UNIT = 5.0  #: fills in a step that map to 1.0
OBS_QUEUE_NONE = 1.0  #: queue feature of a side with nothing resting (the back of the queue)

# --------------------------------------------------------------------------------------------------------------
# Action layout.
ACT_BID_OFFSET = 0
ACT_ASK_OFFSET = 1
ACT_BID_SIZE = 2
ACT_ASK_SIZE = 3
ACT_DIM = 4
ACT_NAMES = ("bid_offset", "ask_offset", "bid_size", "ask_size")


def action_bounds(min_offset_ticks: float, max_offset_ticks: float, max_size_lots: float):
    """``(low, high)`` of the action box, float32[ACT_DIM] each (sizes from 0 lots = no quote)."""
    low = np.zeros(ACT_DIM, np.float32)
    high = np.zeros(ACT_DIM, np.float32)
    low[[ACT_BID_OFFSET, ACT_ASK_OFFSET]] = min_offset_ticks
    high[[ACT_BID_OFFSET, ACT_ASK_OFFSET]] = max_offset_ticks
    high[[ACT_BID_SIZE, ACT_ASK_SIZE]] = max_size_lots
    return low, high


# --------------------------------------------------------------------------------------------------------------
# Status codes of the market-making step kernel (``mm_nb.mm_step_nb``), besides the market's own
# (``schema.STATUS_OK`` and the fatal statuses the market step returns, see ``market.status_text``).
STEP_NEED_RANDOM = 30  #: refill the random-number buffers and call again (nothing was done)
STEP_NON_FINITE = (
    31  #: an action is NaN or inf (nothing was done); ``feat[0, FT_BAD]`` = agent * ACT_DIM + index
)

# --------------------------------------------------------------------------------------------------------------
# Agent ids and env ids.
AGENT_ID_PREFIX = "mm_"
GYM_ENV_ID = "almm/MarketMaking-v0"  #: the single-agent Gymnasium env
RLLIB_ENV = "almm_mm"  #: RLlib registration of the single-agent env
RLLIB_ENV_MULTI = "almm_mm_multi"  #: RLlib registration of the multi-agent env
RLLIB_ENV_NAMES = (RLLIB_ENV, RLLIB_ENV_MULTI)


def agent_id(index: int) -> str:
    """The id of market maker ``index`` (0-based): ``mm_0``, ``mm_1``, ..."""
    return f"{AGENT_ID_PREFIX}{int(index)}"


def agent_ids(n: int) -> list[str]:
    """The ids of ``n`` market makers, in order."""
    return [agent_id(i) for i in range(n)]


# --------------------------------------------------------------------------------------------------------------
# Curriculum phases.
Phase = Literal["low_volatility", "medium_volatility", "high_volatility", "regime_switching"]
PHASES: tuple[str, ...] = typing.get_args(Phase)
#: The regime each phase pins, by name (``RegimeConfig.names``); None lets the chain switch.
PHASE_REGIME: dict[str, str | None] = {
    "low_volatility": "low",
    "medium_volatility": "medium",
    "high_volatility": "high",
    "regime_switching": None,
}
#: Stylized market (no regimes): the factor each phase applies to the mid's volatility.
PHASE_STYLIZED_SIGMA: dict[str, float] = {
    "low_volatility": 0.5,
    "medium_volatility": 1.0,
    "high_volatility": 2.0,
    "regime_switching": 1.0,
}


def check_phase(phase, key: str = "phase", source: str | None = None) -> str:
    """``phase`` if it is a curriculum phase, else a ConfigError (a ValueError) naming ``key`` and ``source``."""
    if phase not in PHASES:
        raise ConfigError(
            key, f"must be one of {', '.join(PHASES)} (unknown curriculum phase {phase!r})", source
        )
    return phase


def phase_market(market: MarketConfig, phase: str | None) -> MarketConfig:
    """The market configuration of a curriculum phase (``None``: the market as configured).

    Order-book market: a volatility phase pins the regime of its name (:data:`PHASE_REGIME`) and stops the
    chain; ``regime_switching`` lets it switch from a regime drawn at reset. Stylized market: the mid's
    volatility is scaled by :data:`PHASE_STYLIZED_SIGMA`.
    """
    if phase is None:
        return market
    check_phase(phase)
    if market.model == "stylized":
        st = market.stylized
        return market.replace(stylized=st.replace(sigma=st.sigma * PHASE_STYLIZED_SIGMA[phase]))
    rc = market.regimes
    name = PHASE_REGIME[phase]
    if name is None:
        return market.replace(regimes=rc.replace(switching=True, initial=None))
    if name not in rc.names:
        raise ConfigError(
            "phase",
            f"{phase} pins the regime named {name!r}, which the market does not have (regimes: {rc.names})",
        )
    return market.replace(regimes=rc.replace(switching=False, initial=name))


# --------------------------------------------------------------------------------------------------------------
# Decoding (the kernel encodes; see ``mm_nb._encode_obs_nb``).


class ObservationFields(NamedTuple):
    """One observation decoded to its units (what the clip at OBS_CLIP left of it)."""

    mid: float  #: the mid's ratio to its value at reset times ``mid0`` (same unit as ``mid0``)
    spread_ticks: float
    inventory_lots: int  #: exact (whole lots)
    sigma: float  #: relative volatility per sqrt-second
    imbalance: float
    queue_bid: float
    queue_ask: float
    dpnl: float  #: money
    n_fills: float


def decode_observation(obs, *, mid0: float, inventory_limit_lots: int, vol_ref: float, pnl_unit: float):
    """Undo the observation's scales. ``mid0`` stands for the mid at reset (any unit, e.g. money)."""
    o = np.asarray(obs, dtype=np.float64)
    if o.shape != (OBS_DIM,):
        raise ValueError(f"an observation has shape ({OBS_DIM},), got {o.shape}")
    return ObservationFields(
        mid=float(mid0 * (1.0 + o[OBS_MID] / OBS_MID_PCT)),
        spread_ticks=float(o[OBS_SPREAD] * OBS_SPREAD_TICKS),
        inventory_lots=round(float(o[OBS_INVENTORY]) * inventory_limit_lots),
        sigma=float(o[OBS_VOLATILITY] * vol_ref),
        imbalance=float(o[OBS_IMBALANCE]),
        queue_bid=float(o[OBS_QUEUE_BID]),
        queue_ask=float(o[OBS_QUEUE_ASK]),
        dpnl=float(o[OBS_DPNL] * pnl_unit),
        n_fills=float(o[OBS_FILLS] * OBS_FILLS_UNIT),
    )


def _check_layout() -> None:
    idx = (OBS_MID, OBS_SPREAD, OBS_INVENTORY, OBS_VOLATILITY, OBS_IMBALANCE)
    idx += (OBS_QUEUE_BID, OBS_QUEUE_ASK, OBS_DPNL, OBS_FILLS)
    assert sorted(idx) == list(range(OBS_DIM)) == list(range(len(OBS_NAMES)))
    assert sorted((ACT_BID_OFFSET, ACT_ASK_OFFSET, ACT_BID_SIZE, ACT_ASK_SIZE)) == list(range(ACT_DIM))
    assert set(PHASE_REGIME) == set(PHASES) == set(PHASE_STYLIZED_SIGMA)
    assert math.isfinite(OBS_CLIP)


_check_layout()
