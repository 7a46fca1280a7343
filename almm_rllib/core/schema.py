"""Units, enums, sentinels and record dtypes shared by every compiled kernel.

Units, stated once:

* **price**: integer ticks (``int64``). A book's ``tick_size`` converts ticks to money: ``price = ticks * tick_size``.
* **quantity**: integer lots (``int64``). A book's ``lot_size`` converts lots to shares.
* **time**: float seconds (``float64``) since the start of the simulation.
* **money** (cash, P&L, fees, impact cost): float quote currency, i.e. ticks * tick_size * lots * lot_size.

Enums are plain ``int`` constants (numba folds module-level ints into compiled code as constants).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------------------------
# Sides. ``side`` is the side of the order itself: BUY rests on the bid, SELL rests on the ask. A fill's
# ``aggressor`` is the side of the taker (BUY = the taker lifted the ask).
BUY = 1
SELL = -1

# --------------------------------------------------------------------------------------------------------------
# Event types understood by the book's batch kernel (``EVENT_DTYPE.type``).
EV_LIMIT = 1  #: limit order: fills against the opposite side up to its price, the remainder rests
EV_LIMIT_POST_ONLY = 2  #: limit order refused (STATUS_POST_ONLY_REJECT) if any part of it would cross
EV_MARKET = 3  #: market order: walks the opposite side; what the book cannot fill is reported, not rested
EV_CANCEL = 4  #: remove a resting order (``order_id``)
EV_REDUCE = 5  #: partial cancel: remove ``qty`` lots from a resting order, keeping its queue priority
EV_REPLACE = 6  #: cancel + new order at ``price`` (qty > 0: new size, qty == 0: keep size); loses priority
EV_NOOP = 0  #: ignored (padding)

# --------------------------------------------------------------------------------------------------------------
# Per-event result status (``RESULT_DTYPE.status``).
STATUS_OK = 0
STATUS_POST_ONLY_REJECT = 1  #: post-only order would have crossed; nothing happened
STATUS_PARTIAL = 2  #: market order only partly filled: the book ran dry (``filled`` < requested)
STATUS_UNKNOWN_ORDER = 3  #: cancel/reduce/replace named an order id that is not resting
STATUS_DUPLICATE_ID = 4  #: new order reused the id of a resting order; nothing happened
STATUS_OUT_OF_WINDOW = 5  #: resting price does not fit the book's tick window even after re-centring
STATUS_BAD_EVENT = 6  #: unknown type, non-positive quantity, bad side (the facade never sends these)
# Fatal statuses: the batch stops *before* touching the book for the offending event.
STATUS_ORDER_TABLE_FULL = 10
STATUS_FILL_BUFFER_FULL = 11
STATUS_PENDING_FULL = 12  #: market step: an agent has more than ``market.MAX_PENDING`` messages in flight

STATUS_NAMES = {
    STATUS_OK: "ok",
    STATUS_POST_ONLY_REJECT: "post-only order would cross",
    STATUS_PARTIAL: "market order partly filled: book ran dry",
    STATUS_UNKNOWN_ORDER: "unknown order id",
    STATUS_DUPLICATE_ID: "order id already resting",
    STATUS_OUT_OF_WINDOW: "price outside the book's tick window",
    STATUS_BAD_EVENT: "malformed event",
    STATUS_ORDER_TABLE_FULL: "order table full",
    STATUS_FILL_BUFFER_FULL: "fill buffer full",
    STATUS_PENDING_FULL: "too many agent messages in flight",
}

# --------------------------------------------------------------------------------------------------------------
# Sentinels.
NO_PRICE = np.int64(-(2**62))  #: "no price": empty side, or a market order's price field
NO_ORDER = -1  #: empty slot / end of a linked list
NO_OWNER = -1  #: background flow's owner id is 0; -1 means "nobody"
BACKGROUND_OWNER = 0  #: owner id of the exogenous order flow; agents are 1..n

# --------------------------------------------------------------------------------------------------------------
# Record dtypes.

#: One message to the book. ``price`` is ignored for market orders and cancels; ``qty`` is the order size
#: (limit/market), the amount to remove (reduce) or the new size (replace; 0 keeps the size).
EVENT_DTYPE = np.dtype(
    [
        ("time", np.float64),
        ("type", np.int8),
        ("side", np.int8),
        ("price", np.int64),
        ("qty", np.int64),
        ("owner", np.int32),
        ("order_id", np.int64),
    ],
    align=True,
)

#: One execution. ``price`` is the resting (maker) order's price; ``aggressor`` is the taker's side.
FILL_DTYPE = np.dtype(
    [
        ("time", np.float64),
        ("price", np.int64),
        ("qty", np.int64),
        ("maker_order_id", np.int64),
        ("taker_order_id", np.int64),
        ("maker_owner", np.int32),
        ("taker_owner", np.int32),
        ("aggressor", np.int8),
    ],
    align=True,
)

#: What happened to each event of a batch. ``filled`` = lots executed as taker (limit/market orders);
#: ``rested`` = lots left resting (limit orders).
RESULT_DTYPE = np.dtype(
    [
        ("status", np.int8),
        ("filled", np.int64),
        ("rested", np.int64),
    ],
    align=True,
)


def make_events(n: int) -> np.ndarray:
    """An empty (all ``EV_NOOP``) event array of length ``n``."""
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["price"] = NO_PRICE
    ev["order_id"] = NO_ORDER
    return ev
