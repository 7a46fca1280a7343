"""Hand-written market-making baselines (the strategies: numpy only).

Every strategy maps a :class:`MarketView` to the env's 4-D action ``[bid_offset, ask_offset, bid_size,
ask_size]`` (offsets in ticks from the mid, sizes in lots; see :mod:`.base`). Build one by name with
:func:`make_strategy`; :mod:`.paper` runs the Avellaneda-Stoikov (2008) numerical experiment without the env.

Defaults: each strategy's parameter dataclass holds the Avellaneda-Stoikov paper's values (``k = 1.5`` per
money, ``gamma = 0.1``, ``A = 140`` per second), right for the stylized market and meaningless on the
order-book market (1-cent tick, 100-share lots), where they ask for quotes far outside the env's action box.
For that market :mod:`almm_rllib.evaluation.calibration` measures the fill intensity ``A exp(-k d)`` and the
volatility, tunes each strategy on calibration seeds, and ships the result in :mod:`.lob_defaults`;
:func:`default_params(name, market) <default_params>` (:mod:`.defaults`) returns it for the default order-book
market (``env_config.market``) and ``{}`` otherwise. The evaluation runner (``almm evaluate``) and the baseline RLModules build a
strategy named without parameters from those defaults; parameters given in the spec
(``glft:gamma=0.5``) override them one by one. :func:`make_strategy` itself always uses the dataclass
defaults. Regenerate the shipped values with
``python -m almm_rllib.evaluation.calibration --out almm_rllib/baselines/lob_defaults.py``.
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
from almm_rllib.baselines.defaults import default_params, market_fingerprint
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
    "default_params",
    "market_fingerprint",
    "glft_half_spreads",
    "inventory_fraction",
    "make_strategy",
    "offsets_to_action",
    "prices_to_action",
    "strategy_class",
]
