"""What a baseline strategy sees (:class:`MarketView`), what it returns (the 4-D action) and its base class.

The action, per agent per step, is a ``float32`` array of shape ``(4,)``::

    [bid_offset, ask_offset, bid_size, ask_size]

* ``bid_offset``, ``ask_offset``: distances from the mid in **ticks** (float). The env quotes
  ``bid = mid - bid_offset * tick_size`` and ``ask = mid + ask_offset * tick_size``, clips the offsets to its
  bounds and rounds the prices to ticks outward (bid down, ask up). A negative offset quotes through the mid.
* ``bid_size``, ``ask_size``: order sizes in **lots** (float, rounded by the env). ``0`` means no quote on
  that side.

Strategies here reason in money (prices) and shares (inventory) like the papers they come from; the helper
:func:`prices_to_action` turns target prices and sizes into the action, and :func:`action_to_prices` is its
inverse (before the env's clipping and rounding).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from almm_rllib.core.config import Config

#: Length of the action vector and the index of each component.
ACTION_DIM = 4
BID_OFFSET = 0
ASK_OFFSET = 1
BID_SIZE = 2
ASK_SIZE = 3


@dataclass(frozen=True, slots=True)
class MarketView:
    """Everything a strategy may look at in one step. Built by the env (or :mod:`.paper`) each step."""

    time: float
    """Seconds since the start of the episode."""
    horizon: float
    """Episode length ``T`` in seconds (``inf`` when the end is unknown)."""
    mid: float
    """Mid price, money."""
    best_bid: float
    """Best bid of the book, money; NaN when the bid side is empty (or there is no book)."""
    best_ask: float
    """Best ask of the book, money; NaN when the ask side is empty (or there is no book)."""
    tick_size: float
    """Money per tick (> 0)."""
    lot_size: float
    """Shares per lot (> 0)."""
    inventory: float
    """The agent's signed position in shares (long > 0)."""
    inventory_limit: float
    """The env's bound on ``|inventory|`` in shares (``inf`` when there is none)."""
    sigma: float
    """The env's online estimate of the mid's volatility, money per sqrt-second (NaN while unknown)."""
    dt: float
    """Step length, seconds."""
    obs: np.ndarray | None = None
    """The agent's 9-D observation vector (``float32``), or None outside the env."""
    step: int = 0
    """Index of the step within the episode (0 at the first decision)."""

    @property
    def time_to_end(self) -> float:
        """``max(horizon - time, 0)`` in seconds (``inf`` when the horizon is unknown)."""
        return max(self.horizon - self.time, 0.0)


def prices_to_action(
    mid: float,
    tick_size: float,
    bid_price: float | None,
    ask_price: float | None,
    bid_size: float,
    ask_size: float,
) -> np.ndarray:
    """The action that quotes ``bid_price``/``ask_price`` (money) with ``bid_size``/``ask_size`` lots.

    A side whose price is None or not finite, or whose size is not > 0, is not quoted: its size is 0 and its
    offset 0 (the action never holds NaN). With a non-finite ``mid`` neither side is quoted.
    """
    action = np.zeros(ACTION_DIM, dtype=np.float32)
    if not math.isfinite(mid):
        return action
    if bid_price is not None and math.isfinite(bid_price) and bid_size > 0:
        action[BID_OFFSET] = (mid - bid_price) / tick_size
        action[BID_SIZE] = bid_size
    if ask_price is not None and math.isfinite(ask_price) and ask_size > 0:
        action[ASK_OFFSET] = (ask_price - mid) / tick_size
        action[ASK_SIZE] = ask_size
    return action


def offsets_to_action(bid_offset: float, ask_offset: float, bid_size: float, ask_size: float) -> np.ndarray:
    """The action with the given offsets (ticks) and sizes (lots); a side with a non-finite offset or a size
    that is not > 0 is not quoted (size 0, offset 0)."""
    action = np.zeros(ACTION_DIM, dtype=np.float32)
    if math.isfinite(bid_offset) and bid_size > 0:
        action[BID_OFFSET] = bid_offset
        action[BID_SIZE] = bid_size
    if math.isfinite(ask_offset) and ask_size > 0:
        action[ASK_OFFSET] = ask_offset
        action[ASK_SIZE] = ask_size
    return action


def action_to_prices(mid: float, tick_size: float, action: np.ndarray) -> tuple[float, float]:
    """``(bid_price, ask_price)`` in money encoded by ``action`` (no clipping, no rounding); NaN for a side
    whose size is 0."""
    bid = mid - float(action[BID_OFFSET]) * tick_size if action[BID_SIZE] > 0 else math.nan
    ask = mid + float(action[ASK_OFFSET]) * tick_size if action[ASK_SIZE] > 0 else math.nan
    return bid, ask


class Strategy(abc.ABC):
    """A hand-written market maker: one action per :class:`MarketView`.

    Subclasses set ``name`` (the registry key) and ``params_cls`` (a :class:`~almm_rllib.core.config.Config`:
    a frozen dataclass that refuses unknown keys, wrong types and impossible values, naming the field) and
    implement :meth:`act`. Strategies are plain picklable Python objects; given the seed passed to
    :meth:`reset` (or the one in their parameters) they are deterministic.

    Construct with a parameter object, keyword overrides, or both:
    ``AvellanedaStoikov(gamma=0.1)``, ``AvellanedaStoikov(params, k=2.0)``.
    """

    name: ClassVar[str]
    params_cls: ClassVar[type[Config]]

    def __init__(self, params: Any = None, **overrides: Any) -> None:
        if params is None:
            params = self.make_params(**overrides)
        else:
            if not isinstance(params, self.params_cls):
                raise TypeError(
                    f"{type(self).__name__} takes {self.params_cls.__name__}, got {type(params).__name__}"
                )
            if overrides:
                params = self.make_params(**{**params.to_dict(), **overrides})
        self.params = params
        self._last_sigma = 0.0

    @classmethod
    def make_params(cls, **kwargs: Any) -> Any:
        """The strategy's parameter dataclass from keywords. Unknown keys, wrong types and impossible values
        are refused with a :class:`~almm_rllib.core.config.ConfigError` naming the strategy and the field
        (``strategy 'glft': GLFTParams.A must be > 0, got 0.0``)."""
        return cls.params_cls.from_dict(
            kwargs, source=f"strategy {cls.name!r}", prefix=cls.params_cls.__name__
        )

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode. ``seed`` (an int) re-seeds a random strategy; None keeps its current stream
        (the Gymnasium convention). Also forgets the last volatility estimate (see :meth:`_sigma`)."""
        self._last_sigma = 0.0

    @abc.abstractmethod
    def act(self, view: MarketView) -> np.ndarray:
        """The action for this step: ``float32`` array ``[bid_offset, ask_offset, bid_size, ask_size]``."""

    @staticmethod
    def prices_to_action(
        view: MarketView, bid_price: float | None, ask_price: float | None, bid_size: float, ask_size: float
    ) -> np.ndarray:
        """:func:`prices_to_action` with the view's mid and tick size."""
        return prices_to_action(view.mid, view.tick_size, bid_price, ask_price, bid_size, ask_size)

    def _sigma(self, view: MarketView, fixed: float | None) -> float:
        """The volatility to use (money per sqrt-second): ``fixed`` when given, else the view's online
        estimate; while that estimate is NaN or negative, the last valid one seen this episode (0 before
        any, i.e. no volatility term until the env has an estimate)."""
        if fixed is not None:
            return fixed
        s = view.sigma
        if s >= 0.0 and math.isfinite(s):
            self._last_sigma = float(s)
        return self._last_sigma

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"
