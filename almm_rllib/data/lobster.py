"""LOBSTER message/orderbook files: a checked reader, a replay through the project's book, calibration stats.

LOBSTER (lobsterdata.com) reconstructs NASDAQ TotalView-ITCH into two CSV files per ticker and day (see
``LOBSTER_SampleFiles_ReadMe.txt`` beside the data):

* **message file**, one row per event: time (seconds after midnight), type (1 new limit order, 2 partial
  cancel, 3 delete, 4 execution of a visible order, 5 execution of a hidden order, 6 cross, 7 halt), order id,
  size (shares), price (dollars x 10000), direction (side of the *resting* order: +1 buy, -1 sell);
* **orderbook file**, row ``i`` = the visible book after message ``i``: per level ask price, ask size, bid
  price, bid size; empty levels read ask 9999999999, bid -9999999999, size 0.

Units after :func:`read_lobster` (as in :mod:`almm_rllib.core.schema`): prices in **ticks** of $0.01
(LOBSTER price / 100, whole numbers held in float64 so that an empty level can be NaN; only a hidden execution
at a half-penny midpoint reads x.5 ticks), sizes in **shares**, time in **seconds after midnight** (float).
Empty levels are price NaN, size 0.

:func:`replay_lobster` seeds a :class:`~almm_rllib.core.book.LimitOrderBook` (tick $0.01, lot 1 share) from
orderbook row 0 and applies messages 1..n-1 through the facade (``submit_order`` post-only,
``reduce_order``, ``cancel_order``), comparing the book's top levels with every following orderbook row.
:func:`lobster_stats` computes what a market-simulator author calibrates against.
"""

from __future__ import annotations

import io
import math
import re
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from almm_rllib.core.book import BookCorruptError, LimitOrderBook, Order
from almm_rllib.core.schema import BACKGROUND_OWNER, BUY, SELL, STATUS_NAMES, STATUS_OK

# ------------------------------------------------------------------------------------------------------------
# Format constants.
PRICE_SCALE = 10_000  #: LOBSTER price units per dollar
TICK_RAW = 100  #: NASDAQ's tick ($0.01) in LOBSTER price units
TICK_SIZE = TICK_RAW / PRICE_SCALE  #: dollars per tick
ASK_EMPTY = 9_999_999_999  #: LOBSTER's empty ask level price
BID_EMPTY = -9_999_999_999  #: LOBSTER's empty bid level price
SECONDS_PER_DAY = 86_400.0
SESSION_SECONDS = 23_400.0  #: NASDAQ regular session, 9:30 to 16:00

MSG_NEW = 1  #: submission of a new limit order
MSG_CANCEL = 2  #: partial cancellation
MSG_DELETE = 3  #: total deletion
MSG_EXECUTE = 4  #: execution of a visible limit order
MSG_HIDDEN = 5  #: execution of a hidden limit order (book unchanged)
MSG_CROSS = 6  #: auction (cross) trade
MSG_HALT = 7  #: trading halt indicator

MESSAGE_TYPE_NAMES = {
    MSG_NEW: "new_limit",
    MSG_CANCEL: "partial_cancel",
    MSG_DELETE: "delete",
    MSG_EXECUTE: "execution",
    MSG_HIDDEN: "hidden_execution",
    MSG_CROSS: "cross",
    MSG_HALT: "halt",
}

#: The file's own column names, in order (used in error messages).
MESSAGE_FILE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
#: Columns of :attr:`LobsterData.messages`.
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "price_raw", "direction")

#: Synthetic orders (levels seeded from an orderbook row) get ids from here up; :func:`replay_lobster` refuses a
#: file whose ids reach it, so the two can never collide.
SYNTHETIC_ID_BASE = 1 << 62
#: Owner id of synthetic orders in the replayed book (the file's own orders are the background flow, owner 0).
SYNTHETIC_OWNER = int(np.iinfo(np.int32).max)
FILE_OWNER = BACKGROUND_OWNER

_FILENAME_RE = re.compile(
    r"^(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv$"
)


class LobsterFormatError(ValueError):
    """A LOBSTER file is missing, truncated, garbled or inconsistent; the message names the file and line."""


def orderbook_columns(levels: int) -> list[str]:
    """Column names of :attr:`LobsterData.orderbook` for ``levels`` levels, in LOBSTER's order."""
    cols = []
    for k in range(1, levels + 1):
        cols += [f"ask_price_{k}", f"ask_size_{k}", f"bid_price_{k}", f"bid_size_{k}"]
    return cols


