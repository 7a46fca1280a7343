"""almm_rllib: the Adaptive Liquidity Provision Engine.

RL market makers on a Numba limit order book, trained with Ray RLlib and scored against the classic
strategies. The core (book, market simulator) is importable without ray, torch or gymnasium.
"""

from ._version import __version__
from .core import gym_registration as _gym
from .core.book import BookError, Fill, LimitOrderBook, Order, QueuePosition

_gym.install()  # gym.make("almm/MarketMaking-v0") works once gymnasium is imported, in either order

__all__ = ["BookError", "Fill", "LimitOrderBook", "Order", "QueuePosition", "__version__"]
