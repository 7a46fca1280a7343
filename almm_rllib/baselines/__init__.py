"""Hand-written market-making baselines (layer 2: numpy only).

Every strategy maps a :class:`MarketView` to the env's 4-D action ``[bid_offset, ask_offset, bid_size,
ask_size]`` (offsets in ticks from the mid, sizes in lots; see :mod:`.base`). Build one by name with
:func:`make_strategy`; :mod:`.paper` runs the Avellaneda-Stoikov (2008) numerical experiment without the env.
"""

from almm_rllib.baselines.avellaneda_stoikov import (
    AvellanedaStoikov,
    AvellanedaStoikovParams,
    Symmetric,
    SymmetricParams,
    as_optimal_spread,
    as_reservation_price,
)
from almm_rllib.baselines.base import (
    ACTION_DIM,
    ASK_OFFSET,
    ASK_SIZE,
    BID_OFFSET,
    BID_SIZE,
    MarketView,
    Strategy,
    action_to_prices,
    offsets_to_action,
    prices_to_action,
)
from almm_rllib.baselines.glft import GLFTParams, GueantLehalleFernandezTapia, glft_half_spreads
from almm_rllib.baselines.registry import ALIASES, STRATEGIES, make_strategy, strategy_class
from almm_rllib.baselines.simple import (
    RandomParams,
    RandomQuotes,
    StaticSpread,
    StaticSpreadParams,
    VolatilityAdaptive,
    VolatilityAdaptiveParams,
    inventory_fraction,
)

__all__ = [
    "ACTION_DIM",
    "ALIASES",
    "ASK_OFFSET",
    "ASK_SIZE",
    "BID_OFFSET",
    "BID_SIZE",
    "STRATEGIES",
    "AvellanedaStoikov",
    "AvellanedaStoikovParams",
    "GLFTParams",
    "GueantLehalleFernandezTapia",
    "MarketView",
    "RandomParams",
    "RandomQuotes",
    "StaticSpread",
    "StaticSpreadParams",
    "Strategy",
    "Symmetric",
    "SymmetricParams",
    "VolatilityAdaptive",
    "VolatilityAdaptiveParams",
    "action_to_prices",
    "as_optimal_spread",
    "as_reservation_price",
    "glft_half_spreads",
    "inventory_fraction",
    "make_strategy",
    "offsets_to_action",
    "prices_to_action",
    "strategy_class",
]