@dataclass(frozen=True)
class LobsterData:
    """A checked LOBSTER message/orderbook pair.

    ``messages`` (one row per event, file order): ``time`` float64 seconds after midnight; ``type`` int8 (1-7,
    see ``MESSAGE_TYPE_NAMES``); ``order_id`` int64; ``size`` int64 shares; ``price`` float64 ticks of $0.01
    (x.5 for a half-penny hidden execution, NaN for a halt message); ``price_raw`` int64 in LOBSTER units
    (dollars x 10000; a halt's -1/0/1 code); ``direction`` int8 (+1 buy, -1 sell: the side of the resting
    order).

    ``orderbook`` (row ``i`` = the visible book after message ``i``): ``ask_price_k``/``bid_price_k`` float64
    ticks (NaN for an empty level) and ``ask_size_k``/``bid_size_k`` int64 shares (0 for an empty level), for
    ``k = 1..levels``.
    """

    messages: pd.DataFrame
    orderbook: pd.DataFrame
    levels: int
    message_path: Path
    orderbook_path: Path
    ticker: str | None = None
    date: str | None = None
    file_levels: int = 0

    def __len__(self) -> int:
        return len(self.messages)

    def level_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ask_price, ask_size, bid_price, bid_size)``, each ``(n_rows, levels)``: ticks (NaN empty), shares."""
        ob = self.orderbook
        k = range(1, self.levels + 1)
        return (
            ob[[f"ask_price_{i}" for i in k]].to_numpy(np.float64),
            ob[[f"ask_size_{i}" for i in k]].to_numpy(np.int64),
            ob[[f"bid_price_{i}" for i in k]].to_numpy(np.float64),
            ob[[f"bid_size_{i}" for i in k]].to_numpy(np.int64),
        )


# ------------------------------------------------------------------------------------------------------------
# reading


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _fail(path: Path, header: bool, row: int, problem: str) -> LobsterFormatError:
    """An error for data row ``row`` (0-based) of ``path``: names the file, its line number and the row."""
    line = row + 1 + int(header)
    return LobsterFormatError(f"{path}: line {line} (data row {row}): {problem}")


def _locate_bad_line(
    path: Path, body: bytes, header: bool, ncols: int, names: list[str], cause: str
) -> LobsterFormatError:
    """Scan the file's text line by line for the first line that is not ``ncols`` finite numbers."""
    lines = body.decode("utf-8", errors="replace").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if lineno == 1 and header:
            continue
        row = lineno - 1 - int(header)
        shown = line if len(line) <= 80 else line[:77] + "..."
        if not line.strip():
            return LobsterFormatError(f"{path}: line {lineno} (data row {row}): blank line")
        fields = line.split(",")
        if len(fields) != ncols:
            return LobsterFormatError(
                f"{path}: line {lineno} (data row {row}): expected {ncols} comma-separated fields, found "
                f"{len(fields)} (truncated or garbled?): {shown!r}"
            )
        for j, f in enumerate(fields):
            try:
                v = float(f)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                return LobsterFormatError(
                    f"{path}: line {lineno} (data row {row}): field {j + 1} ({names[j]}) is not a finite "
                    f"number: {f!r}"
                )
    return LobsterFormatError(f"{path}: cannot be parsed as a LOBSTER file ({cause})")


