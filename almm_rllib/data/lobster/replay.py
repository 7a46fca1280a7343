"""Replaying a LOBSTER day through the project's order book, row by row against the orderbook file.

:func:`replay_lobster` seeds a :class:`~almm_rllib.core.book.LimitOrderBook` (tick $0.01, lot 1 share) from
orderbook row 0 and applies messages 1..n-1 through the facade (``submit_order`` post-only, ``reduce_order``,
``cancel_order``), comparing the book's top levels with every following orderbook row. The work is done by
:class:`LobsterReplayer`, which applies one message at a time (:meth:`~LobsterReplayer.apply`) and compares
the book with one row (:meth:`~LobsterReplayer.compare`): a market replaying the day step by step (agents
quoting into the real flow) drives the same object between its own steps.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from almm_rllib.core.book import BookCorruptError, LimitOrderBook, Order
from almm_rllib.core.schema import BACKGROUND_OWNER, BUY, SELL, STATUS_NAMES, STATUS_OK
from almm_rllib.data.lobster.read import (
    MESSAGE_TYPE_NAMES,
    MSG_CANCEL,
    MSG_CROSS,
    MSG_DELETE,
    MSG_EXECUTE,
    MSG_HALT,
    MSG_NEW,
    TICK_SIZE,
    LobsterData,
    LobsterFormatError,
)

#: Synthetic orders (levels seeded from an orderbook row) get ids from here up; :func:`replay_lobster` refuses a
#: file whose ids reach it, so the two can never collide.
SYNTHETIC_ID_BASE = 1 << 62
#: Owner id of synthetic orders in the replayed book (the file's own orders are the background flow, owner 0).
SYNTHETIC_OWNER = int(np.iinfo(np.int32).max)
FILE_OWNER = BACKGROUND_OWNER

_STATUS_OK = STATUS_NAMES[STATUS_OK]


@dataclass
class ReplayResult:
    """What :func:`replay_lobster` found.

    ``transitions``: orderbook rows after row 0 (= messages replayed); ``transitions_checked``: rows compared
    with the book (all of them when ``check_every=1``); ``mismatches``: compared rows where any price or size
    of the top ``levels`` levels differed; ``mismatch_details``: the first few, each with the row, its message
    and the differing levels. ``anomalies``: messages the book could not apply as the file says (a new order
    that would cross, a duplicate id, a removal larger than the order or level, an unknown id at a level the
    book does not hold...), by kind, with ``anomaly_details`` for the first few. ``slide_ins``: levels taken
    from the orderbook file when a visible level emptied, each set to one synthetic order of the file's size
    (``rows``: messages that emptied a visible level; per level slid in, what the book held there before:
    ``new`` nothing, ``agreed`` exactly the file's size, ``resynced`` another size; ``stale_levels`` /
    ``stale_shares``: levels the book still held between the old and the new bottom level, which the file shows
    were cancelled out of sight). ``ids``: messages of types 2-4 naming an order added in the file
    (``known``), one it never added (``unknown``: an order entered before the file or out of sight, taken from
    the level's synthetic volume), or a price beyond the visible levels (``outside``: only when ``levels``
    keeps fewer levels than the file has). ``queue``: price-time priority checked against the real flow: every
    message naming a known order first compares the book's ``get_queue_position`` with the order's arrival
    rank at its level (a difference is an anomaly); of the ``executions`` of known orders, ``at_front`` found
    the order first in its queue, ``behind_file_orders`` behind orders the file added earlier (NASDAQ listing
    same-timestamp fills out of queue order), ``behind_synthetic_only`` behind synthetic volume only (whose
    true time priority is unknown); ``queue_details`` holds the first few that were not at the front.
    ``timings`` (seconds and microseconds, see
    :func:`replay_lobster`); ``event_ns``: wall nanoseconds of each message's replay step (NaN for row 0 and
    messages that change nothing). ``book``: the final book.
    """

    levels: int
    n_messages: int
    type_counts: dict[int, int]
    transitions: int
    transitions_checked: int
    mismatches: int
    mismatch_details: list[dict]
    anomalies: dict[str, int]
    anomaly_details: list[dict]
    slide_ins: dict[str, int]
    ids: dict[str, int]
    queue: dict[str, int]
    queue_details: list[dict]
    seeded_orders: int
    invariant_checks: int
    timings: dict
    event_ns: np.ndarray = field(repr=False)
    book: LimitOrderBook = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every compared row matched and every message applied as the file says."""
        return self.mismatches == 0 and not any(self.anomalies.values())

    def summary(self) -> str:
        t = self.timings
        lines = [
            f"replayed {self.transitions} messages at {self.levels} level(s): {self.transitions_checked} rows "
            f"checked, {self.mismatches} mismatched, anomalies {dict(self.anomalies) or 'none'}",
            f"types {self.type_counts}; ids {self.ids}; slide-ins {self.slide_ins}; queue {self.queue}",
            f"{t['total_s']:.3f} s total, replay step {t['step_us']['mean']:.2f} us/message mean "
            f"(p50 {t['step_us']['p50']:.2f}, p99 {t['step_us']['p99']:.2f}), check {t['check_us_mean']:.2f} us/row",
        ]
        return "\n".join(lines)


