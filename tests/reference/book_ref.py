"""A slow, obviously correct reference limit order book (SortedDict of deques), for differential tests.

It implements the same semantics as ``almm_rllib.core.book_nb`` in plain Python, straight from the rules:
price-time priority, fills at the resting price, post-only refusal, market orders that report what the book
could not fill, reduce keeps priority, replace loses it, a tick window of ``window`` ticks that must hold every
resting price (refusing a price that cannot fit), and an order table of ``capacity`` orders.
"""

from __future__ import annotations

from collections import deque

from sortedcontainers import SortedDict

from almm_rllib.core.schema import (
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_LIMIT_POST_ONLY,
    EV_MARKET,
    EV_NOOP,
    EV_REDUCE,
    EV_REPLACE,
    SELL,
    STATUS_BAD_EVENT,
    STATUS_DUPLICATE_ID,
    STATUS_OK,
    STATUS_ORDER_TABLE_FULL,
    STATUS_OUT_OF_WINDOW,
    STATUS_PARTIAL,
    STATUS_POST_ONLY_REJECT,
    STATUS_UNKNOWN_ORDER,
)


class RefBook:
    def __init__(self, window: int = 1 << 30, capacity: int = 1 << 30):
        self.window = window
        self.capacity = capacity
        self.book = {BUY: SortedDict(), SELL: SortedDict()}  # price -> deque of order ids (FIFO)
        self.orders: dict[int, list] = {}  # id -> [side, price, qty, owner, time]
        self.last_mid2 = None

    # --- queries
    def best(self, side):
        levels = self.book[side]
        if not levels:
            return None
        return levels.peekitem(-1)[0] if side == BUY else levels.peekitem(0)[0]

    def mid2(self):
        return self.last_mid2

    def level_qty(self, side, price):
        q = self.book[side].get(price)
        return 0 if q is None else sum(self.orders[o][2] for o in q)

    def depth(self, side, n):
        keys = self.book[side].keys()
        prices = list(reversed(keys[-n:])) if side == BUY else list(keys[:n])
        return [(p, self.level_qty(side, p)) for p in prices]

    def imbalance(self, n):
        vb = sum(q for _, q in self.depth(BUY, n))
        va = sum(q for _, q in self.depth(SELL, n))
        return 0.0 if vb + va == 0 else (vb - va) / (vb + va)

    def queue_position(self, oid):
        if oid not in self.orders:
            return (-1, -1)
        side, price = self.orders[oid][0], self.orders[oid][1]
        ahead = 0
        rank = 0
        for o in self.book[side][price]:
            if o == oid:
                return (ahead, rank)
            ahead += self.orders[o][2]
            rank += 1
        raise AssertionError("order missing from its level")

    def total_qty(self):
        return sum(o[2] for o in self.orders.values())

    # --- helpers
    def _update_mid(self):
        bb, ba = self.best(BUY), self.best(SELL)
        if bb is not None and ba is not None:
            self.last_mid2 = bb + ba

    def _crosses(self, side, price):
        opp = self.best(-side)
        if opp is None:
            return False
        return price >= opp if side == BUY else price <= opp

    def _fillable(self, side, limit, qty):
        total = 0
        levels = self.book[-side]
        prices = levels.irange() if side == BUY else levels.irange(reverse=True)
        for p in prices:
            if limit is not None and ((side == BUY and p > limit) or (side == SELL and p < limit)):
                break
            total += self.level_qty(-side, p)
            if total >= qty:
                return qty
        return total

    def _fits(self, price):
        lows = [levels.keys()[0] for levels in self.book.values() if levels]
        highs = [levels.keys()[-1] for levels in self.book.values() if levels]
        if not lows:
            return True
        return max(max(highs), price) - min(min(lows), price) < self.window

    def _remove(self, oid):
        side, price = self.orders[oid][0], self.orders[oid][1]
        q = self.book[side][price]
        q.remove(oid)
        if not q:
            del self.book[side][price]
        del self.orders[oid]
        self._update_mid()

    def _match(self, side, limit, qty, owner, oid, time, fills):
        filled = 0
        while filled < qty:
            p = self.best(-side)
            if p is None or (
                limit is not None and ((side == BUY and p > limit) or (side == SELL and p < limit))
            ):
                break
            maker = self.book[-side][p][0]
            mq = self.orders[maker][2]
            tq = min(qty - filled, mq)
            fills.append((time, p, tq, maker, oid, self.orders[maker][3], owner, side))
            filled += tq
            if tq == mq:
                self._remove(maker)
            else:
                self.orders[maker][2] -= tq
        return filled

    def _rest(self, oid, side, price, qty, owner, time):
        self.orders[oid] = [side, price, qty, owner, time]
        self.book[side].setdefault(price, deque()).append(oid)
        self._update_mid()

    def _limit(self, oid, side, price, qty, owner, time, post_only, fills):
        if oid in self.orders:
            return STATUS_DUPLICATE_ID, 0, 0
        crosses = self._crosses(side, price)
        if crosses and post_only:
            return STATUS_POST_ONLY_REJECT, 0, 0
        fillable = self._fillable(side, price, qty) if crosses else 0
        if qty > fillable:
            if fillable == 0 and len(self.orders) >= self.capacity:
                return STATUS_ORDER_TABLE_FULL, 0, 0
            if not self._fits(price):
                return STATUS_OUT_OF_WINDOW, 0, 0
        filled = self._match(side, price, qty, owner, oid, time, fills) if crosses else 0
        rested = qty - filled
        if rested > 0:
            self._rest(oid, side, price, rested, owner, time)
        return STATUS_OK, filled, rested

    # --- the one entry point
    def apply(self, etype, side, price, qty, owner, oid, time):
        """Returns (status, filled, rested, fills) with fills as FILL_DTYPE-ordered tuples."""
        fills: list = []
        if etype in (EV_LIMIT, EV_LIMIT_POST_ONLY):
            if qty <= 0 or side not in (BUY, SELL) or oid < 0:
                return STATUS_BAD_EVENT, 0, 0, fills
            st, f, r = self._limit(oid, side, price, qty, owner, time, etype == EV_LIMIT_POST_ONLY, fills)
            return st, f, r, fills
        if etype == EV_MARKET:
            if qty <= 0 or side not in (BUY, SELL):
                return STATUS_BAD_EVENT, 0, 0, fills
            filled = self._match(side, None, qty, owner, oid, time, fills)
            return (STATUS_OK if filled == qty else STATUS_PARTIAL), filled, 0, fills
        if etype == EV_CANCEL:
            if oid not in self.orders:
                return STATUS_UNKNOWN_ORDER, 0, 0, fills
            self._remove(oid)
            return STATUS_OK, 0, 0, fills
        if etype == EV_REDUCE:
            if qty <= 0:
                return STATUS_BAD_EVENT, 0, 0, fills
            if oid not in self.orders:
                return STATUS_UNKNOWN_ORDER, 0, 0, fills
            if qty >= self.orders[oid][2]:
                self._remove(oid)
            else:
                self.orders[oid][2] -= qty
            return STATUS_OK, 0, 0, fills
        if etype == EV_REPLACE:
            if oid not in self.orders:
                return STATUS_UNKNOWN_ORDER, 0, 0, fills
            o_side, _, o_qty, o_owner, _ = self.orders[oid]
            new_qty = qty if qty > 0 else o_qty
            crosses = self._crosses(o_side, price)
            fillable = self._fillable(o_side, price, new_qty) if crosses else 0
            if new_qty > fillable and not self._fits(price):
                return STATUS_OUT_OF_WINDOW, 0, 0, fills
            self._remove(oid)
            st, f, r = self._limit(oid, o_side, price, new_qty, o_owner, time, False, fills)
            return st, f, r, fills
        if etype == EV_NOOP:
            return STATUS_OK, 0, 0, fills
        return STATUS_BAD_EVENT, 0, 0, fills

    def check(self):
        """The reference's own invariants."""
        bb, ba = self.best(BUY), self.best(SELL)
        assert bb is None or ba is None or bb < ba, "reference book crossed"
        n = 0
        for side in (BUY, SELL):
            for p, q in self.book[side].items():
                assert q, "empty level kept"
                for o in q:
                    assert self.orders[o][0] == side and self.orders[o][1] == p
                    assert self.orders[o][2] > 0
                    n += 1
        assert n == len(self.orders)