def _read_matrix(path: Path, what: str, ncols: int | None) -> tuple[np.ndarray, bool]:
    """All data rows of a LOBSTER CSV as float64 ``(n, ncols)``; ``ncols=None`` (orderbook) infers 4 x levels.

    Returns ``(values, has_header)``. A header row is recognised by a non-numeric first field. Blank lines at
    the end of the file are ignored; anywhere else they are an error.
    """
    if not path.is_file():
        raise LobsterFormatError(f"{path}: {what} file not found")
    body = path.read_bytes().rstrip()
    first = body.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    if not first:
        raise LobsterFormatError(f"{path}: line 1: empty {what} file (or a blank first line)")
    fields = first.split(",")
    header = not _is_number(fields[0].strip())
    if header and any(_is_number(f.strip()) for f in fields):
        raise LobsterFormatError(f"{path}: line 1: a header row must be all names, got {first[:80]!r}")
    n = len(fields)
    if ncols is None:
        if n % 4 or n == 0:
            raise LobsterFormatError(
                f"{path}: line 1: an orderbook row has 4 fields per level, found {n} fields"
            )
        ncols = n
        names = orderbook_columns(n // 4)
    else:
        names = list(MESSAGE_FILE_COLUMNS)
    if n != ncols:
        raise LobsterFormatError(f"{path}: line 1: expected {ncols} comma-separated fields, found {n}")
    if header and b"\n" not in body:
        raise LobsterFormatError(f"{path}: no data rows (only a header)")
    cause = ""
    try:
        df = pd.read_csv(
            io.BytesIO(body),
            header=None,
            skiprows=1 if header else 0,
            dtype=np.float64,
            skip_blank_lines=False,
        )
        values = df.to_numpy(np.float64)
        good = values.ndim == 2 and values.shape[1] == ncols and bool(np.isfinite(values).all())
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        values, good, cause = None, False, f"{type(exc).__name__}: {exc}"
    if not good:
        raise _locate_bad_line(path, body, header, ncols, names, cause or "non-finite or missing values")
    if values.shape[0] == 0:
        raise LobsterFormatError(f"{path}: no data rows")
    return values, header


def _first_bad(path: Path, header: bool, rules: list[tuple[np.ndarray, str]]) -> None:
    """Raise for the earliest row that breaks any rule (``mask`` True = bad)."""
    best_row, best_msg = None, ""
    for mask, msg in rules:
        idx = np.flatnonzero(mask)
        if idx.size and (best_row is None or idx[0] < best_row):
            best_row, best_msg = int(idx[0]), msg
    if best_row is not None:
        raise _fail(path, header, best_row, best_msg)


def _check_messages(path: Path, header: bool, v: np.ndarray) -> None:
    t, typ, oid, size, price, d = (v[:, j] for j in range(6))
    integral = v[:, 1:] != np.floor(v[:, 1:])
    rules: list[tuple[np.ndarray, str]] = [
        (integral.any(axis=1), "type, order id, size, price and direction must be integers")
    ]
    rules.append(((typ < 1) | (typ > 7), "message type must be 1..7"))
    rules.append(((d != 1) & (d != -1), "direction must be +1 or -1"))
    rules.append(((t < 0) | (t > SECONDS_PER_DAY), "time must be seconds after midnight (0..86400)"))
    back = np.zeros(t.shape, bool)
    back[1:] = t[1:] < t[:-1]
    rules.append((back, "time goes backwards (messages must be in time order)"))
    visible = (typ >= 1) & (typ <= 5)
    rules.append((visible & (oid < 0), "order id must be >= 0"))
    rules.append((~visible & (oid < -1), "order id must be >= -1"))
    # read as float64: integers beyond 2**53 are no longer exact, beyond 2**63 no longer int64
    rules.append(
        (np.abs(v[:, 2:5]).max(axis=1) > 2.0**53, "order id, size and price must fit int64 (|x| <= 2**53)")
    )
    rules.append((visible & (size <= 0), "size must be positive"))
    rules.append((size < 0, "size must be >= 0"))
    on_book = (typ >= 1) & (typ <= 4)
    rules.append(
        (on_book & ((price <= 0) | (price % TICK_RAW != 0)), "price must be positive on the $0.01 grid")
    )
    rules.append((((typ == 5) | (typ == 6)) & (price <= 0), "execution price must be positive"))
    rules.append(
        ((typ == 7) & (price != -1) & (price != 0) & (price != 1), "halt message price must be -1, 0 or 1")
    )
    _first_bad(path, header, rules)


def _check_orderbook(path: Path, header: bool, v: np.ndarray) -> None:
    ap, asz, bp, bsz = v[:, 0::4], v[:, 1::4], v[:, 2::4], v[:, 3::4]
    a_empty = ap == ASK_EMPTY
    b_empty = bp == BID_EMPTY
    rules: list[tuple[np.ndarray, str]] = [
        ((v != np.floor(v)).any(axis=1), "prices and sizes must be integers")
    ]
    rules.append((((asz < 0) | (bsz < 0)).any(axis=1), "sizes must be >= 0"))
    rules.append((((asz == 0) != a_empty).any(axis=1), "an ask level has size 0 exactly when it is empty"))
    rules.append((((bsz == 0) != b_empty).any(axis=1), "a bid level has size 0 exactly when it is empty"))
    bad_a = ~a_empty & ((ap <= 0) | (ap % TICK_RAW != 0))
    bad_b = ~b_empty & ((bp <= 0) | (bp % TICK_RAW != 0))
    rules.append(
        (
            (bad_a | bad_b).any(axis=1),
            "level prices must be positive on the $0.01 grid (or the empty sentinel)",
        )
    )
    if v.shape[1] > 4:
        rules.append(
            ((a_empty[:, :-1] & ~a_empty[:, 1:]).any(axis=1), "a non-empty ask level below an empty one")
        )
        rules.append(
            ((b_empty[:, :-1] & ~b_empty[:, 1:]).any(axis=1), "a non-empty bid level below an empty one")
        )
        both_a = ~a_empty[:, :-1] & ~a_empty[:, 1:]
        both_b = ~b_empty[:, :-1] & ~b_empty[:, 1:]
        rules.append(
            ((both_a & (ap[:, 1:] <= ap[:, :-1])).any(axis=1), "ask prices must increase level by level")
        )
        rules.append(
            ((both_b & (bp[:, 1:] >= bp[:, :-1])).any(axis=1), "bid prices must decrease level by level")
        )
    rules.append(
        (
            ~a_empty[:, 0] & ~b_empty[:, 0] & (ap[:, 0] <= bp[:, 0]),
            "crossed or locked book (best ask <= best bid)",
        )
    )
    _first_bad(path, header, rules)


def read_lobster(message_path, orderbook_path, *, levels: int | None = None) -> LobsterData:
    """Read and check a LOBSTER message/orderbook pair.

    Handles files with or without a header row, LF or CRLF line ends, with or without a final newline.
    ``levels``: keep the best ``levels`` levels of the orderbook file (``None``: all of them).

    Raises :class:`LobsterFormatError` naming the file and line for a missing, truncated, garbled or
    inconsistent file: wrong field count, non-numeric or non-integer values, unknown message types or
    directions, time going backwards, off-grid prices, empty-level sentinels with a size, crossed rows,
    message and orderbook row counts that differ, file names of different tickers or dates, or a file name's
    level count that disagrees with the orderbook columns.
    """
    mpath, opath = Path(message_path), Path(orderbook_path)
    mv, mhead = _read_matrix(mpath, "message", 6)
    ov, ohead = _read_matrix(opath, "orderbook", None)
    _check_messages(mpath, mhead, mv)
    _check_orderbook(opath, ohead, ov)
    if mv.shape[0] != ov.shape[0]:
        raise LobsterFormatError(
            f"{mpath} has {mv.shape[0]} data rows but {opath} has {ov.shape[0]}: one of them is truncated "
            "(orderbook row i is the book after message i)"
        )
    file_levels = ov.shape[1] // 4
    mm, om = _FILENAME_RE.match(mpath.name), _FILENAME_RE.match(opath.name)
    if om and int(om["levels"]) != file_levels:
        raise LobsterFormatError(
            f"{opath}: the file name says {om['levels']} levels but its rows hold {file_levels} levels"
        )
    if mm and om and (mm["ticker"], mm["date"]) != (om["ticker"], om["date"]):
        raise LobsterFormatError(
            f"{mpath} and {opath} are not a pair: {mm['ticker']} {mm['date']} vs {om['ticker']} {om['date']}"
        )
    if levels is None:
        levels = file_levels
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or not 1 <= levels <= file_levels:
        raise LobsterFormatError(f"{opath}: levels must be an integer in 1..{file_levels}, got {levels!r}")
    levels = int(levels)

    typ = mv[:, 1].astype(np.int8)
    price_raw = mv[:, 4].astype(np.int64)
    price = price_raw / TICK_RAW
    price[typ == MSG_HALT] = np.nan
    messages = pd.DataFrame(
        {
            "time": mv[:, 0],
            "type": typ,
            "order_id": mv[:, 2].astype(np.int64),
            "size": mv[:, 3].astype(np.int64),
            "price": price,
            "price_raw": price_raw,
            "direction": mv[:, 5].astype(np.int8),
        }
    )
    cols = {}
    for k in range(levels):
        ap, asz, bp, bsz = (ov[:, 4 * k + j] for j in range(4))
        cols[f"ask_price_{k + 1}"] = np.where(ap == ASK_EMPTY, np.nan, ap / TICK_RAW)
        cols[f"ask_size_{k + 1}"] = asz.astype(np.int64)
        cols[f"bid_price_{k + 1}"] = np.where(bp == BID_EMPTY, np.nan, bp / TICK_RAW)
        cols[f"bid_size_{k + 1}"] = bsz.astype(np.int64)
    orderbook = pd.DataFrame(cols)
    names = mm or om
    return LobsterData(
        messages=messages,
        orderbook=orderbook,
        levels=levels,
        message_path=mpath,
        orderbook_path=opath,
        ticker=names["ticker"] if names else None,
        date=names["date"] if names else None,
        file_levels=file_levels,
    )


# ------------------------------------------------------------------------------------------------------------
# replay

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


class _Replayer:
    """Per-level LOBSTER replay through :class:`LimitOrderBook` (see :func:`replay_lobster`)."""

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
    if not isinstance(data, LobsterData):
        raise TypeError(f"replay_lobster expects LobsterData (from read_lobster), got {type(data).__name__}")
    for name, v, lo in (
        ("check_every", check_every, 1),
        ("invariant_every", invariant_every, 0),
        ("max_details", max_details, 0),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"replay_lobster: {name} must be an integer >= {lo}, got {v!r}")
    warmup_s = _warm_up()
    t_start = _time.perf_counter()
    r = _Replayer(data, max_details)
    n = len(data)
    seeded = r.seed()
    seed_s = _time.perf_counter() - t_start
    type_counts = {int(k): int(v) for k, v in sorted(data.messages["type"].value_counts().items())}
    notes = []
    for typ in (MSG_CROSS, MSG_HALT):
        if type_counts.get(typ):
            notes.append(f"{type_counts[typ]} {MESSAGE_TYPE_NAMES[typ]} message(s) skipped")

    event_ns = np.full(n, np.nan)
    mismatches = 0
    mismatch_details: list[dict] = []
    checked = 0
    invariant_checks = 0
    check_ns = 0
    perf = _time.perf_counter_ns
    for i in range(1, n):
        t0 = perf()
        touched = r.apply(i)
        t1 = perf()
        if touched:
            event_ns[i] = t1 - t0
        if i % check_every == 0 or i == n - 1:
            diffs = r.compare(i)
            check_ns += perf() - t1
            checked += 1
            if diffs:
                mismatches += 1
                if len(mismatch_details) < max_details:
                    mismatch_details.append({**r._message(i), "diffs": diffs})
        if invariant_every and i % invariant_every == 0:
            _check_book(r.book, i)
            invariant_checks += 1
    _check_book(r.book, n - 1)
    invariant_checks += 1
    total_s = _time.perf_counter() - t_start

    by_type = {}
    for typ in (MSG_NEW, MSG_CANCEL, MSG_DELETE, MSG_EXECUTE):
        sel = r.m_type == typ
        sel[0] = False
        by_type[typ] = _us_summary(event_ns[sel])
    timings = {
        "total_s": total_s,
        "warmup_s": warmup_s,
        "seed_s": seed_s,
        "step_s": float(np.nansum(event_ns) / 1e9),
        "check_s": check_ns / 1e9,
        "step_us": _us_summary(event_ns),
        "step_us_by_type": by_type,
        "check_us_mean": check_ns / 1e3 / checked if checked else math.nan,
        "messages_per_s": (n - 1) / total_s if total_s > 0 else math.nan,
    }
    return ReplayResult(
        levels=data.levels,
        n_messages=n,
        type_counts=type_counts,
        transitions=n - 1,
        transitions_checked=checked,
        mismatches=mismatches,
        mismatch_details=mismatch_details,
        anomalies=r.anomalies,
        anomaly_details=r.anomaly_details,
        slide_ins=r.slide,
        ids=r.ids,
        queue=r.queue,
        queue_details=r.queue_details,
        seeded_orders=seeded,
        invariant_checks=invariant_checks,
        timings=timings,
        event_ns=event_ns,
        book=r.book,
        notes=notes,
    )


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


# ------------------------------------------------------------------------------------------------------------
# calibration statistics

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Correlations, autocorrelations, regression slopes and kurtosis need at least this many points (else NaN).
MIN_POINTS = 10


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Weighted quantile: the smallest value whose cumulative weight reaches ``q`` of the total."""
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][min(np.searchsorted(cw, q * cw[-1]), x.size - 1)])


def _summary(x, w=None) -> dict[str, float]:
    """n, mean, std, min, quantiles and max of ``x`` (weights ``w``: time-weighted, ``n`` = row count)."""
    x = np.asarray(x, np.float64)
    keep = ~np.isnan(x)
    x = x[keep]
    out: dict[str, float] = {"n": int(x.size)}
    if w is not None:
        w = np.asarray(w, np.float64)[keep]
    if x.size == 0 or (w is not None and w.sum() <= 0):
        out.update({"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan})
        out.update({f"p{round(q * 100)}": math.nan for q in _QUANTILES})
        return out
    if w is None:
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if x.size > 1 else math.nan
        qs = {f"p{round(q * 100)}": float(np.quantile(x, q)) for q in _QUANTILES}
    else:
        mean = float(np.average(x, weights=w))
        std = float(math.sqrt(np.average((x - mean) ** 2, weights=w)))
        qs = {f"p{round(q * 100)}": _wquantile(x, w, q) for q in _QUANTILES}
    out.update({"mean": mean, "std": std, "min": float(x.min()), **qs, "max": float(x.max())})
    return out


def _pmf(values: np.ndarray, w: np.ndarray | None = None, min_frac: float = 1e-3) -> dict[int, float]:
    """Fractions of each integer value (weighted), keeping values with at least ``min_frac``."""
    values = np.asarray(values)
    if values.size == 0:
        return {}
    w = np.ones(values.size) if w is None else np.asarray(w, np.float64)
    tot = w.sum()
    if tot <= 0:
        return {}
    s = pd.Series(w).groupby(values).sum() / tot
    return {int(k): float(v) for k, v in s.items() if v >= min_frac}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < MIN_POINTS or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _kurtosis(x: np.ndarray) -> float:
    """Excess kurtosis (0 for a normal distribution), unbiased (Fisher); NaN for few points or constants."""
    n = x.size
    if n < max(4, MIN_POINTS):
        return math.nan
    d = x - x.mean()
    m2 = (d**2).mean()
    if m2 == 0:
        return math.nan
    g2 = (d**4).mean() / m2**2 - 3.0
    return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _ofi_events(ap, asz, bp, bsz) -> np.ndarray:
    """Cont-Kukanov-Stoikov (2014) order-flow imbalance contribution of each row vs the previous (shares).

    e_n = q^b_n 1[P^b_n >= P^b_n-1] - q^b_n-1 1[P^b_n <= P^b_n-1] - q^a_n 1[P^a_n <= P^a_n-1]
    + q^a_n-1 1[P^a_n >= P^a_n-1]; 0 for row 0 and when a best quote is missing.
    """
    e = np.zeros(ap.shape[0])
    pb, pb0, qb, qb0 = bp[1:], bp[:-1], bsz[1:], bsz[:-1]
    pa, pa0, qa, qa0 = ap[1:], ap[:-1], asz[1:], asz[:-1]
    with np.errstate(invalid="ignore"):
        v = qb * (pb >= pb0) - qb0 * (pb <= pb0) - qa * (pa <= pa0) + qa0 * (pa >= pa0)
    ok = ~(np.isnan(pb) | np.isnan(pb0) | np.isnan(pa) | np.isnan(pa0))
    e[1:] = np.where(ok, v, 0.0)
    return e


def lobster_stats(data: LobsterData, *, horizons: tuple[float, ...] = (1.0, 10.0, 60.0)) -> dict:
    """Calibration statistics of a LOBSTER pair for the market simulator.

    Units: prices and distances in **ticks** ($0.01), sizes in **shares**, rates in **messages per second**
    over ``duration_s`` (last minus first message time), returns as **log returns** of the mid-price over a
    horizon (dimensionless) unless a key says ``_ticks``. Time-weighted figures weight orderbook row ``i`` by
    the time until the next message (so states that last 0 s within a burst do not count). Distributions are
    summaries ``{n, mean, std, min, p5, p25, p50, p75, p95, p99, max}``; ``pmf`` maps integer values to
    fractions (values below 0.1% left out). A figure that needs more data than the file holds is NaN and its
    ``n`` says why: a std needs 2 points; correlations, slopes and kurtosis ``MIN_POINTS`` (so a 49 s file has
    no 60 s returns and no 10 s correlations).

    Keys:

    * ``frac_shared_timestamp``: messages whose timestamp equals a neighbour's; ``interarrival_s``: time between
      consecutive messages (seconds).
    * ``spread_ticks``: best ask - best bid (rows with both sides): ``time_weighted``, ``per_event`` summaries
      and ``pmf_time``.
    * ``depth_shares``: per side, size at level ``k = 1..levels``: ``mean_time``, ``median_time`` lists
      (time-weighted) and ``mean_event``.
    * ``rates_per_s``: per message type name (``MESSAGE_TYPE_NAMES``), ``buy``/``sell`` (direction = side of
      the resting order) and ``total``; plus ``all``.
    * ``market_orders``: type-4 executions grouped by (time, direction) = one aggressive order each:
      ``size_shares`` summary, ``fills_per_order`` and ``levels_per_order`` means, ``frac_multi_level``,
      ``buy``/``sell`` counts (aggressor = opposite of the resting side), ``rate_per_s``. Hidden executions
      (type 5) are summarised separately in ``hidden_executions`` (``frac_off_tick``: printed between ticks,
      e.g. at a half-penny midpoint).
    * ``limit_orders``: type-1 ``size_shares`` summary, ``frac_round_lot`` (multiple of 100),
      ``frac_100``, ``frac_odd_lot`` (< 100).
    * ``placement_ticks``: distance of each new limit order from the same-side best quote just before it,
      positive = behind the best, 0 = joins it, negative = improves it (inside the spread): summary, ``pmf``,
      ``frac_inside_spread``, ``frac_at_best``, ``frac_behind``. A level-N file only carries orders within
      the visible N levels, so the distribution is truncated there (at 0 for a level-1 file).
    * ``returns``: per horizon ``"1s"``, ``"10s"``, ``"60s"`` (the mid sampled on a clock grid, the last
      row at or before each grid time): ``n`` returns, ``vol`` (std of log returns), ``vol_per_sqrt_s``
      (= vol / sqrt(horizon)), ``vol_session`` (scaled to a 6.5 h session), ``std_ticks`` and
      ``mean_abs_ticks`` (of the mid change), ``kurtosis`` (excess, unbiased), ``frac_zero`` (horizons with no
      mid change), ``acf`` (autocorrelation of the returns at lags 1..5), ``ofi_corr`` (correlation
      of the horizon's order-flow imbalance with the same horizon's mid change), ``ofi_next_corr`` (with the
      next horizon's change) and ``ofi_impact_ticks_per_share`` (least-squares slope of mid change on OFI).
      OFI is Cont, Kukanov & Stoikov (2014) on the best level.
    """
    msgs = data.messages
    t = msgs["time"].to_numpy()
    typ = msgs["type"].to_numpy()
    size = msgs["size"].to_numpy()
    price = msgs["price"].to_numpy()
    d = msgs["direction"].to_numpy()
    n = t.size
    ap, asz, bp, bsz = data.level_arrays()
    duration = float(t[-1] - t[0])
    w = np.zeros(n)
    w[:-1] = np.diff(t)

    out: dict = {
        "ticker": data.ticker,
        "date": data.date,
        "levels": data.levels,
        "n_messages": n,
        "start_s": float(t[0]),
        "end_s": float(t[-1]),
        "duration_s": duration,
        "frac_shared_timestamp": float(
            np.mean(np.r_[False, t[1:] == t[:-1]] | np.r_[t[1:] == t[:-1], False])
        ),
        "interarrival_s": _summary(np.diff(t)),
    }

    # spread and depth
    spread = ap[:, 0] - bp[:, 0]
    two = ~np.isnan(spread)
    out["spread_ticks"] = {
        "time_weighted": _summary(spread[two], w[two]),
        "per_event": _summary(spread[two]),
        "pmf_time": _pmf(np.rint(spread[two]).astype(np.int64), w[two]),
        "frac_one_sided": float(1 - two.mean()),
    }
    depth = {}
    for name, sz in (("bid", bsz), ("ask", asz)):
        depth[name] = {
            "mean_time": [
                float(np.average(sz[:, k], weights=w)) if w.sum() > 0 else math.nan
                for k in range(data.levels)
            ],
            "median_time": [
                _wquantile(sz[:, k].astype(float), w, 0.5) if w.sum() > 0 else math.nan
                for k in range(data.levels)
            ],
            "mean_event": [float(sz[:, k].mean()) for k in range(data.levels)],
        }
    out["depth_shares"] = depth

    # message rates
    rates: dict = {}
    for code, name in MESSAGE_TYPE_NAMES.items():
        sel = typ == code
        rates[name] = {
            "buy": float((sel & (d == 1)).sum() / duration) if duration > 0 else math.nan,
            "sell": float((sel & (d == -1)).sum() / duration) if duration > 0 else math.nan,
            "total": float(sel.sum() / duration) if duration > 0 else math.nan,
        }
    rates["all"] = float(n / duration) if duration > 0 else math.nan
    out["rates_per_s"] = rates

    # market orders: visible executions aggregated by (time, resting side)
    ex = msgs[typ == MSG_EXECUTE]
    if len(ex):
        g = ex.groupby(["time", "direction"], sort=False)
        agg = g.agg(size=("size", "sum"), fills=("size", "size"), levels=("price", "nunique")).reset_index()
        mo_size = agg["size"].to_numpy()
        out["market_orders"] = {
            "n": len(agg),
            "size_shares": _summary(mo_size),
            "fills_per_order": float(agg["fills"].mean()),
            "levels_per_order": float(agg["levels"].mean()),
            "frac_multi_level": float((agg["levels"] > 1).mean()),
            "buy": int((agg["direction"] == -1).sum()),
            "sell": int((agg["direction"] == 1).sum()),
            "rate_per_s": float(len(agg) / duration) if duration > 0 else math.nan,
        }
    else:
        out["market_orders"] = {"n": 0, "size_shares": _summary([]), "rate_per_s": 0.0}
    hid = typ == MSG_HIDDEN
    out["hidden_executions"] = {
        "n": int(hid.sum()),
        "size_shares": _summary(size[hid]),
        "frac_off_tick": float(np.mean(price[hid] != np.floor(price[hid]))) if hid.any() else math.nan,
    }

    # limit orders
    new = typ == MSG_NEW
    ls = size[new]
    out["limit_orders"] = {
        "size_shares": _summary(ls),
        "frac_round_lot": float(np.mean(ls % 100 == 0)) if ls.size else math.nan,
        "frac_100": float(np.mean(ls == 100)) if ls.size else math.nan,
        "frac_odd_lot": float(np.mean(ls < 100)) if ls.size else math.nan,
    }

    # placement relative to the same-side best just before the order (row i-1)
    idx = np.flatnonzero(new)
    idx = idx[idx >= 1]
    buy = d[idx] == 1
    best_prev = np.where(buy, bp[idx - 1, 0], ap[idx - 1, 0])
    dist = np.where(buy, best_prev - price[idx], price[idx] - best_prev)
    dist = dist[~np.isnan(dist)]
    di = np.rint(dist).astype(np.int64)
    out["placement_ticks"] = {
        **_summary(dist),
        "pmf": _pmf(di),
        "frac_inside_spread": float(np.mean(di < 0)) if di.size else math.nan,
        "frac_at_best": float(np.mean(di == 0)) if di.size else math.nan,
        "frac_behind": float(np.mean(di > 0)) if di.size else math.nan,
    }

    # mid-price returns and order-flow imbalance on a clock grid
    mid = pd.Series((ap[:, 0] + bp[:, 0]) / 2).ffill().to_numpy()
    ofi_cum = np.r_[0.0, np.cumsum(_ofi_events(ap[:, 0], asz[:, 0], bp[:, 0], bsz[:, 0]))]
    first = np.flatnonzero(~np.isnan(mid))
    rets: dict = {}
    for h in horizons:
        key = f"{h:g}s"
        res: dict = {"horizon_s": float(h)}
        grid = np.array([])
        if first.size:
            t0 = math.ceil(t[first[0]] / h) * h
            grid = t0 + h * np.arange(int(math.floor((t[-1] - t0) / h)) + 1) if t[-1] >= t0 else grid
        if grid.size >= 2:
            at = np.searchsorted(t, grid, side="right")  # rows 0..at-1 happened by the grid time
            m = mid[at - 1]
            r = np.diff(np.log(m))
            dm = np.diff(m)
            ofi = ofi_cum[at[1:]] - ofi_cum[at[:-1]]
        else:
            r = dm = ofi = np.array([])
        res["n"] = int(r.size)
        vol = float(r.std(ddof=1)) if r.size >= 2 else math.nan
        res["vol"] = vol
        res["vol_per_sqrt_s"] = vol / math.sqrt(h)
        res["vol_session"] = vol * math.sqrt(SESSION_SECONDS / h)
        res["std_ticks"] = float(dm.std(ddof=1)) if dm.size >= 2 else math.nan
        res["mean_abs_ticks"] = float(np.abs(dm).mean()) if dm.size else math.nan
        res["kurtosis"] = _kurtosis(r)
        res["frac_zero"] = float(np.mean(dm == 0)) if dm.size else math.nan
        res["acf"] = [_corr(r[:-k], r[k:]) if r.size > k else math.nan for k in range(1, 6)]
        res["ofi_corr"] = _corr(ofi, dm)
        res["ofi_next_corr"] = _corr(ofi[:-1], dm[1:]) if ofi.size > 1 else math.nan
        var = float(np.var(ofi)) if ofi.size >= MIN_POINTS else 0.0
        res["ofi_impact_ticks_per_share"] = (
            float(np.cov(ofi, dm, ddof=0)[0, 1] / var) if var > 0 else math.nan
        )
        rets[key] = res
    out["returns"] = rets
    return out
