"""Real market data: readers, replays through the project's order book, calibration statistics.

numpy / pandas only (layer 1): nothing here imports ray, torch or gymnasium.

* :mod:`~almm_rllib.data.lobster`: LOBSTER (NASDAQ TotalView-ITCH reconstructions) message and orderbook files:
  :func:`read_lobster` (checked reader), :func:`replay_lobster` (per-level replay through
  :class:`~almm_rllib.core.book.LimitOrderBook`, compared with every orderbook row) and :func:`lobster_stats`
  (spread, depth, message rates, order sizes, placement distances, mid-price returns, order-flow imbalance).
"""

from almm_rllib.data.lobster import (
    LobsterData,
    LobsterFormatError,
    ReplayResult,
    lobster_stats,
    read_lobster,
    replay_lobster,
)

__all__ = [
    "LobsterData",
    "LobsterFormatError",
    "ReplayResult",
    "lobster_stats",
    "read_lobster",
    "replay_lobster",
]
