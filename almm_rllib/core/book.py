"""Python facade of the compiled order book: validation, units and conversion, nothing else.

>>> from almm_rllib import LimitOrderBook, Order
>>> book = LimitOrderBook(tick_size=0.01, lot_size=1, initial_price=100.0)
>>> book.submit_order(Order("sell", 10, 100.02, owner=1))
[]
>>> fills = book.submit_order(Order("buy", 4, None, owner=2))   # a market order
>>> fills[0].price, fills[0].quantity
(100.02, 4)

Prices are given in money and must lie on the tick grid; quantities in shares and must be positive multiples
of the lot size. The compiled kernels underneath work in integer ticks and lots (see ``schema``) and trust
what this class has validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import book_nb as nb
from .schema import (
    BUY,
    EV_LIMIT,
    EV_LIMIT_POST_ONLY,
    EV_MARKET,
    EV_REDUCE,
    EV_REPLACE,
    EVENT_DTYPE,
    FILL_DTYPE,
    NO_PRICE,
    RESULT_DTYPE,
    SELL,
    STATUS_FILL_BUFFER_FULL,
    STATUS_NAMES,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
    STATUS_OUT_OF_WINDOW,
)

_SIDES = {"buy": BUY, "bid": BUY, "b": BUY, BUY: BUY, "sell": SELL, "ask": SELL, "s": SELL, SELL: SELL}


#: Largest order id (the compiled book keeps ids as int64).
MAX_ORDER_ID = 2**63 - 1
#: Largest price in ticks and order size in lots the facade accepts: sums of sizes and price arithmetic stay
#: far inside int64 (and exact in float64), so absurd inputs are a BookError, not an overflow in compiled code.
MAX_TICKS = 2**50
MAX_LOTS = 2**50


class BookError(ValueError):
    """Invalid input to the book, or a capacity limit hit (the book is left unchanged)."""


class BookCorruptError(AssertionError):
    """Raised by :meth:`LimitOrderBook.check` when an invariant does not hold (a bug, never bad input)."""


@dataclass(frozen=True)
class Order:
    """An order for :meth:`LimitOrderBook.submit_order`.

    side: "buy"/"sell" (also "bid"/"ask", +1/-1). quantity: shares, a positive multiple of the book's lot size.
    price: limit price in money on the tick grid; ``None`` makes a market order. owner: participant id
    (0 = background flow). order_id: ``None`` lets the book assign one. post_only: refuse if it would cross.
    time: arrival time in seconds (``None``: the book's clock, which advances by one per message).
    """

    side: str | int
    quantity: float
    price: float | None = None
    owner: int = 0
    order_id: int | None = None
    post_only: bool = False
    time: float | None = None

    @property
    def is_market(self) -> bool:
        return self.price is None


@dataclass(frozen=True)
class Fill:
    """One execution, in money and shares. ``aggressor`` is the taker's side ("buy" or "sell")."""

    time: float
    price: float
    quantity: float
    maker_order_id: int
    taker_order_id: int
    maker_owner: int
    taker_owner: int
    aggressor: str


class QueuePosition(NamedTuple):
    """Where a resting order stands in its level: shares ahead of it and orders ahead of it (0 = front)."""

    quantity_ahead: float
    orders_ahead: int


class Level(NamedTuple):
    price: float
    quantity: float


class LimitOrderBook:
    """A price-time priority limit order book with integer ticks and lots (see ``book_nb`` for the kernels).

    Parameters: ``tick_size`` (money per tick), ``lot_size`` (shares per lot), ``initial_price`` (centre of the
    tick window), ``capacity`` (resting orders), ``window`` (ticks in the ring, a power of two; re-centres as
    prices drift), ``fill_capacity`` (fills one call can produce).
    """

    def __init__(
        self,
        tick_size: float = 0.01,
        lot_size: int = 1,
        initial_price: float = 100.0,
        capacity: int = 100_000,
        window: int = 4096,
        fill_capacity: int = 65_536,
    ) -> None:
        if not (isinstance(tick_size, int | float) and math.isfinite(tick_size) and tick_size > 0):
            raise BookError(f"LimitOrderBook.tick_size must be a positive finite number, got {tick_size!r}")
        if not (isinstance(lot_size, int | np.integer) and lot_size >= 1):
            raise BookError(f"LimitOrderBook.lot_size must be a positive integer, got {lot_size!r}")
        if not (
            isinstance(initial_price, int | float) and math.isfinite(initial_price) and initial_price > 0
        ):
            raise BookError(
                f"LimitOrderBook.initial_price must be a positive finite number, got {initial_price!r}"
            )
        if not (isinstance(capacity, int) and capacity >= 1):
            raise BookError(f"LimitOrderBook.capacity must be a positive integer, got {capacity!r}")
        if not (isinstance(window, int) and window >= 8 and window & (window - 1) == 0):
            raise BookError(f"LimitOrderBook.window must be a power of two >= 8, got {window!r}")
        if not (isinstance(fill_capacity, int) and fill_capacity >= 1):
            raise BookError(f"LimitOrderBook.fill_capacity must be a positive integer, got {fill_capacity!r}")
        self.tick_size = float(tick_size)
        self.lot_size = int(lot_size)
        self.state = nb.new_book_state(capacity, window, round(initial_price / tick_size))
        self._fills = np.zeros(fill_capacity, FILL_DTYPE)
        self._next_id = 1
        self._clock = 0.0
        #: status name, filled and rested shares of the last submitted order
        self.last_status: str = STATUS_NAMES[STATUS_OK]
        self.last_filled: float = 0.0
        self.last_rested: float = 0.0

    @classmethod
    def from_state(cls, state: nb.BookState, tick_size: float, lot_size: int) -> LimitOrderBook:
        """A facade over an existing book state (shares its arrays), e.g. the market simulator's book."""
        obj = cls.__new__(cls)
        obj.tick_size = float(tick_size)
        obj.lot_size = int(lot_size)
        obj.state = state
        obj._fills = np.zeros(65_536, FILL_DTYPE)
        obj._next_id = 1 << 60  # ids a facade user submits cannot collide with the simulator's
        obj._clock = 0.0
        obj.last_status, obj.last_filled, obj.last_rested = STATUS_NAMES[STATUS_OK], 0.0, 0.0
        return obj

    # ----------------------------------------------------------------------------------------------- conversion
    def _ticks(self, price, what: str) -> int:
        if isinstance(price, bool) or not isinstance(price, int | float | np.integer | np.floating):
            raise BookError(f"{what} must be a number, got {price!r}")
        price = float(price)
        if not math.isfinite(price) or price <= 0:
            raise BookError(f"{what} must be a positive finite price, got {price!r}")
        t = price / self.tick_size
        if t > MAX_TICKS:
            raise BookError(f"{what}={price!r} is beyond what the book holds ({MAX_TICKS:,} ticks)")
        ticks = round(t)
        if abs(t - ticks) > 1e-6:
            raise BookError(f"{what}={price!r} is not on the tick grid (tick_size={self.tick_size})")
        return ticks

    def _lots(self, qty, what: str) -> int:
        if isinstance(qty, bool) or not isinstance(qty, int | float | np.integer | np.floating):
            raise BookError(f"{what} must be a number, got {qty!r}")
        q = float(qty)
        if not math.isfinite(q) or q <= 0:
            raise BookError(f"{what} must be positive, got {qty!r}")
        lots = q / self.lot_size
        if lots > MAX_LOTS:
            raise BookError(f"{what}={qty!r} is beyond what the book holds ({MAX_LOTS:,} lots)")
        n = round(lots)
        if abs(lots - n) > 1e-9 or n < 1:
            raise BookError(f"{what}={qty!r} is not a positive multiple of lot_size={self.lot_size}")
        return n

    @staticmethod
    def _oid(order_id, what: str = "order_id") -> int:
        """An order id the compiled book can hold: an integer in 0 .. 2**63 - 1 (int64)."""
        if isinstance(order_id, bool) or not isinstance(order_id, int | np.integer):
            raise BookError(f"{what} must be a non-negative integer, got {order_id!r}")
        if not 0 <= int(order_id) <= MAX_ORDER_ID:
            raise BookError(f"{what} must be in 0..{MAX_ORDER_ID} (int64), got {order_id!r}")
        return int(order_id)

    @staticmethod
    def _side(side, what: str = "Order.side") -> int:
        key = side.lower() if isinstance(side, str) else side
        try:
            return _SIDES[key]
        except (KeyError, TypeError):
            raise BookError(f"{what} must be 'buy' or 'sell' (or +1/-1), got {side!r}") from None

    def _price(self, ticks: int) -> float:
        return round(ticks * self.tick_size, 10)

    def _time(self, t) -> float:
        if t is None:
            self._clock += 1.0
            return self._clock
        t = float(t)
        if not math.isfinite(t):
            raise BookError(f"Order.time must be finite, got {t!r}")
        self._clock = max(self._clock, t)
        return t

    def _fill_list(self, n: int) -> list[Fill]:
        out = []
        for f in self._fills[:n]:
            out.append(
                Fill(
                    time=float(f["time"]),
                    price=self._price(int(f["price"])),
                    quantity=int(f["qty"]) * self.lot_size,
                    maker_order_id=int(f["maker_order_id"]),
                    taker_order_id=int(f["taker_order_id"]),
                    maker_owner=int(f["maker_owner"]),
                    taker_owner=int(f["taker_owner"]),
                    aggressor="buy" if f["aggressor"] == BUY else "sell",
                )
            )
        return out

    def _apply(self, etype, side, price, qty, owner, order_id, time) -> list[Fill]:
        status, filled, rested, nfill = nb.apply_event_nb(
            self.state, self._fills, 0, etype, side, price, qty, owner, order_id, time
        )
        if status == STATUS_ORDER_TABLE_FULL:
            raise BookError(f"order table full (capacity={self.capacity}); the book is unchanged")
        if status == STATUS_FILL_BUFFER_FULL:
            raise BookError(
                f"fill buffer full ({self._fills.shape[0]} fills per call); the book is unchanged"
            )
        if status == STATUS_OUT_OF_WINDOW:
            raise BookError(
                f"price {self._price(price)} cannot rest: the resting orders and it span more than the book's "
                f"window of {self.window} ticks"
            )
        self.last_status = STATUS_NAMES[int(status)]
        self.last_filled = int(filled) * self.lot_size
        self.last_rested = int(rested) * self.lot_size
        return self._fill_list(nfill)

    # ----------------------------------------------------------------------------------------------- operations
    def submit_order(self, order: Order) -> list[Fill]:
        """Submit a limit (``price`` set) or market (``price=None``) order; returns its fills.

        A market order larger than the book fills what there is: ``last_status`` then reads
        "market order partly filled: book ran dry" and ``last_filled`` says how much. A post-only order that
        would cross is refused: no fills, ``last_status`` says so.
        """
        if not isinstance(order, Order):
            raise BookError(f"submit_order expects an Order, got {type(order).__name__}")
        side = self._side(order.side)
        qty = self._lots(order.quantity, "Order.quantity")
        if not isinstance(order.owner, int | np.integer) or isinstance(order.owner, bool):
            raise BookError(f"Order.owner must be an integer, got {order.owner!r}")
        oid = self._new_id(order.order_id)
        t = self._time(order.time)
        if order.is_market:
            if order.post_only:
                raise BookError("Order.post_only makes no sense for a market order (price=None)")
            return self._apply(EV_MARKET, side, NO_PRICE, qty, int(order.owner), oid, t)
        ticks = self._ticks(order.price, "Order.price")
        etype = EV_LIMIT_POST_ONLY if order.post_only else EV_LIMIT
        fills = self._apply(etype, side, ticks, qty, int(order.owner), oid, t)
        self.last_order_id = oid
        return fills

    def _new_id(self, order_id) -> int:
        if order_id is None:
            oid = self._next_id
        else:
            oid = self._oid(order_id, "Order.order_id")
            if nb.hm_find_nb(self.state, oid) >= 0:
                raise BookError(f"Order.order_id={oid} is already resting in the book")
        self._next_id = max(self._next_id, oid + 1)
        self.last_order_id = oid
        return oid

    def cancel_order(self, order_id: int) -> bool:
        """Cancel a resting order; False if no such order rests (unknown, filled or already cancelled)."""
        if isinstance(order_id, bool) or not isinstance(order_id, int | np.integer):
            return False
        return bool(nb.cancel_nb(self.state, self._oid(order_id)))

    def reduce_order(self, order_id: int, quantity: float, time: float | None = None) -> bool:
        """Remove ``quantity`` shares from a resting order, keeping its queue priority (to zero = cancel).

        ``time``: the message's time in seconds (None: the book's clock, which advances by one per message).
        """
        lots = self._lots(quantity, "reduce_order quantity")
        if nb.hm_find_nb(self.state, self._oid(order_id)) < 0:
            return False
        self._apply(EV_REDUCE, BUY, NO_PRICE, lots, 0, self._oid(order_id), self._time(time))
        return True

    def replace_order(
        self, order_id: int, price: float, quantity: float | None = None, time: float | None = None
    ) -> list[Fill]:
        """Move a resting order to ``price`` (and ``quantity`` if given); it loses its queue priority.

        ``time``: arrival time of the new order in seconds (None: the book's clock). Returns the fills if the new
        price crosses. Raises BookError for an unknown order id.
        """
        if nb.hm_find_nb(self.state, self._oid(order_id)) < 0:
            raise BookError(f"replace_order: order {order_id} is not resting")
        ticks = self._ticks(price, "replace_order price")
        lots = 0 if quantity is None else self._lots(quantity, "replace_order quantity")
        return self._apply(EV_REPLACE, BUY, ticks, lots, 0, self._oid(order_id), self._time(time))

    def process_events(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply a structured array of ``EVENT_DTYPE`` events (ticks and lots) in one compiled call.

        Returns ``(fills, results)``: the ``FILL_DTYPE`` records produced and one ``RESULT_DTYPE`` per event.
        This is the fast path: events are trusted, as the simulator builds them.
        """
        if events.dtype != EVENT_DTYPE:
            raise BookError(f"process_events expects an array of EVENT_DTYPE, got dtype {events.dtype}")
        results = np.zeros(events.shape[0], RESULT_DTYPE)
        chunks = []
        start = 0
        while True:
            # the kernel stops cleanly before an event the fill buffer cannot take: drain it and resume there
            n_done, nfill, status = nb.process_events_nb(
                self.state, events[start:], self._fills, 0, results[start:]
            )
            chunks.append(self._fills[:nfill].copy())
            start += n_done
            if status == STATUS_OK:
                break
            if status != STATUS_FILL_BUFFER_FULL or (n_done == 0 and nfill == 0):
                raise BookError(
                    f"event {start} could not be applied ({STATUS_NAMES[int(status)]}); events 0..{start - 1} "
                    "were applied and the book is valid"
                )
        return np.concatenate(chunks), results

    # ----------------------------------------------------------------------------------------------- queries
    @property
    def capacity(self) -> int:
        return int(self.state.hdr[nb.H_CAPACITY])

    @property
    def window(self) -> int:
        return int(self.state.hdr[nb.H_WINDOW])

    @property
    def n_orders(self) -> int:
        return int(self.state.hdr[nb.H_N_LIVE])

    def get_best_bid(self) -> float | None:
        t = int(nb.best_bid_nb(self.state))
        return None if t == NO_PRICE else self._price(t)

    def get_best_ask(self) -> float | None:
        t = int(nb.best_ask_nb(self.state))
        return None if t == NO_PRICE else self._price(t)

    def get_midprice(self) -> float | None:
        """(best bid + best ask) / 2; the last two-sided mid when a side is empty; None if never two-sided."""
        m = nb.mid_ticks_nb(self.state)
        return None if math.isnan(m) else round(m * self.tick_size, 10)

    def get_spread(self) -> float | None:
        bb, ba = self.get_best_bid(), self.get_best_ask()
        return None if bb is None or ba is None else round(ba - bb, 10)

    def get_depth(self, levels: int = 5) -> dict[str, list[Level]]:
        """L2 depth: the top ``levels`` non-empty price levels per side, best first, as (price, shares)."""
        out = {}
        prices = np.zeros(levels, np.int64)
        qtys = np.zeros(levels, np.int64)
        for name, side in (("bids", BUY), ("asks", SELL)):
            k = nb.depth_nb(self.state, side, levels, prices, qtys)
            out[name] = [Level(self._price(int(prices[i])), int(qtys[i]) * self.lot_size) for i in range(k)]
        return out

    def get_order_book_imbalance(self, levels: int = 5) -> float:
        """(bid volume - ask volume) / (bid volume + ask volume) over the top ``levels`` levels; 0 if empty."""
        return float(nb.imbalance_nb(self.state, levels))

    def get_queue_position(self, order_id: int) -> QueuePosition | None:
        """Shares and orders ahead of a resting order at its price level; None if it is not resting."""
        ahead, rank = nb.queue_position_nb(self.state, self._oid(order_id))
        if rank < 0:
            return None
        return QueuePosition(int(ahead) * self.lot_size, int(rank))

    def get_owner_orders(self, owner: int) -> list[int]:
        """Ids of ``owner``'s resting orders (order-table order, not time order)."""
        buf = np.zeros(max(16, self.n_orders), np.int64)
        k = nb.owner_orders_nb(self.state, int(owner), buf)
        return [int(x) for x in buf[:k]]

    def get_order(self, order_id: int) -> dict | None:
        """A resting order's side, price, remaining shares, owner and arrival time; None if not resting."""
        slot = int(nb.hm_find_nb(self.state, self._oid(order_id)))
        if slot < 0:
            return None
        st = self.state
        return {
            "order_id": self._oid(order_id),
            "side": "buy" if st.o_side[slot] == BUY else "sell",
            "price": self._price(int(st.o_price[slot])),
            "quantity": int(st.o_qty[slot]) * self.lot_size,
            "owner": int(st.o_owner[slot]),
            "time": float(st.o_time[slot]),
        }

    def check(self) -> None:
        """Verify every invariant of the book; raises BookCorruptError naming the first one broken."""
        code = int(nb.check_nb(self.state))
        if code:
            raise BookCorruptError(nb.CHECK_MESSAGES[code])

    def __repr__(self) -> str:
        return (
            f"LimitOrderBook(bid={self.get_best_bid()}, ask={self.get_best_ask()}, orders={self.n_orders}, "
            f"tick_size={self.tick_size}, lot_size={self.lot_size})"
        )
