"""LOBSTER message/orderbook files: a checked reader and a replay through the project's book.

* :mod:`.read`: the file format, its constants, :class:`LobsterData` and :func:`read_lobster`;
* :mod:`.replay`: :func:`replay_lobster` and the step-by-step :class:`LobsterReplayer` behind it.

The day's calibration statistics live in the results layer, beside the market report's statistics that use
the same estimators: :func:`almm_rllib.results.market_report.lobster_stats`.
"""

from almm_rllib.data.lobster.read import (
    ASK_EMPTY,
    BID_EMPTY,
    MESSAGE_COLUMNS,
    MESSAGE_FILE_COLUMNS,
    MESSAGE_TYPE_NAMES,
    MSG_CANCEL,
    MSG_CROSS,
    MSG_DELETE,
    MSG_EXECUTE,
    MSG_HALT,
    MSG_HIDDEN,
    MSG_NEW,
    PRICE_SCALE,
    SECONDS_PER_DAY,
    TICK_RAW,
    TICK_SIZE,
    LobsterData,
    LobsterFormatError,
    orderbook_columns,
    read_lobster,
)
from almm_rllib.data.lobster.replay import (
    FILE_OWNER,
    SYNTHETIC_ID_BASE,
    SYNTHETIC_OWNER,
    LobsterReplayer,
    ReplayResult,
    replay_lobster,
)

__all__ = [
    "ASK_EMPTY",
    "BID_EMPTY",
    "FILE_OWNER",
    "MESSAGE_COLUMNS",
    "MESSAGE_FILE_COLUMNS",
    "MESSAGE_TYPE_NAMES",
    "MSG_CANCEL",
    "MSG_CROSS",
    "MSG_DELETE",
    "MSG_EXECUTE",
    "MSG_HALT",
    "MSG_HIDDEN",
    "MSG_NEW",
    "PRICE_SCALE",
    "SECONDS_PER_DAY",
    "SYNTHETIC_ID_BASE",
    "SYNTHETIC_OWNER",
    "TICK_RAW",
    "TICK_SIZE",
    "LobsterData",
    "LobsterFormatError",
    "LobsterReplayer",
    "ReplayResult",
    "orderbook_columns",
    "read_lobster",
    "replay_lobster",
]