def _worse(side: int, a: int, b: int) -> bool:
    """True if price ``a`` is further from the spread than ``b`` on ``side``."""
    return a < b if side == BUY else a > b


class LobsterReplayer:
    """Per-level LOBSTER replay through :class:`LimitOrderBook` (see :func:`replay_lobster`).

    ``seed()`` rests orderbook row 0; ``apply(i)`` applies message ``i``; ``compare(i)`` lists the differences
    between the book's top levels and orderbook row ``i``. Counters (``anomalies``, ``slide``, ``ids``,
    ``queue``) accumulate as messages are applied; ``book`` is the replayed book.
    """

    def __init__(self, data: LobsterData, max_details: int) -> None:
        self.data = data
        self.N = data.levels
        self.max_details = max_details
        msgs = data.messages
        self.m_time = msgs["time"].to_numpy()
        self.m_type = msgs["type"].to_numpy()
        self.m_id = msgs["order_id"].to_numpy()
        self.m_size = msgs["size"].to_numpy()
        self.m_price = msgs["price"].to_numpy()
        self.m_dir = msgs["direction"].to_numpy()
        n = len(msgs)
        if n and int(self.m_id.max()) >= SYNTHETIC_ID_BASE:
            raise LobsterFormatError(
                f"{data.message_path}: order ids reach {SYNTHETIC_ID_BASE}, the replay's synthetic id range"
            )
        ap, asz, bp, bsz = data.level_arrays()
        self.px = {
            SELL: np.where(np.isnan(ap), -1, ap).astype(np.int64),
            BUY: np.where(np.isnan(bp), -1, bp).astype(np.int64),
        }
        self.sz = {SELL: asz, BUY: bsz}
        self.nlev = {SELL: (~np.isnan(ap)).sum(axis=1), BUY: (~np.isnan(bp)).sum(axis=1)}

        # a tick window that holds every price of the file twice over; an order table with room for every
        # order the file adds plus one synthetic order per removal (a removal slides in at most one level)
        on_book = (self.m_type >= MSG_NEW) & (self.m_type <= MSG_EXECUTE)
        allp = np.concatenate([ap[~np.isnan(ap)], bp[~np.isnan(bp)], self.m_price[on_book]])
        span = int(allp.max() - allp.min()) + 1
        window = 4096
        while window < 2 * span + 64:
            window *= 2
        n_adds = int(on_book.sum())
        capacity = 2 * self.N + n_adds + 1024
        a0, b0 = self.px[SELL][0, 0], self.px[BUY][0, 0]
        centre = (a0 + b0) / 2 if a0 > 0 and b0 > 0 else float(np.median(allp))
        self.book = LimitOrderBook(
            tick_size=TICK_SIZE,
            lot_size=1,
            initial_price=round(centre) * TICK_SIZE,
            capacity=capacity,
            window=window,
        )
        #: order id -> (side, price) of every order this replay rests (file orders and synthetic ones)
        self.where: dict[int, tuple[int, int]] = {}
        #: (side, price) -> ids resting there in arrival order (a dict used as an ordered set)
        self.level: dict[tuple[int, int], dict[int, None]] = {}
        self._next_synth = SYNTHETIC_ID_BASE
        self._depth_cache: tuple[list, list] | None = None
        self.anomalies: dict[str, int] = {}
        self.anomaly_details: list[dict] = []
        self.slide = {"rows": 0, "new": 0, "agreed": 0, "resynced": 0, "stale_levels": 0, "stale_shares": 0}
        self.ids = {"known": 0, "unknown": 0, "outside": 0}
        self.queue = {"executions": 0, "at_front": 0, "behind_file_orders": 0, "behind_synthetic_only": 0}
        self.queue_details: list[dict] = []
        self.row = 0

    # ------------------------------------------------------------------------------------------ bookkeeping
    def _message(self, i: int) -> dict:
        return {
            "row": i,
            "time": float(self.m_time[i]),
            "type": int(self.m_type[i]),
            "order_id": int(self.m_id[i]),
            "size": int(self.m_size[i]),
            "price": float(self.m_price[i]),
            "direction": int(self.m_dir[i]),
        }

    def _anomaly(self, kind: str, **extra) -> None:
        self.anomalies[kind] = self.anomalies.get(kind, 0) + 1
        if len(self.anomaly_details) < self.max_details:
            self.anomaly_details.append({"kind": kind, **self._message(self.row), **extra})

    def _depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The book's top ``N`` levels as ``(bids, asks)`` lists of (ticks, shares), best first."""
        if self._depth_cache is None:
            self._depth_cache = self._levels(self.N)
        return self._depth_cache

    def _levels(self, k: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        d = self.book.get_depth(k)
        ts = self.book.tick_size
        return (
            [(round(lv.price / ts), int(lv.quantity)) for lv in d["bids"]],
            [(round(lv.price / ts), int(lv.quantity)) for lv in d["asks"]],
        )

    def _rest(self, oid: int, side: int, price: int, qty: int, owner: int) -> bool:
        fills = self.book.submit_order(
            Order(
                side,
                qty,
                price * TICK_SIZE,
                owner=owner,
                order_id=oid,
                post_only=True,
                time=float(self.m_time[self.row]),
            )
        )
        self._depth_cache = None
        if fills or self.book.last_status != _STATUS_OK:
            self._anomaly(
                "order would cross the book", status=self.book.last_status, side=side, price_ticks=price
            )
            return False
        self.where[oid] = (side, price)
        self.level.setdefault((side, price), {})[oid] = None
        return True

    def _add_synthetic(self, side: int, price: int, qty: int) -> None:
        oid = self._next_synth
        self._next_synth += 1
        self._rest(oid, side, price, qty, SYNTHETIC_OWNER)

    def _drop(self, oid: int) -> None:
        key = self.where.pop(oid)
        ids = self.level[key]
        del ids[oid]
        if not ids:
            del self.level[key]

    def _take(self, oid: int, qty: int) -> int:
        """Remove up to ``qty`` shares from resting order ``oid``; returns the shares removed."""
        rem = self.book.get_order(oid)["quantity"]
        self._depth_cache = None
        if qty >= rem:
            if not self.book.cancel_order(oid):
                raise BookCorruptError(f"order {oid} is in the replay's index but the book cannot cancel it")
            self._drop(oid)
            return rem
        if not self.book.reduce_order(oid, qty):
            raise BookCorruptError(f"order {oid} is in the replay's index but the book cannot reduce it")
        return qty

    def _clear_level(self, side: int, price: int) -> None:
        for oid in list(self.level.get((side, price), ())):
            self._take(oid, 1 << 62)

    # ------------------------------------------------------------------------------------------ messages
    def seed(self) -> int:
        """One synthetic order per visible level of orderbook row 0."""
        for side in (BUY, SELL):
            for k in range(int(self.nlev[side][0])):
                self._add_synthetic(side, int(self.px[side][0, k]), int(self.sz[side][0, k]))
        return len(self.where)

    def apply(self, i: int) -> bool:
        """Apply message ``i`` (types 1-4); returns False for messages that change nothing visible."""
        self.row = i
        typ = int(self.m_type[i])
        if typ < MSG_NEW or typ > MSG_EXECUTE:
            return False
        side = BUY if self.m_dir[i] == 1 else SELL
        price = int(self.m_price[i])
        size = int(self.m_size[i])
        oid = int(self.m_id[i])
        if typ == MSG_NEW:
            if oid in self.where:
                self._anomaly("new order reuses a resting id")
            else:
                self._rest(oid, side, price, size, FILE_OWNER)
            return True

        bids, asks = self._depth()
        visible = [p for p, _ in (bids if side == BUY else asks)]
        known = self.where.get(oid)
        if len(visible) == self.N and _worse(side, price, visible[-1]):
            # out of sight (only when ``levels`` keeps fewer levels than the file has): a known order is updated,
            # unchecked (it may have changed out of sight before); the level's volume is settled from the
            # orderbook file if it ever slides into view
            self.ids["outside"] += 1
            if known == (side, price):
                rem = self.book.get_order(oid)["quantity"]
                self._take(oid, rem if typ == MSG_DELETE else min(size, rem))
            return True
        if known is not None and known != (side, price):
            self._anomaly("known id at another side or price", book_side=known[0], book_price=known[1])
            known = None
        if known is not None:
            self.ids["known"] += 1
            self._check_queue(oid, side, price, typ)
            rem = self.book.get_order(oid)["quantity"]
            if typ == MSG_DELETE and size != rem:
                self._anomaly("delete size differs from the order's remaining size", remaining=rem)
            elif typ != MSG_DELETE and size > rem:
                self._anomaly("removal larger than the order", remaining=rem)
            self._take(oid, rem if typ == MSG_DELETE else min(size, rem))
        else:
            self._remove_unknown(side, price, size)
        if price in visible and (side, price) not in self.level:
            self._slide_in(side, [p for p in visible if p != price], price)
        return True

    def _check_queue(self, oid: int, side: int, price: int, typ: int) -> None:
        """Price-time priority against real flow: the book's queue position of a known order must equal its
        arrival rank among the orders this replay rested at that level; an executed order should be at the front.
        """
        pos = self.book.get_queue_position(oid)
        ahead = []
        for o in self.level[(side, price)]:
            if o == oid:
                break
            ahead.append(o)
        if pos is None or pos.orders_ahead != len(ahead):
            self._anomaly("queue position differs from arrival order", book=pos, arrival_rank=len(ahead))
            return
        if typ != MSG_EXECUTE:
            return
        self.queue["executions"] += 1
        if not ahead:
            self.queue["at_front"] += 1
            return
        kind = "behind_file_orders" if any(o < SYNTHETIC_ID_BASE for o in ahead) else "behind_synthetic_only"
        self.queue[kind] += 1
        if len(self.queue_details) < self.max_details:
            self.queue_details.append(
                {"kind": kind, **self._message(self.row), "shares_ahead": pos.quantity_ahead, "ahead": ahead}
            )

    def _remove_unknown(self, side: int, price: int, size: int) -> None:
        """An order the file never added (entered before it, or out of sight): take from the level's volume."""
        self.ids["unknown"] += 1
        ids = self.level.get((side, price))
        if not ids:
            self._anomaly("unknown id at a level the book does not hold")
            return
        left = size
        synthetic = [o for o in ids if o >= SYNTHETIC_ID_BASE]
        for oid in synthetic:
            if left == 0:
                break
            left -= self._take(oid, left)
        if left:
            self._anomaly("unknown id larger than the level's synthetic volume", short=left)
            for oid in list(self.level.get((side, price), ())):
                if left == 0:
                    break
                left -= self._take(oid, left)
        if left:
            self._anomaly("removal larger than the level", short=left)

    def _slide_in(self, side: int, remaining: list[int], emptied: int) -> None:
        """A visible level emptied: take the level(s) sliding in from below from orderbook row ``self.row``.

        Book levels between the deepest remaining visible level and the file's new bottom level that the file
        does not show were cancelled out of sight (stale): removed. A level the file shows is replaced by one
        synthetic order of the file's size, even when the book already held that size: orders the book still
        holds there may have been cancelled out of sight and replaced by others of the same size (round lots
        make this common), so the level's composition is unknown and only its total is taken from the file.
        Later messages naming the replaced orders find them unknown and take from the synthetic volume.
        """
        i = self.row
        self.slide["rows"] += 1
        deepest = remaining[-1] if remaining else emptied
        k = int(self.nlev[side][i])
        fpx = self.px[side][i, :k].tolist()
        fsz = self.sz[side][i, :k].tolist()
        slid = {p: s for p, s in zip(fpx, fsz) if _worse(side, p, deepest)}
        if len(slid) > 1:
            self._anomaly("several levels slid in at once", levels=sorted(slid))
        bottom = fpx[-1] if k == self.N else None  # None: the file shows the whole side
        held = dict(self._book_levels_beyond(side, deepest, bottom))
        for p, q in held.items():
            if p in slid:
                self.slide["agreed" if q == slid[p] else "resynced"] += 1
            else:
                self.slide["stale_levels"] += 1
                self.slide["stale_shares"] += q
            self._clear_level(side, p)
        for p, s in slid.items():
            if p not in held:
                self.slide["new"] += 1
            self._add_synthetic(side, p, s)

    def _book_levels_beyond(self, side: int, deepest: int, bottom: int | None) -> list[tuple[int, int]]:
        """Book levels on ``side`` worse than ``deepest`` and not worse than ``bottom`` (None: no bound)."""
        k = self.N + 8
        while True:
            bids, asks = self._levels(k)
            lv = bids if side == BUY else asks
            done = len(lv) < k or (bottom is not None and _worse(side, lv[-1][0], bottom))
            if done:
                return [
                    (p, q)
                    for p, q in lv
                    if _worse(side, p, deepest) and (bottom is None or not _worse(side, p, bottom))
                ]
            k *= 2

    def compare(self, i: int) -> list[dict]:
        """Differences between the book's top levels and orderbook row ``i`` (empty list: they agree)."""
        bids, asks = self._depth()
        diffs = []
        for name, side, lv in (("bid", BUY, bids), ("ask", SELL, asks)):
            k = int(self.nlev[side][i])
            want = list(zip(self.px[side][i, :k].tolist(), self.sz[side][i, :k].tolist()))
            if lv != want:
                for j in range(max(len(lv), len(want))):
                    got = lv[j] if j < len(lv) else None
                    exp = want[j] if j < len(want) else None
                    if got != exp:
                        diffs.append({"side": name, "level": j + 1, "file": exp, "book": got})
        return diffs


def _us_summary(ns: np.ndarray) -> dict[str, float]:
    ns = ns[~np.isnan(ns)]
    if ns.size == 0:
        return {"n": 0, "mean": math.nan, "p50": math.nan, "p99": math.nan, "max": math.nan}
    us = ns / 1e3
    return {
        "n": int(us.size),
        "mean": float(us.mean()),
        "p50": float(np.percentile(us, 50)),
        "p99": float(np.percentile(us, 99)),
        "max": float(us.max()),
    }


def replay_lobster(
    data: LobsterData, *, check_every: int = 1, invariant_every: int = 0, max_details: int = 10
) -> ReplayResult:
    """Replay the file's order flow through :class:`LimitOrderBook` and compare with every orderbook row.

    The book (tick $0.01, lot 1 share) is seeded with one synthetic order (owner ``SYNTHETIC_OWNER``, ids from
    ``SYNTHETIC_ID_BASE``) per visible level of orderbook row 0, which is the book after message 0. Messages
    1..n-1 are applied in file order:

    * type 1: ``submit_order`` post-only with the file's id (owner 0): it must rest, never trade;
    * types 2 (partial cancel), 3 (delete) and 4 (execution of a visible order): ``reduce_order`` /
      ``cancel_order`` on the named order. An id the file never added (an order entered before the file
      starts, or out of sight) takes the quantity from the synthetic volume at that price level instead;
    * type 5 (hidden execution) changes nothing visible; 6 (cross) and 7 (halt) are counted and skipped.

    When a visible level empties, the level sliding in from below is taken from the orderbook row (see
    :class:`ReplayResult` ``slide_ins``). After every ``check_every``-th message (and after the last one) the
    book's top ``data.levels`` levels, prices and sizes on both sides, are compared with the orderbook row;
    ``invariant_every > 0`` also runs ``book.check()`` every that many messages (it always runs at the end)
    and raises :class:`~almm_rllib.core.book.BookCorruptError` naming the message if an invariant breaks.

    ``timings``: ``total_s`` (the replay, after ``warmup_s`` spent loading or compiling the book's kernels on a
    throwaway book), ``seed_s``, ``step_s``/``check_s`` (sums), ``step_us`` (per
    message that touches the book: the replay step, i.e. the book calls and this replay's bookkeeping, without
    the comparison; mean, p50, p99, max), ``step_us_by_type``, ``check_us_mean`` (per compared row) and
    ``messages_per_s`` (messages replayed per second of the whole call).
    """
    _check_replay_args(data, check_every, invariant_every, max_details)
    warmup_s = _warm_up()
    t_start = _time.perf_counter()
    r = LobsterReplayer(data, max_details)
    seeded = r.seed()
    seed_s = _time.perf_counter() - t_start
    type_counts = {int(k): int(v) for k, v in sorted(data.messages["type"].value_counts().items())}
    notes = []
    for typ in (MSG_CROSS, MSG_HALT):
        if type_counts.get(typ):
            notes.append(f"{type_counts[typ]} {MESSAGE_TYPE_NAMES[typ]} message(s) skipped")
    loop = _replay_messages(r, len(data), check_every, invariant_every, max_details)
    total_s = _time.perf_counter() - t_start
    n = len(data)
    return ReplayResult(
        levels=data.levels,
        n_messages=n,
        type_counts=type_counts,
        transitions=n - 1,
        transitions_checked=loop.checked,
        mismatches=loop.mismatches,
        mismatch_details=loop.mismatch_details,
        anomalies=r.anomalies,
        anomaly_details=r.anomaly_details,
        slide_ins=r.slide,
        ids=r.ids,
        queue=r.queue,
        queue_details=r.queue_details,
        seeded_orders=seeded,
        invariant_checks=loop.invariant_checks,
        timings=_timings(r, loop, n, total_s=total_s, warmup_s=warmup_s, seed_s=seed_s),
        event_ns=loop.event_ns,
        book=r.book,
        notes=notes,
    )


def _check_replay_args(data, check_every, invariant_every, max_details) -> None:
    if not isinstance(data, LobsterData):
        raise TypeError(f"replay_lobster expects LobsterData (from read_lobster), got {type(data).__name__}")
    for name, v, lo in (
        ("check_every", check_every, 1),
        ("invariant_every", invariant_every, 0),
        ("max_details", max_details, 0),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"replay_lobster: {name} must be an integer >= {lo}, got {v!r}")


@dataclass
class _Loop:
    """What the message loop of :func:`replay_lobster` counted."""

    event_ns: np.ndarray
    mismatches: int = 0
    mismatch_details: list[dict] = field(default_factory=list)
    checked: int = 0
    invariant_checks: int = 0
    check_ns: int = 0


def _replay_messages(
    r: LobsterReplayer, n: int, check_every: int, invariant_every: int, max_details: int
) -> _Loop:
    """Apply messages 1..n-1, timing each, comparing every ``check_every``-th row (and the last) with the
    file and checking the book's invariants every ``invariant_every`` messages and at the end."""
    loop = _Loop(event_ns=np.full(n, np.nan))
    perf = _time.perf_counter_ns
    for i in range(1, n):
        t0 = perf()
        touched = r.apply(i)
        t1 = perf()
        if touched:
            loop.event_ns[i] = t1 - t0
        if i % check_every == 0 or i == n - 1:
            diffs = r.compare(i)
            loop.check_ns += perf() - t1
            loop.checked += 1
            if diffs:
                loop.mismatches += 1
                if len(loop.mismatch_details) < max_details:
                    loop.mismatch_details.append({**r._message(i), "diffs": diffs})
        if invariant_every and i % invariant_every == 0:
            _check_book(r.book, i)
            loop.invariant_checks += 1
    _check_book(r.book, n - 1)
    loop.invariant_checks += 1
    return loop


def _timings(
    r: LobsterReplayer, loop: _Loop, n: int, *, total_s: float, warmup_s: float, seed_s: float
) -> dict:
    """``ReplayResult.timings`` (see :func:`replay_lobster`)."""
    event_ns = loop.event_ns
    by_type = {}
    for typ in (MSG_NEW, MSG_CANCEL, MSG_DELETE, MSG_EXECUTE):
        sel = r.m_type == typ
        sel[0] = False
        by_type[typ] = _us_summary(event_ns[sel])
    return {
        "total_s": total_s,
        "warmup_s": warmup_s,
        "seed_s": seed_s,
        "step_s": float(np.nansum(event_ns) / 1e9),
        "check_s": loop.check_ns / 1e9,
        "step_us": _us_summary(event_ns),
        "step_us_by_type": by_type,
        "check_us_mean": loop.check_ns / 1e3 / loop.checked if loop.checked else math.nan,
        "messages_per_s": (n - 1) / total_s if total_s > 0 else math.nan,
    }


def _warm_up() -> float:
    """Load (or compile) every book kernel the replay calls, so its timings do not include numba's work."""
    t0 = _time.perf_counter()
    book = LimitOrderBook(tick_size=TICK_SIZE, lot_size=1, initial_price=100.0, capacity=16, window=64)
    book.submit_order(Order(BUY, 2, 99.99, order_id=1, post_only=True))
    book.submit_order(Order(SELL, 2, 100.01, order_id=2, post_only=True))
    book.get_order(1)
    book.reduce_order(1, 1)
    book.cancel_order(2)
    book.get_depth(1)
    book.check()
    return _time.perf_counter() - t0


def _check_book(book: LimitOrderBook, i: int) -> None:
    try:
        book.check()
    except BookCorruptError as exc:
        raise BookCorruptError(f"after LOBSTER message {i}: {exc}") from exc
