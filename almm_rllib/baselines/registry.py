"""Name -> strategy class, and :func:`make_strategy`."""

from __future__ import annotations

from typing import Any

from almm_rllib.baselines.avellaneda_stoikov import AvellanedaStoikov, Symmetric
from almm_rllib.baselines.base import Strategy
from almm_rllib.baselines.glft import GueantLehalleFernandezTapia
from almm_rllib.baselines.simple import RandomQuotes, StaticSpread, VolatilityAdaptive

#: Canonical name -> strategy class (each class's ``name`` is its key).
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        AvellanedaStoikov,
        GueantLehalleFernandezTapia,
        StaticSpread,
        VolatilityAdaptive,
        RandomQuotes,
        Symmetric,
    )
}

#: Alternative names accepted by :func:`make_strategy`.
ALIASES: dict[str, str] = {"glft": GueantLehalleFernandezTapia.name}


def strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name`` (or an alias); unknown names are refused with the known ones."""
    key = ALIASES.get(name, name)
    try:
        return STRATEGIES[key]
    except (KeyError, TypeError):
        known = sorted([*STRATEGIES, *ALIASES])
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(known)}") from None


def make_strategy(name: str, **params: Any) -> Strategy:
    """A new strategy ``name`` built from keyword parameters (its params dataclass checks them)."""
    return strategy_class(name)(**params)
