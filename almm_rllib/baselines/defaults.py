"""The strategies' calibrated defaults on the order-book market, looked up by market.

:mod:`.lob_defaults` ships the parameters that :mod:`almm_rllib.evaluation.calibration` measured on the default
order-book market, with that market's fingerprint. :func:`default_params` returns them for a market with the same
fingerprint (the buffer sizes do not count) and ``{}`` otherwise, so that a strategy keeps its own defaults (the
Avellaneda-Stoikov paper's, right for the stylized market). Another order-book market needs its own calibration.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from almm_rllib.baselines.registry import strategy_class
from almm_rllib.core.market_config import MarketConfig

#: MarketConfig fields that size buffers and do not change the market's dynamics: left out of the fingerprint.
TECHNICAL_FIELDS = ("book_capacity", "book_window", "max_events_per_step", "max_fills_per_step")


def _check_market(market: Any, what: str) -> MarketConfig:
    if not isinstance(market, MarketConfig):
        hint = " (an EnvConfig's market is env_config.market)" if hasattr(market, "market") else ""
        raise TypeError(f"{what}: market must be a MarketConfig, got {type(market).__name__}{hint}")
    return market


@functools.lru_cache(maxsize=64)
def _fingerprint(market: MarketConfig) -> str:
    data = market.to_dict()
    for f in TECHNICAL_FIELDS:
        data.pop(f, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def market_fingerprint(market: MarketConfig) -> str:
    """A short hash of a market configuration, leaving out the buffer sizes (:data:`TECHNICAL_FIELDS`) that do
    not change its dynamics. The curriculum phase is not part of it: it lives in the EnvConfig."""
    return _fingerprint(_check_market(market, "market_fingerprint"))


def default_params(strategy: str, market: MarketConfig) -> dict[str, Any]:
    """The calibrated parameters of ``strategy`` (a registry name or alias) for ``market``.

    A copy of the shipped parameters (:mod:`.lob_defaults`) when ``market`` is the one they were calibrated on
    (the default order-book market, compared by :func:`market_fingerprint`; for an env, pass
    ``env_config.market``: any curriculum phase shares it), and ``{}`` otherwise. Explicit parameters are meant
    to override these: ``{**default_params(name, market), **mine}``.
    """
    name = strategy_class(strategy).name
    _check_market(market, "default_params")
    from almm_rllib.baselines import lob_defaults

    if market.model != "lob" or _fingerprint(market) != lob_defaults.MARKET_FINGERPRINT:
        return {}
    return dict(lob_defaults.PARAMS.get(name, {}))
