"""Real market data: readers and replays through the project's order book.

numpy / pandas only (layer 1): nothing here imports ray, torch or gymnasium.

* :mod:`~almm_rllib.data.lobster`: LOBSTER (NASDAQ TotalView-ITCH reconstructions) message and orderbook files:
  :func:`read_lobster` (checked reader) and :func:`replay_lobster` (per-level replay through
  :class:`~almm_rllib.core.book.LimitOrderBook`, compared with every orderbook row). The day's statistics
  (spread, depth, message rates, order sizes, placement distances, mid-price returns, order-flow imbalance)
  are :func:`almm_rllib.results.market_report.lobster_stats`, in the results layer beside the simulator's.
"""

from almm_rllib.data.lobster import (
    LobsterData,
    LobsterFormatError,
    LobsterReplayer,
    ReplayResult,
    read_lobster,
    replay_lobster,
)

__all__ = [
    "LobsterData",
    "LobsterFormatError",
    "LobsterReplayer",
    "ReplayResult",
    "read_lobster",
    "replay_lobster",
]
